"""Benchmark of the results store at scale: import, the month tally, the queue, an agent's page.

    python scripts/bench_store.py --calls 120000            # a year of a busy hotline
    python scripts/bench_store.py --calls 20000 --old-queue # also the old whole-store queue

Builds a store of N realistic calls and times, each in a fresh subprocess (so the peak
memory is that operation's, imports included), side by side with the old way of doing
the same (every audit's JSON loaded and people's decisions applied in Python):

- import: `qa-audit import` of the N results as JSON Lines (formats.md);
- tally: `build_tally` of one month and its .xlsx workbook;
- queue: `qa-audit queue` for one day, and for the whole store;
- page: one agent's review page (`qa-audit review --agent … --month …`);
- backfill: the first opening of a store of N calls made before the verdict rows (the
  schema step fills them from the audits' JSON).

The calls are derived from the bundled samples: their reference transcripts are scored
with the samples' dispatch data (7 repair intakes, 3 follow-ups), then copied with new call
ids, 40 agents, days spread over a year (10,000 calls a month at N=120,000), and varied
verdicts — items failed or left for review, findings with their fines (serious ones too, so
the repeat rule works), follow-up answers — plus a ticket per repair call and some people's
decisions and appeals. The old-way queue over the whole store parses every audit with a
`review` item, so it runs only with --old-queue.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SAMPLES = REPO / "samples"
AGENTS = [str(301 + k) for k in range(40)]
FINDINGS = [("wrong_station", 30, True, "station"), ("wrong_address", 20, True, "address"),
            ("wrong_phone", 20, False, "phone"), ("wrong_name", 10, False, "name"),
            ("invalid_promise", 10, True, None), ("slow_answer", 10, False, None),
            ("nonstandard_phrase", 10, False, "greeting"), ("impolite", 50, False, None)]
YEAR = 2026


def seed_audits() -> list[dict]:
    """The ten samples scored from their reference transcripts, as result JSON."""
    from qa_audit.phrasebook import load_phrasebook
    from qa_audit.pipeline import audit_transcript, load_dispatch
    from qa_audit.records import Transcript

    phrasebook = load_phrasebook()
    data = load_dispatch(calls=SAMPLES / "calls.csv", tickets=SAMPLES / "tickets.csv",
                         stations=SAMPLES / "stations.csv")
    seeds = []
    for label in sorted((SAMPLES / "labels").glob("*.json")):
        raw = json.loads(label.read_text(encoding="utf-8"))
        transcript = Transcript(call_id=raw["call_id"], utterances=raw["utterances"])
        audit = audit_transcript(transcript, data, phrasebook, now=datetime(2026, 12, 31))
        seeds.append(json.loads(audit.model_dump_json(exclude_none=True)))
    return seeds


def stations() -> list[str]:
    import csv

    with (SAMPLES / "stations.csv").open(encoding="utf-8") as fh:
        return sorted({row["station"] for row in csv.DictReader(fh)})


def vary(seed: dict, index: int, n: int, rng: random.Random, names: list[str]
         ) -> tuple[dict, dict | None]:
    """The index-th call of the year: a copy of a sample with a new id, agent, time and
    verdicts; with its ticket for a repair call."""
    audit = json.loads(json.dumps(seed))
    day = datetime(YEAR, 1, 1) + timedelta(days=index * 365 // n)
    started = day + timedelta(hours=8, seconds=rng.randrange(12 * 3600))
    agent = rng.choice(AGENTS)
    call_id = f"{started:%Y%m%d_%H%M%S}_{agent}_{audit['call_type']}_{index:06d}"
    audit.update(call_id=call_id, agent_id=agent, started_at=started.isoformat())
    audit["provenance"] = {**audit.get("provenance", {}), "fingerprint": f"bench{index}"}
    items = audit["items"]
    for item in items:  # the sample's own verdicts are a sample's: start from pass
        if item["status"] in ("fail", "review"):
            item.update(status="pass", points=item["max_points"])
    for item in rng.sample(items, k=min(len(items), rng.choice([0, 0, 1, 1, 2, 3]))):
        status = rng.choice(["fail", "fail", "review", "na"])
        item.update(status=status, points=0 if status == "fail" else item["max_points"],
                    reason="bench: " + status)
        if status == "review":
            item["points"] = item["max_points"]
    audit["findings"] = []
    if rng.random() < 0.25:
        code, fine, serious, item = rng.choice(FINDINGS)
        audit["findings"].append({"code": code, "fine_yuan": fine, "serious": serious,
                                  "item": item, "detail": f"bench {code}"})
    audit["score"] = sum(i["points"] for i in items)
    if audit["call_type"] == "followup":
        audit["answers"] = {k: rng.choice(v) for k, v in (
            ("resolved", ["yes", "yes", "no"]), ("attitude", ["satisfied", "neutral",
                                                              "dissatisfied"]),
            ("charged", ["no", "no", "no", "yes"]), ("rating", [6, 7, 8, 9, 10]))}
    ticket = None
    if audit["call_type"] == "repair":
        created = started + timedelta(minutes=3)
        repaired = created + timedelta(hours=rng.randrange(1, 9)) if rng.random() < 0.95 else None
        ticket = {"ticket_id": f"TB{index:06d}", "call_id": call_id,
                  "created_at": created.isoformat(), "agent_id": agent,
                  "station": rng.choice(names), "category": rng.choice(["不热", "冰凉", "漏水"]),
                  "caller_name": "赵丽萍", "caller_phone": "18612347709",
                  "address": "龙府嘉园3号楼1单元620", "description": "暖气不热",
                  "dispatched_at": (created + timedelta(minutes=5)).isoformat(),
                  "repaired_at": repaired.isoformat() if repaired else None}
        audit["ticket_id"] = ticket["ticket_id"]
    return audit, ticket


def build(workdir: Path, n: int) -> tuple[Path, Path]:
    """The results file and a store holding the tickets (the import adds the audits)."""
    from qa_audit.records import Ticket
    from qa_audit.store import Store

    rng = random.Random(47)
    seeds, names = seed_audits(), stations()
    results, db = workdir / "results.jsonl", workdir / "store.sqlite"
    tickets = []
    with results.open("w", encoding="utf-8") as fh:
        for index in range(n):
            audit, ticket = vary(seeds[index % len(seeds)], index, n, rng, names)
            fh.write(json.dumps(audit, ensure_ascii=False) + "\n")
            if ticket:
                tickets.append(Ticket.model_validate(ticket))
    with Store(db) as store:
        store.save_tickets(tickets)
    return results, db


def decide_some(db: Path, month: str) -> None:
    """People's work on the month: reviews decided, appeals filed and answered."""
    from qa_audit.store import Store

    rng = random.Random(5)
    with Store(db) as store:
        queue = store.review_queue()
        month_queue = [q for q in queue if q.call_id[:6] == month.replace("-", "")]
        for q in rng.sample(month_queue, k=min(300, len(month_queue))):
            store.decide(q.call_id, q.item, rng.choice(["pass", "fail"]), by="王领班")
        fails = store._query(
            "SELECT v.call_id, v.item FROM item_verdicts v JOIN call_facts c USING (call_id) "
            "WHERE v.status = 'fail' AND c.day BETWEEN ? AND ? LIMIT 100",
            (f"{month}-01", f"{month}-31"))
        for k, row in enumerate(fails):
            appeal = store.appeal(row[0], row[1], reason="bench")
            if k % 2:
                store.resolve_appeal(appeal.id, "accept" if k % 4 == 1 else "reject", by="王领班")


