"""A review (failed before its fix): the skip of older builds (site/source.publish: ``published_generation(host.publish_lock)``) is keyed by
the host's ``place``, which for a directory target is the id in the folder's marker. A second target made by copying
the served folder (``cp -a /srv/status /srv/status-mirror``, a mirror, a staging copy) carries the same id: the two
folders share one lock and one "how far it got". A publish to the mirror is then skipped ("kept: already holds a site
built from a later state") because the *other* folder got a later build: the mirror keeps an old site, and the
delivery was recorded as sent. It is keyed by the target's name too now (the mirror is a table of its own)."""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import replace
from pathlib import Path

from broadcaster.config import ChannelConfig
from broadcaster.site import source
from broadcaster.site.hosts.directory import DirectoryHost
from broadcaster.store import open_store
from tests.test_hosts_review16 import built, directory_host


def test_a_copied_folder_is_not_skipped_for_the_originals_later_build(tmp_path: Path) -> None:
    store = open_store(tmp_path / "state.db")
    try:
        key, _ = store.site_generation()
        www, mirror = tmp_path / "srv" / "status", tmp_path / "srv" / "status-mirror"
        first = built(tmp_path / "b1", {"index.html": b"<p>old</p>"}, 10)
        first = replace(first, store=key)
        asyncio.run(source.publish(store, directory_host(www), first))
        shutil.copytree(www, mirror, symlinks=True)  # the operator sets the mirror up from the live folder
        assert directory_host(www).place == directory_host(mirror).place  # one id: one place, one lock
        later = built(tmp_path / "b2", {"index.html": b"<p>newest</p>"}, 12)
        later = replace(later, store=key)
        asyncio.run(source.publish(store, directory_host(www), later))
        middle = built(tmp_path / "b3", {"index.html": b"<p>update 11</p>"}, 11)
        middle = replace(middle, store=key)
        mirror_host = DirectoryHost(ChannelConfig("mirror", "directory", options={"path": str(mirror)}), mirror.parent)
        receipt = asyncio.run(source.publish(store, mirror_host, middle))  # a command that read the store at 11
    finally:
        store.close()
    assert (mirror / "index.html").read_bytes() == b"<p>update 11</p>", (
        f"the mirror was skipped for the other folder's build: {receipt}")
