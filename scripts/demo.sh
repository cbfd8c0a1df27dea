#!/usr/bin/env bash
# Set up (once), then do a shift lead's day on the bundled samples, as the README tells:
# audit the recordings (embedded Whisper model, no model hub) against the tickets, write one
# agent's review page, and the month's workbook. Everything lands in out/.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e .
mkdir -p out
export QA_AUDIT_DB=out/qa-audit.sqlite
.venv/bin/qa-audit audit samples/recordings \
  --calls samples/calls.csv --tickets samples/tickets_gbk.csv --stations samples/stations.csv \
  --out out/results.jsonl
.venv/bin/qa-audit review --agent 305 --out out/review-305
.venv/bin/qa-audit tally --month 2026-11 --stations samples/stations.csv \
  --out out/tally-2026-11.xlsx
echo
echo "results:        out/results.jsonl (and the store out/qa-audit.sqlite)"
echo "review page:    out/review-305/index.html   (agent 305's flagged calls, residents masked)"
echo "month workbook: out/tally-2026-11.xlsx"
