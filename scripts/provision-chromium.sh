#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed at /usr/bin/chromium, for the report's browser test
# (reports/report/browser.test.ts) and anything else that drives a headless browser.
#
# Idempotent: when /usr/bin/chromium already runs, it does nothing. Otherwise it installs the
# `chromium` package with apt-get (root, or sudo without a password). Exit 0 when Chromium is
# there at the end, 1 when it could not be installed (with the reason on stderr).
#
# Usage: bash scripts/provision-chromium.sh [--check]
#   --check   only report whether Chromium is installed (exit 0 yes, 1 no); install nothing.
set -euo pipefail

CHROMIUM=/usr/bin/chromium

installed() {
  [[ -x "$CHROMIUM" ]] && "$CHROMIUM" --version >/dev/null 2>&1
}

if installed; then
  echo "provision-chromium: $("$CHROMIUM" --version 2>/dev/null) already installed"
  exit 0
fi
if [[ "${1:-}" == "--check" ]]; then
  echo "provision-chromium: $CHROMIUM is not installed (run: bash scripts/provision-chromium.sh)" >&2
  exit 1
fi

if [[ "$(id -u)" -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "provision-chromium: $CHROMIUM is missing and this user cannot install packages (not root, no passwordless sudo)" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "provision-chromium: $CHROMIUM is missing and there is no apt-get to install it with" >&2
  exit 1
fi

echo "provision-chromium: installing Debian's chromium package"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be missing or stale on a fresh machine: update once, then install.
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null

if ! installed; then
  echo "provision-chromium: apt-get finished but $CHROMIUM does not run" >&2
  exit 1
fi
echo "provision-chromium: $("$CHROMIUM" --version 2>/dev/null) installed"
