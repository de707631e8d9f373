#!/usr/bin/env bash
# Install broadcaster and run the main job on the embedded default (no account, no server):
# post a sample incident, build the status page and feeds into ./demo/public.
#   DEMO_DIR=/some/folder bash scripts/demo.sh   # elsewhere than ./demo
#   DEMO_INSTALL=0 bash scripts/demo.sh           # skip the install (the test suite runs it so)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

python=${PYTHON:-python3}
if [ "${DEMO_INSTALL:-1}" != 0 ]; then
  if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
  fi
  bash scripts/install-icu.sh  # PyICU builds against the system's ICU
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e .
fi

broadcaster=$repo/.venv/bin/broadcaster
mkdir -p "${DEMO_DIR:-demo}"
cd "${DEMO_DIR:-demo}"
[ -f broadcaster.toml ] || "$broadcaster" init broadcaster.toml
title="API errors elevated"
# Run again, the demo follows its open incident up (a follow-up threads under it) rather than posting the same
# text twice, which broadcaster refuses as a repeat (exit 2). The time makes each follow-up's text its own.
# Listed first, on its own: a config broadcaster refuses stops the demo with its message and exit code (2), not a
# traceback of the JSON reader given nothing.
listed=$("$broadcaster" list --json)
open_id=$(printf '%s' "$listed" | "$repo/.venv/bin/python" -c '
import json, sys
print(next((i["id"] for i in json.load(sys.stdin) if i["open"] and i["title"] == sys.argv[1]), ""))' "$title")
if [ -n "$open_id" ]; then
  "$broadcaster" post --yes --incident "$open_id" --status monitoring --component api=operational \
    "A fix was rolled out at $(date -u +%H:%M:%S) UTC and error rates are back to normal. We are monitoring."
else
  # --again: a demo incident resolved earlier today is not a mistaken repeat.
  "$broadcaster" post --yes --again \
    --title "$title" --impact major --component api=partial_outage \
    --next-update 30m --ticket "OPS-4711" --private "ACME Corp reported it first" \
    "We are investigating elevated error rates on the API. [private]Edge router fra-2 dropping sessions.[/private]"
fi
echo
echo "Open $(pwd)/public/index.html in a browser (or, in $(pwd): $broadcaster site serve)."
