"""Where a developer app's rate budget lives, so that every process using the app shares it.

TikTok counts every request of a developer app together (reference §6.3), so the hosts of several
stacks, a CI matrix and the CLI must draw from one budget. Two things are kept per *lane* (a developer
app, or an app and endpoint on the sandbox, whose limits are per endpoint):

- the send slots: each request takes a slot only when no other request of the lane took one in the
  last ``spacing`` seconds, checked and taken in one atomic step by pyrate-limiter's backends: its
  sliding-window log in :class:`SQLiteBucket` under a file lock (processes of one machine), and its
  GCRA (one "theoretical arrival time" per lane) in a Lua script of :class:`RedisStateStore`
  (machines sharing a Redis). Not :class:`RedisBucket`'s log: its script counts only entries up to
  the new item's own timestamp, so a process whose clock read came a moment before another's slot
  was stored would take a slot beside it; GCRA refuses it. pyrate-limiter rather than ``limits``:
  ``limits`` has Redis but no SQLite backend, and a zero-set-up default for one machine needs a file.
  The timestamps are ours (pyrate-limiter takes them from the item), so tests run on the emulator's
  clock;
- :class:`LaneState`: the adaptive pace, the current suspension and the day's count of requests,
  changed by one atomic read-modify-write (a SQLite ``BEGIN IMMEDIATE`` transaction, or Redis
  ``WATCH``/``MULTI``), which pyrate-limiter has no place for.

Stores: ``local`` (default: a SQLite file in the user's cache folder, ``$XDG_CACHE_HOME`` honoured),
``redis://host:port/db`` (or ``rediss://``), and ``memory`` (one process only).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import os
import re
import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_tiktok_audiences.errors import TikTokAudiencesError

if TYPE_CHECKING:
    from pyrate_limiter import AbstractBucket
    from redis import Redis

LOCAL = "local"
MEMORY = "memory"
REDIS_SCHEMES = ("redis://", "rediss://")
STORE_FILE = "rate-budget.sqlite"
CACHE_FOLDER = "pulumi-tiktok-audiences"
_KEY_PREFIX = "pulumi-tiktok-audiences:"
_LEAK_EVERY = 200  # slots taken between two clean-ups of the send log
_SQLITE_BUSY_MS = 30_000


def local_store_path(environ: dict[str, str] | None = None) -> Path:
    """The default store's file: ``$XDG_CACHE_HOME/pulumi-tiktok-audiences/rate-budget.sqlite``
    (``~/.cache`` when unset, as the XDG base directory specification says)."""
    env = os.environ if environ is None else environ
    cache = env.get("XDG_CACHE_HOME", "").strip()
    if cache and Path(cache).is_absolute():
        return Path(cache) / CACHE_FOLDER / STORE_FILE
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no user entry for this uid (a bare container)
        raise StoreError(
            f"the rate-limit store {LOCAL} has no folder: XDG_CACHE_HOME is unset and this user's home "
            "folder is unknown"
        ) from None
    return home / ".cache" / CACHE_FOLDER / STORE_FILE


def local_store_place() -> str:
    """The local store's file, for messages: its path, or why it has none."""
    try:
        return str(local_store_path())
    except StoreError as exc:
        return str(exc)


def describe_store(spec: str) -> str | None:
    """Why ``spec`` is not a store this package can open, or None when it is."""
    if spec in (LOCAL, MEMORY) or spec.startswith(REDIS_SCHEMES):
        return None
    return (
        f"unknown rate-limit store {redact_url(spec)!r}: use {LOCAL} (a file on this machine), {MEMORY} "
        "(this process only) or a redis://host:port/db URL"
    )


_STORE_URL = re.compile(r"rediss?://[^\s'\"]+")
_PASSWORD_PARAM = re.compile(r"([?&]password=)[^&#]*")


def redact_url(text: str) -> str:
    """Every Redis URL in ``text`` without its password (``redis://user:***@host/0``), whichever way it is
    written: redis-py reads one from the userinfo (after the first ':', up to the last '@' before the
    path, so an unencoded '@' belongs to it) and from a ``password`` query parameter."""

    def redact(match: re.Match[str]) -> str:
        scheme, rest = match.group().split("://", 1)
        end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
        authority, tail = rest[:end], rest[end:]
        if "@" in authority:
            userinfo, host = authority.rsplit("@", 1)
            if ":" in userinfo:
                authority = f"{userinfo.split(':', 1)[0]}:***@{host}"
        return f"{scheme}://{authority}" + _PASSWORD_PARAM.sub(r"\1***", tail)

    return _STORE_URL.sub(redact, text)


