#!/usr/bin/env bash
# Install bioseq into a virtualenv and open the dashboard (http://localhost:8501) on the bundled examples.
# MMseqs2 and CD-HIT (homology-aware splits, the overlap check) are installed when apt can do it; the
# dashboard starts without them and says how to install them where they are needed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
missing=()
command -v mmseqs >/dev/null || missing+=(mmseqs2)
command -v cd-hit >/dev/null || missing+=(cd-hit)
if [ ${#missing[@]} -gt 0 ] && command -v apt-get >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo -n"  # never wait for a password: the tools are optional here
  { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"; } \
    >/dev/null 2>&1 || echo "note: could not install ${missing[*]} (optional): sudo apt-get install ${missing[*]}" >&2
fi
exec .venv/bin/streamlit run app.py "$@" -- --example dna_motif
