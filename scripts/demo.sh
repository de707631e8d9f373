#!/usr/bin/env bash
# Install broadcaster and run the main job on the embedded default (no account, no server):
# post a sample incident, build the status page and feeds into ./demo/public.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
bash scripts/install-icu.sh  # PyICU builds against the system's ICU
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e .

mkdir -p demo
cd demo
[ -f broadcaster.toml ] || ../.venv/bin/broadcaster init broadcaster.toml
../.venv/bin/broadcaster post --yes \
  --title "API errors elevated" --impact major --component api=partial_outage \
  --next-update 30m --ticket "OPS-4711" --private "ACME Corp reported it first" \
  "We are investigating elevated error rates on the API. [private]Edge router fra-2 dropping sessions.[/private]"
echo
echo "Open $(pwd)/public/index.html in a browser (or: ../.venv/bin/broadcaster site serve)."
