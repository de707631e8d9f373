#!/usr/bin/env bash
# What `pip install` needs to build PyICU (the input gate's TR 39 confusable skeleton):
# ICU's headers, pkg-config and a C++ compiler. Idempotent; as root or with sudo, on Debian.
# Elsewhere: macOS `brew install icu4c pkg-config` (and PKG_CONFIG_PATH to icu4c's lib/pkgconfig).
set -euo pipefail

if pkg-config --exists icu-uc icu-i18n 2>/dev/null && command -v c++ >/dev/null; then
  exit 0
fi
command -v apt-get >/dev/null || {
  echo "install-icu.sh: install ICU's development files, pkg-config and a C++ compiler with your package manager" >&2
  exit 1
}
as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}
as_root apt-get update -qq
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libicu-dev pkg-config g++ >/dev/null
