"""What every benchmark shares: a project folder, timed runs of the real CLI, medians and goals.

Every figure is the median of repeated runs, and every goal is a ratio (or a
bound) measured in the same run, side by side: the machines these run on are
shared and noisy, so an absolute time from one day says little about another.
Runs of the two sides of a ratio are interleaved (A, B, A, B...) so that a
burst of load from a neighbour hits both alike.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache"  # generated stores, kept between runs (gitignored)

BASE_CONFIG = """
[page]
title = "Acme status"
base_url = "https://status.acme.example/"
output_dir = "public"
timezone = "Europe/Berlin"

[engine]
timeout = 15
deadline = 120

[operator]
name = "Benchmark"
"""


def cli_command() -> list[str]:
    """``broadcaster`` as users run it: the console script of this interpreter's environment."""
    script = Path(sys.executable).parent / "broadcaster"
    return [str(script)] if script.exists() else [sys.executable, "-m", "broadcaster"]


@dataclass
class Run:
    """One finished process: wall time, peak memory and what it printed."""

    seconds: float
    peak_mb: float
    returncode: int
    stdout: str
    stderr: str

    def check(self, what: str) -> Run:
        if self.returncode not in (0,):
            raise BenchError(f"{what} exited {self.returncode}:\n{self.stdout[-2000:]}\n{self.stderr[-2000:]}")
        return self


class BenchError(RuntimeError):
    """A benchmark could not measure what it set out to (a command failed, a fake saw nothing)."""


