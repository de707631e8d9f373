"""Fix 23e: the directory target's four no-link reads (the marker, a/'s lists, a file's digest, the site's own
listings) are one helper, ``_regular_file``. What each read gives for what someone may have put in a file's place,
pinned through the two that say it back: the marker's record and a file's digest."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from broadcaster.site.folder import MARKER
from broadcaster.site.hosts.directory import _content_hash
from tests.test_hosts_directory import make_host, publish, write_site


def _within(seconds: float, call: Callable[[], object]) -> object:
    """``call()``'s result, failing (not hanging the suite) if it waits on a fifo."""
    got: list[object] = []
    worker = threading.Thread(target=lambda: got.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert got, "the read waited (on a fifo?) instead of refusing it"
    return got[0]


def _as_link(path: Path, tmp_path: Path) -> None:
    real = tmp_path / "elsewhere"
    real.write_bytes(path.read_bytes())
    path.unlink()
    path.symlink_to(real)


def _as_fifo(path: Path, _tmp_path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _gone(path: Path, _tmp_path: Path) -> None:
    path.unlink()


def _as_folder(path: Path, _tmp_path: Path) -> None:
    path.unlink()
    path.mkdir()  # os.fdopen refused it (IsADirectoryError) and the descriptor was left open


REPLACED = pytest.mark.parametrize("replace", [_as_link, _as_fifo, _gone, _as_folder],
                                   ids=["a-link", "a-fifo", "gone", "a-folder"])


@REPLACED
def test_a_marker_that_is_not_a_regular_file_holds_no_record(
    tmp_path: Path, replace: Callable[[Path, Path], None]
) -> None:
    host = make_host("www", tmp_path)
    publish(host, write_site(tmp_path / "build", {"index.html": b"<!doctype html><title>S</title>"}))
    assert host._read_record() is not None  # the publish's own marker, read back
    replace(tmp_path / "www" / MARKER, tmp_path)
    assert _within(5, host._read_record) is None


@REPLACED
def test_a_file_that_is_not_a_regular_file_has_no_digest(tmp_path: Path, replace: Callable[[Path, Path], None]) -> None:
    path = tmp_path / "page.html"
    path.write_bytes(b"<p>hello</p>")
    assert _content_hash(path) == hashlib.sha256(b"<p>hello</p>").hexdigest()
    replace(path, tmp_path)
    assert _within(5, lambda: _content_hash(path)) is None
