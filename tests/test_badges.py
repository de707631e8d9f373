"""Status badges: well-formed SVG, named for screen readers, coloured by status, under 2 KB."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from broadcaster.messages.model import Component

from broadcaster.config import ComponentConfig
from broadcaster.errors import InputError
from broadcaster.site.badges import COLOURS, MAX_BYTES, render_badge, text_width
from broadcaster.site.build import build_site
from tests.site_helpers import sample_incidents, site_data

SVG = "{http://www.w3.org/2000/svg}"


def parsed(data: bytes) -> ET.Element:
    return ET.fromstring(data)


def fills(root: ET.Element) -> list[str]:
    return [rect.get("fill", "") for rect in root.iter(f"{SVG}rect")]


def test_the_site_has_a_badge_for_the_page_and_each_component(tmp_path: Path) -> None:
    build_site(site_data(sample_incidents()), tmp_path, pages=sample_incidents())
    titles = {}
    for path in ["badge.svg", *(f"badges/{c}.svg" for c in ("api", "web", "db", "mail"))]:
        data = (tmp_path / path).read_bytes()
        assert len(data) < MAX_BYTES, path
        root = parsed(data)
        assert root.get("role") == "img"
        titles[path] = root.findtext(f"{SVG}title")
    assert titles == {
        "badge.svg": "Acme status: Major service disruption",  # main's one banner rule: the worst impact names it
        "badges/api.svg": "API: Partial outage",
        "badges/web.svg": "Website: Operational",
        "badges/db.svg": "Database: Operational",
        "badges/mail.svg": "Email notifications: Operational",
    }
    assert COLOURS["major"] in fills(parsed((tmp_path / "badges/api.svg").read_bytes()))
    assert COLOURS["none"] in fills(parsed((tmp_path / "badges/web.svg").read_bytes()))


@pytest.mark.parametrize("level", sorted(COLOURS))
def test_each_level_has_its_colour(level: str) -> None:
    assert fills(parsed(render_badge("API", "words", level)))[2] == COLOURS[level]


def test_hostile_and_long_names_stay_well_formed_and_small() -> None:
    hostile = '<script>"&\'</script> Ärger über Größe ' * 20  # 3-byte letters, markup, 700+ characters
    data = render_badge(hostile, "Teilweiser Ausfall", "major")
    root = parsed(data)  # escaped: still XML
    assert len(data) < MAX_BYTES
    title = root.findtext(f"{SVG}title") or ""
    assert title.endswith("…: Teilweiser Ausfall") and title.startswith('<script>"&')
    assert "<script>" not in data.decode()


def test_a_component_id_that_could_leave_the_folder_is_refused(tmp_path: Path) -> None:
    data = site_data()
    bad = (ComponentConfig(Component("..", "Dots")),)
    with pytest.raises(InputError, match="cannot be used as a page name"):
        build_site(type(data)(data.page, bad, (), data.now), tmp_path)


def test_wider_text_makes_a_wider_badge() -> None:
    assert text_width("operational") < text_width("major outage in every region")
    assert text_width("å") == text_width("a")  # accents: the base letter's width
    assert text_width("x") % 2 == 1
