"""Fixes for review 20c findings 5 and 6: a directory target that is (or holds) a mount point is refused before
anything is stored, a swap that can never succeed says why, and a copied marker never hands a web root over."""

from __future__ import annotations

import errno
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from broadcaster.config import ChannelConfig
from broadcaster.site.file_writer import TEMP_SUFFIX
from broadcaster.site.folder import MARKER, is_site_path
from broadcaster.site.hosts.directory import DirectoryHost
from tests.conftest import Project
from tests.input_helpers import stored

TOKEN = "acme-feed-token-0123456789abcdef"


def _mount(where: Path, *how: str) -> None:
    """Mount ``how`` at ``where`` (root only); skips the test, saying why, when that cannot be done."""
    if os.geteuid() != 0:
        pytest.skip(f"mounting a file system needs root; this runs as uid {os.geteuid()}")
    done = subprocess.run(["mount", *how, str(where)], capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount here: {done.stderr.strip() or done.returncode}")


@pytest.fixture
def mounts(tmp_path: Path) -> Iterator[list[Path]]:
    """Mount points a test made, unmounted afterwards (innermost first); and any mount below ``tmp_path`` a swap
    carried elsewhere (the code before the fix moved a mount inside the target along with the old copy)."""
    made: list[Path] = []
    yield made
    for point in reversed(made):
        subprocess.run(["umount", "-l", str(point)], check=False, capture_output=True)
    with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as file:
        left = [line.split(" ")[4] for line in file if len(line.split(" ")) > 4]
    for stray in sorted((p for p in left if p.startswith(f"{tmp_path}/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", stray], check=False, capture_output=True)


def _tmpfs(where: Path, mounts: list[Path]) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    _mount(where, "-t", "tmpfs", "-o", "size=8m", "none")
    mounts.append(where)
    return where


def _directory(project: Project, path: Path | str) -> None:
    project.write_config(f'\n[publish.www]\ntype = "directory"\npath = "{path}"\n')


def _said(output: str) -> str:
    return " ".join(output.split())


# -- finding 5: a mount point ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tmpfs", "bind"], ids=["another-file-system", "bind-mount-of-the-same-one"])
def test_a_target_that_is_a_mount_point_is_refused_before_anything_is_stored(
    project: Project, tmp_path: Path, mounts: list[Path], kind: str
) -> None:
    """Renaming a mount point fails (EBUSY) on every publish: refused up front, with a folder inside it to use. A bind
    mount of a folder on the same file system has the same device as its parent: os.path.ismount misses it."""
    www = tmp_path / "www"
    if kind == "tmpfs":
        _tmpfs(www, mounts)
    else:
        (tmp_path / "share").mkdir()
        www.mkdir()
        _mount(www, "--bind", str(tmp_path / "share"))
        mounts.append(www)
    _directory(project, www)

    checked = project.cli("channels", "check")
    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 2, posted.output
    assert stored(project) == []
    said = _said(posted.output)
    assert "is a mount point" in said and str(www / "site") in said and "Nothing was stored" in said, said
    assert list(www.iterdir()) == []
    assert checked.exit_code != 0 and "is a mount point" in _said(checked.output), checked.output


def test_a_folder_inside_the_mount_is_published(project: Project, tmp_path: Path, mounts: list[Path]) -> None:
    """The advice works: a folder inside the mounted share is swapped within it."""
    share = _tmpfs(tmp_path / "share", mounts)
    _directory(project, share / "site")

    for title in ("Database errors", "Queue delays"):
        posted = project.cli("post", "--yes", "-t", title, "Looking into it.")
        assert posted.exit_code == 0, posted.output

    assert "Queue delays" in (share / "site" / "index.html").read_text(encoding="utf-8")


def test_a_target_holding_a_mount_point_is_refused_before_anything_is_stored(
    project: Project, tmp_path: Path, mounts: list[Path]
) -> None:
    """A share mounted inside the target would leave with the old copy, and removing the old copy empties it."""
    www = tmp_path / "www"
    _directory(project, www)
    assert project.cli("post", "--yes", "-t", "Database errors", "Looking into it.").exit_code == 0
    inside = _tmpfs(www / "incidents", mounts)
    (inside / "kept.html").write_text("<p>on the share</p>", encoding="utf-8")  # site-shaped: only the mount refuses

    posted = project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.")

    assert posted.exit_code == 2, posted.output
    assert len(stored(project)) == 1
    assert f"holds a mount point ({inside})" in _said(posted.output)
    assert (inside / "kept.html").read_text(encoding="utf-8") == "<p>on the share</p>"


def test_a_swap_refused_as_busy_says_what_is_wrong_and_what_to_do(tmp_path: Path, mounts: list[Path]) -> None:
    """A mount made after the check (a race) still fails the swap with EBUSY: the error names the cause and the way
    out, not "check permissions and disk space". The kernel's own error, from renaming a real mount point."""
    www = _tmpfs(tmp_path / "www", mounts)
    with pytest.raises(OSError) as busy:
        os.rename(www, tmp_path / ".www.broadcaster-old-000000000000")
    assert busy.value.errno == errno.EBUSY
    host = DirectoryHost(ChannelConfig("www", "directory", options={"path": str(www)}), tmp_path)

    said = str(host._error(busy.value))

    assert "mount point" in said and str(www / "site") in said and "publish.www.path" in said, said
    assert "disk has room" not in said


def test_a_read_only_file_system_says_so_at_publish(project: Project, tmp_path: Path, mounts: list[Path]) -> None:
    """A share mounted read-only never takes a publish, however often it is retried: say so."""
    share = _tmpfs(tmp_path / "share", mounts)
    _directory(project, share / "site")
    assert project.cli("post", "--yes", "-t", "Database errors", "Looking into it.").exit_code == 0
    _mount(share, "-o", "remount,ro")

    posted = project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.")

    said = _said(posted.output)
    assert posted.exit_code != 0 and "mounted read-only" in said and "disk has room" not in said, said


# -- finding 6: a copied marker -------------------------------------------------------------------------------------


def _web_root(project: Project) -> Path:
    """A web root that also serves a shop, into which an earlier `rsync -a public/ /var/www/html/` copied the
    output folder's marker."""
    assert project.cli("site", "build").exit_code == 0
    webroot = project.root / "webroot"
    (webroot / "app").mkdir(parents=True)
    (webroot / MARKER).write_bytes((project.site / MARKER).read_bytes())
    (webroot / "index.html").write_text("<p>old status</p>", encoding="utf-8")
    (webroot / "app" / "main.js").write_text("console.log('the shop')", encoding="utf-8")
    return webroot


def test_a_copied_marker_beside_foreign_files_is_refused_naming_them(project: Project) -> None:
    webroot = _web_root(project)
    _directory(project, "webroot")

    checked = project.cli("channels", "check")
    posted = project.cli("post", "--yes", "-t", "Database errors", "Looking into it.")

    assert posted.exit_code == 2, posted.output
    assert stored(project) == []
    said = _said(posted.output)
    assert "did not write (app/main.js)" in said and "move those files out" in said, said
    assert f"{MARKER} file does not make them broadcaster's" in said and "Nothing was stored" in said, said
    assert (webroot / "app" / "main.js").read_text(encoding="utf-8") == "console.log('the shop')"
    assert (webroot / "index.html").read_text(encoding="utf-8") == "<p>old status</p>"
    assert checked.exit_code != 0 and "app/main.js" in _said(checked.output), checked.output


def test_a_site_publish_over_a_copied_marker_deletes_nothing(project: Project) -> None:
    """`site publish` has no preflight of its own: the publish refuses too, before writing anything."""
    webroot = _web_root(project)
    _directory(project, "webroot")

    published = project.cli("site", "publish")

    assert published.exit_code != 0 and "app/main.js" in _said(published.output), published.output
    assert (webroot / "app" / "main.js").is_file() and (webroot / "index.html").read_text() == "<p>old status</p>"


FULL = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"

[publish.www]
type = "directory"
path = "www"
"""


def test_a_target_holding_every_kind_of_page_broadcaster_writes_is_still_ours(project: Project) -> None:
    """Customers' pages, maintenance and its calendar, the API, badges, component feeds, assets, and what an
    interrupted publish leaves (a file half written inside, copies beside) are all broadcaster's."""
    project.env["ACME_FEED_TOKEN"] = TOKEN
    project.write_config(FULL)
    www = project.root / "www"
    first = project.cli("post", "--yes", "--json", "-t", "API errors", "-C", "api", "--for", "acme",
                        "Your circuit is down.", "Errors on the API.")
    assert first.exit_code == 0, first.output
    scheduled = project.cli("maintenance", "schedule", "--yes", "-t", "Database upgrade", "--start", "2h",
                            "--end", "1h", "-C", "db", "We upgrade the database.")
    assert scheduled.exit_code == 0, scheduled.output
    written = sorted(p.relative_to(www).as_posix() for p in www.rglob("*") if p.is_file())
    kinds = ("a/" + TOKEN + "/index.html", "maintenance.ics", "api/v2/summary.json", "badges/api.svg",
             "components/api/feed.xml", "incidents/")
    assert all(any(f.startswith(kind) for f in written) for kind in kinds), written
    assert [f for f in written if f != MARKER and not is_site_path(f)] == []
    (www / "incidents" / f".index.html.123-4{TEMP_SUFFIX}").write_bytes(b"half")
    (project.root / ".www.broadcaster-tmp-0123456789ab").mkdir()
    (project.root / ".www.broadcaster-old-0123456789ab").mkdir()

    again = project.cli("post", "--yes", "--json", "-i", json.loads(first.stdout)["incident_id"], "-s", "resolved",
                        "Fixed.")

    assert again.exit_code == 0, again.output
    assert "Fixed." in (www / "incidents" / f"{json.loads(first.stdout)['incident_id']}.html").read_text()


def test_a_copy_of_another_targets_folder_with_foreign_files_is_refused(project: Project) -> None:
    """`rsync -a /var/www/status/ /var/www/html/`: the marker then carries the other target's record, id and all.
    A record names the folder a publish wrote it into, so a copy of it makes no other folder broadcaster's."""
    _directory(project, "www")
    assert project.cli("post", "--yes", "-t", "Database errors", "Looking into it.").exit_code == 0
    webroot = project.root / "webroot"
    subprocess.run(["cp", "-a", str(project.root / "www"), str(webroot)], check=True)
    (webroot / "app").mkdir()
    (webroot / "app" / "main.js").write_text("console.log('the shop')", encoding="utf-8")
    _directory(project, "webroot")

    posted = project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.")

    assert posted.exit_code == 2, posted.output
    assert len(stored(project)) == 1
    assert "did not write (app/main.js)" in _said(posted.output), posted.output
    assert (webroot / "app" / "main.js").is_file()


def test_a_copy_of_a_targets_folder_holding_only_the_site_is_published(project: Project) -> None:
    """The same copy without foreign files is the site's: published, and its marker then names this folder."""
    _directory(project, "www")
    assert project.cli("post", "--yes", "-t", "Database errors", "Looking into it.").exit_code == 0
    copy = project.root / "copy"
    subprocess.run(["cp", "-a", str(project.root / "www"), str(copy)], check=True)
    _directory(project, "copy")

    assert project.cli("post", "--yes", "-t", "Queue delays", "Looking into it.").exit_code == 0
    (copy / "extra.html").write_text("dropped in later", encoding="utf-8")  # "Keep nothing else here": replaced
    assert project.cli("post", "--yes", "-t", "Login failures", "Looking into it.").exit_code == 0

    assert not (copy / "extra.html").exists() and "Login failures" in (copy / "index.html").read_text()
