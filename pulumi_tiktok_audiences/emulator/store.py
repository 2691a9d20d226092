"""SQLite persistence for audiences, their history, shares and request counts.

One connection guarded by a lock serves every thread of the HTTP server; each operation runs in a
transaction (``BEGIN IMMEDIATE`` for writes), so a check-then-write such as the 400-audience cap
cannot interleave with another request, and a file database shared by several processes is safe too
(WAL journal, busy timeout). Audience IDs come from a counter in the same transaction: never reused,
never duplicated. No token, raw or hashed, is ever written here.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# 19-digit IDs like TikTok's; the counter is added to this base.
AUDIENCE_ID_BASE = 7_300_000_000_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS audiences (
    audience_id TEXT PRIMARY KEY,
    advertiser_id TEXT NOT NULL,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    sub_type TEXT NOT NULL,
    is_auto_refresh INTEGER NOT NULL,
    audience_enhancement INTEGER NOT NULL,
    rule TEXT,
    lookalike_spec TEXT,
    retention_in_days INTEGER,
    target_size INTEGER NOT NULL,
    create_time REAL NOT NULL,
    calc_start REAL NOT NULL,
    modify_time REAL NOT NULL,
    deleted_time REAL
);
CREATE INDEX IF NOT EXISTS audiences_by_advertiser ON audiences (advertiser_id, deleted_time);
CREATE TABLE IF NOT EXISTS history (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    audience_id TEXT NOT NULL,
    action TEXT NOT NULL,
    action_detail TEXT NOT NULL,
    editor TEXT NOT NULL,
    opt_time REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_audience ON history (audience_id, seq);
CREATE TABLE IF NOT EXISTS shares (
    audience_id TEXT NOT NULL,
    shared_advertiser_id TEXT NOT NULL,
    status TEXT NOT NULL,
    update_time REAL NOT NULL,
    PRIMARY KEY (audience_id, shared_advertiser_id)
);
CREATE TABLE IF NOT EXISTS request_counts (endpoint TEXT PRIMARY KEY, count INTEGER NOT NULL);
"""

SHARE_ACTIVE = "SHARED"
SHARE_CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class AudienceRow:
    audience_id: str
    advertiser_id: str
    name: str
    kind: str  # "APP" or "LOOKALIKE"
    sub_type: str
    is_auto_refresh: bool
    audience_enhancement: bool
    rule: str | None  # JSON text of the rule_spec as created
    lookalike_spec: str | None  # JSON text of the lookalike_spec as created
    retention_in_days: int | None
    target_size: int
    create_time: float
    calc_start: float  # when the current calculation began (creation or refresh)
    modify_time: float
    deleted_time: float | None = None


@dataclass(frozen=True)
class HistoryRow:
    action: str
    action_detail: str
    editor: str
    opt_time: float


@dataclass(frozen=True)
class ShareRow:
    audience_id: str
    shared_advertiser_id: str
    status: str
    update_time: float


_AUDIENCE_COLUMNS = (
    "audience_id, advertiser_id, name, kind, sub_type, is_auto_refresh, audience_enhancement, rule, "
    "lookalike_spec, retention_in_days, target_size, create_time, calc_start, modify_time, deleted_time"
)
# "create_time then id": whole seconds as shown on the wire, then the (fixed-width) ID.
_ORDER = "ORDER BY CAST(create_time AS INTEGER), audience_id"


def _audience(row: sqlite3.Row) -> AudienceRow:
    values = dict(row)
    values["is_auto_refresh"] = bool(values["is_auto_refresh"])
    values["audience_enhancement"] = bool(values["audience_enhancement"])
    return AudienceRow(**values)


