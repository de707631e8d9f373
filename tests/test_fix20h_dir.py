"""Fixes for review 20h findings 3 and 4 (directory target): a copied ``.broadcaster-site`` marker hands over only the
files broadcaster published (their content, not their shape), and the folder mark is the folder's inode number with
its birth time, never the number alone."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.site.folder import MARKER
from broadcaster.site.hosts import directory
from tests.conftest import Project
from tests.input_helpers import stored

# A web root's own files in the shape of a site's: an old hand-written status page's incidents, a CI badge.
THEIRS = {
    "incidents/2023-05-01-database-outage.html": "<h1>Database outage, 1 May 2023</h1>",
    "badges/coverage.svg": "<svg>coverage 93%</svg>",
}


def _directory(project: Project, path: Path | str) -> None:
    project.write_config(f'\n[publish.www]\ntype = "directory"\npath = "{path}"\n')


def _said(output: str) -> str:
    return " ".join(output.split())


def _web_root_with_a_copy(project: Project, strip: tuple[bytes, ...] = ()) -> Path:
    """A web root holding its own site-shaped files, into which `rsync -a www/ webroot/` copied a target's folder;
    ``strip``: marker lines taken out (to make a marker as an older version wrote it)."""
    _directory(project, "www")
    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    webroot = project.root / "webroot"
    for path, text in THEIRS.items():
        (webroot / path).parent.mkdir(parents=True, exist_ok=True)
        (webroot / path).write_text(text, encoding="utf-8")
    subprocess.run(["cp", "-a", f"{project.root / 'www'}/.", str(webroot)], check=True)
    marker = (webroot / MARKER).read_bytes()
    (webroot / MARKER).write_bytes(b"".join(x for x in marker.splitlines(True) if not x.startswith(strip)))
    _directory(project, "webroot")
    return webroot


# -- finding 3: content, not shape ----------------------------------------------------------------------------------


def test_a_copied_marker_with_site_shaped_files_of_the_web_roots_own_is_refused_before_anything_is_stored(
    project: Project,
) -> None:
    """The marker names (hashed) every file its publish wrote, path and content: the web root's own pages are not
    among them, so the post is refused in preflight, naming them, and nothing is stored or deleted."""
    webroot = _web_root_with_a_copy(project)

    checked = project.cli("channels", "check")
    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 2, posted.output
    assert len(stored(project)) == 1  # the first post's incident only: the refused one is not stored
    said = _said(posted.output)
    assert "badges/coverage.svg" in said and "incidents/2023-05-01-database-outage.html" in said, said
    assert "not what broadcaster published there" in said and "Nothing was stored" in said, said
    assert all((webroot / p).read_text(encoding="utf-8") == t for p, t in THEIRS.items())
    assert checked.exit_code != 0 and "badges/coverage.svg" in _said(checked.output), checked.output


def test_a_copied_site_file_edited_by_hand_is_not_broadcasters(project: Project) -> None:
    """A copied page whose content broadcaster never published (edited after the copy) is named, not replaced."""
    _directory(project, "www")
    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    copy = project.root / "copy"
    subprocess.run(["cp", "-a", str(project.root / "www"), str(copy)], check=True)
    (copy / "feed.xml").write_text("<rss>a hand-made feed</rss>", encoding="utf-8")
    _directory(project, "copy")

    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 2 and "feed.xml" in _said(posted.output), posted.output
    assert (copy / "feed.xml").read_text(encoding="utf-8") == "<rss>a hand-made feed</rss>"


def test_a_marker_of_an_older_version_hands_over_no_file_a_site_never_has(project: Project) -> None:
    """A marker written before the fix names no file. It is trusted as it was then (review 20k finding 3: every
    target published before the fix holds its own older pages and stylesheet that no digest names): its
    site-shaped files count as broadcaster's for the one publish that writes the new marker. A file no site has
    (a web root's app) is still refused, and the refusal deletes nothing, the web root's site-shaped files
    included. (Changed on purpose in fix 20k: this test asserted that the web root's old incident page and badge
    were refused; that rule refused every older target's own withdrawn page and old stylesheet.)"""
    webroot = _web_root_with_a_copy(project, strip=(b"folder: ", b"files: "))
    (webroot / "app").mkdir()
    (webroot / "app" / "main.js").write_text("console.log('the shop')", encoding="utf-8")

    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code != 0, posted.output
    assert "app/main.js" in _said(posted.output), posted.output
    assert all((webroot / p).read_text(encoding="utf-8") == t for p, t in THEIRS.items())
    assert (webroot / "app" / "main.js").is_file()


def test_a_target_published_by_an_older_version_is_published_after_the_upgrade(project: Project) -> None:
    """Upgrade: a target whose marker has neither a folder mark nor file digests, holding only its site, takes the
    first post after the upgrade; the marker then marks the folder, and a file dropped in later is replaced."""
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    marker = (www / MARKER).read_bytes()
    (www / MARKER).write_bytes(b"".join(x for x in marker.splitlines(True)
                                        if not x.startswith((b"folder: ", b"files: "))))

    first = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")
    (www / "extra.html").write_text("dropped in later", encoding="utf-8")
    second = project.cli("post", "--yes", "-t", "Login failures", "Looking into it.")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert not (www / "extra.html").exists() and b"files: " in (www / MARKER).read_bytes()


# -- finding 4: the folder mark -------------------------------------------------------------------------------------


def test_a_folder_moved_by_rename_stays_broadcasters(project: Project) -> None:
    """A rename keeps the inode and the birth time: files dropped into the moved folder are still replaced."""
    _directory(project, "www")
    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    (project.root / "www").rename(project.root / "moved")
    _directory(project, "moved")
    (project.root / "moved" / "extra.html").write_text("dropped in", encoding="utf-8")

    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 0, posted.output
    assert not (project.root / "moved" / "extra.html").exists()


def test_without_a_birth_time_no_folder_counts_as_marked_and_nothing_is_deleted(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the file system gives no birth time (or an image zeroed it), the mark is empty: the folder is checked
    file by file like a copy. Its site is still published; a file dropped in is refused, never deleted."""
    monkeypatch.setattr(directory, "_birth_time_ns", lambda _folder: None)
    _directory(project, "www")
    www = project.root / "www"
    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    assert re.search(rb"^folder: *$", (www / MARKER).read_bytes(), re.M)
    assert project.cli("post", "--yes", "-t", "Database errors", "Looking into it.").exit_code == 0
    (www / "extra.html").write_text("dropped in", encoding="utf-8")

    posted = project.cli("post", "--yes", "-t", "Login failures", "Looking into it.")

    assert posted.exit_code == 2 and "extra.html" in _said(posted.output), posted.output
    assert (www / "extra.html").is_file()
    monkeypatch.setattr(directory, "_birth_time_ns", lambda _folder: 0)
    assert directory.folder_mark("id", www) == ""


def _ext4(where: Path, mounts: list[Path]) -> Path:
    """A fresh small ext4 file system mounted at ``where`` (root only; skipped, saying why, otherwise)."""
    if os.geteuid() != 0:
        pytest.skip(f"mounting a file system needs root; this runs as uid {os.geteuid()}")
    image = where.with_suffix(".img")
    with open(image, "wb") as file:
        file.truncate(16 * 1024 * 1024)
    made = subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], capture_output=True, text=True, check=False)
    if made.returncode:
        pytest.skip(f"cannot make an ext4 image: {made.stderr.strip() or made.returncode}")
    where.mkdir()
    done = subprocess.run(["mount", "-o", "loop", str(image), str(where)], capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount a loop device here: {done.stderr.strip() or done.returncode}")
    mounts.append(where)
    return where


@pytest.fixture
def mounts() -> Iterator[list[Path]]:
    made: list[Path] = []
    yield made
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)


def test_a_copy_to_another_disk_with_the_same_inode_number_is_refused_before_anything_is_stored(
    project: Project, tmp_path: Path, mounts: list[Path]
) -> None:
    """Inode 12 on two fresh ext4 disks: the copy is refused in preflight (exit 2, nothing stored) and the original
    keeps its mark (a file dropped into it is replaced)."""
    first, second = _ext4(tmp_path / "disk1", mounts), _ext4(tmp_path / "disk2", mounts)
    _directory(project, f"{first}/www")
    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    webroot = second / "www"
    webroot.mkdir()
    (webroot / "app").mkdir()
    (webroot / "app" / "main.js").write_text("console.log('the shop')", encoding="utf-8")
    if os.stat(webroot).st_ino != os.stat(first / "www").st_ino:
        pytest.skip("the two folders did not get the same inode number here")
    subprocess.run(["cp", "-a", f"{first}/www/.", str(webroot)], check=True)
    _directory(project, webroot)

    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 2 and "app/main.js" in _said(posted.output), posted.output
    assert len(stored(project)) == 1 and (webroot / "app" / "main.js").is_file()
    _directory(project, f"{first}/www")
    (first / "www" / "extra.html").write_text("dropped in", encoding="utf-8")
    assert project.cli("post", "--yes", "-t", "Login failures", "Looking into it.").exit_code == 0
    assert not (first / "www" / "extra.html").exists()
