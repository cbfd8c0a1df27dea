"""The results store: one SQLite file that keeps every audit, decision, appeal and sample.

Each audit is written in its own transaction, so a crash or Ctrl-C in the middle of a
batch loses nothing already audited, and a re-run skips what `has_audit` finds. The
database runs in WAL mode with a busy timeout so that two shift leads auditing at the
same time wait for each other instead of failing or corrupting the file.

The machine's result is replaced on a re-audit; people's decisions and appeals are
separate rows that are never rewritten, only added to. The *final* verdict of an item is
the latest decision about it (a lead's `decide`, or an accepted appeal, which counts as
pass); without one it is the machine's.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from qa_audit.errors import InputError, StoreError
from qa_audit.records import CallAudit, CallMeta, Status, Ticket, Transcript
from qa_audit.sampling import Period, call_started_at, period_key, sample_per_agent
from qa_audit.store_records import (OUTCOMES, VERDICTS, Appeal, Decision, ReviewItem,
                                   appeal_from_row, apply_decisions, audit_filter, day_filter,
                                   decision_from_row, now_text, parse_day, parse_month)
from qa_audit.store_rows import VERDICT_ROWS_STEP, VerdictRows, save_rows

__all__ = [
    "Appeal", "Decision", "ReviewItem", "SampleEntry", "Store", "apply_decisions",
    "default_db_path", "parse_day", "parse_month", "sample_per_agent",
]

DB_ENV = "QA_AUDIT_DB"
DEFAULT_DB_NAME = "qa-audit.sqlite"
# Long enough for the other lead's single-call transaction, short enough to report a hang.
DEFAULT_BUSY_TIMEOUT_S = 30.0
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE audits (
    call_id     TEXT PRIMARY KEY,
    agent_id    TEXT,
    call_type   TEXT NOT NULL,
    started_at  TEXT,
    day         TEXT,            -- YYYY-MM-DD of started_at, for month and date filters
    fingerprint TEXT,            -- hash of the inputs and options: a re-run skips equal ones
    audit       TEXT NOT NULL,   -- the machine's CallAudit as JSON
    transcript  TEXT,
    meta        TEXT,
    revision    INTEGER NOT NULL DEFAULT 1,
    audited_at  TEXT NOT NULL
);
CREATE INDEX audits_by_agent_day ON audits (agent_id, day);
CREATE INDEX audits_by_day ON audits (day);
CREATE TABLE decisions (
    id             INTEGER PRIMARY KEY,
    call_id        TEXT NOT NULL,
    target         TEXT NOT NULL,  -- a form item id, or a finding code
    status         TEXT NOT NULL CHECK (status IN ('pass', 'fail')),
    machine_status TEXT,           -- what the machine said when the person decided
    decided_by     TEXT NOT NULL,
    note           TEXT NOT NULL DEFAULT '',
    source         TEXT NOT NULL DEFAULT 'lead' CHECK (source IN ('lead', 'appeal')),
    appeal_id      INTEGER REFERENCES appeals (id),
    decided_at     TEXT NOT NULL
);
CREATE INDEX decisions_by_call ON decisions (call_id);
CREATE TABLE appeals (
    id              INTEGER PRIMARY KEY,
    call_id         TEXT NOT NULL,
    target          TEXT NOT NULL,
    agent_id        TEXT,
    reason          TEXT NOT NULL,
    filed_by        TEXT NOT NULL,
    filed_at        TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'accepted', 'rejected')),
    resolved_by     TEXT,
    resolution_note TEXT,
    resolved_at     TEXT
);
CREATE INDEX appeals_by_call ON appeals (call_id);
CREATE TABLE tickets (
    ticket_id   TEXT PRIMARY KEY,
    call_id     TEXT,
    station     TEXT,
    day         TEXT,             -- YYYY-MM-DD of created_at
    ticket      TEXT NOT NULL
);
CREATE INDEX tickets_by_call ON tickets (call_id);
CREATE INDEX tickets_by_day ON tickets (day);
CREATE TABLE samples (
    period      TEXT NOT NULL,    -- day | week
    period_key  TEXT NOT NULL,    -- 2026-11-10 | 2026-W46
    call_id     TEXT NOT NULL,
    agent_id    TEXT,
    day         TEXT,
    seed        INTEGER NOT NULL,
    per_agent   INTEGER NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (period, period_key, call_id)
);
"""

