"""Two publishers, one store (issue 13 item 1): what is published comes from the store, not from
whichever local folder published last.

Two config folders ("laptops"), each with its own output folder, share one store
(an SQLite file, or the team PostgreSQL) and publish to one S3 bucket (moto) or
one bare git remote. Every command is a real ``broadcaster`` process.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BASE_CONFIG, Project
from tests.fakes.s3 import S3Fault, S3Server
from tests.pg import PASSWORD_ENV, PgServer, pg_server_fixture  # noqa: F401 - pytest fixture

BUCKET = "two-laptops"
# Incidents closed before today are not on the front page: only the store knows them.
CONFIG = BASE_CONFIG.replace('timezone = "Europe/Berlin"', 'timezone = "Europe/Berlin"\nhistory_days = 0')


def run(laptop: Project, *args: str) -> dict[str, Any]:
    process = laptop.process(*args, "--yes", "--json")
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, out + err
    payload: dict[str, Any] = json.loads(out)
    return payload


def laptops(tmp_path: Path, store: str, target: str, env: dict[str, str]) -> tuple[Project, Project]:
    pair = []
    for name in ("alice", "bob"):
        laptop = Project(tmp_path / name, env=dict(env))
        laptop.root.mkdir()
        laptop.write_config(store + target, base=CONFIG)
        pair.append(laptop)
    return pair[0], pair[1]


def s3_target(server: S3Server) -> str:
    return server.publish_toml(BUCKET)


@pytest.fixture
def s3() -> Iterator[S3Server]:
    with S3Server() as server:
        server.create_bucket(BUCKET)
        yield server


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    path = tmp_path / "pages.git"
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    return path


def sqlite_store(tmp_path: Path) -> str:
    return f'\n[store]\npath = "{tmp_path / "shared" / "state.db"}"\n'


class Published:
    """What readers get: the bucket's objects or the pages branch's files."""

    def __init__(self, s3: S3Server | None = None, remote: Path | None = None) -> None:
        self.s3, self.remote = s3, remote

    def files(self) -> dict[str, str]:
        if self.s3 is not None:
            return {k: self.s3.body(BUCKET, k).decode() for k in self.s3.objects(BUCKET)}
        assert self.remote is not None
        git = ["git", "--git-dir", str(self.remote)]
        names = subprocess.run([*git, "ls-tree", "-r", "--name-only", "gh-pages"], capture_output=True,
                               text=True, check=True).stdout.split()
        return {n: subprocess.run([*git, "show", f"gh-pages:{n}"], capture_output=True, text=True,
                                  check=True).stdout for n in names}


def scenario(alice: Project, bob: Project, published: Published) -> None:
    """Alice opens and closes an old outage and opens a live one; Bob, whose folder has never
    seen either, posts an update to the live one; Alice then posts about something else."""
    old = run(alice, "post", "--title", "Old outage", "Old outage began.")["incident_id"]
    run(alice, "resolve", old, "Old outage is over.")
    live = run(alice, "post", "--title", "Live outage", "Live outage began.")["incident_id"]

    run(bob, "post", "-i", live, "-s", "identified", "Bob found the cause.")
    files = published.files()
    assert f"incidents/{old}.html" in files, "Bob's laptop deleted a page of an incident the store holds"
    assert "Old outage is over." in files[f"incidents/{old}.html"]

    other = run(alice, "post", "--title", "Other thing", "Something else began.")["incident_id"]

    files = published.files()
    # Alice's folder had the live page from before Bob's update: it must not roll it back.
    assert "Bob found the cause." in files[f"incidents/{live}.html"]
    assert "Something else began." in files[f"incidents/{other}.html"]
    for name in ("index.html", "feed.xml", "summary.json"):
        assert "Bob found the cause." in files[name] and "Something else began." in files[name], name


def test_two_laptops_one_sqlite_store_one_bucket(tmp_path: Path, s3: S3Server) -> None:
    alice, bob = laptops(tmp_path, sqlite_store(tmp_path), s3_target(s3), {"S3_KEY": "k", "S3_SECRET": "s"})
    scenario(alice, bob, Published(s3=s3))


def test_two_laptops_one_sqlite_store_one_pages_branch(tmp_path: Path, remote: Path) -> None:
    target = f'\n[publish.pages]\ntype = "git"\nremote = "{remote}"\nbranch = "gh-pages"\n'
    alice, bob = laptops(tmp_path, sqlite_store(tmp_path), target, {})
    scenario(alice, bob, Published(remote=remote))


def test_two_laptops_one_team_database_one_bucket(tmp_path: Path, s3: S3Server, pg_server: PgServer) -> None:
    name = pg_server.create_database()
    try:
        store = f'\n[store]\nurl = "{pg_server.config_url(name)}"\n'
        env = {"S3_KEY": "k", "S3_SECRET": "s", PASSWORD_ENV: pg_server.password}
        alice, bob = laptops(tmp_path, store, s3_target(s3), env)
        scenario(alice, bob, Published(s3=s3))
    finally:
        pg_server.drop_database(name)


def test_posting_at_the_same_time_loses_no_page(tmp_path: Path, s3: S3Server) -> None:
    alice, bob = laptops(tmp_path, sqlite_store(tmp_path), s3_target(s3), {"S3_KEY": "k", "S3_SECRET": "s"})
    first = run(alice, "post", "--title", "Shared outage", "It began.")["incident_id"]

    processes = [laptop.process("post", "--yes", "--json", "--again", "--title", f"{laptop.root.name} outage",
                                f"{laptop.root.name} saw it.") for laptop in (alice, bob) for _ in range(2)]
    results = [(p.communicate(timeout=120), p.returncode) for p in processes]

    # A failed post's whole output (pytest cuts a long assertion message in its middle, where the error is).
    failed = [(json.loads(out)["deliveries"] if out.startswith("{") else out, err) for (out, err), code in results if code]
    assert not failed, json.dumps(failed, indent=1)
    ids = [json.loads(out)["incident_id"] for (out, _), _ in results]
    files = Published(s3=s3).files()
    for incident_id in [first, *ids]:
        assert f"incidents/{incident_id}.html" in files
    # Publishes of one store take turns at the bucket (a lock in the store): the last one to
    # upload was built after every update was stored, or keeps the files of the one that was.
    # Without the lock two uploads could interleave and leave an index missing an incident.
    for name in ("index.html", "feed.xml", "summary.json"):
        missing = [i for i in [first, *ids] if i not in files[name]]
        assert not missing, f"{name} lacks {missing}"
    manifest = json.loads(files[".broadcaster-manifest.json"])
    assert sorted(manifest["files"]) == sorted(p for p in files if p != ".broadcaster-manifest.json")


@pytest.mark.parametrize("backend", ["sqlite", "team"])
def test_a_slow_upload_is_not_overtaken_by_a_later_one(
    tmp_path: Path, s3: S3Server, pg_server: PgServer, backend: str
) -> None:
    """Alice's upload stalls on the index; Bob posts meanwhile. Without turns at the bucket, Bob's
    complete index went up first and Alice's older one (without Bob's incident) landed on top of it,
    with her manifest over his; with the store's lock Bob waits, then keeps nothing of Alice's that
    is older than his build."""
    env = {"S3_KEY": "k", "S3_SECRET": "s"}
    name = ""
    if backend == "team":
        name = pg_server.create_database()
        store = f'\n[store]\nurl = "{pg_server.config_url(name)}"\n'
        env[PASSWORD_ENV] = pg_server.password
    else:
        store = sqlite_store(tmp_path)
    try:
        alice, bob = laptops(tmp_path, store, s3_target(s3), env)
        first = run(alice, "post", "--title", "Shared outage", "It began.")["incident_id"]
        s3.fail(S3Fault(match=f"/{BUCKET}/index.html", delay=3.0))

        slow = alice.process("post", "--yes", "--json", "--title", "Alice outage", "Alice saw it.")
        assert s3.delayed.wait(60), "Alice's index upload never started"
        later = run(bob, "post", "--title", "Bob outage", "Bob saw it.")["incident_id"]
        out, err = slow.communicate(timeout=120)
        assert slow.returncode == 0, out + err
        alices = json.loads(out)["incident_id"]

        files = Published(s3=s3).files()
        for file in ("index.html", "feed.xml", "summary.json"):
            missing = [i for i in (first, alices, later) if i not in files[file]]
            assert not missing, f"{file} lacks {missing}"
        # The manifest describes what is served, so the next publish compares against the truth.
        manifest = json.loads(files[".broadcaster-manifest.json"])
        for file in ("index.html", "feed.xml", "summary.json"):
            assert manifest["files"][file] == hashlib.sha256(files[file].encode()).hexdigest(), file
    finally:
        if name:
            pg_server.drop_database(name)


def test_a_publish_kept_waiting_past_the_deadline_is_redone_by_retry(tmp_path: Path, s3: S3Server) -> None:
    """Another command of the store holds the bucket longer than this post's deadline: the update is
    stored, the upload reported failed (exit 3, nothing uploaded), and plain retry uploads it later."""
    from broadcaster import config_loader as config_module
    from broadcaster.destinations import destinations
    from broadcaster.site.destination import HostDestination
    from broadcaster.store import open_store

    env = {"S3_KEY": "k", "S3_SECRET": "s"}
    laptop = Project(tmp_path / "alice", env=env)
    laptop.root.mkdir()
    laptop.write_config(sqlite_store(tmp_path) + s3_target(s3) + "\n[engine]\ndeadline = 3\n", base=CONFIG)
    bucket = destinations(config_module.load(str(laptop.config), env))["bucket"]
    assert isinstance(bucket, HostDestination)
    host = bucket.host
    store = open_store(tmp_path / "shared" / "state.db")
    try:
        with store.lock(host.publish_lock) as got:
            assert got
            process = laptop.process("post", "--yes", "--json", "--title", "Waiting outage", "It waited.")
            out, err = process.communicate(timeout=60)
            by_hand = laptop.process("site", "publish")
            hand_out, hand_err = by_hand.communicate(timeout=60)
    finally:
        store.close()

    assert process.returncode == 3, out + err
    result = json.loads(out)
    bucket = next(d for d in result["deliveries"] if d["destination"] == "bucket")
    assert bucket["state"] == "failed" and "retry" in bucket["error"]
    page = f"incidents/{result['incident_id']}.html"
    assert page not in s3.objects(BUCKET)  # moto's buckets outlive a server: look for this page only
    assert by_hand.returncode == 3, hand_out + hand_err
    assert "another command of this store has been publishing to bucket" in " ".join(hand_out.split())

    # The other command is done; a deadline that holds on a busy test machine too.
    laptop.write_config(sqlite_store(tmp_path) + s3_target(s3) + "\n[engine]\ndeadline = 60\n", base=CONFIG)
    again = laptop.process("retry", "--json")
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, out + err
    assert page in Published(s3=s3).files()


def test_a_file_gone_between_the_listing_and_the_look_is_not_there(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two commands claiming one new output folder at once (the test above, one laptop's two posts): the one that
    reads the folder before the other's marker lists files the other's build then moves away, and met "No such
    file or directory ... Check [page] output_dir" (exit 3), or a folder gone read as one it cannot list. What is
    gone since it was listed is not there."""
    import os

    from broadcaster.site import folder as site_folder

    site = tmp_path / "public"
    (site / "incidents").mkdir(parents=True)
    (site / "index.html").write_text("<p>built by another command</p>")
    (site / "incidents" / "a.html").write_text("<p>a</p>")
    real_walk = os.walk

    def moved_away_meanwhile(top: str, **kwargs: Any) -> Iterator[tuple[str, list[str], list[str]]]:
        for directory, subdirs, names in real_walk(top, **kwargs):
            if Path(directory) == site:  # the other command's build takes them away once they are listed
                (site / "index.html").unlink()
                shutil.rmtree(site / "incidents")
            yield directory, subdirs, names

    monkeypatch.setattr(os, "walk", moved_away_meanwhile)
    state = site_folder.inspect(site, frozenset(), lambda _path: True)
    assert state.kind == "empty" and not state.unreadable, state


