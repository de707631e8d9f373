"""A review (failed on a first fix): "how far a publish reached" keyed by the target's name too let the same folder
under another name (a second machine of the store whose config calls it otherwise, a table renamed) take an older
build over a later one. It is kept by place, as the lock."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from broadcaster.config import ChannelConfig
from broadcaster.site import source
from broadcaster.site.hosts.directory import DirectoryHost
from broadcaster.store import open_store
from tests.test_hosts_review16 import built


def _host(name: str, path: Path) -> DirectoryHost:
    return DirectoryHost(ChannelConfig(name, "directory", options={"path": str(path)}), path.parent)


def test_same_folder_other_name_does_not_take_an_older_build(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    www = tmp_path / "srv" / "status"
    try:
        key, _ = store.site_generation()
        asyncio.run(source.publish(store, _host("www", www), replace(
            built(tmp_path / "b1", {"index.html": b"<p>first</p>"}, 10), store=key)))
        asyncio.run(source.publish(store, _host("www", www), replace(
            built(tmp_path / "b2", {"index.html": b"<p>first</p>"}, 12), store=key)))  # 12 changed no file
        # Another machine of this store (or this one after the table was renamed) calls the same folder "status".
        assert _host("status", www).publish_lock == _host("www", www).publish_lock  # one place, one lock
        asyncio.run(source.publish(store, _host("status", www), replace(
            built(tmp_path / "b3", {"index.html": b"<p>older</p>"}, 11), store=key)))
    finally:
        store.close()
    assert (www / "index.html").read_bytes() == b"<p>first</p>", "an older build replaced a later one"