# Later changes of the schema, each a named step applied once, in this order, to stores made
# before it. Named rather than numbered so that work on separate branches adds steps without
# fighting over a number; a store holding a step this code does not know is from a newer
# qa-audit, and is refused rather than half understood.
MIGRATIONS: list[tuple[str, str]] = [
    # The web console's people (qa_audit.console.accounts): who may sign in as what, the
    # sign-in attempts the lockout counts, what people did, and the cookie-signing secret.
    ("console_users", """
CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('lead', 'head', 'agent', 'office')),
    agent_id      TEXT,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    password_at   TEXT NOT NULL,
    created_at    TEXT NOT NULL
);
CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY,
    name      TEXT NOT NULL,
    ok        INTEGER NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX login_attempts_by_name ON login_attempts (name, at);
CREATE TABLE audit_log (
    id        INTEGER PRIMARY KEY,
    at        TEXT NOT NULL,
    actor     TEXT,
    action    TEXT NOT NULL,
    target    TEXT NOT NULL DEFAULT '',
    detail    TEXT NOT NULL DEFAULT ''
);
CREATE TABLE console_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
)"""),
    # Runs sharing a store take each call in turn: who works on it, until when (unix time).
    ("claims", "CREATE TABLE claims (call_id TEXT PRIMARY KEY, owner TEXT NOT NULL, "
               "expires_at REAL NOT NULL)"),
    VERDICT_ROWS_STEP,  # item verdicts, findings and answers as rows (qa_audit.store_rows)
]


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Runs `;`-separated statements inside the caller's transaction (executescript would
    commit it)."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


def default_db_path() -> Path:
    """$QA_AUDIT_DB, else qa-audit.sqlite in the current folder."""
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB_NAME)


@dataclass(frozen=True)
class SampleEntry:
    period: str
    period_key: str
    call_id: str
    agent_id: str | None
    day: str | None
    seed: int
    per_agent: int
    recorded_at: datetime
    audited: bool


