"""Client-side pacing: stay under TikTok's request rate instead of learning it from 40100 answers.

TikTok limits requests per developer app (reference §4.2: the documented tier is 20 QPS) and
answers the excess with code 40100. The provider host runs four operations at once, so without
pacing a large ``pulumi up`` would keep hitting the limit and burn its retry budget on backoff.
One :class:`TokenBucket` per endpoint and rate is shared by every client in the process
(:func:`shared_bucket`), so all of the host's threads draw from the same budget.

Written here rather than taken from a library: the need is one blocking token bucket (about
thirty lines, no background thread); ``pyrate-limiter`` and ``limits`` bring sliding windows,
storage backends and async APIs that nothing here would use.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable


class TokenBucket:
    """At most ``burst`` requests at once, ``per_second`` sustained; callers wait their turn.

    Each caller reserves the next free slot under the lock and then sleeps outside it, so
    waiting threads are served in arrival order and never wake up only to find the slot taken.
    Usable as a client's ``limiter``: calling it with an endpoint label takes one token.
    """

    def __init__(
        self,
        per_second: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (math.isfinite(per_second) and per_second > 0):
            raise ValueError(f"per_second must be a positive number, got {per_second}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._level = float(burst)  # tokens available; negative: slots already promised to waiters
        self._updated = clock()

    def acquire(self) -> float:
        """Take one token, waiting for it if needed; returns the seconds waited."""
        with self._lock:
            now = self._clock()
            self._level = min(float(self.burst), self._level + (now - self._updated) * self.per_second)
            self._updated = now
            self._level -= 1.0
            wait = -self._level / self.per_second if self._level < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def __call__(self, _endpoint: str) -> None:
        self.acquire()

    def __repr__(self) -> str:
        return f"TokenBucket(per_second={self.per_second}, burst={self.burst})"


_shared: dict[tuple[str, float], TokenBucket] = {}
_shared_lock = threading.Lock()


def shared_bucket(base_url: str, per_second: float) -> TokenBucket:
    """The process's bucket for ``base_url`` at ``per_second``, created on first use.

    It paces (burst 1): requests leave evenly spaced, so however TikTok counts (a token bucket
    of any size, or per-second windows), it never sees more than the rate. A burst of one
    second's worth saved 0.2 s per 300 creates in the benchmark, but when the server's bucket is
    smaller than the client's, the excess comes back as 40100 and costs backoff (bench/README).
    """
    key = (base_url, per_second)
    with _shared_lock:
        bucket = _shared.get(key)
        if bucket is None:
            bucket = _shared[key] = TokenBucket(per_second)
        return bucket
