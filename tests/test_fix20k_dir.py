"""Fix for review 20k finding 3 (directory target): a target whose marker an older version wrote (a record, but no
file digests and no folder mark of today's kind) is trusted as it was then for the one publish that writes today's
marker, so it publishes and withdraws as before; the content check applies from then on, and a refusal never calls
broadcaster's own older files foreign."""

from __future__ import annotations

import subprocess
from pathlib import Path

from broadcaster.site.folder import MARKER
from tests.conftest import Project
from tests.input_helpers import stored


def _directory(project: Project, path: str) -> None:
    project.write_config(f'\n[publish.www]\ntype = "directory"\npath = "{path}"\n')


def _said(output: str) -> str:
    return " ".join(output.split())


def _as_an_older_version_left_it(www: Path) -> None:
    """The marker as every version before 2026-12-05 wrote it: no files: line, and no folder mark of today's kind."""
    marker = (www / MARKER).read_bytes()
    (www / MARKER).write_bytes(b"".join(x for x in marker.splitlines(True)
                                        if not x.startswith((b"folder: ", b"files: "))))


def _published_target(project: Project) -> Path:
    """A target published by an older version: one incident posted, its marker as that version wrote it."""
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Posted in error", "Wrong text.").exit_code == 0
    _as_an_older_version_left_it(www)
    return www


def test_a_withdrawal_right_after_the_upgrade_takes_the_page_down_and_writes_the_new_marker(project: Project) -> None:
    """The withdrawn page is one of broadcaster's own older files: no digest names it and this build does not write
    it. Trusted as before the upgrade, it is removed, and the publish records every file it wrote."""
    www = _published_target(project)
    [page] = list((www / "incidents").glob("*.html"))

    withdrawn = project.cli("withdraw", page.stem, "--reason", "wrong incident", "--yes")

    assert withdrawn.exit_code == 0, withdrawn.output
    assert not page.exists(), "the withdrawn incident's page is still served"
    assert b"files: " in (www / MARKER).read_bytes()


def test_the_previous_releases_stylesheet_is_replaced_and_the_content_check_applies_from_then_on(
    project: Project,
) -> None:
    """An upgrade that changed style.css renames the fingerprinted asset; the old one is broadcaster's own. After
    that publish the marker names its files: a copy of the target into a web root with a site-shaped file of its
    own is refused again (nothing stored), as for any copied marker of today's kind."""
    www = _published_target(project)
    [style] = list(www.glob("style.*.css"))
    style.rename(www / "style.0a1b2c3d.css")  # what the previous release's stylesheet was called

    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 0, posted.output
    assert not (www / "style.0a1b2c3d.css").exists()
    webroot = project.root / "webroot"
    (webroot / "badges").mkdir(parents=True)
    (webroot / "badges" / "coverage.svg").write_text("<svg>coverage 93%</svg>", encoding="utf-8")
    subprocess.run(["cp", "-a", f"{www}/.", str(webroot)], check=True)
    _directory(project, "webroot")
    before = len(stored(project))

    copied = project.cli("post", "--yes", "-t", "Login failures", "Looking into it.")

    assert copied.exit_code == 2 and "badges/coverage.svg" in _said(copied.output), copied.output
    assert len(stored(project)) == before
    assert (webroot / "badges" / "coverage.svg").read_text(encoding="utf-8") == "<svg>coverage 93%</svg>"


def test_a_refusal_under_a_marker_without_a_file_list_does_not_call_site_shaped_files_foreign(
    project: Project,
) -> None:
    """The output folder's marker (no record) copied into a web root: a page this build does not write may be a
    web root's own or broadcaster's older one. It is refused, deleting nothing, saying it cannot tell which and
    what to do either way; never that broadcaster did not write it."""
    assert project.cli("site", "build").exit_code == 0
    webroot = project.root / "webroot"
    (webroot / "incidents").mkdir(parents=True)
    (webroot / MARKER).write_bytes((project.site / MARKER).read_bytes())
    (webroot / "incidents" / "2019-outage.html").write_text("<p>The 2019 outage</p>", encoding="utf-8")
    _directory(project, "webroot")

    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    said = _said(posted.output)
    assert posted.exit_code != 0, posted.output
    assert "incidents/2019-outage.html" in said and "did not write" not in said, said
    assert "cannot tell whether they are its own older files" in said and "broadcaster site publish" in said, said
    assert (webroot / "incidents" / "2019-outage.html").read_text(encoding="utf-8") == "<p>The 2019 outage</p>"
