"""A full build in worker processes writes exactly what the build in one process writes.

A varied store (every field of an update, customers' pages, maintenance, a postmortem,
a correction, a resolved incident, records the site must leave out), built once in one
process and once by workers (``broadcaster.site.parallel``), in English, Swedish and
German: the folders must hold the same bytes, and the builds report the same hashes,
versions, guarded values and problems. The clock is fixed: the uptime shown moves with it.
"""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from broadcaster import config_loader
from broadcaster.errors import DeliveryError
from broadcaster.site import parallel, source
from broadcaster.site.hosts import BuiltSite
from broadcaster.site.output import SiteWriter, sha256
from broadcaster.store import open_store
from tests.conftest import ROOT, Project
from tests.site_helpers import read_site
from tests.test_site_bad_records import BAD_RECORDS, store_record

TOKEN = "acme-feed-token-0123456789abcdef"
AUDIENCES = """
[audiences.acme]
name = "Acme Corp"
components = ["api"]
feed_token = "${ACME_FEED_TOKEN}"

[audiences.globex]
name = "Globex Industries"
components = ["db"]
"""


def iso(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:%SZ")


def post(project: Project, *args: str) -> str:
    result = project.cli(*args, "--yes", "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    return str(json.loads(result.stdout)["incident_id"])


def varied_store(project: Project) -> None:
    for n in range(4):
        incident = post(project, "post", "--title", f"API errors {n} [private]on shard ZETA-{n}[/private]", "-C", "api",
                        "--impact", "major", "--private", f"Pager duty note {n}: node db-{n:02d}",
                        "--ticket", f"INC-{4400 + n}", "--etr", iso(timedelta(hours=2)),
                        "--next-update", iso(timedelta(minutes=30)), "--customer", "acme",
                        "--for", "acme", f"Your tenant acme-{n} is affected.",
                        f"Elevated **errors** on the [API](https://example.com/api/{n}). Update {n}.")
        post(project, "post", "-i", incident, "--status", "identified", "-C", "api=degraded_performance",
             "--customer", "globex", "--for", "globex", "Globex: your exports wait.", "Cause found: a bad deploy.")
        if n % 2:
            post(project, "resolve", incident, "Fixed, and we keep watching.")
    maintenance = post(project, "maintenance", "schedule", "--title", "Database upgrade", "-C", "db",
                       "--start", iso(timedelta(days=2)), "--end", iso(timedelta(days=2, hours=1)),
                       "The database will be upgraded.")
    assert maintenance
    resolved = post(project, "post", "--title", "Login failures", "-C", "web", "Logins fail for some.")
    post(project, "resolve", resolved, "Logins work again.")
    text = project.root / "postmortem.md"
    text.write_text("# What happened\n\nA certificate expired.\n\n## What we change\n\n- Alerts 30 days ahead.\n",
                    encoding="utf-8")
    post(project, "postmortem", resolved, "--file", str(text))
    for bad_id, (message, fields) in BAD_RECORDS.items():
        store_record(project, bad_id, message, **fields)
    # Its public text names a customer (imported, or written before Globex became one): refused.
    store_record(project, "names-globex", "Exports for Globex Industries are slow.")


def build(project: Project, output: Path) -> BuiltSite:
    config = config_loader.load(str(project.config))
    config = replace(config, page=replace(config.page, output_dir=output))
    store = open_store(project.root / ".broadcaster" / "state.db")
    try:
        return source.rebuild(config, store)
    finally:
        store.close()


@pytest.mark.parametrize("language", ["en", "sv", "de"])
def test_a_full_build_in_workers_writes_the_same_bytes_as_one_in_one_process(
    project: Project, monkeypatch: pytest.MonkeyPatch, language: str
) -> None:
    monkeypatch.setenv("ACME_FEED_TOKEN", TOKEN)
    project.env["ACME_FEED_TOKEN"] = TOKEN
    config = project.config.read_text(encoding="utf-8").replace('timezone = "Europe/Berlin"',
                                                                 f'timezone = "Europe/Berlin"\nlanguage = "{language}"')
    project.config.write_text(config + AUDIENCES, encoding="utf-8")
    varied_store(project)
    now = datetime.now(UTC)
    monkeypatch.setattr(source, "utcnow", lambda: now)

    one = build(project, project.root / "one")
    monkeypatch.setattr(parallel, "MIN_PAGES", 1)
    monkeypatch.setattr(parallel, "CHUNK", 3)  # several chunks per worker
    monkeypatch.setattr(parallel, "cores", lambda: 2)  # workers even on a machine of one core
    store = open_store(project.root / ".broadcaster" / "state.db")
    assert parallel.workers(len(store.incident_versions()), store) == 2
    store.close()
    workers = build(project, project.root / "workers")

    assert read_site(project.root / "workers") == read_site(project.root / "one")
    assert workers.hashes == one.hashes and workers.versions == one.versions
    assert workers.private == one.private and len(one.private) > 10
    assert sorted(workers.problems) == sorted(one.problems) and len(one.problems) == len(BAD_RECORDS) + 1
    # Refused by the guard; and, built where no build checked pages before, those of the records left out.
    assert workers.refused == one.refused == {f"incidents/{i}.html" for i in ("names-globex", *BAD_RECORDS)} - {
        "incidents/../../escape.html"}
    assert (project.root / "one" / "a" / TOKEN / "index.html").is_file()
    assert gc.get_freeze_count() == 0  # what the workers shared is collected as ever again


@pytest.mark.timeout(120)  # a worker's error that could not reach the build would leave it waiting for ever
@pytest.mark.parametrize("in_workers", [False, True], ids=["one process", "workers"])
def test_a_page_a_worker_cannot_write_fails_the_build_naming_it(
    project: Project, monkeypatch: pytest.MonkeyPatch, in_workers: bool
) -> None:
    incidents = [post(project, "post", "--title", f"Errors {n}", "-C", "api", f"Errors on shard {n}.") for n in range(5)]
    if in_workers:
        monkeypatch.setattr(parallel, "MIN_PAGES", 1)
        monkeypatch.setattr(parallel, "cores", lambda: 2)
    blocked = project.root / "public" / "incidents" / f"{incidents[2]}.html"
    blocked.unlink()
    blocked.mkdir()  # a folder where the page goes: no rename can replace it, not even as root
    (blocked / "keep").write_text("x", encoding="utf-8")

    with pytest.raises(DeliveryError) as raised:
        build(project, project.root / "public")
    assert f"{incidents[2]}.html" in str(raised.value) and not raised.value.retryable
    assert gc.get_freeze_count() == 0  # unfrozen after a failed build too


def workers_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_PAGES", 1)
    monkeypatch.setattr(parallel, "CHUNK", 2)
    monkeypatch.setattr(parallel, "cores", lambda: 2)


def _die(ids: list[str]) -> object:
    os._exit(1)  # as a worker the kernel killed for memory: no word back


def _refuse_to_start() -> None:
    raise OSError("too many open files")


@pytest.mark.timeout(120)  # the old pool waited for ever for a dead worker's chunk
@pytest.mark.parametrize("how", ["a worker dies", "no worker can start"])
def test_a_worker_that_dies_or_cannot_start_fails_the_build_instead_of_hanging_it(
    project: Project, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    for n in range(5):
        post(project, "post", "--title", f"Errors {n}", "-C", "api", f"Errors on shard {n}.")
    workers_for(monkeypatch)
    if how == "a worker dies":
        monkeypatch.setattr(parallel, "_build_chunk", _die)
    else:
        monkeypatch.setattr(parallel, "_start", _refuse_to_start)

    with pytest.raises(DeliveryError) as raised:
        build(project, project.root / "public")

    assert "stopped before it finished" in str(raised.value) and raised.value.retryable
    assert multiprocessing.active_children() == [] and gc.get_freeze_count() == 0


@pytest.mark.timeout(120)
def test_an_interrupted_build_stops_its_workers_and_leaves_nothing_frozen(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(6):
        post(project, "post", "--title", f"Errors {n}", "-C", "api", f"Errors on shard {n}.")
    workers_for(monkeypatch)
    recorded = SiteWriter.record

    def interrupted(self: SiteWriter, *args: object, **kwargs: object) -> None:
        recorded(self, *args, **kwargs)  # type: ignore[arg-type]
        raise KeyboardInterrupt  # Ctrl-C while the build takes in the first page a worker built

    monkeypatch.setattr(SiteWriter, "record", interrupted)

    with pytest.raises(KeyboardInterrupt):
        build(project, project.root / "public")

    assert multiprocessing.active_children() == [] and gc.get_freeze_count() == 0


@pytest.mark.timeout(120)
def test_after_a_failed_build_in_workers_the_next_build_trusts_no_page_the_workers_may_have_rewritten(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    incidents = [post(project, "post", "--title", f"Errors {n}", "-C", "api", f"Errors on shard {n}.") for n in range(6)]
    project.config.write_text(project.config.read_text(encoding="utf-8").replace(
        'title = "Acme status"', 'title = "Acme status, renamed"'), encoding="utf-8")  # every page changes
    workers_for(monkeypatch)
    blocked = project.root / "public" / "incidents" / f"{incidents[5]}.html"
    blocked.unlink()
    blocked.mkdir()
    (blocked / "keep").write_text("x", encoding="utf-8")
    with pytest.raises(DeliveryError):
        build(project, project.root / "public")

    writer = SiteWriter(project.root / "public")  # what the next build starts from
    for path, digest in writer.hashes.items():
        assert sha256((project.root / "public" / path).read_bytes()) == digest, path
    writer.abandon()


SLOW_BUILD = """
import sys, time
from pathlib import Path
from broadcaster import config_loader
from broadcaster.site import parallel, source
from broadcaster.store import open_store

def slow(ids):
    time.sleep(120)  # each worker busy with its first chunk when the build is killed

parallel.MIN_PAGES, parallel.CHUNK, parallel.cores, parallel._build_chunk = 1, 1, lambda: 2, slow
root = Path(sys.argv[1])
source.rebuild(config_loader.load(str(root / "broadcaster.toml")), open_store(root / ".broadcaster" / "state.db"))
"""


def children(pid: int) -> list[int]:
    try:
        return [int(c) for t in os.listdir(f"/proc/{pid}/task")
                for c in Path(f"/proc/{pid}/task/{t}/children").read_text(encoding="ascii").split()]
    except OSError:
        return []


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="reads the process tree from Linux's /proc")
@pytest.mark.timeout(120)
def test_the_workers_of_a_build_that_was_killed_end_with_it(project: Project, tmp_path: Path) -> None:
    """Killed (the OOM killer, SIGKILL, a service manager stopping the main process alone), a build
    leaves no worker waiting for ever with a copy of its memory and a connection to the store."""
    for n in range(4):
        post(project, "post", "--title", f"Errors {n}", "-C", "api", f"Errors on shard {n}.")
    script = tmp_path / "slow_build.py"
    script.write_text(SLOW_BUILD, encoding="utf-8")
    build = subprocess.Popen([sys.executable, str(script), str(project.root)], cwd=ROOT)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while len(workers := children(build.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) == 2, "the build never started its workers"
        build.kill()
        build.wait()
        deadline = time.monotonic() + 10
        while any(alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not [w for w in workers if alive(w)]
    finally:
        build.kill()
        for worker in [w for w in workers if alive(w)]:
            os.kill(worker, signal.SIGKILL)  # not to outlive the test whatever it found
