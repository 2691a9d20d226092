"""A clock the emulator reads instead of the system time, so tests can steer the audience life cycle.

By default it follows real time. ``freeze()`` stops it, ``set()`` jumps to a moment and ``advance()``
moves it forward (or back) without waiting; ``unfreeze()`` lets it run again from where it stands.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"  # TikTok's wire format for times (UTC), e.g. "2023-08-03 16:27:49"


def format_time(epoch: float) -> str:
    """``epoch`` seconds as TikTok writes times: ``YYYY-MM-DD HH:MM:SS`` in UTC."""
    return datetime.fromtimestamp(epoch, UTC).strftime(TIME_FORMAT)


def parse_time(text: str) -> float:
    """The inverse of :func:`format_time`; also accepts ISO 8601 (naive values are UTC)."""
    try:
        moment = datetime.strptime(text, TIME_FORMAT)
    except ValueError:
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class Clock:
    """Thread-safe controllable wall clock (epoch seconds, UTC)."""

    def __init__(self, start: float | None = None, *, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0 if start is None else start - time.time()
        self._frozen_at: float | None = None
        if frozen:
            self.freeze()

    def time(self) -> float:
        """Current emulated time in epoch seconds."""
        with self._lock:
            return self._now_locked()

    def now(self) -> datetime:
        """Current emulated time as an aware UTC datetime."""
        return datetime.fromtimestamp(self.time(), UTC)

    @property
    def frozen(self) -> bool:
        with self._lock:
            return self._frozen_at is not None

    def set(self, moment: float | datetime) -> None:
        """Jump to ``moment``; a frozen clock stays frozen there, a running one runs on from it."""
        target = moment.timestamp() if isinstance(moment, datetime) else float(moment)
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = target
            else:
                self._offset = target - time.time()

    def advance(self, seconds: float) -> None:
        """Move the clock by ``seconds`` (negative moves it back)."""
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += seconds
            else:
                self._offset += seconds

    def freeze(self, at: float | datetime | None = None) -> None:
        """Stop the clock, at ``at`` if given, else at the current emulated time."""
        with self._lock:
            if at is None:
                self._frozen_at = self._now_locked()
            else:
                self._frozen_at = at.timestamp() if isinstance(at, datetime) else float(at)

    def unfreeze(self) -> None:
        """Let a frozen clock run again from the moment it shows."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - time.time()
                self._frozen_at = None

    def _now_locked(self) -> float:
        if self._frozen_at is not None:
            return self._frozen_at
        return time.time() + self._offset