@dataclass(frozen=True)
class LaneState:
    """What every process of a lane needs to agree on (times are clock seconds, the epoch's)."""

    since: float | None = None
    """When the current slow start began (None: not yet)."""
    w_max: float | None = None
    """The pace when TikTok last refused a request as too frequent (None: never yet)."""
    w_cut: float | None = None
    """The pace right after that refusal."""
    cut_at: float | None = None
    """When that was."""
    blocked_until: float = 0.0
    """No request of the lane leaves before this (a suspension being waited out)."""
    note: str = ""
    """What the block is about, for the people waiting on it."""
    refused_since: float | None = None
    """The first refusal of the current run of refusals (None: the last answer was not one)."""
    last_refused: float | None = None
    day: str = ""
    """The UTC day ``day_count`` counts (YYYY-MM-DD)."""
    day_count: int = 0
    """Requests of this lane sent that day, refused ones included (TikTok counts them too)."""
    last_request: float | None = None

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes | None) -> LaneState:
        if not text:
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            values = json.loads(text)
        except ValueError:
            return cls()  # a state written by another version: start afresh rather than fail
        return cls(**{k: v for k, v in values.items() if k in known}) if isinstance(values, dict) else cls()


class StoreError(TikTokAudiencesError):
    """The store stopped answering (Redis down, the SQLite file gone or locked for too long): the message
    names it, without its password, and what to do. A backend's own error names neither."""


class RateStore(ABC):
    """One backend of lanes' send logs and states; thread-safe, and safe across processes."""

    where = MEMORY
    """The store as messages name it (never with a password)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, AbstractBucket] = {}
        self._taken = 0
        self._errors: tuple[type[Exception], ...] = ()
        """The backend's errors, raised as :class:`StoreError`."""

    @contextlib.contextmanager
    def _answering(self) -> Iterator[None]:
        try:
            yield
        except self._errors as exc:
            raise StoreError(
                f"the rate-limit store {self.where} failed ({type(exc).__name__}: {redact_url(str(exc))}); "
                "check that it answers (for Redis: the server runs and this machine reaches it), or set "
                f"tiktok:rateLimitStore (TIKTOK_RATE_LIMIT_STORE) to another: {LOCAL}, {MEMORY} or a "
                "redis://host:port/db URL"
            ) from None

    def take_slot(self, lane: str, now: float, spacing: float) -> float:
        """Take the lane's send slot at ``now`` if no request took one in the last ``spacing`` seconds;
        returns 0, or how many seconds to wait before trying again."""
        # Whole milliseconds: one more than the spacing, so that slots are never closer than it even
        # where two clock readings fall into the same millisecond.
        from pyrate_limiter import Decision, Rate, RateItem  # imported on first use: a preview sends nothing

        interval = math.ceil(spacing * 1000) + 1
        now_ms = math.floor(now * 1000)
        with self._lock, self._answering():
            bucket = self._buckets.get(lane)
            if bucket is None:
                bucket = self._buckets[lane] = self._bucket(lane)
            bucket.rates = [Rate(1, interval)]
            decision = bucket.put_decision(RateItem(lane, now_ms))
            assert isinstance(decision, Decision)  # the backends here are synchronous
            if decision.allowed:
                self._taken += 1
                if self._taken % _LEAK_EVERY == 0:
                    bucket.leak(now_ms)
                return 0.0
            retry_ms = decision.retry_after_ms
            return max(retry_ms if retry_ms is not None else interval, 1) / 1000

    @abstractmethod
    def _bucket(self, lane: str) -> AbstractBucket: ...

    @abstractmethod
    def read(self, lane: str) -> LaneState: ...

    @abstractmethod
    def update(self, lane: str, change: Callable[[LaneState], LaneState]) -> LaneState:
        """Apply ``change`` to the lane's state atomically (no other process changes it meanwhile)."""

    def close(self) -> None:
        with self._lock:
            for bucket in self._buckets.values():
                bucket.close()
            self._buckets.clear()


def _table(lane: str) -> str:
    """A SQL-safe table name for a lane's send log."""
    return "log_" + hashlib.sha256(lane.encode()).hexdigest()[:24]


class MemoryStore(RateStore):
    """One process's lanes (threads share them; other processes do not)."""

    def __init__(self) -> None:
        super().__init__()
        self._states: dict[str, LaneState] = {}
        self._state_lock = threading.Lock()

    def _bucket(self, lane: str) -> AbstractBucket:
        from pyrate_limiter import GCRA, InMemoryStateStore, Rate, StateBucket

        return StateBucket([Rate(1, 1000)], GCRA(), InMemoryStateStore())

    def read(self, lane: str) -> LaneState:
        with self._state_lock:
            return self._states.get(lane, LaneState())

    def update(self, lane: str, change: Callable[[LaneState], LaneState]) -> LaneState:
        with self._state_lock:
            state = self._states[lane] = change(self._states.get(lane, LaneState()))
            return state