class Transaction:
    """The queries, run on the store's connection inside one transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._db = connection

    def next_audience_id(self) -> str:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('audience_seq', 1) "
            "ON CONFLICT (key) DO UPDATE SET value = value + 1"
        )
        (seq,) = self._db.execute("SELECT value FROM meta WHERE key = 'audience_seq'").fetchone()
        return str(AUDIENCE_ID_BASE + int(seq))

    def insert_audience(self, row: AudienceRow) -> None:
        values = row.__dict__
        self._db.execute(
            f"INSERT INTO audiences ({_AUDIENCE_COLUMNS}) VALUES "  # noqa: S608 - fixed column list
            f"({', '.join(':' + c.strip() for c in _AUDIENCE_COLUMNS.split(','))})",
            values,
        )

    def audience(self, audience_id: str) -> AudienceRow | None:
        row = self._db.execute(
            f"SELECT {_AUDIENCE_COLUMNS} FROM audiences WHERE audience_id = ?",  # noqa: S608
            (audience_id,),
        ).fetchone()
        return None if row is None else _audience(row)

    def update_audience(self, audience_id: str, **changes: Any) -> None:
        allowed = {"name", "sub_type", "audience_enhancement", "calc_start", "modify_time", "target_size"}
        if not changes or not changes.keys() <= allowed:
            raise ValueError(f"cannot update {sorted(changes)}")
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        self._db.execute(
            f"UPDATE audiences SET {assignments} WHERE audience_id = :audience_id",  # noqa: S608
            {**changes, "audience_id": audience_id},
        )

    def mark_deleted(self, audience_ids: Iterable[str], when: float) -> None:
        self._db.executemany(
            "UPDATE audiences SET deleted_time = ? WHERE audience_id = ?",
            [(when, audience_id) for audience_id in audience_ids],
        )

    def owned_count(self, advertiser_id: str) -> int:
        (count,) = self._db.execute(
            "SELECT COUNT(*) FROM audiences WHERE advertiser_id = ? AND deleted_time IS NULL",
            (advertiser_id,),
        ).fetchone()
        return int(count)

    def visible_audiences(self, advertiser_id: str) -> list[AudienceRow]:
        """Live audiences the advertiser owns or has been shared, in list order."""
        rows = self._db.execute(
            f"SELECT {_AUDIENCE_COLUMNS} FROM audiences WHERE deleted_time IS NULL AND ("  # noqa: S608
            "advertiser_id = :adv OR audience_id IN (SELECT audience_id FROM shares "
            f"WHERE shared_advertiser_id = :adv AND status = '{SHARE_ACTIVE}')) {_ORDER}",
            {"adv": advertiser_id},
        ).fetchall()
        return [_audience(row) for row in rows]

    def all_audiences(self, advertiser_id: str | None, include_deleted: bool) -> list[AudienceRow]:
        clauses = []
        if advertiser_id is not None:
            clauses.append("advertiser_id = :adv")
        if not include_deleted:
            clauses.append("deleted_time IS NULL")
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            f"SELECT {_AUDIENCE_COLUMNS} FROM audiences {where} {_ORDER}",  # noqa: S608
            {"adv": advertiser_id},
        ).fetchall()
        return [_audience(row) for row in rows]

    def add_history(self, audience_id: str, action: str, detail: str, editor: str, when: float) -> None:
        self._db.execute(
            "INSERT INTO history (audience_id, action, action_detail, editor, opt_time) "
            "VALUES (?, ?, ?, ?, ?)",
            (audience_id, action, detail, editor, when),
        )

    def history(self, audience_id: str, limit: int) -> list[HistoryRow]:
        """The ``limit`` most recent history rows, newest first."""
        rows = self._db.execute(
            "SELECT action, action_detail, editor, opt_time FROM history WHERE audience_id = ? "
            "ORDER BY seq DESC LIMIT ?",
            (audience_id, limit),
        ).fetchall()
        return [HistoryRow(**dict(row)) for row in rows]

    def set_share(self, audience_id: str, shared_advertiser_id: str, status: str, when: float) -> None:
        self._db.execute(
            "INSERT INTO shares (audience_id, shared_advertiser_id, status, update_time) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (audience_id, shared_advertiser_id) DO UPDATE "
            "SET status = excluded.status, update_time = excluded.update_time",
            (audience_id, shared_advertiser_id, status, when),
        )

    def shares(self, audience_id: str) -> list[ShareRow]:
        rows = self._db.execute(
            "SELECT audience_id, shared_advertiser_id, status, update_time FROM shares "
            "WHERE audience_id = ? ORDER BY shared_advertiser_id",
            (audience_id,),
        ).fetchall()
        return [ShareRow(**dict(row)) for row in rows]

    def shared_with(self, audience_id: str) -> list[str]:
        """Advertisers the audience is currently shared with."""
        return [s.shared_advertiser_id for s in self.shares(audience_id) if s.status == SHARE_ACTIVE]

    def count_request(self, endpoint: str) -> None:
        self._db.execute(
            "INSERT INTO request_counts (endpoint, count) VALUES (?, 1) "
            "ON CONFLICT (endpoint) DO UPDATE SET count = count + 1",
            (endpoint,),
        )

    def request_counts(self) -> dict[str, int]:
        rows = self._db.execute("SELECT endpoint, count FROM request_counts ORDER BY endpoint").fetchall()
        return {str(row["endpoint"]): int(row["count"]) for row in rows}

    def reset_request_counts(self) -> None:
        self._db.execute("DELETE FROM request_counts")

    def reset_audiences(self) -> None:
        """Forget audiences, history and shares; the ID counter keeps counting (IDs are never reused)."""
        for table in ("audiences", "history", "shares"):
            self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names


class Store:
    """The database file (or ``:memory:``), its schema, and serialised transactions."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10.0)
        self._db.row_factory = sqlite3.Row
        if str(path) != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=10000")
        with self.write():  # statement by statement: executescript() would commit mid-transaction
            for statement in filter(str.strip, _SCHEMA.split(";")):
                self._db.execute(statement)

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """An exclusive write transaction: commits on success, rolls back on any exception."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._db)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        """A consistent snapshot for several queries."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                yield Transaction(self._db)
            finally:
                self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()
