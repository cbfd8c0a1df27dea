"""Verdict rows: what the aggregates read, kept as rows beside each audit's JSON.

A month's tally, the review queue and an agent's page should not parse every audit of the
month: a year of calls is gigabytes of JSON. So every stored audit also has its facts as
rows — one per call (`call_facts`), per item (`item_verdicts`), per finding (`findings`)
and per follow-up answer (`answers`) — written in the same transaction as the audit, by
the same SQL that backfills a store made before the rows existed (`VERDICT_ROWS_STEP`,
a named schema step). The rows are the machine's; people's decisions stay in their own
table and are applied in each query (`LATEST_DECISIONS`): the latest decision on an item
is its final verdict, and a finding goes when it, or the item it belongs to, is decided
pass — as `qa_audit.store.apply_decisions` does for one audit.

`VerdictRows` is mixed into `Store`: its methods are the aggregates.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from qa_audit.records import CallAudit, Ticket
from qa_audit.sampling import call_started_at
from qa_audit.store_records import (ReviewItem, apply_decisions, audit_filter, decision_from_row,
                                    now_text, parse_month)


_TABLES = """
CREATE TABLE call_facts (
    call_id     TEXT PRIMARY KEY,
    day         TEXT,        -- audits.day
    agent_id    TEXT,        -- audits.agent_id (the audit's, else the call record's)
    audit_agent TEXT,        -- the audit's own agent_id, as the tally groups by it
    call_type   TEXT,
    score       REAL NOT NULL,
    max_score   REAL NOT NULL,
    started_at  TEXT,        -- audits.started_at
    ticket_id   TEXT,
    station     TEXT
) WITHOUT ROWID;
CREATE INDEX call_facts_by_day ON call_facts (day, agent_id);
CREATE INDEX call_facts_by_agent ON call_facts (agent_id, day);
CREATE TABLE item_verdicts (
    call_id        TEXT NOT NULL,
    seq            INTEGER NOT NULL,  -- the item's place in the form
    item           TEXT NOT NULL,
    status         TEXT NOT NULL,
    points         REAL NOT NULL,
    max_points     REAL NOT NULL,
    label          TEXT,
    reason         TEXT,              -- fail and review only: what the queue shows
    evidence_start REAL,              -- fail and review only: where the player jumps
    PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;
CREATE INDEX item_verdicts_open ON item_verdicts (call_id) WHERE status IN ('fail', 'review');
CREATE TABLE findings (
    call_id   TEXT NOT NULL,
    seq       INTEGER NOT NULL,
    code      TEXT NOT NULL,
    item      TEXT,
    fine_yuan REAL NOT NULL,          -- without a repeat extra: the tally adds its own
    serious   INTEGER NOT NULL,
    PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;
CREATE TABLE answers (
    call_id TEXT NOT NULL,
    key     TEXT NOT NULL,
    value,
    type    TEXT NOT NULL,            -- json_each's: text, integer, real, true, false, null
    PRIMARY KEY (call_id, key)
) WITHOUT ROWID;
CREATE INDEX decisions_by_target ON decisions (call_id, target, id)
"""

# The rows of the audits matched by {where}: one call's in save_audit, all in the backfill.
_FILL = """
INSERT INTO call_facts
SELECT a.call_id, a.day, a.agent_id, json_extract(a.audit, '$.agent_id'),
       json_extract(a.audit, '$.call_type'), json_extract(a.audit, '$.score'),
       json_extract(a.audit, '$.max_score'), a.started_at,
       json_extract(a.audit, '$.ticket_id'), json_extract(a.audit, '$.station')
FROM audits a {where};
INSERT INTO item_verdicts
SELECT a.call_id, i.key, json_extract(i.value, '$.id'), json_extract(i.value, '$.status'),
       json_extract(i.value, '$.points'), json_extract(i.value, '$.max_points'),
       json_extract(i.value, '$.label'),
       CASE WHEN json_extract(i.value, '$.status') IN ('fail', 'review')
            THEN json_extract(i.value, '$.reason') END,
       CASE WHEN json_extract(i.value, '$.status') IN ('fail', 'review')
            THEN (SELECT min(json_extract(e.value, '$.start'))
                  FROM json_each(i.value, '$.evidence') e) END
FROM audits a, json_each(a.audit, '$.items') i {where};
INSERT INTO findings
SELECT a.call_id, f.key, json_extract(f.value, '$.code'), json_extract(f.value, '$.item'),
       coalesce(json_extract(f.value, '$.fine_yuan'), 0)
           - coalesce(json_extract(f.value, '$.repeat_extra_yuan'), 0),
       coalesce(json_extract(f.value, '$.serious'), 0)
FROM audits a, json_each(a.audit, '$.findings') f {where};
INSERT INTO answers
SELECT a.call_id, x.key, x.atom, x.type
FROM audits a, json_each(a.audit, '$.answers') x {where};
INSERT INTO answers
SELECT a.call_id, 'unheard.' || u.value, NULL, 'null'
FROM audits a, json_each(a.audit, '$.unheard') u {where}
"""

_CLEAR = """
DELETE FROM call_facts WHERE call_id = ?;
DELETE FROM item_verdicts WHERE call_id = ?;
DELETE FROM findings WHERE call_id = ?;
DELETE FROM answers WHERE call_id = ?
"""

VERDICT_ROWS_STEP = ("verdict_rows", _TABLES + ";" + _FILL.format(where=""))

_FILL_ONE = [s.strip() for s in _FILL.format(where="WHERE a.call_id = ?").split(";")]
_CLEAR_ONE = [s.strip() for s in _CLEAR.split(";")]
# The same for a batch of calls, named by a JSON array of call ids.
_IN_BATCH = "IN (SELECT value FROM json_each(?))"
_FILL_MANY = [s.strip() for s in _FILL.format(where=f"WHERE a.call_id {_IN_BATCH}").split(";")]
_CLEAR_MANY = [s.strip().replace("= ?", _IN_BATCH) for s in _CLEAR.split(";")]

_UPSERT = """
INSERT INTO audits (call_id, agent_id, call_type, started_at, day, fingerprint, audit,
                    transcript, meta, audited_at)
VALUES (?, ?, ?, ?, ?, ?, ?, NULL, NULL, ?)
ON CONFLICT (call_id) DO UPDATE SET
    agent_id = coalesce(excluded.agent_id, audits.agent_id), call_type = excluded.call_type,
    started_at = coalesce(excluded.started_at, audits.started_at),
    day = coalesce(excluded.day, audits.day), fingerprint = excluded.fingerprint,
    audit = excluded.audit, revision = audits.revision + 1, audited_at = excluded.audited_at"""

# The latest decision on each (call, target): SQLite takes the bare columns from the row
# where max(id) is found.
LATEST_DECISIONS = "SELECT call_id, target, status, max(id) AS id FROM decisions " \
                   "GROUP BY call_id, target"

# Each item of the calls in `month` with its final status and points.
_FINAL_ITEMS = f"""
SELECT c.call_id, c.call_type, c.started_at,
       coalesce(nullif(c.audit_agent, ''), '?') AS agent,
       v.seq, v.item, v.label, v.max_points, v.points AS machine_points,
       coalesce(l.status, v.status) AS status,
       CASE l.status WHEN 'pass' THEN v.max_points WHEN 'fail' THEN 0 ELSE v.points END
           AS points
FROM month c JOIN item_verdicts v ON v.call_id = c.call_id
LEFT JOIN ({LATEST_DECISIONS}) l ON l.call_id = v.call_id AND l.target = v.item
"""

# The findings of the calls in `month` that no decision withdrew: a finding's own decision
# counts when its code is not also an item of the call, else the decision on its item.
_FINAL_FINDINGS = f"""
SELECT c.call_id, c.started_at, c.ticket_id, c.station, c.audit_agent,
       coalesce(nullif(c.audit_agent, ''), '?') AS agent,
       f.seq, f.code, f.fine_yuan, f.serious
FROM month c JOIN findings f ON f.call_id = c.call_id
LEFT JOIN ({LATEST_DECISIONS}) own ON own.call_id = f.call_id AND own.target = f.code
     AND NOT EXISTS (SELECT 1 FROM item_verdicts i WHERE i.call_id = f.call_id
                     AND i.item = f.code)
LEFT JOIN ({LATEST_DECISIONS}) via ON via.call_id = f.call_id AND via.target = f.item
WHERE coalesce(own.status, via.status, '') != 'pass'
ORDER BY c.started_at, c.call_id, f.seq
"""


def save_rows(db: sqlite3.Connection, call_id: str) -> None:
    """The call's rows from its stored audit, inside the caller's transaction."""
    for statement in _CLEAR_ONE:
        db.execute(statement, (call_id,))
    for statement in _FILL_ONE:
        db.execute(statement, (call_id,))


def audit_row(audit: CallAudit, now: str) -> tuple[Any, ...]:
    """The audits row of an imported result (no transcript or call record with it: a
    stored call keeps the ones it has)."""
    started = call_started_at(audit.call_id, audit.started_at)
    return (audit.call_id, audit.agent_id, audit.call_type,
            started.isoformat() if started else None,
            started.date().isoformat() if started else None,
            audit.provenance.get("fingerprint"), audit.model_dump_json(), now)


def month_range(month: str) -> tuple[str, str]:
    """The first and the last day a YYYY-MM month's `day` values can take, as text."""
    return f"{month}-01", f"{month}-31"


@dataclass(frozen=True)
class AgentTotals:
    """One agent's calls and final item verdicts in a month."""

    agent: str
    calls: int
    repair: int
    followup: int
    points_lost: float
    score: float
    max_score: float
    failed_items: int
    open_reviews: int


@dataclass(frozen=True)
class MonthVerdicts:
    """A month's final item verdicts: per agent, and points lost per agent and item.
    `columns`: (call type, item id, label) of every item met, in the order first met
    (calls in call-time order, items in form order)."""

    agents: list[AgentTotals]
    columns: list[tuple[str, str, str]]
    lost: dict[tuple[str, str, str], float]  # (agent, call type, item id) -> points


@dataclass(frozen=True)
class FindingRow:
    """A finding that still stands after people's decisions (fine without repeat extra)."""

    call_id: str
    agent: str
    audit_agent: str | None
    started_at: str | None
    ticket_id: str | None
    station: str | None
    code: str
    fine_yuan: float
    serious: bool


@dataclass(frozen=True)
class AnswerTotals:
    """One agent's follow-up calls and what the residents answered."""

    agent: str
    calls: int
    resolved_yes: int
    resolved_no: int
    satisfied: int
    neutral: int
    dissatisfied: int
    charged: int
    rated: int
    rating_sum: float
    # Ratings asked for whose answer the recognizer did not make out (未听清): not a zero.
    unheard_ratings: int = 0


class VerdictRows:
    """Aggregates over the verdict rows, final verdicts applied (mixed into Store)."""

    _db: sqlite3.Connection

    def _query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:  # Store's
        raise NotImplementedError

    def _month_cte(self, month: str) -> tuple[str, list[Any]]:
        first, last = month_range(parse_month(month))
        return "WITH month AS (SELECT * FROM call_facts WHERE day BETWEEN ? AND ?) ", [first, last]

    def save_audits(self, audits: Iterable[CallAudit], *, batch_size: int = 500) -> int:
        """Store (or replace) many results, `batch_size` calls per transaction: a crash
        loses at most the batch in flight, never half a call. People's decisions and
        appeals stay and apply to the new results. Returns how many were stored."""
        done = 0
        batch: list[tuple[Any, ...]] = []

        def flush() -> None:
            ids = json.dumps([row[0] for row in batch])
            with self._transaction() as db:  # type: ignore[attr-defined]
                db.executemany(_UPSERT, batch)
                for statement in (*_CLEAR_MANY, *_FILL_MANY):
                    db.execute(statement, (ids,))
            batch.clear()

        now = now_text()
        for audit in audits:
            batch.append(audit_row(audit, now))
            if len(batch) >= batch_size:
                done += len(batch)
                flush()
        if batch:
            done += len(batch)
            flush()
        return done

    def count_audits(self, *, month: str) -> int:
        cte, params = self._month_cte(month)
        return self._query(cte + "SELECT count(*) FROM month", params)[0][0]

    def month_verdicts(self, *, month: str) -> MonthVerdicts:
        """The month's final item verdicts summed per agent and per agent and item, in one
        pass over the item rows."""
        cte, params = self._month_cte(month)
        calls = self._query(cte + """
            SELECT coalesce(nullif(audit_agent, ''), '?') AS agent, count(*) AS calls,
                   total(call_type = 'repair') AS repair, total(call_type = 'followup') AS fu,
                   total(score) AS score, total(max_score) AS max_score
            FROM month GROUP BY agent""", params)
        # One min() in the query: SQLite takes the bare `label` from the row it comes from.
        rows = self._query(cte + f"""
            SELECT agent, call_type, item, label,
                   min(printf('%s%s%s%s%08d', coalesce(started_at, ''), char(1), call_id,
                              char(1), seq)) AS first,
                   total(CASE WHEN status IN ('fail', 'review')
                              THEN max_points - points END) AS lost,
                   total(points - machine_points) AS decided,
                   total(status = 'fail') AS failed, total(status = 'review') AS reviews
            FROM ({_FINAL_ITEMS}) GROUP BY agent, call_type, item""", params)
        per_agent: dict[str, list[float]] = {}
        first: dict[tuple[str, str], tuple[str, str]] = {}
        lost: dict[tuple[str, str, str], float] = {}
        for r in rows:
            sums = per_agent.setdefault(r["agent"], [0.0, 0.0, 0.0, 0.0])
            for k, name in enumerate(("lost", "decided", "failed", "reviews")):
                sums[k] += r[name]
            if r["lost"]:
                lost[(r["agent"], r["call_type"], r["item"])] = r["lost"]
            key = (r["call_type"], r["item"])
            if key not in first or r["first"] < first[key][0]:
                first[key] = (r["first"], r["label"] or "")
        agents = []
        for row in sorted(calls, key=lambda r: r["agent"]):
            lost_, decided, failed, reviews = per_agent.get(row["agent"], [0.0] * 4)
            agents.append(AgentTotals(
                agent=row["agent"], calls=row["calls"], repair=int(row["repair"]),
                followup=int(row["fu"]), points_lost=lost_, score=row["score"] + decided,
                max_score=row["max_score"], failed_items=int(failed),
                open_reviews=int(reviews)))
        columns = [(ct, item, label) for (ct, item), (_, label)
                   in sorted(first.items(), key=lambda kv: kv[1][0])]
        return MonthVerdicts(agents=agents, columns=columns, lost=lost)

    def final_findings(self, *, month: str) -> list[FindingRow]:
        """The month's standing findings in call-time order."""
        cte, params = self._month_cte(month)
        return [FindingRow(
            call_id=r["call_id"], agent=r["agent"], audit_agent=r["audit_agent"],
            started_at=r["started_at"], ticket_id=r["ticket_id"], station=r["station"],
            code=r["code"], fine_yuan=r["fine_yuan"], serious=bool(r["serious"]),
        ) for r in self._query(cte + _FINAL_FINDINGS, params)]

    def answer_totals(self, *, month: str) -> list[AnswerTotals]:
        """Per agent with follow-up calls: the residents' answers counted."""
        cte, params = self._month_cte(month)
        rows = self._query(cte + """
            SELECT coalesce(nullif(c.audit_agent, ''), '?') AS agent,
                   count(DISTINCT c.call_id) AS calls,
                   total(x.key = 'resolved' AND x.type = 'text' AND x.value = 'yes') AS ry,
                   total(x.key = 'resolved' AND x.type = 'text' AND x.value = 'no') AS rn,
                   total(x.key = 'attitude' AND x.type = 'text' AND x.value = 'satisfied') AS sa,
                   total(x.key = 'attitude' AND x.type = 'text' AND x.value = 'neutral') AS ne,
                   total(x.key = 'attitude' AND x.type = 'text'
                         AND x.value = 'dissatisfied') AS di,
                   total(x.key = 'charged' AND x.type = 'text' AND x.value = 'yes') AS ch,
                   total(x.key = 'rating' AND x.type IN ('integer', 'real')) AS rated,
                   total(CASE WHEN x.key = 'rating' AND x.type IN ('integer', 'real')
                              THEN x.value END) AS rating_sum,
                   total(x.key = 'unheard.rating') AS unheard
            FROM month c LEFT JOIN answers x ON x.call_id = c.call_id
            WHERE c.call_type = 'followup' GROUP BY agent""", params)
        return [AnswerTotals(
            agent=r["agent"], calls=r["calls"], resolved_yes=int(r["ry"]),
            resolved_no=int(r["rn"]), satisfied=int(r["sa"]), neutral=int(r["ne"]),
            dissatisfied=int(r["di"]), charged=int(r["ch"]), rated=int(r["rated"]),
            rating_sum=r["rating_sum"], unheard_ratings=int(r["unheard"]))
            for r in sorted(rows, key=lambda r: r["agent"])]

    def call_types(self, call_ids: list[str]) -> dict[str, tuple[str, set[str]]]:
        """call id -> (call type, its item ids), for the few calls named (appeals)."""
        out: dict[str, tuple[str, set[str]]] = {}
        for call_id in dict.fromkeys(call_ids):
            facts = self._query("SELECT call_type FROM call_facts WHERE call_id = ?", (call_id,))
            if facts:
                items = {r[0] for r in self._query(
                    "SELECT item FROM item_verdicts WHERE call_id = ?", (call_id,))}
                out[call_id] = (facts[0][0], items)
        return out

    def open_reviews(
        self, *, agent: str | None = None, date_from: date | None = None,
        date_to: date | None = None, item: str | None = None,
    ) -> list[ReviewItem]:
        """Items the machine left `review` that no person has decided, in call-time order,
        with their evidence (read from the item's own place in its audit, for the few
        items waiting, not by parsing every audit)."""
        clauses, params = ["v.status = 'review'", "l.status IS NULL"], []
        if agent is not None:
            clauses.append("c.agent_id = ?")
            params.append(str(agent))
        if date_from is not None:
            clauses.append("c.day >= ?")
            params.append(date_from.isoformat())
        if date_to is not None:
            clauses.append("c.day <= ?")
            params.append(date_to.isoformat())
        if item is not None:
            clauses.append("v.item = ?")
            params.append(item)
        rows = self._query(f"""
            SELECT c.call_id, c.audit_agent, c.call_type, c.started_at, v.item, v.label,
                   v.reason, v.evidence_start,
                   (SELECT json_extract(a.audit, '$.items[' || v.seq || '].evidence')
                    FROM audits a WHERE a.call_id = c.call_id) AS evidence
            FROM call_facts c JOIN item_verdicts v ON v.call_id = c.call_id
            LEFT JOIN ({LATEST_DECISIONS}) l ON l.call_id = v.call_id AND l.target = v.item
            WHERE {' AND '.join(clauses)}
            ORDER BY c.started_at, c.call_id, v.seq""", params)
        return [ReviewItem(
            call_id=r["call_id"], agent_id=r["audit_agent"], item=r["item"],
            label=r["label"] or "", reason=r["reason"] or "", evidence_start=r["evidence_start"],
            started_at=call_started_at(r["call_id"], datetime.fromisoformat(r["started_at"])
                                       if r["started_at"] else None),
            call_type=r["call_type"] or "",
            evidence=json.loads(r["evidence"]) if r["evidence"] else [],
        ) for r in rows]

    def iter_flagged(
        self,
        *,
        agent: str | None = None,
        month: str | None = None,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
    ) -> Iterator[CallAudit]:
        """Final audits of the calls an agent should hear again (a failed or undecided
        item, or a finding), in call-time order, read one at a time: an agent's year is
        not held in memory."""
        where, params = audit_filter(agent, month, date_from, date_to)
        # Calls that might be flagged: the machine's fails, reviews and findings, and any
        # call a person failed something on. The exact test is on the final audit.
        where += (" AND" if where else "WHERE") + """ (
            EXISTS (SELECT 1 FROM item_verdicts v WHERE v.call_id = a.call_id
                    AND v.status IN ('fail', 'review'))
            OR EXISTS (SELECT 1 FROM findings f WHERE f.call_id = a.call_id)
            OR EXISTS (SELECT 1 FROM decisions d WHERE d.call_id = a.call_id
                       AND d.status = 'fail'))"""
        ids = [r[0] for r in self._query(
            f"SELECT a.call_id FROM audits a {where} ORDER BY a.started_at, a.call_id", params)]
        for call_id in ids:
            row = self._query("SELECT audit FROM audits WHERE call_id = ?", (call_id,))
            if not row:
                continue
            decisions = [decision_from_row(d) for d in self._query(
                "SELECT * FROM decisions WHERE call_id = ? ORDER BY id", (call_id,))]
            audit = apply_decisions(CallAudit.model_validate_json(row[0][0]), decisions)
            if audit.findings or any(i.status in ("fail", "review") for i in audit.items):
                yield audit

    # -- tickets for the month's reports ---------------------------------------------------

    def tickets_counting_in(self, first: date, last: date) -> list[Any]:
        """Tickets created up to `last` that the daily report of first..last counts: made,
        repaired or followed up in those days, or still open when they begin."""
        rows = self._query("""
            SELECT ticket FROM tickets WHERE day <= :last AND (
                day >= :first
                OR json_extract(ticket, '$.repaired_at') IS NULL
                OR substr(json_extract(ticket, '$.repaired_at'), 1, 10) >= :first
                OR substr(json_extract(ticket, '$.followed_up_at'), 1, 10)
                   BETWEEN :first AND :last)
            ORDER BY day, ticket_id""", {"first": first.isoformat(), "last": last.isoformat()})
        return [Ticket.model_validate_json(r[0]) for r in rows]

    def ticket_stations(self, last: date) -> set[str]:
        """The stations named by tickets created up to `last`."""
        return {r[0] for r in self._query(
            "SELECT DISTINCT station FROM tickets WHERE day <= ? AND station != ''",
            (last.isoformat(),))}

    def ticket_categories(self, last: date, like: str) -> list[str]:
        """The categories of tickets up to `last` that contain `like`."""
        # instr first: a substring of the stored text is found without parsing the JSON.
        return [r[0] for r in self._query(
            "SELECT DISTINCT json_extract(ticket, '$.category') FROM tickets WHERE day <= ? "
            "AND instr(ticket, ?) AND json_extract(ticket, '$.category') LIKE ?",
            (last.isoformat(), like, f"%{like}%"))]

    def tickets_named(self, call_ids: set[str], ticket_ids: set[str], last: date) -> list[Any]:
        """Tickets up to `last` created by these calls or with these ids, in the order of
        `Store.tickets`."""
        rows = self._query("""
            SELECT ticket FROM tickets WHERE day <= ? AND (
                call_id IN (SELECT value FROM json_each(?))
                OR ticket_id IN (SELECT value FROM json_each(?)))
            ORDER BY day, ticket_id""",
            (last.isoformat(), json.dumps(sorted(call_ids)), json.dumps(sorted(ticket_ids))))
        return [Ticket.model_validate_json(r[0]) for r in rows]
