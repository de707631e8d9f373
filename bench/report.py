"""The results as a table on the terminal, and as generated sections of BENCHMARKS.md.

BENCHMARKS.md is written by hand except between markers: each benchmark owns
``<!-- bench:NAME -->`` ... ``<!-- /bench:NAME -->`` and a run replaces the
sections of the benchmarks it ran, leaving the prose (what each measures, what
was changed, why a goal is missed) alone.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import subprocess
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from bench.common import ROOT, Results

BENCHMARKS_MD = ROOT / "BENCHMARKS.md"


def machine() -> str:
    """One line: what ran the benchmarks, and how busy it was."""
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {total_kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, ValueError, IndexError):
        pass
    load = ", load average {:.1f} {:.1f} {:.1f} at the start".format(*os.getloadavg())
    return (f"{cpu or platform.processor() or 'unknown CPU'}, {os.cpu_count()} cores{memory}, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}{load}, "
            f"a loop of a million additions {loop_ms():.0f} ms")


def loop_ms(additions: int = 1_000_000, runs: int = 5) -> float:
    """A pure-Python loop's time (median of ``runs``): how fast this shared machine's core was at the start. The
    load average does not show a neighbour on the host, and the same code's figures moved by 20-50% within an
    hour with the load average under 1: figures from two runs compare only where their loops took about the same."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        total = 0
        for n in range(additions):
            total += n
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def commit() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return f"{head}{' plus uncommitted changes' if dirty else ''}"


def markdown(results: Results, *, when: str, where: str, command: str) -> str:
    """One benchmark's generated section."""
    lines = [
        f"Measured {when} on {where}, at {commit()}. Reproduce: `{command}`.",
        "",
        "| measure | median | runs (min-max) |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {f.name} | {f.shown()} | {f.detail} |" for f in results.figures]
    if results.goals:
        lines += ["", "| goal | measured | target | result |", "| --- | --- | --- | --- |"]
        for goal in results.goals:
            measured, target = goal.shown()
            verdict = "**met**" if goal.met else f"**{goal.margin}**"
            lines.append(f"| {goal.name} | {measured} | {target} | {verdict} |")
    if results.notes:
        lines += [""] + [f"- {note}" for note in results.notes]
    return "\n".join(lines)


def terminal(all_results: list[Results]) -> str:
    """A plain table for the terminal: one block per benchmark."""
    blocks = []
    for results in all_results:
        rows = [(f"  {f.name}", f.shown(), f.detail) for f in results.figures]
        for goal in results.goals:
            measured, target = goal.shown()
            rows.append((f"  goal: {goal.name} (target {target})", measured, "met" if goal.met else goal.margin.upper()))
        width = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [f"[{results.benchmark}] {results.title}"]
        lines += ["  ".join(cell.ljust(width[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
        lines += [f"  note: {note}" for note in results.notes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def update_benchmarks_md(
    all_results: list[Results], command_for: dict[str, str], *, where: str, path: Path = BENCHMARKS_MD
) -> None:
    """Replace the generated section of each benchmark that ran; the rest of the file stays.

    ``where`` is ``machine()`` as it was when the run started (its load average
    says how busy the machine was before the benchmarks added their own load).
    """
    text = path.read_text(encoding="utf-8")
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    for results in all_results:
        name = results.benchmark
        section = markdown(results, when=when, where=where, command=command_for[name])
        pattern = re.compile(rf"(<!-- bench:{name} -->\n).*?(\n<!-- /bench:{name} -->)", re.S)
        if not pattern.search(text):
            raise SystemExit(f"{path.name} has no <!-- bench:{name} --> section to write the results into")
        text = pattern.sub(partial(_between_markers, section), text)
    path.write_text(text, encoding="utf-8")


def _between_markers(section: str, found: re.Match[str]) -> str:
    return found.group(1) + section + found.group(2)