# -- one measured operation per subprocess --------------------------------------------------

def _old_queue(store, day):
    """The queue as it was read before the verdict rows."""
    from qa_audit.store import ReviewItem
    from qa_audit.sampling import call_started_at

    out = []
    for audit in store.audits(date_from=day, date_to=day, machine_unsure=True):
        for item in audit.items:
            if item.status == "review":
                out.append(ReviewItem(call_id=audit.call_id, agent_id=audit.agent_id,
                                      item=item.id, label=item.label, reason=item.reason,
                                      evidence_start=min((e.start for e in item.evidence),
                                                         default=None),
                                      started_at=call_started_at(audit.call_id,
                                                                 audit.started_at)))
    return out


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM starts afresh at exec, unlike ru_maxrss,
    which a child inherits from the parent that started it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(op: str, db: Path, *, month: str, day: str, agent: str, workdir: Path) -> dict:
    # Every module any operation needs, before the clock starts: the time is the work's.
    import openpyxl  # noqa: F401

    import qa_audit.cli.main  # noqa: F401
    import qa_audit.review_page  # noqa: F401
    import qa_audit.tally  # noqa: F401

    start = time.perf_counter()
    size: object = None
    if op == "baseline":
        pass
    elif op == "import":
        from qa_audit.cli.main import main

        rc = main(["import", str(workdir / "results.jsonl"), "--db", str(db)])
        size = f"rc {rc}"
    elif op in ("tally", "tally-old"):
        from qa_audit.phrasebook import load_phrasebook
        from qa_audit.store import Store
        from qa_audit.tally import build_tally, build_tally_from_audits, write_tally

        build = build_tally if op == "tally" else build_tally_from_audits
        with Store(db) as store:
            result = build(store, month, phrasebook=load_phrasebook())
        write_tally(result, workdir / f"{op}.xlsx")
        size = f"{sum(len(s.rows) for s in result.sheets)} rows"
        (workdir / f"{op}.json").write_text(json.dumps(
            {s.key: s.rows for s in result.sheets}, ensure_ascii=False, default=str))
    elif op in ("queue-day", "queue-day-old", "queue-all", "queue-all-old"):
        from qa_audit.store import Store

        with Store(db) as store:
            which = None if op.startswith("queue-all") else day
            items = store.review_queue(day=which) if not op.endswith("old") \
                else _old_queue(store, which)
        size = f"{len(items)} items"
    elif op == "backfill":
        import shutil
        import sqlite3

        from qa_audit.store import Store

        copy = workdir / "before-rows.sqlite"
        shutil.copy(db, copy)
        old = sqlite3.connect(copy)
        for table in ("call_facts", "item_verdicts", "findings", "answers"):
            old.execute(f"DROP TABLE {table}")
        old.execute("DROP INDEX decisions_by_target")
        old.execute("DELETE FROM migrations WHERE name = 'verdict_rows'")
        old.commit()
        old.close()
        start = time.perf_counter()  # the copy is not the work
        Store(copy).close()  # the schema step fills the rows from the audits' JSON
        copy.unlink()
        size = "rows of every call"
    elif op in ("page", "page-old"):
        from qa_audit.review_page import is_flagged, write_review_page
        from qa_audit.store import Store

        with Store(db) as store:
            if op == "page-old":
                store.iter_flagged = lambda **kw: [  # type: ignore[method-assign]
                    a for a in store.audits(**kw) if is_flagged(a)]
            page = write_review_page(store, agent, workdir / op, month=month)
        size = f"{page.calls} calls"
    else:
        raise SystemExit(f"unknown operation {op}")
    seconds = time.perf_counter() - start
    return {"op": op, "seconds": round(seconds, 2), "peak_mb": round(peak_mb()), "size": size}


