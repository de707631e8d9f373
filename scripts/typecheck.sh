#!/usr/bin/env bash
# mypy --strict over the whole tree (settings in pyproject.toml's [tool.mypy]).
#   bash scripts/typecheck.sh            # broadcaster (with channels and messages), tests, bench
#   bash scripts/typecheck.sh --no-incremental   # extra arguments go to mypy
#
# channels/ and messages/ sit at the top of the repo but install as broadcaster.channels
# and broadcaster.messages (setuptools' package-dir), a mapping mypy cannot be told about.
# So mypy reads a tree of links laid out as the package installs (.cache/typecheck/), and
# its messages are turned back into the repo's paths.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
tree=$root/.cache/typecheck

rm -rf "$tree"
mkdir -p "$tree/broadcaster"
for entry in "$root"/broadcaster/*; do
  ln -s "$entry" "$tree/broadcaster/"
done
ln -s "$root/channels" "$tree/broadcaster/channels"
ln -s "$root/messages" "$tree/broadcaster/messages"
ln -s "$root/tests" "$tree/tests"
ln -s "$root/bench" "$tree/bench"

cd "$tree"
"$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" --cache-dir "$root/.mypy_cache" \
  -p broadcaster -p tests -p bench "$@" \
  | sed -e 's#^broadcaster/channels/#channels/#' -e 's#^broadcaster/messages/#messages/#'
