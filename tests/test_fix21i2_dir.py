"""Fix of review 21i finding 2 (directory target): a marker with a record but no folder line (895fe4f to 65d2534)
hands over only the paths this store published, not the files written within 15 minutes of it. A plain ``cp -r``
(or a checkout minutes before) gives every file the time of the copy, the web root's own pages too; and no file time
is needed for a target in place, whose files are the store's: the build's, its incidents' pages, and those its own
``api/v2`` lists named (a withdrawn incident's page)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from broadcaster.site.folder import MARKER
from tests.conftest import Project
from tests.test_fix20m_rest import OLD_PAGE, OWN, _as_an_older_version_wrote_it, _directory

LONG_AGO = 1764547200  # 1 Dec 2025: when the old version last published the target


def _said(output: str) -> str:
    return " ".join(output.split())


def _age(root: Path) -> None:
    for path in [root, *root.rglob("*")]:
        os.utime(path, (LONG_AGO, LONG_AGO), follow_symlinks=False)


def test_an_old_target_copied_with_cp_r_into_a_freshly_deployed_web_root_keeps_the_web_roots_own_page(
    project: Project,
) -> None:
    """The web root checked out just now (its page's time is the checkout's), the old target copied in with cp -r
    (the marker's time is the copy's): the web root's page is no path this store published, so the publish fails,
    exit 3, naming it and saying what to do; nothing is deleted."""
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Posted in error", "Wrong text.").exit_code == 0
    _as_an_older_version_wrote_it(www, folder_line=False)
    _age(www)
    webroot = project.root / "webroot"
    (webroot / "incidents").mkdir(parents=True)
    (webroot / OLD_PAGE).write_text(OWN, encoding="utf-8")
    subprocess.run(["cp", "-r", f"{www}/.", str(webroot)], check=True)
    _directory(project, "webroot")

    result = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    said = _said(result.output)
    assert (webroot / OLD_PAGE).read_text(encoding="utf-8") == OWN, f"deleted: exit {result.exit_code}\n{said}"
    assert result.exit_code == 3 and OLD_PAGE in said and "records no list of the files" in said, said
    assert b"files: " not in (webroot / MARKER).read_bytes(), "the folder was replaced"


def test_a_withdrawal_takes_down_an_old_targets_page_whatever_its_time(project: Project) -> None:
    """An old target in place whose withdrawn page is hours older than its marker (written by an earlier publish's
    run, touched, or restored from a backup): the page's incident was listed by the target's own site, so the
    withdrawal deletes it, exit 0, and writes the marker with the file list."""
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Posted in error", "Wrong text.").exit_code == 0
    _as_an_older_version_wrote_it(www, folder_line=False)
    [page] = list((www / "incidents").glob("*.html"))
    os.utime(page, (LONG_AGO, LONG_AGO))

    withdrawn = project.cli("withdraw", page.stem, "--reason", "wrong incident", "--yes")

    assert withdrawn.exit_code == 0, withdrawn.output
    assert not page.exists(), "the withdrawn incident's page is still served"
    assert b"files: " in (www / MARKER).read_bytes()


def test_an_old_target_in_place_hands_over_its_incidents_pages_and_old_stylesheet(project: Project) -> None:
    """Every file of an old target in place is one the store published: an incident's page the build rewrites (its
    content changed since), the previous release's style.<hash>.css. Exit 0, both replaced, times aside."""
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    _as_an_older_version_wrote_it(www, folder_line=False)
    [page] = list((www / "incidents").glob("*.html"))
    page.write_text("<p>as the old release rendered it</p>", encoding="utf-8")
    [style] = list(www.glob("style.*.css"))
    style.rename(www / "style.0a1b2c3d.css")
    _age(www)
    os.utime(www / MARKER)  # the marker rewritten since (hand-edited, or restored apart from the files)

    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 0, posted.output
    assert not (www / "style.0a1b2c3d.css").exists()
    assert page.read_text(encoding="utf-8") != "<p>as the old release rendered it</p>"


def test_a_web_roots_own_fingerprinted_asset_of_another_kind_is_not_handed_over(project: Project) -> None:
    """Only a fingerprinted name of a kind the build writes (style.<hash>.css) counts as an earlier release's: a web
    root's own app.<hash>.css, copied beside an old target with cp -r, is refused and kept."""
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    _as_an_older_version_wrote_it(www, folder_line=False)
    webroot = project.root / "webroot"
    webroot.mkdir()
    (webroot / "app.0a1b2c3d.css").write_text("body { color: red }", encoding="utf-8")
    subprocess.run(["cp", "-r", f"{www}/.", str(webroot)], check=True)
    _directory(project, "webroot")

    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 3 and "app.0a1b2c3d.css" in _said(posted.output), posted.output
    assert (webroot / "app.0a1b2c3d.css").read_text(encoding="utf-8") == "body { color: red }"