def run(op: str, db: Path, args: argparse.Namespace, workdir: Path) -> dict:
    cmd = [sys.executable, __file__, "_measure", op, "--db", str(db), "--month", args.month,
           "--day", args.day, "--agent", args.agent, "--workdir", str(workdir)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{op} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", nargs="?", default="bench", choices=["bench", "_measure"])
    parser.add_argument("op", nargs="?")
    parser.add_argument("--calls", type=int, default=12000)
    parser.add_argument("--month", default=f"{YEAR}-11")
    parser.add_argument("--day", default=f"{YEAR}-11-16")
    parser.add_argument("--agent", default="307")
    parser.add_argument("--db", type=Path)
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--old-queue", action="store_true",
                        help="also time the old whole-store queue (parses most of the store)")
    parser.add_argument("--no-old", action="store_true", help="skip the old way entirely")
    args = parser.parse_args()
    if args.command == "_measure":
        print(json.dumps(measure(args.op, args.db, month=args.month, day=args.day,
                                 agent=args.agent, workdir=args.workdir)))
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-store-"))
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    results, db = build(workdir, args.calls)
    print(f"{args.calls} calls written to {results} in {time.perf_counter() - started:.0f} s "
          f"({results.stat().st_size / 1e6:.0f} MB)", flush=True)
    rows = [run("baseline", db, args, workdir), run("import", db, args, workdir)]
    print(f"imported: {rows[-1]}", flush=True)
    decide_some(db, args.month)
    print(f"store: {db.stat().st_size / 1e6:.0f} MB", flush=True)
    pairs = [("backfill", None), ("tally", "tally-old"), ("queue-day", "queue-day-old"),
             ("queue-all", "queue-all-old" if args.old_queue else None), ("page", "page-old")]
    table = []
    for new, old in pairs:
        a = run(new, db, args, workdir)
        b = run(old, db, args, workdir) if old and not args.no_old else None
        table.append((a, b))
        print(f"{a}  |  old: {b}", flush=True)
    if (workdir / "tally.json").exists() and (workdir / "tally-old.json").exists():
        same = (workdir / "tally.json").read_text() == (workdir / "tally-old.json").read_text()
        print(f"the SQL tally and the old one are {'the same' if same else 'DIFFERENT'}")
    print(f"\n{args.calls} calls, month {args.month} ({_month_calls(db, args.month)} calls); "
          f"time without imports; peak = the process's peak RSS, imports included "
          f"(the imports alone: {rows[0]['peak_mb']} MB)")
    print(f"{'operation':<12} {'time s':>8} {'peak MB':>8}   {'old time s':>10} {'old MB':>7}  size")
    print(f"{'import':<12} {rows[1]['seconds']:>8} {rows[1]['peak_mb']:>8}   {'':>10} {'':>7}  "
          f"{rows[1]['size']}")
    for a, b in table:
        print(f"{a['op']:<12} {a['seconds']:>8} {a['peak_mb']:>8}   "
              f"{b['seconds'] if b else '-':>10} {b['peak_mb'] if b else '-':>7}  {a['size']}")
    return 0


def _month_calls(db: Path, month: str) -> int:
    import sqlite3

    return sqlite3.connect(db).execute("SELECT count(*) FROM audits WHERE day LIKE ?",
                                       (month + "-%",)).fetchone()[0]


if __name__ == "__main__":
    sys.exit(main())