class SQLiteStore(RateStore):
    """Lanes in one SQLite file, shared by every process of the machine with no set-up."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.where = f"{LOCAL} ({path})"
        self._errors = (sqlite3.Error, OSError)  # OSError: the file lock's (pyrate-limiter's, no timeout)
        self._db = sqlite3.connect(path, timeout=_SQLITE_BUSY_MS / 1000, check_same_thread=False)
        self._db.isolation_level = None  # transactions are explicit: BEGIN IMMEDIATE
        self._db_lock = threading.Lock()
        with self._db_lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")  # no fsync per commit: a lost second is harmless
            self._db.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
            self._db.execute("CREATE TABLE IF NOT EXISTS lane_state (lane TEXT PRIMARY KEY, state TEXT)")

    def _bucket(self, lane: str) -> AbstractBucket:
        from pyrate_limiter import Rate, SQLiteBucket

        bucket = SQLiteBucket.init_from_file(
            [Rate(1, 1000)], table=_table(lane), db_path=str(self.path), use_file_lock=True
        )
        bucket.conn.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
        return bucket

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._db_lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def read(self, lane: str) -> LaneState:
        with self._db_lock, self._answering():
            row = self._db.execute("SELECT state FROM lane_state WHERE lane = ?", (lane,)).fetchone()
        return LaneState.from_json(row[0] if row else None)

    def update(self, lane: str, change: Callable[[LaneState], LaneState]) -> LaneState:
        with self._answering(), self._transaction() as db:
            row = db.execute("SELECT state FROM lane_state WHERE lane = ?", (lane,)).fetchone()
            state = change(LaneState.from_json(row[0] if row else None))
            db.execute(
                "INSERT INTO lane_state (lane, state) VALUES (?, ?) "
                "ON CONFLICT (lane) DO UPDATE SET state = excluded.state",
                (lane, state.to_json()),
            )
            return state

    def close(self) -> None:
        super().close()
        with self._db_lock:
            self._db.close()


class RedisStore(RateStore):
    """Lanes in a Redis database, shared by every machine that reaches it.

    The send log's timestamps are the machines' clocks: keep them synchronised (NTP), as a skew of
    tens of milliseconds already shifts the spacing between machines.
    """

    def __init__(self, url: str) -> None:
        super().__init__()
        from redis import Redis, RedisError

        self.url = url
        self.where = redact_url(url)
        self._errors = (RedisError,)
        self._redis: Redis = Redis.from_url(url)
        self._redis.ping()  # fail now, with the URL, rather than at the first request

    def _bucket(self, lane: str) -> AbstractBucket:
        from pyrate_limiter import GCRA, Rate, RedisStateStore, StateBucket

        return StateBucket(
            [Rate(1, 1000)], GCRA(), RedisStateStore(self._redis, _KEY_PREFIX + "slot:" + lane)
        )

    def _key(self, lane: str) -> str:
        return _KEY_PREFIX + "state:" + lane

    def read(self, lane: str) -> LaneState:
        with self._answering():
            raw: Any = self._redis.get(self._key(lane))
        return LaneState.from_json(raw)

    def update(self, lane: str, change: Callable[[LaneState], LaneState]) -> LaneState:
        key = self._key(lane)
        result: list[LaneState] = []

        def attempt(pipe: Any) -> None:
            state = change(LaneState.from_json(pipe.get(key)))
            pipe.multi()
            pipe.set(key, state.to_json(), ex=7 * 86_400)  # forgotten a week after the last use
            result[:] = [state]

        with self._answering():
            self._redis.transaction(attempt, key)
        return result[0]

    def close(self) -> None:
        super().close()
        self._redis.close()


_open: dict[str, RateStore] = {}
_open_lock = threading.Lock()


def open_store(spec: str) -> RateStore:
    """The process's store for ``spec`` (``local``, ``memory`` or a Redis URL), opened on first use."""
    problem = describe_store(spec)
    if problem is not None:
        raise ValueError(problem)
    path = local_store_path() if spec == LOCAL else None
    key = f"{spec}:{path}" if path is not None else spec
    with _open_lock:
        store = _open.get(key)
        if store is None:
            if path is not None:
                store = SQLiteStore(path)
            elif spec == MEMORY:
                store = MemoryStore()
            else:
                store = RedisStore(spec)
            _open[key] = store
        return store