def test_a_folder_marked_while_it_was_read_is_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two commands claiming one new output folder at once: the one that found no marker reads the folder while the
    other marks it and its build writes the first files, which no manifest lists yet. Those read as files broadcaster
    did not write, and the site failed "holds files broadcaster did not write" (exit 3). Every command of ours marks
    the folder before it writes anything into it: marked once it is read, the folder is ours."""
    import os

    from broadcaster.site import folder as site_folder
    from broadcaster.site.output import INTERNAL

    site = tmp_path / "public"
    site.mkdir()
    real_walk = os.walk

    def claimed_meanwhile(top: str, **kwargs: Any) -> Iterator[tuple[str, list[str], list[str]]]:
        site_folder.mark(site)  # the other command's claim, then its build's first files
        (site / "style.0123abcd.css").write_text("body {}")
        (site / "index.html").write_text("<p>built by another command</p>")
        yield from real_walk(top, **kwargs)

    monkeypatch.setattr(os, "walk", claimed_meanwhile)
    state = site_folder.inspect(site, INTERNAL, lambda _path: False)
    assert state.kind == "ours", state
    monkeypatch.setattr(os, "walk", real_walk)
    (site / site_folder.MARKER).unlink()  # the same files without a marker: another's, refused as before
    assert site_folder.inspect(site, INTERNAL, lambda _path: False).kind == "foreign"
