"""The directory publish target: a real folder swapped atomically, observed on disk."""

from __future__ import annotations

import asyncio
import hashlib
import os
import threading
import time
from pathlib import Path

import pytest

from broadcaster.config import ChannelConfig
from broadcaster.config_loader import parse
from broadcaster.errors import DeliveryError
from broadcaster.registry import load_host_class
from broadcaster.site.folder import MARKER
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.hosts.directory import DirectoryHost
from tests.conftest import Project
from tests.input_helpers import stored

SITE = {
    "index.html": b"<!doctype html><title>Status v1</title>",
    "incidents/inc-1.html": b"<!doctype html><title>Incident 1</title>",
    "style.0123abcd.css": b"body { color: #111 }",
    "summary.json": b'{"v": 1}',
}


def write_site(root: Path, files: dict[str, bytes]) -> BuiltSite:
    """A finished build: the files on disk and their sha256, as the site builder reports them."""
    for path, data in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(data)
    return BuiltSite(root=root, hashes={p: hashlib.sha256(d).hexdigest() for p, d in files.items()})


def on_disk(folder: Path) -> dict[str, bytes]:
    """The site in ``folder``: every file but the marker that makes the folder broadcaster's."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != MARKER}


def make_host(path: str, base_dir: Path, *, exchange: bool = True) -> DirectoryHost:
    host = DirectoryHost(ChannelConfig("www", "directory", options={"path": path}), base_dir)
    host.use_exchange = exchange  # type: ignore[misc]
    return host


def publish(host: DirectoryHost, site: BuiltSite) -> object:
    return asyncio.run(host.publish(site))


@pytest.fixture
def site(tmp_path: Path) -> BuiltSite:
    return write_site(tmp_path / "build" / "public", SITE)


SWAPS = pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])


@SWAPS
def test_the_site_is_swapped_in_and_an_old_file_disappears(site: BuiltSite, tmp_path: Path, exchange: bool) -> None:
    host = make_host("www/status", tmp_path, exchange=exchange)
    publish(host, site)
    target = tmp_path / "www" / "status"
    assert on_disk(target) == SITE
    first_inode = target.stat().st_ino

    newer = {**SITE, "index.html": b"<!doctype html><title>Status v2</title>"}
    del newer["incidents/inc-1.html"]
    (site.root / "incidents" / "inc-1.html").unlink()
    receipt = publish(host, write_site(site.root, newer))

    assert on_disk(target) == newer
    assert not (target / "incidents").exists() or not any((target / "incidents").iterdir())
    assert target.stat().st_ino != first_inode, "the folder was edited in place, not swapped"
    assert sorted(p.name for p in target.parent.iterdir()) == ["status"], "temporary copies left behind"
    assert receipt.notes == ("2 files changed",)  # type: ignore[attr-defined]


def test_an_unchanged_site_leaves_the_folder_alone(site: BuiltSite, tmp_path: Path) -> None:
    host = make_host("www", tmp_path)
    publish(host, site)
    inode = (tmp_path / "www").stat().st_ino

    receipt = publish(host, site)

    assert (tmp_path / "www").stat().st_ino == inode
    assert receipt.notes == ("unchanged",)  # type: ignore[attr-defined]


def test_a_file_edited_by_hand_in_the_folder_is_repaired(site: BuiltSite, tmp_path: Path) -> None:
    host = make_host("www", tmp_path)
    publish(host, site)
    (tmp_path / "www" / "index.html").write_bytes(b"defaced")
    (tmp_path / "www" / "extra.html").write_bytes(b"not ours")

    publish(host, site)

    assert on_disk(tmp_path / "www") == SITE


def test_readers_always_find_a_complete_site_while_it_is_swapped(site: BuiltSite, tmp_path: Path) -> None:
    """A reader polling the folder during many publishes never misses a file or sees a mixed size."""
    versions = [write_site(tmp_path / f"build{n}", {**SITE, "index.html": bytes([65 + n]) * (1000 * (n + 1))})
                for n in range(2)]
    host = make_host("www", tmp_path)
    publish(host, versions[0])
    problems: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                data = (tmp_path / "www" / "index.html").read_bytes()
                if data not in (b"A" * 1000, b"B" * 2000):
                    problems.append(f"partial index.html: {len(data)} bytes")
            except FileNotFoundError as exc:
                problems.append(f"missing: {exc.filename}")

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for n in range(20):
            publish(host, versions[(n + 1) % 2])
    finally:
        done.set()
        reader.join()

    assert not problems, problems[:5]


def test_absolute_paths_and_folder_modes_are_kept(site: BuiltSite, tmp_path: Path) -> None:
    target = tmp_path / "srv" / "status"
    target.mkdir(parents=True)
    target.chmod(0o750)
    host = make_host(str(target), tmp_path / "elsewhere")

    publish(host, site)

    assert on_disk(target) == SITE
    assert target.stat().st_mode & 0o777 == 0o750


def test_leftovers_of_a_crashed_publish_are_removed_once_stale(site: BuiltSite, tmp_path: Path) -> None:
    (tmp_path / "www.tmp-0123456789ab").mkdir()
    (tmp_path / "www.old-ba9876543210").mkdir()
    (tmp_path / "www.tmp-fedcba987654").mkdir()  # young: maybe another process's publish
    hour_ago = time.time() - 2 * DirectoryHost.stale_after
    for name in ("www.tmp-0123456789ab", "www.old-ba9876543210"):
        os.utime(tmp_path / name, (hour_ago, hour_ago))

    publish(make_host("www", tmp_path), site)

    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("www"))
    assert left == ["www", "www.tmp-fedcba987654"]


@pytest.mark.parametrize(("path", "words"), [
    ("build/public", "overlaps the folder the site is built in"),
    ("build", "overlaps the folder the site is built in"),
    ("build/public/www", "overlaps the folder the site is built in"),
    ("a-file/www", "cannot write the site"),
    ("a-file", "is not a folder"),
], ids=["same", "parent", "inside", "parent-is-a-file", "target-is-a-file"])
def test_impossible_targets_are_permanent_errors(site: BuiltSite, tmp_path: Path, path: str, words: str) -> None:
    (tmp_path / "a-file").write_text("x")

    with pytest.raises(DeliveryError) as caught:
        publish(make_host(path, tmp_path), site)

    assert not caught.value.retryable
    assert words in str(caught.value)
    assert on_disk(site.root) == SITE


def test_check_changes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")

    (fresh,) = asyncio.run(make_host("www", tmp_path).check())
    (blocked,) = asyncio.run(make_host("a-file", tmp_path).check())

    assert fresh.ok and "will be created" in fresh.detail
    assert not blocked.ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_config_loader_builds_a_directory_target(tmp_path: Path) -> None:
    config = parse({"publish": {"www": {"type": "directory", "path": "/srv/status"}}}, tmp_path / "b.toml", {})

    host = load_host_class("directory")(config.publish["www"], tmp_path)

    assert isinstance(host, DirectoryHost) and host.target == Path("/srv/status")


def test_site_publish_from_the_cli_fills_the_folder(project: Project) -> None:
    """config -> destinations -> DirectoryHost, through the real `broadcaster site publish`."""
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "srv/www"\n')

    result = project.cli("site", "publish")

    assert result.exit_code == 0, result.output
    published = on_disk(project.root / "srv" / "www")
    assert "index.html" in published and "summary.json" in published
    built = {p: d for p, d in on_disk(project.site).items() if not p.startswith(".")}
    assert published == built


@pytest.mark.parametrize("path", ["public", "public/mirror", ".", "./public/../public"])
def test_a_target_overlapping_the_sites_folder_is_refused_before_anything_is_stored(project: Project, path: str) -> None:
    """Attack (review): `channels check` said the folder was fine and the post was stored, then every publish
    failed ("overlaps the folder the site is built in"), which no retry could fix."""
    project.write_config(f'\n[publish.www]\ntype = "directory"\npath = "{path}"\n')
    checked = project.cli("channels", "check")
    assert checked.exit_code == 2 and "publish.www.path" in checked.output
    posted = project.cli("post", "--yes", "-t", "Errors", "Looking into it.")
    assert posted.exit_code == 2 and "overlaps the folder the site is built in" in posted.output
    assert not (project.root / ".broadcaster" / "state.db").exists() and not project.site.exists()


def test_a_target_below_a_file_is_refused_before_anything_is_stored_and_checked_as_such(project: Project) -> None:
    """Found by a review: a directory target under a file (`notes.txt/www`) crashed the post as an unexpected
    error (NotADirectoryError), exit 1, and `channels check` with it."""
    (project.root / "notes.txt").write_text("mine\n", encoding="utf-8")
    project.write_config('\n[publish.www]\ntype = "directory"\npath = "notes.txt/www"\n')

    posted = project.cli("post", "--yes", "-t", "Errors", "Looking into it.")
    checked = project.cli("channels", "check")

    assert posted.exit_code == 2 and "notes.txt is a file, not a folder" in posted.output, posted.output
    assert "unexpected error" not in posted.output + checked.output
    assert stored(project) == []
    # A table cell, wrapped where the test's folder is long: its words read across the lines.
    assert checked.exit_code != 0 and "nothing can be inside it" in " ".join(checked.output.split()), checked.output
    assert (project.root / "notes.txt").read_text(encoding="utf-8") == "mine\n"
