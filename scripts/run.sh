#!/usr/bin/env bash
# Install bioseq into a virtualenv and open the dashboard (http://localhost:8501) on the bundled examples.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || "${PYTHON:-python3}" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.txt
exec .venv/bin/streamlit run app.py "$@" -- --example dna_motif
