"""Statuspage's public API v2 as static files: the documented shapes, one story across files, stable ids."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from broadcaster.messages.model import Impact, Status
from broadcaster.messages.visibility import PublicIncident

from broadcaster.site.api import DOCUMENTS, MOST_RECENT, PREFIX
from broadcaster.site.build import build_site
from tests.site_helpers import NOW, Step, affected, make_incident, sample_incidents, site_data

BASE = "https://status.example.com/"
SCHEMA = json.loads((Path(__file__).parent / "data" / "statuspage_v2.schema.json").read_text())
ENDPOINTS = sorted(DOCUMENTS)


def _validator(name: str) -> jsonschema.Draft202012Validator:
    pointer = name.replace("~", "~0").replace("/", "~1")
    schema = {**SCHEMA, "$ref": f"#/$defs/{pointer}"}
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def build(root: Path, incidents: list[PublicIncident], **page: Any) -> dict[str, Any]:
    build_site(site_data(incidents, base_url=BASE, **page), root, pages=incidents)
    return {name: json.loads((root / PREFIX / name).read_bytes()) for name in ENDPOINTS}


def running_window() -> PublicIncident:
    return make_incident(
        "2024-05-02-window",
        "Network work",
        kind="maintenance",
        impact=Impact.NONE,
        start=NOW - timedelta(hours=3),
        components=affected(web="under_maintenance"),
        scheduled=(NOW - timedelta(hours=1), NOW + timedelta(hours=1)),
        steps=[Step(Status.SCHEDULED, "Planned."), Step(Status.IN_PROGRESS, "Started.")],
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Any]:
    return build(tmp_path, [*sample_incidents(), running_window()])


def test_the_readme_lists_every_endpoint() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert all(f"`{PREFIX}{name}`" in readme for name in ENDPOINTS)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_each_file_has_statuspages_documented_shape(files: dict[str, Any], name: str) -> None:
    errors = [e.message for e in _validator(name).iter_errors(files[name])]
    assert not errors, errors


def test_the_schema_checks_timestamps_for_real(files: dict[str, Any]) -> None:
    # jsonschema ignores "format" unless a checker is given and rfc3339-validator is installed:
    # a schema that never looked at a time would pass anything.
    broken = json.loads(json.dumps(files["status.json"]))
    broken["page"]["updated_at"] = "2024-05-02 08:00"
    assert any("date-time" in e.message for e in _validator("status.json").iter_errors(broken))


def test_an_empty_site_still_has_every_file_in_shape(tmp_path: Path) -> None:
    files = build(tmp_path, [])
    for name in ENDPOINTS:
        assert not list(_validator(name).iter_errors(files[name])), name
    assert files["status.json"]["status"] == {"indicator": "none", "description": "All systems operational"}


def test_the_root_summary_is_the_api_summary(tmp_path: Path) -> None:
    build(tmp_path, sample_incidents())
    assert (tmp_path / "summary.json").read_bytes() == (tmp_path / PREFIX / "summary.json").read_bytes()


def test_every_file_tells_the_summarys_story(files: dict[str, Any]) -> None:
    summary = files["summary.json"]
    assert all(document["page"] == summary["page"] for document in files.values())
    assert files["status.json"]["status"] == summary["status"]
    assert files["components.json"]["components"] == summary["components"]
    assert files["incidents/unresolved.json"]["incidents"] == summary["incidents"]
    upcoming = files["scheduled-maintenances/upcoming.json"]["scheduled_maintenances"]
    active = files["scheduled-maintenances/active.json"]["scheduled_maintenances"]
    assert [m["id"] for m in upcoming] == ["2024-05-10-maint"]
    assert [m["id"] for m in active] == ["2024-05-02-window"]
    assert sorted(upcoming + active, key=lambda m: m["id"]) == sorted(
        summary["scheduled_maintenances"], key=lambda m: m["id"]
    )


def test_the_lists_of_recent_ones_hold_resolved_ones_too_newest_first(files: dict[str, Any]) -> None:
    incidents = files["incidents.json"]["incidents"]
    assert [(i["id"], i["status"]) for i in incidents] == [
        ("2024-05-02-api", "identified"),
        ("2024-05-01-db", "resolved"),
        ("2024-04-01-old", "resolved"),
    ]
    assert incidents[1]["resolved_at"] is not None and incidents[1]["incident_updates"][0]["status"] == "resolved"
    windows = files["scheduled-maintenances.json"]["scheduled_maintenances"]
    assert [m["id"] for m in windows] == ["2024-05-10-maint", "2024-05-02-window"]
    assert all(m["impact"] == "maintenance" for m in windows)


def test_only_the_50_most_recent_incidents_are_listed(tmp_path: Path) -> None:
    many = [
        make_incident(
            f"inc-{n:03d}", f"Blip {n}", start=NOW - timedelta(hours=70 - n),
            steps=[Step(Status.INVESTIGATING, "Looking."), Step(Status.RESOLVED, "Fine.")],
        )
        for n in range(60)
    ]
    incidents = build(tmp_path, many)["incidents.json"]["incidents"]
    assert len(incidents) == MOST_RECENT
    assert [i["id"] for i in incidents] == [f"inc-{n:03d}" for n in range(59, 9, -1)]


def test_the_description_is_the_pages_headline_and_the_indicator_statuspages(files: dict[str, Any]) -> None:
    # Machine readers key on the indicator (Statuspage's enum); the description is for people and
    # says what the page's banner says.
    assert files["status.json"]["status"] == {"indicator": "major", "description": "Major service disruption"}  # main's one banner rule


def _incident_facts(document: dict[str, Any]) -> dict[str, Any]:
    """What must not move between builds: each incident's ids, links, times and updates."""
    keys = ("id", "shortlink", "created_at", "updated_at", "started_at", "resolved_at", "monitoring_at",
            "incident_updates", "postmortem_published_at")
    return {i["id"]: {k: i.get(k) for k in keys} for i in document["incidents"]}


def test_ids_shortlinks_and_times_are_stable_across_builds(tmp_path: Path) -> None:
    incidents = sample_incidents()
    first = build(tmp_path / "one", incidents)
    assert build(tmp_path / "two", incidents) == first  # a second build changes nothing
    unrelated = make_incident(
        "2024-05-02-mail", "Mail delays", start=NOW - timedelta(minutes=20),
        components=affected(mail="degraded_performance"),
    )
    later = build(tmp_path / "one", [*incidents, unrelated])  # the same folder, after another post
    before, after = _incident_facts(first["incidents.json"]), _incident_facts(later["incidents.json"])
    assert {k: after[k] for k in before} == before
    assert before["2024-05-02-api"]["shortlink"] == f"{BASE}incidents/2024-05-02-api.html"
    update_ids = [u["id"] for u in before["2024-05-02-api"]["incident_updates"]]
    assert update_ids == ["2024-05-02-api-2", "2024-05-02-api-1"]