def run(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 300) -> Run:
    """Run ``command`` to completion; wall time from spawn to exit, peak RSS from wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        process = subprocess.Popen(list(command), stdout=out, stderr=err, env=dict(env), cwd=cwd)
        killer = threading.Timer(timeout, process.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(process.pid, 0)
        finally:
            killer.cancel()
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            seconds=seconds,
            peak_mb=usage.ru_maxrss / 1024,  # Linux reports kilobytes
            returncode=process.returncode,
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )


def tree_memory_mb(command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float = 300) -> float:
    """Run ``command`` (untimed) and return the peak of its processes' memory together, in MB:
    the proportional set size (PSS, pages shared between processes counted once in all) of the
    process and every descendant (a full build's worker processes), sampled every 20 ms from
    ``/proc``. ``run``'s peak is the largest single process's, which says nothing of its workers."""
    process = subprocess.Popen(list(command), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(env), cwd=cwd)
    peak_kb, deadline = 0, time.monotonic() + timeout
    try:
        while process.poll() is None and time.monotonic() < deadline:
            peak_kb = max(peak_kb, sum(_pss_kb(pid) for pid in _tree(process.pid)))
            time.sleep(0.02)
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
    if process.returncode != 0:
        raise BenchError(f"{' '.join(command[-2:])} exited {process.returncode} while its memory was measured")
    return peak_kb / 1024


def _tree(pid: int) -> list[int]:
    found = [pid]
    try:
        for thread in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{thread}/children", encoding="ascii") as children:
                for child in children.read().split():
                    found += _tree(int(child))
    except OSError:
        pass  # it ended meanwhile
    return found


def _pss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as rollup:
            return next((int(line.split()[1]) for line in rollup if line.startswith("Pss:")), 0)
    except OSError:
        return 0


def clean_env() -> dict[str, str]:
    """This environment, as a user's shell would have it.

    ``PYTHONDONTWRITEBYTECODE`` goes: an installed package has its bytecode
    compiled (pip does it at install time), and without it every run would
    compile broadcaster's sources again, about 90 ms that users never pay.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("BROADCASTER_CONFIG", "PYTHONDONTWRITEBYTECODE")}
    env.setdefault("USER", "bench")
    return env


@dataclass
class Project:
    """A folder with a broadcaster.toml, and the environment the CLI runs with there."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "broadcaster.toml"

    @property
    def store(self) -> Path:
        return self.root / ".broadcaster" / "state.db"

    def write_config(self, extra: str = "", base: str = BASE_CONFIG) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.config.write_text(textwrap.dedent(base) + textwrap.dedent(extra), encoding="utf-8")

    def full_env(self) -> dict[str, str]:
        env = clean_env()
        env.update(self.env)
        return env

    def cli(self, *args: str, timeout: float = 300) -> Run:
        return run([*cli_command(), "--config", str(self.config), *args], env=self.full_env(), cwd=self.root, timeout=timeout)

    def python(self, *args: str, timeout: float = 300) -> Run:
        return run([sys.executable, *args], env=self.full_env(), cwd=self.root, timeout=timeout)


def temporary_root(name: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"broadcaster-bench-{name}-"))


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# -- figures and goals ---------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


@dataclass
class Figure:
    """One measured line of the results table."""

    benchmark: str
    name: str
    value: float
    unit: str  # "s", "ms", "MB", "x", "msg/s", "count"
    detail: str = ""  # e.g. "median of 5", the spread

    def shown(self) -> str:
        return format_value(self.value, self.unit)


@dataclass
class Goal:
    """A goal from the issue and whether this run met it."""

    benchmark: str
    name: str
    measured: float
    unit: str
    target: float
    higher_is_better: bool = False
    strict: bool = False  # "faster than": the target itself is not met (a tie is no win)

    @property
    def met(self) -> bool:
        if self.strict:
            return self.measured > self.target if self.higher_is_better else self.measured < self.target
        return self.measured >= self.target if self.higher_is_better else self.measured <= self.target

    @property
    def margin(self) -> str:
        """How far from the goal, in words: "met" or "missed by 12%"."""
        if self.measured != self.measured:  # NaN
            return "not measured"
        if self.met:
            return "met"
        if self.measured == self.target:
            return "missed: a tie"
        if self.higher_is_better:
            short = (self.target - self.measured) / self.target
        else:
            short = (self.measured - self.target) / self.target
        return f"missed by {short:.0%}" if short >= 0.005 else "missed by under 1%"

    def shown(self) -> tuple[str, str]:
        """The figure and the target as printed: the figure with more decimals where it would print as the
        target without being it (0.996x is not "1.00x < 1.00x met"), so that the two bear out the verdict."""
        sign = (">" if self.higher_is_better else "<") if self.strict else (">=" if self.higher_is_better else "<=")
        target = format_value(self.target, self.unit)
        measured = format_value(self.measured, self.unit)
        more = 0
        while measured == target and self.measured != self.target and more < 4:
            more += 1
            measured = format_value(self.measured, self.unit, more=more)
        return measured, f"{sign} {target}"


@dataclass
class Results:
    """Everything one benchmark measured."""

    benchmark: str
    title: str
    figures: list[Figure] = field(default_factory=list)
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def figure(self, name: str, value: float, unit: str, detail: str = "") -> None:
        self.figures.append(Figure(self.benchmark, name, value, unit, detail))

    def goal(self, name: str, measured: float, unit: str, target: float, *, higher_is_better: bool = False,
             strict: bool = False) -> Goal:
        goal = Goal(self.benchmark, name, measured, unit, target, higher_is_better, strict)
        self.goals.append(goal)
        return goal


# Decimals each unit is printed with, and how the number and unit are joined.
_DECIMALS = {"s": 2, "ms": 0, "MB": 0, "x": 2, "msg/s": 0, "count": 0}


def format_value(value: float, unit: str, *, more: int = 0) -> str:
    """``value`` as the reports print it; ``more``: that many decimals beyond the unit's own."""
    if value != value:  # NaN: not measured
        return "n/a"
    if unit not in _DECIMALS:
        return f"{value:g} {unit}"
    number = f"{value:.{_DECIMALS[unit] + more}f}"
    return number if unit == "count" else f"{number}x" if unit == "x" else f"{number} {unit}"


def spread(values: Sequence[float], unit: str = "s") -> str:
    """"median of N (min-max)", for the detail column."""
    if not values:
        return ""
    scale = 1000 if unit == "ms" else 1
    low, high = min(values) * scale, max(values) * scale
    fmt = "{:.0f}" if unit == "ms" else "{:.2f}"
    return f"median of {len(values)} ({fmt.format(low)}-{fmt.format(high)})"


def interleaved(reps: int, *measures: Callable[[], float]) -> list[list[float]]:
    """Run each measure once per repetition, in turn; returns the samples of each."""
    samples: list[list[float]] = [[] for _ in measures]
    for _ in range(reps):
        for index, measure in enumerate(measures):
            samples[index].append(measure())
    return samples


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


Options = dict[str, Any]
