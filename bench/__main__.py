"""Run the benchmarks: ``python -m bench [NAME ...] [--quick] [--no-write]``.

NAME is one or more of startup, history, fanout, subscribers (default: all, in
that order; about 7 minutes). Results are printed as a table and written into
BENCHMARKS.md (only the sections of the benchmarks that ran). ``--quick`` runs
tiny sizes to check that every benchmark still works; its figures mean
nothing and are never written.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import fanout, history, startup, subscribers
from bench.common import Results
from bench.report import loop_ms, machine, terminal, update_benchmarks_md

BENCHMARKS: dict[str, tuple[Callable[[Any], Results], Any, Any]] = {
    # name: (run, full sizes, quick sizes)
    "startup": (startup.run_benchmark, startup.Sizes(), startup.Sizes(reps=3, incidents=20)),
    "history": (history.run_benchmark, history.Sizes(),
                history.Sizes(sizes=(5, 20), post_reps=2, build_reps=1, first_reps=1)),
    "fanout": (fanout.run_benchmark, fanout.Sizes(),
               fanout.Sizes(reps=1, latency=0.05, install_peer=False)),
    "subscribers": (subscribers.run_benchmark, subscribers.Sizes(),
                    subscribers.Sizes(chats=20, reps=1, unlimited_reps=1)),
}
COMMAND = ".venv/bin/python -m bench"


def run_one(name: str, *, quick: bool = False) -> Results:
    """One benchmark, with how fast the machine's core was before and after it: the run's header gives the
    start of the whole run alone, and this shared machine's speed moves within minutes (issue 20: say the load
    when you report)."""
    run, full, small = BENCHMARKS[name]
    before = loop_ms(runs=3 if quick else 5)
    results = run(small if quick else full)
    after = loop_ms(runs=3 if quick else 5)
    results.notes.append(f"a pure-Python loop of a million additions took {before:.0f} ms before this benchmark and "
                         f"{after:.0f} ms after it: the same code's figures move with it")
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: check the benchmarks work (CI smoke run)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    where = machine()
    print(f"Benchmarks: {', '.join(names)}{' (quick)' if args.quick else ''} on {where}", file=sys.stderr)
    started = time.monotonic()
    all_results = []
    for name in names:
        all_results.append(run_one(name, quick=args.quick))
    print(terminal(all_results))
    print(f"\n{time.monotonic() - started:.0f} s in all", file=sys.stderr)
    if not args.quick and not args.no_write:
        update_benchmarks_md(all_results, {name: f"{COMMAND} {name}" for name in names}, where=where)
        print("Results written into BENCHMARKS.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
