#!/usr/bin/env bash
# Install everything (a virtualenv, the Python packages, Debian's Chromium for the browser test, and MMseqs2 and
# CD-HIT for homology-aware splits) and run the full test suite. Extra arguments go to pytest, e.g.
# `bash scripts/test.sh -m "not slow"`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements-dev.txt
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v mmseqs >/dev/null || missing+=(mmseqs2)
command -v cd-hit >/dev/null || missing+=(cd-hit)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
exec .venv/bin/python -m pytest "$@"