class Store(VerdictRows):
    """The results database. Open one per command; close it (or use `with`)."""

    def __init__(
        self, path: Path | str, *, create: bool = True, timeout: float | None = None
    ) -> None:
        self.path = Path(path)
        self.timeout = DEFAULT_BUSY_TIMEOUT_S if timeout is None else timeout
        if self.path.is_dir():
            raise StoreError(f"{self.path} is a folder, not a results database; "
                             "give a file path with --db")
        if not create and not self.path.exists():
            raise StoreError(f"no results database at {self.path}; run `qa-audit audit` first "
                             f"or point --db (or ${DB_ENV}) at the right file")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None)
            self._db.row_factory = sqlite3.Row
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open results database {self.path}: {exc}; "
                             "check the path and its permissions") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk before the next call is audited, even on power loss.
            self._db.execute("PRAGMA synchronous = FULL")
            self._migrate()
        except sqlite3.Error as exc:
            self._db.close()
            raise self._error(exc) from None
        except StoreError:
            self._db.close()
            raise

    # -- plumbing ---------------------------------------------------------------------

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(
                f"results database {self.path} is locked by another process "
                f"(waited {self.timeout:g} s); try again when the other qa-audit command ends")
        if "not a database" in text or "malformed" in text:
            return StoreError(f"{self.path} is not a qa-audit results database or is damaged "
                              f"({text}); pass another --db or move the file away")
        if "readonly" in text:
            return StoreError(f"results database {self.path} is read-only; "
                              "check the file's permissions or pass another --db")
        return StoreError(f"results database {self.path}: {text}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; IMMEDIATE takes the write lock up front, so two writers
        queue on the busy timeout instead of deadlocking on a read-to-write upgrade."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        try:
            yield self._db
        except BaseException as exc:
            self._rollback()
            if isinstance(exc, sqlite3.Error):
                raise self._error(exc) from None
            raise
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._error(exc) from None

    def _rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        try:
            return self._db.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            raise self._error(exc) from None

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer qa-audit (schema {version}, "
                             f"this one knows {SCHEMA_VERSION}); upgrade qa-audit")
        if version == SCHEMA_VERSION and self._steps_done() == [name for name, _ in MIGRATIONS]:
            return
        with self._transaction() as db:
            # Another process may have created the schema while this one waited for the lock.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                tables = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'")
                if tables.fetchone()[0]:
                    raise StoreError(f"{self.path} is another program's SQLite database; "
                                     "pass a new or a qa-audit file with --db")
                _run_script(db, _SCHEMA)
                db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.execute("CREATE TABLE IF NOT EXISTS migrations "
                       "(name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            done = {r[0] for r in db.execute("SELECT name FROM migrations")}
            unknown = sorted(done - {name for name, _ in MIGRATIONS})
            if unknown:
                raise StoreError(f"{self.path} was written by a newer qa-audit (it has schema "
                                 f"step(s) {', '.join(map(repr, unknown))}, which this one does "
                                 "not know); upgrade qa-audit")
            for name, script in MIGRATIONS:
                if name not in done:
                    _run_script(db, script)
                    db.execute("INSERT INTO migrations (name, applied_at) VALUES (?, ?)",
                               (name, now_text()))

    def _steps_done(self) -> list[str]:
        """The schema steps applied, in the order of MIGRATIONS (a cheap check on open)."""
        exists = self._db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'migrations'").fetchone()
        if not exists:
            return []
        done = {r[0] for r in self._db.execute("SELECT name FROM migrations")}
        return [name for name, _ in MIGRATIONS if name in done] + sorted(
            done - {name for name, _ in MIGRATIONS})

    # -- audits -----------------------------------------------------------------------

    def save_audit(
        self,
        audit: CallAudit,
        *,
        transcript: Transcript | None = None,
        meta: CallMeta | None = None,
        fingerprint: str | None = None,
    ) -> None:
        """Store (or replace) the machine's result of one call in one transaction.

        Decisions and appeals about the call are kept and still apply to the new result.
        """
        started = call_started_at(
            audit.call_id, audit.started_at or (meta.started_at if meta else None))
        fingerprint = fingerprint or audit.provenance.get("fingerprint")
        row = (
            audit.call_id, audit.agent_id or (meta.agent_id if meta else None), audit.call_type,
            started.isoformat() if started else None,
            started.date().isoformat() if started else None,
            fingerprint, audit.model_dump_json(),
            transcript.model_dump_json() if transcript else None,
            meta.model_dump_json() if meta else None, now_text(),
        )
        with self._transaction() as db:
            db.execute(
                """INSERT INTO audits (call_id, agent_id, call_type, started_at, day, fingerprint,
                                       audit, transcript, meta, audited_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                   ON CONFLICT (call_id) DO UPDATE SET
                       agent_id = excluded.agent_id, call_type = excluded.call_type,
                       started_at = excluded.started_at, day = excluded.day,
                       fingerprint = excluded.fingerprint, audit = excluded.audit,
                       transcript = coalesce(excluded.transcript, audits.transcript),
                       meta = coalesce(excluded.meta, audits.meta),
                       revision = audits.revision + 1, audited_at = excluded.audited_at""",
                row,
            )
            save_rows(db, audit.call_id)

    def has_audit(self, call_id: str, *, fingerprint: str | None = None) -> bool:
        """Whether the call is stored; with a fingerprint, whether it was audited from the
        same inputs and options (a re-run skips it; a changed phrasebook re-audits)."""
        rows = self._query("SELECT fingerprint FROM audits WHERE call_id = ?", (call_id,))
        if not rows:
            return False
        return fingerprint is None or rows[0]["fingerprint"] == fingerprint

    def get_audit(self, call_id: str, *, final: bool = True) -> CallAudit | None:
        """The call's audit: final (people's decisions applied) or the machine's raw one."""
        rows = self._query("SELECT audit FROM audits WHERE call_id = ?", (call_id,))
        if not rows:
            return None
        audit = CallAudit.model_validate_json(rows[0]["audit"])
        return apply_decisions(audit, self.decisions(call_id)) if final else audit

    def audits(
        self,
        *,
        agent: str | None = None,
        month: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        final: bool = True,
        machine_unsure: bool = False,
    ) -> list[CallAudit]:
        """Audits in call-time order, filtered by agent, month (YYYY-MM) and day range;
        machine_unsure: only calls where the machine left an item `review`."""
        where, params = audit_filter(agent, month, date_from, date_to)
        if machine_unsure:
            # Filtered inside SQLite: the queue should not parse a month of JSON.
            where += (" AND" if where else "WHERE") + (
                " EXISTS (SELECT 1 FROM json_each(a.audit, '$.items') "
                "WHERE json_extract(value, '$.status') = 'review')")
        rows = self._query(f"SELECT audit FROM audits a {where} ORDER BY a.started_at, a.call_id",
                           params)
        audits = [CallAudit.model_validate_json(r["audit"]) for r in rows]
        if not final:
            return audits
        by_call: dict[str, list[Decision]] = defaultdict(list)
        for row in self._query(
            f"SELECT d.* FROM decisions d JOIN audits a USING (call_id) {where}", params
        ):
            by_call[row["call_id"]].append(decision_from_row(row))
        return [apply_decisions(a, by_call.get(a.call_id, [])) for a in audits]

    def months(self) -> list[str]:
        """The months (YYYY-MM) that have audits, oldest first."""
        rows = self._query("SELECT DISTINCT substr(day, 1, 7) AS month FROM audits "
                           "WHERE day IS NOT NULL ORDER BY month")
        return [r["month"] for r in rows]

    def get_transcript(self, call_id: str) -> Transcript | None:
        rows = self._query("SELECT transcript FROM audits WHERE call_id = ?", (call_id,))
        if not rows or rows[0]["transcript"] is None:
            return None
        return Transcript.model_validate_json(rows[0]["transcript"])

    def get_meta(self, call_id: str) -> CallMeta | None:
        rows = self._query("SELECT meta FROM audits WHERE call_id = ?", (call_id,))
        if not rows or rows[0]["meta"] is None:
            return None
        return CallMeta.model_validate_json(rows[0]["meta"])

    def _require_audit(self, call_id: str) -> CallAudit:
        audit = self.get_audit(call_id, final=False)
        if audit is None:
            raise InputError(f"unknown call id {call_id!r} in {self.path}; "
                             "`qa-audit queue` lists the calls awaiting review")
        return audit

    # -- people's verdicts ------------------------------------------------------------

    def decisions(self, call_id: str) -> list[Decision]:
        """The whole history of people's verdicts on a call, oldest first."""
        rows = self._query("SELECT * FROM decisions WHERE call_id = ? ORDER BY id", (call_id,))
        return [decision_from_row(r) for r in rows]

    def decide(
        self, call_id: str, item_id: str, status: str, *, by: str, note: str = ""
    ) -> Decision:
        """A shift lead's verdict on an item (or a finding); the machine's stays beside it."""
        if status not in VERDICTS:
            raise InputError(f"verdict {status!r} is not one of: {', '.join(VERDICTS)}")
        by = _required_name(by, "--by NAME (who decides)")
        audit = self._require_audit(call_id)
        machine_status = _machine_status(audit, item_id)
        with self._transaction() as db:
            cursor = db.execute(
                """INSERT INTO decisions (call_id, target, status, machine_status, decided_by,
                                          note, source, decided_at)
                   VALUES (?, ?, ?, ?, ?, ?, 'lead', ?)""",
                (call_id, item_id, status, machine_status, by, note, now_text()),
            )
            decision_id = cursor.lastrowid
        return self._decision_by_id(decision_id)

    def _decision_by_id(self, decision_id: int | None) -> Decision:
        return decision_from_row(self._query("SELECT * FROM decisions WHERE id = ?", (decision_id,))[0])

    def review_queue(
        self, *, agent: str | None = None, day: date | str | None = None,
        date_from: date | str | None = None, date_to: date | str | None = None,
        item: str | None = None,
    ) -> list[ReviewItem]:
        """Items still `review` after people's decisions, in call-time order, of a day or
        a range of days, an agent, an item (read from the verdict rows)."""
        if day is not None:
            date_from = date_to = day
        return self.open_reviews(agent=agent, date_from=parse_day(date_from, "from"),
                                 date_to=parse_day(date_to, "to"), item=item or None)

    # -- appeals ----------------------------------------------------------------------

    def appeal(self, call_id: str, item_id: str, *, reason: str, by: str | None = None) -> Appeal:
        """An agent contests a failed (or undecided) item or a finding of their call."""
        reason = _required_name(reason, "--reason (why the verdict is wrong)")
        raw = self._require_audit(call_id)
        _machine_status(raw, item_id)  # the item or finding must exist
        final = apply_decisions(raw, self.decisions(call_id))
        item = final.item(item_id)
        contested = (item.status in ("fail", "review") if item is not None
                     else any(f.code == item_id for f in final.findings))
        if not contested:
            raise InputError(f"{item_id} of call {call_id} already counts as pass; "
                             "there is nothing to appeal")
        filed_by = (by or "").strip() or raw.agent_id or ""
        if not filed_by:
            raise InputError("the call has no agent id; say who appeals with --by AGENT")
        with self._transaction() as db:
            open_one = db.execute(
                "SELECT id FROM appeals WHERE call_id = ? AND target = ? AND state = 'open'",
                (call_id, item_id)).fetchone()
            if open_one:
                raise InputError(f"appeal #{open_one[0]} on {call_id} {item_id} is still open; "
                                 "wait for the lead's answer (`qa-audit appeals`)")
            cursor = db.execute(
                """INSERT INTO appeals (call_id, target, agent_id, reason, filed_by, filed_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (call_id, item_id, raw.agent_id, reason, filed_by, now_text()),
            )
            appeal_id = cursor.lastrowid
        return self.get_appeal(appeal_id)

    def get_appeal(self, appeal_id: int | None) -> Appeal:
        rows = self._query("SELECT * FROM appeals WHERE id = ?", (appeal_id,))
        if not rows:
            raise InputError(f"unknown appeal #{appeal_id}; `qa-audit appeals` lists them")
        return appeal_from_row(rows[0])

    def appeals(
        self,
        *,
        open_only: bool = False,
        agent: str | None = None,
        call_id: str | None = None,
        month: str | None = None,
    ) -> list[Appeal]:
        """Appeals, oldest first; month filters on the appealed call's day."""
        clauses, params = [], []
        if open_only:
            clauses.append("p.state = 'open'")
        if agent is not None:
            clauses.append("p.agent_id = ?")
            params.append(agent)
        if call_id is not None:
            clauses.append("p.call_id = ?")
            params.append(call_id)
        if month is not None:
            clauses.append("a.day LIKE ?")
            params.append(parse_month(month) + "-%")
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._query(
            f"SELECT p.* FROM appeals p LEFT JOIN audits a USING (call_id) {where} ORDER BY p.id",
            params)
        return [appeal_from_row(r) for r in rows]

    def resolve_appeal(
        self, appeal_id: int, outcome: str, *, by: str, note: str = ""
    ) -> Appeal:
        """The lead's answer; an accepted appeal is a `pass` decision, so the tally follows."""
        if outcome not in OUTCOMES:
            raise InputError(f"appeal outcome {outcome!r} is not one of: {', '.join(OUTCOMES)}")
        by = _required_name(by, "--by NAME (who resolves the appeal)")
        appeal = self.get_appeal(appeal_id)
        raw = self._require_audit(appeal.call_id)
        machine_status = _machine_status(raw, appeal.item)
        now = now_text()
        with self._transaction() as db:
            state = db.execute("SELECT state FROM appeals WHERE id = ?", (appeal_id,)).fetchone()
            if state[0] != "open":
                raise InputError(f"appeal #{appeal_id} is already {state[0]}; "
                                 "a resolved appeal cannot be answered again")
            new_state = "accepted" if outcome == "accept" else "rejected"
            db.execute(
                """UPDATE appeals SET state = ?, resolved_by = ?, resolution_note = ?,
                                      resolved_at = ? WHERE id = ?""",
                (new_state, by, note, now, appeal_id))
            if outcome == "accept":
                db.execute(
                    """INSERT INTO decisions (call_id, target, status, machine_status,
                                              decided_by, note, source, appeal_id, decided_at)
                       VALUES (?, ?, 'pass', ?, ?, ?, 'appeal', ?, ?)""",
                    (appeal.call_id, appeal.item, machine_status, by, note, appeal_id, now))
        return self.get_appeal(appeal_id)

    # -- tickets and samples ----------------------------------------------------------

    def save_tickets(self, tickets: Iterable[Ticket]) -> int:
        """Store (or update) tickets by ticket_id in one transaction; returns how many."""
        rows = [
            (t.ticket_id, t.call_id, t.station,
             t.created_at.date().isoformat() if t.created_at else None, t.model_dump_json())
            for t in tickets
        ]
        with self._transaction() as db:
            db.executemany(
                """INSERT INTO tickets (ticket_id, call_id, station, day, ticket)
                   VALUES (?, ?, ?, ?, ?)
                   ON CONFLICT (ticket_id) DO UPDATE SET call_id = excluded.call_id,
                       station = excluded.station, day = excluded.day, ticket = excluded.ticket""",
                rows)
        return len(rows)

    def tickets(
        self,
        *,
        month: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
    ) -> list[Ticket]:
        """Tickets by the day they were created, oldest first."""
        where, params = day_filter("day", month, date_from, date_to)
        rows = self._query(f"SELECT ticket FROM tickets {where} ORDER BY day, ticket_id", params)
        return [Ticket.model_validate_json(r["ticket"]) for r in rows]

    def tickets_of_call(self, call_id: str) -> list[Ticket]:
        """The ticket the call created and, for a follow-up, the ticket it follows up."""
        rows = self._query(
            """SELECT ticket FROM tickets WHERE call_id = ?
               OR ticket_id = (SELECT json_extract(audit, '$.ticket_id') FROM audits
                               WHERE call_id = ?)
               OR ticket_id = (SELECT json_extract(meta, '$.ticket_id') FROM audits
                               WHERE call_id = ?)""",
            (call_id, call_id, call_id))
        return [Ticket.model_validate_json(r["ticket"]) for r in rows]

    def record_sample(
        self, calls: Sequence[CallMeta], *, n: int, seed: int, period: Period
    ) -> int:
        """Remember which calls a spot-check sample picked, so the tally can count them."""
        now = now_text()
        rows = []
        for meta in calls:
            started = call_started_at(meta.call_id, meta.started_at)
            day = started.date() if started else None
            rows.append((period, period_key(day, period), meta.call_id, meta.agent_id,
                         day.isoformat() if day else None, seed, n, now))
        with self._transaction() as db:
            db.executemany(
                """INSERT OR REPLACE INTO samples (period, period_key, call_id, agent_id, day,
                                                   seed, per_agent, recorded_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                rows)
        return len(rows)

    def samples(self, *, month: str | None = None, agent: str | None = None) -> list[SampleEntry]:
        where, params = day_filter("s.day", month, None, None)
        if agent is not None:
            where += (" AND" if where else "WHERE") + " s.agent_id = ?"
            params.append(agent)
        rows = self._query(
            f"""SELECT s.*, a.call_id IS NOT NULL AS audited FROM samples s
                LEFT JOIN audits a USING (call_id) {where}
                ORDER BY s.day, s.agent_id, s.call_id""",
            params)
        return [SampleEntry(
            period=r["period"], period_key=r["period_key"], call_id=r["call_id"],
            agent_id=r["agent_id"], day=r["day"], seed=r["seed"], per_agent=r["per_agent"],
            recorded_at=datetime.fromisoformat(r["recorded_at"]), audited=bool(r["audited"]),
        ) for r in rows]

    # -- claims: runs that share the store share the calls ------------------------------

    def claim(self, call_id: str, owner: str, *, lease_s: float,
              fingerprint: str | None = None,
              gone: Callable[[str], bool] | None = None) -> Literal["mine", "done", "taken"]:
        """Take a call for `owner` for `lease_s` seconds, in one transaction: `done` when it
        is already audited (from the same inputs, with a fingerprint), `taken` while another
        owner's lease runs (and `gone` does not say that owner has died), else `mine`."""
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT fingerprint FROM audits WHERE call_id = ?",
                             (call_id,)).fetchone()
            held = db.execute("SELECT owner, expires_at FROM claims WHERE call_id = ?",
                              (call_id,)).fetchone()
            live = held is not None and held[1] > now \
                and not (gone is not None and gone(held[0]))
            if row is not None and (fingerprint is None or row[0] == fingerprint):
                if held is not None and not live:
                    # Left by a run killed after storing the call, before letting it go.
                    db.execute("DELETE FROM claims WHERE call_id = ?", (call_id,))
                return "done"
            if live and held[0] != owner:
                return "taken"
            db.execute("INSERT OR REPLACE INTO claims (call_id, owner, expires_at) "
                       "VALUES (?, ?, ?)", (call_id, owner, now + lease_s))
        return "mine"

    def renew_claim(self, call_id: str, owner: str, *, lease_s: float) -> None:
        with self._transaction() as db:
            db.execute("UPDATE claims SET expires_at = ? WHERE call_id = ? AND owner = ?",
                       (time.time() + lease_s, call_id, owner))

    def release_claim(self, call_id: str, owner: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM claims WHERE call_id = ? AND owner = ?", (call_id, owner))

    # -- unusable recordings (录音异常) ---------------------------------------------------

    def unusable_calls(self, *, agent: str | None = None, month: str | None = None,
                       date_from: date | str | None = None,
                       date_to: date | str | None = None) -> list[CallAudit]:
        """Calls whose recording holds no call to audit, in call-time order."""
        where, params = audit_filter(agent, month, date_from, date_to)
        where += (" AND" if where else "WHERE") + " json_extract(a.audit, '$.status') = 'unusable'"
        rows = self._query(f"SELECT audit FROM audits a {where} ORDER BY a.started_at, a.call_id",
                           params)
        return [CallAudit.model_validate_json(r["audit"]) for r in rows]

    def unusable_counts(self, month: str) -> dict[str, int]:
        """Unusable recordings per agent in a month (the tally's 录音异常 column)."""
        rows = self._query(
            "SELECT coalesce(agent_id, '?') AS agent, count(*) AS n FROM audits "
            "WHERE day LIKE ? AND json_extract(audit, '$.status') = 'unusable' GROUP BY agent",
            (parse_month(month) + "-%",))
        return {r["agent"]: r["n"] for r in rows}


def _required_name(value: str | None, what: str) -> str:
    value = (value or "").strip()
    if not value:
        raise InputError(f"{what} is required")
    return value


def _machine_status(audit: CallAudit, target: str) -> Status:
    """What the machine said about an item or finding; unknown ones are the user's typo."""
    if audit.unusable:
        reason = audit.recording_quality.reason if audit.recording_quality else "unusable"
        raise InputError(f"call {audit.call_id}: the recording is unusable (录音异常: {reason}); "
                         "nothing in it was held against the agent, so there is nothing to "
                         "decide or appeal")
    item = audit.item(target)
    if item is not None:
        return item.status
    if any(f.code == target for f in audit.findings):
        return "fail"
    items = ", ".join(i.id for i in audit.items) or "none"
    findings = ", ".join(f.code for f in audit.findings) or "none"
    raise InputError(f"call {audit.call_id} has no item or finding {target!r}; "
                     f"items: {items}; findings: {findings}")
