#!/usr/bin/env bash
# Set up everything the test suite needs on a fresh machine, then run it.
#   bash scripts/test.sh            # the whole suite
#   bash scripts/test.sh -k slack   # extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
bash scripts/install-icu.sh  # PyICU builds against the system's ICU
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

# Real parts the tests drive: Debian's chromium (+ a JRE for the HTML validator, axe-core),
# and PostgreSQL for team mode (the tests start and stop their own throwaway server).
bash scripts/install-browser.sh
bash scripts/postgres.sh install

.venv/bin/ruff check broadcaster channels messages tests bench

exec .venv/bin/python -m pytest -p no:cacheprovider "$@"
