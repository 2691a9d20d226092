"""Client-side pacing: stay under TikTok's rate limits instead of learning them from 40100 answers.

TikTok limits requests per developer app, per second and per minute (and per day), counting every
token and tool of the app; over a limit it suspends the whole app, for the rest of the second or for
5 minutes (reference §6.3). So requests leave evenly spaced at the per-second pace, and never more
than the per-minute number in any rolling minute: whether TikTok counts calendar windows or rolling
ones, it never sees more than either number from us. One :class:`Pacer` per endpoint and pacing is
shared by every client and thread of the process (:func:`shared_pacer`): the provider host runs four
operations at once, and they all draw from one budget.

Written here rather than taken from ``pyrate-limiter`` or ``limits``: those give sliding windows but
let a window's whole allowance through at once (a burst that a server counting differently refuses),
and sleep on the real clock, while tests must run the pacer on the emulator's clock. What is needed
is one lock, a deque and a sleep outside the lock.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MINUTE = 60.0


@dataclass(frozen=True)
class Pacing:
    """How fast one process may send: ``per_second`` evenly spaced, at most ``per_minute`` in any
    rolling minute (None: no minute limit), for the whole app or, with ``per_endpoint``, for each
    endpoint on its own (TikTok's sandbox)."""

    per_second: float
    per_minute: float | None = None
    per_endpoint: bool = False

    def __post_init__(self) -> None:
        if not (math.isfinite(self.per_second) and self.per_second > 0):
            raise ValueError(f"per_second must be a positive number, got {self.per_second}")
        if self.per_minute is not None and not (math.isfinite(self.per_minute) and self.per_minute >= 1):
            raise ValueError(f"per_minute must be a number of at least 1, got {self.per_minute}")


class _Lane:
    """The send slots of one budget; callers reserve the next free slot under the lock."""

    def __init__(self, pacing: Pacing) -> None:
        self._interval = 1.0 / pacing.per_second
        limit = None if pacing.per_minute is None else int(pacing.per_minute)
        self._recent: deque[float] | None = None if limit is None else deque(maxlen=limit)
        self._next = -math.inf

    def reserve(self, now: float) -> float:
        at = max(now, self._next)
        recent = self._recent
        if recent is not None and len(recent) == recent.maxlen:
            at = max(at, recent[0] + MINUTE)  # the oldest of the last `limit` sends leaves the minute
        self._next = at + self._interval
        if recent is not None:
            recent.append(at)
        return at


class Pacer:
    """Blocks each request until its slot: callers are served in arrival order and never wake up only
    to find the slot taken. Usable as a client's ``limiter`` (called with the endpoint label)."""

    def __init__(
        self,
        pacing: Pacing,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.pacing = pacing
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._lanes: dict[str, _Lane] = {}

    def acquire(self, endpoint: str = "") -> float:
        """Wait for the next slot of ``endpoint``'s budget; returns the seconds waited."""
        key = endpoint if self.pacing.per_endpoint else ""
        with self._lock:
            lane = self._lanes.get(key)
            if lane is None:
                lane = self._lanes[key] = _Lane(self.pacing)
            now = self._clock()
            wait = lane.reserve(now) - now
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def __call__(self, endpoint: str) -> None:
        self.acquire(endpoint)

    def __repr__(self) -> str:
        return f"Pacer({self.pacing})"


_shared: dict[tuple[str, Pacing], Pacer] = {}
_shared_lock = threading.Lock()


def shared_pacer(base_url: str, pacing: Pacing) -> Pacer:
    """The process's pacer for ``base_url`` at ``pacing``, created on first use."""
    key = (base_url, pacing)
    with _shared_lock:
        pacer = _shared.get(key)
        if pacer is None:
            pacer = _shared[key] = Pacer(pacing)
        return pacer


class Announcer:
    """Tells the person running the command about a long wait, one line at a time.

    A Python dynamic provider has no channel to the engine's log (``pulumi.log`` there is a pass-through
    to ``print`` and cannot be pickled, pulumi/pulumi#20409), but the CLI shows what the provider host
    writes to stderr as info messages (since 3.146.0, pulumi/pulumi#18253: ``runtrace`` in
    pkg/resource/plugin/plugin.go logs a dynamic provider's stderr with ``Infoerrf``). Several threads
    waiting on the same suspension would say the same thing, so a line is dropped when another was
    written less than ``quiet_seconds`` before.
    """

    def __init__(
        self,
        write: Callable[[str], None] | None = None,
        *,
        quiet_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._write = write or _to_stderr
        self._quiet = quiet_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._last = -math.inf

    def __call__(self, message: str) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last < self._quiet:
                return
            self._last = now
        self._write(message)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


STDERR_ANNOUNCER = Announcer()
"""The process's announcer: the provider host's and the CLI's stderr."""
