"""A shift lead's day in the console, timed: open the queue, open 20 items' calls, fetch the
audio around their evidence (HTTP Range, as the player does when it seeks), decide each, and
reload the page as the browser does after a decision.

    .venv/bin/python scripts/bench_console.py [--db STORE] [--items 20] [--rounds 1]

Without --db it builds the sample store (the ten sample calls as Whisper heard them,
tests/data/console, audited without the model) and repeats its review items until it has
--items of them. It starts `qa-audit serve` as a user would and measures from the client
(httpx), so the times include HTTP and the server's work, not the browser's rendering.

Beside it, the obvious alternatives for the same calls: the static review page
(`qa-audit review` = write_review_page, once per agent of those calls) and the terminal's
`qa-audit decide` (one process per decision). A benchmark, not a test: it prints, it
asserts nothing.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import httpx  # noqa: E402
from console.console_support import (  # noqa: E402
    PASSWORD,
    SAMPLES,
    RunningConsole,
    build_store,
)

from qa_audit.review_page import write_review_page  # noqa: E402
from qa_audit.store import Store  # noqa: E402

LEAD = "王班长"


def _row(name: str, times: list[float]) -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return (f"{name:<44} {len(ms):>4} {statistics.median(ms):>9.1f} {p95:>9.1f} "
            f"{max(ms):>9.1f}")


def _timed(times: dict[str, list[float]], kind: str, call) -> httpx.Response:
    start = time.perf_counter()
    response = call()
    times[kind].append(time.perf_counter() - start)
    response.raise_for_status()
    return response


def lead_day(url: str, n_items: int) -> tuple[dict[str, list[float]], list[dict]]:
    times: dict[str, list[float]] = defaultdict(list)
    with httpx.Client(base_url=url, timeout=30) as client:
        _timed(times, "POST /login", lambda: client.post(
            "/login", data={"username": LEAD, "password": PASSWORD},
            headers={"Accept": "application/json"}))
        csrf = client.get("/api/me").json()["csrf"]
        _timed(times, "GET /queue (page)", lambda: client.get("/queue"))
        items = _timed(times, "GET /api/queue", lambda: client.get("/api/queue")).json()["items"]
        done = []
        for entry in items[:n_items]:
            call_id, item = entry["call_id"], entry["item"]
            _timed(times, "GET /calls/{id} (page)", lambda: client.get(f"/calls/{call_id}"))
            head = _timed(times, "GET audio, first 64 KiB (Range)", lambda: client.get(
                f"/api/calls/{call_id}/audio", headers={"Range": "bytes=0-65535"}))
            size = int(head.headers["content-range"].split("/")[-1])
            for evidence in entry["evidence"][:2]:
                # The player asks for the bytes from where the evidence starts.
                offset = min(size - 1, int(size * evidence["start"] / 60))
                _timed(times, "GET audio at the evidence (Range)", lambda: client.get(
                    f"/api/calls/{call_id}/audio", headers={"Range": f"bytes={offset}-"}))
            _timed(times, "POST decision", lambda: client.post(
                f"/api/calls/{call_id}/items/{item}/decision",
                json={"status": "pass", "note": "复听录音无误"}, headers={"X-CSRF-Token": csrf}))
            _timed(times, "GET /calls/{id} again (reload)", lambda: client.get(f"/calls/{call_id}"))
            done.append(entry)
        _timed(times, "GET /queue (page, at the end)", lambda: client.get("/queue"))
    return times, done


def static_pages(db: Path, agents: set[str]) -> list[float]:
    times = []
    with Store(db) as store, tempfile.TemporaryDirectory() as out:
        for agent in sorted(agents):
            start = time.perf_counter()
            write_review_page(store, agent, Path(out) / agent, audio_root=SAMPLES, link_audio=True)
            times.append(time.perf_counter() - start)
    return times


def terminal_decisions(db: Path, items: list[dict], limit: int) -> list[float]:
    times = []
    for entry in items[:limit]:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "qa_audit.cli.main", "decide", entry["call_id"],
                        entry["item"], "fail", "--by", LEAD, "--db", str(db)],
                       check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def scale_store(db: Path, copies: int) -> None:
    """Each call copied (copies - 1) times under new ids, with its transcript and recording:
    a month-sized store from the ten sample calls."""
    import sqlite3

    con = sqlite3.connect(db)
    with con:
        for n in range(1, copies):
            con.execute(
                """INSERT INTO audits (call_id, agent_id, call_type, started_at, day, fingerprint,
                                       audit, transcript, meta, revision, audited_at)
                   SELECT call_id || '_c' || ?1, agent_id, call_type, started_at, day,
                          fingerprint, json_set(audit, '$.call_id', call_id || '_c' || ?1),
                          json_set(transcript, '$.call_id', call_id || '_c' || ?1),
                          json_set(meta, '$.call_id', call_id || '_c' || ?1), revision,
                          audited_at
                   FROM audits WHERE call_id NOT LIKE '%\\_c%' ESCAPE '\\'""", (n,))
    con.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, help="a store with console users (default: build "
                        "the sample store in a temporary folder)")
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--scale", type=int, default=1,
                        help="copy each call N times (ids suffixed) to time a bigger store")
    parser.add_argument("--terminal", type=int, default=5,
                        help="how many `qa-audit decide` processes to time (default 5)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if args.db is None:
            db = build_store(Path(folder) / "qa.sqlite")
        else:
            db = Path(folder) / "qa.sqlite"
            shutil.copy(args.db, db)
        if args.scale > 1:
            scale_store(db, args.scale)
        with Store(db) as store:
            waiting = len(store.review_queue())
        if waiting < args.items:
            print(f"note: the store has {waiting} review items; the day decides all of them",
                  file=sys.stderr)
        console = RunningConsole(db)
        try:
            times, done = lead_day(console.url, args.items)
        finally:
            console.stop()
        agents = {e["agent_id"] for e in done}
        static = static_pages(db, agents)
        with Store(db) as store:
            left = [{"call_id": i.call_id, "item": i.item} for i in store.review_queue()]
        retry = left or [{"call_id": e["call_id"], "item": e["item"]} for e in done]
        terminal = terminal_decisions(db, retry, args.terminal)
    print(f"a lead's day: {len(done)} items of {len({e['call_id'] for e in done})} calls, "
          f"{len(agents)} agents; the store has {10 * args.scale if args.db is None else '?'} "
          f"calls, {waiting} items waiting\n")
    print(f"{'request':<44} {'n':>4} {'median ms':>9} {'p95 ms':>9} {'max ms':>9}")
    for kind, kind_times in times.items():
        print(_row(kind, kind_times))
    page_loads = [t for k, v in times.items() if "page" in k or "reload" in k for t in v]
    print(_row("all console page loads", page_loads))
    print("\nthe alternatives, same calls:")
    print(_row("static review page, one agent (qa-audit review)", static))
    print(_row("one decision in the terminal (qa-audit decide)", terminal))
    return 0


if __name__ == "__main__":
    sys.exit(main())
