#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it: ruff, mypy --strict
# (beside pytest), and pytest on $TEST_WORKERS workers (pytest-xdist, 10 by default).
#   bash scripts/test.sh                    # the whole suite (what .ci/run runs)
#   bash scripts/test.sh -k slack           # extra arguments go to pytest
#   bash scripts/test.sh --coverage         # under branch coverage (the flag anywhere among the arguments), CLI
#                                           # subprocesses included; fails under the floor (pyproject.toml);
#                                           # with pytest arguments, the floor not applied
# Coverage is not measured by default: it doubles the suite's CPU (520 s against 1,000 s on 2 cores, 6.1 min of
# pytest against 10.3), and CI must stay well under 10 minutes (BENCHMARKS.md, "The test suite").
set -euo pipefail
cd "$(dirname "$0")/.."
coverage=0
passed=()  # the arguments but --coverage, wherever it stands: the rest go to pytest
for arg in "$@"; do
  if [ "$arg" = "--coverage" ]; then coverage=1; else passed+=("$arg"); fi
done
set -- ${passed[@]+"${passed[@]}"}
workers=${TEST_WORKERS:-10}

# Each phase's wall time goes to stderr at the end, so a slow run says where its time went.
started=$SECONDS
phases=()
phase() { phases+=("$1 $((SECONDS - started)) s"); started=$SECONDS; }
trap 'printf "test.sh: %s\n" "${phases[@]}" >&2' EXIT

# Bytecode caches on, whatever the shell says: without them every test worker and every CLI process
# a test starts compiles the package again, and pytest rewrites every test module's asserts again
# (about 9 s of CPU per worker).
unset PYTHONDONTWRITEBYTECODE

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
bash scripts/install-icu.sh  # PyICU builds against the system's ICU

# Real parts the tests drive: Debian's chromium (+ a JRE for the HTML validator, axe-core),
# and PostgreSQL for team mode (the tests start and stop their own throwaway server). They come
# from apt and npm while pip installs the Python side: neither needs the other.
( bash scripts/install-browser.sh && bash scripts/postgres.sh install ) &
tools=$!

# pip takes a minute even when nothing changed (it builds the editable wheel in a fresh build
# environment): skip it while pyproject.toml is what was last installed and the package imports.
# --no-compile: byte-compiling all of site-packages costs 20 s; the tests compile (and cache) only
# the modules they import.
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ] || ! .venv/bin/python -c 'import broadcaster' 2>/dev/null; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -e '.[test]'
  rm -f .venv/.installed-* && touch "$stamp"
fi
wait "$tools"  # under set -e: a failed install stops the run here
phase setup

.venv/bin/ruff check broadcaster channels messages tests bench
# mypy (one core, about 15 s from a fresh clone) runs beside the rest: the suite leaves a fifth of the
# two cores idle. Its verdict is printed, and counts, once pytest is done.
mkdir -p .cache
bash scripts/typecheck.sh >.cache/mypy.log 2>&1 &
typing=$!
# Compile the package and rewrite the tests' asserts once, so that the pytest workers find them
# cached instead of each doing it again. A collection error shows again, in full, when pytest runs.
.venv/bin/python -m pytest -p no:cacheprovider --collect-only -q >/dev/null 2>&1 || true
phase "ruff+collect"

status=0
# A test file stays on one worker (loadfile): its module fixtures (chromium, the wheel, moto) start once.
# Ten workers on two cores: most of the suite's time is spent waiting (paced fakes, deadlines, races
# between processes, clocks that must pass), and ten overlap those waits; two left the cores 70% idle, six a
# third (BENCHMARKS.md, "The test suite": 393 s of pytest on six, 349 s on ten, 353 s on fourteen).
# --no-loadscope-reorder: files are handed out in collection order (the longest first, tests/conftest.py's
# LONGEST_FIRST), not by their number of tests, pytest-xdist's default, which left long files of few tests last.
pytest_args=(-p no:cacheprovider -n "$workers" --dist loadfile --no-loadscope-reorder "$@")
if [ "$coverage" -eq 1 ]; then
  # The CLI processes the tests start run in temporary folders: an absolute data file puts
  # their measurements (coverage's patch = subprocess) beside the workers'.
  export COVERAGE_FILE=$PWD/.coverage
  rm -f .coverage .coverage.*
  .venv/bin/python -m coverage run -m pytest "${pytest_args[@]}" || status=$?
else
  .venv/bin/python -m pytest "${pytest_args[@]}" || status=$?
fi
phase pytest
typed=0
wait "$typing" || typed=$?
echo "mypy --strict (scripts/typecheck.sh):"
cat .cache/mypy.log
[ "$typed" -eq 0 ] || [ "$status" -ne 0 ] || status=$typed
phase "mypy, after pytest"
if [ "$coverage" -eq 1 ]; then
  .venv/bin/python -m coverage combine --quiet
  if [ "$#" -eq 0 ]; then
    # Under the floor (fail_under), report exits 2: the run fails even when every test passed.
    .venv/bin/python -m coverage report || [ "$status" -ne 0 ] || status=2
  else
    .venv/bin/python -m coverage report --fail-under=0
  fi
fi
exit "$status"
