"""A smoke run of every benchmark at tiny sizes, so the benchmarks cannot rot.

The figures of a run this small mean nothing, so no goal is asserted: what is
checked is that each benchmark drives the real CLI against the fakes to the
end and measures every figure it promises (a failed command, a delivery not
sent or a fake that received nothing raises ``BenchError`` inside). The full
runs are ``python -m bench`` (see BENCHMARKS.md); CI does not run them.
"""

from __future__ import annotations

import math

import pytest

from bench.__main__ import BENCHMARKS, run_one
from bench.common import Results
from bench.report import markdown, terminal


@pytest.mark.parametrize("name", list(BENCHMARKS), ids=list(BENCHMARKS))
def test_benchmark_runs_at_tiny_sizes(name: str) -> None:
    results: Results = run_one(name, quick=True)
    assert results.benchmark == name
    speed = [n for n in results.notes if n.startswith("a pure-Python loop of a million additions took ")]
    assert len(speed) == 1 and speed[0].split()[8].isdigit() and speed[0].split()[14].isdigit(), results.notes
    assert results.figures and results.goals
    for figure in results.figures:
        assert math.isfinite(figure.value) and figure.value >= 0, figure
    for goal in results.goals:
        assert math.isfinite(goal.measured) and goal.measured >= 0, goal
        assert goal.margin  # "met" or "missed by N%"
    table = terminal([results])
    section = markdown(results, when="now", where="here", command=f"python -m bench {name}")
    assert all(f.name in table and f.name in section for f in results.figures)
    if name == "history":  # a full build's memory is that of its processes together, measured
        together = [f for f in results.figures if "processes together" in f.detail]
        assert together and all(float(f.detail.rsplit(" together ", 1)[1].split(" MB")[0]) > 10 for f in together)


def test_a_goal_of_faster_is_not_met_by_a_tie() -> None:
    # "Faster than Apprise": the same time is a tie, reported as one, not as met.
    from bench.common import Goal

    faster = [Goal("fanout", "ours / theirs", ratio, "x", 1.0, strict=True) for ratio in (0.99, 1.0, 1.01)]
    assert [g.met for g in faster] == [True, False, False]
    assert [g.margin for g in faster] == ["met", "missed: a tie", "missed by 1%"]
    assert faster[0].shown() == ("0.99x", "< 1.00x")
    at_most = Goal("startup", "dry run", 200.0, "ms", 200.0)
    assert at_most.met and at_most.shown() == ("200 ms", "<= 200 ms")
    more = Goal("subscribers", "rate", 1000.0, "msg/s", 1000.0, higher_is_better=True, strict=True)
    assert not more.met and more.shown() == ("1000 msg/s", "> 1000 msg/s")
