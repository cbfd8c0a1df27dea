#!/usr/bin/env bash
# Set up (once) and run the whole test suite, the real speech model and browser included.
# Used by the README and by CI (.ci/run). As root on a bare machine it installs Debian's
# Chromium and a CJK font (fonts-noto-cjk) for the browser tests, which fail when Chinese
# renders as boxes; otherwise those tests say they were skipped and why.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  command -v chromium >/dev/null 2>&1 || missing+=(chromium chromium-driver)
  dpkg -s fonts-noto-cjk >/dev/null 2>&1 || missing+=(fonts-noto-cjk)
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} for the browser tests" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test,ray]'
exec .venv/bin/python -m pytest -q "$@"
