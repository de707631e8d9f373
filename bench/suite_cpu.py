"""Where the test suite's CPU goes, file by file: a pytest plugin, loaded by name.

    .venv/bin/python -m pytest -p bench.suite_cpu -n 10 --dist loadfile tests   # writes .cache/suite-cpu/
    .venv/bin/python -m bench.suite_cpu [N]                                      # the N costliest files

Each worker adds, per test, its own CPU (the fakes' threads are in it) and that of the processes it reaped during
the test (the CLI processes, chromium, git), and writes them per file when it ends. CPU, unlike wall time, barely
moves with the machine's load, so a run beside other work still says which files cost the most (CI's two cores
are what the suite must fit; wall time on ten workers hides a file's cost behind the others').
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest

OUT = Path(".cache/suite-cpu")


def _cpu() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF)
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, reaped.ru_utime + reaped.ru_stime


# file name -> [its own CPU, its processes' CPU, tests, wall time on its worker]
_per_file: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0.0])


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    own, reaped = _cpu()
    started = time.monotonic()
    yield
    own_after, reaped_after = _cpu()
    row = _per_file[item.path.name]
    row[0] += own_after - own
    row[1] += reaped_after - reaped
    row[2] += 1
    row[3] += time.monotonic() - started


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not _per_file:
        return
    OUT.mkdir(parents=True, exist_ok=True)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    (OUT / f"{worker}.json").write_text(json.dumps(_per_file), encoding="utf-8")


def report(top: int) -> None:
    """Print the ``top`` costliest files of the last run, and the totals; then the ``top`` longest on their worker
    (what ``tests/conftest.py``'s ``LONGEST_FIRST`` hands out first, so that no long file starts last)."""
    files: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0.0])
    for part in OUT.glob("*.json"):
        for name, row_read in json.loads(part.read_text(encoding="utf-8")).items():
            row = files[name]
            for n, value in enumerate(row_read):
                row[n] += value
    ranked = sorted(files.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))
    total = sum(row[0] + row[1] for row in files.values())
    print(f"{len(files)} files, {sum(int(row[2]) for row in files.values())} tests, {total:.0f} s of CPU "
          f"({sum(r[0] for r in files.values()):.0f} s in the workers, {sum(r[1] for r in files.values()):.0f} s "
          "in the processes they started)")
    running = 0.0
    for name, (own, reaped, tests, _) in ranked[:top]:
        running += own + reaped
        print(f"{own + reaped:7.1f} s {own:6.1f} + {reaped:6.1f}  {int(tests):4d} tests  {running / total:5.1%}  {name}")
    print("\nlongest on their worker (wall):")
    for name, (_, _, _, wall) in sorted(files.items(), key=lambda kv: -kv[1][3])[:top]:
        print(f"{wall:7.1f} s  {name}")


if __name__ == "__main__":
    report(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
