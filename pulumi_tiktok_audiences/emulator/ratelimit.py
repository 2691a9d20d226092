"""Per-token rate limiting with a token bucket, answered the way TikTok does: 40100 in an HTTP 200.

Buckets refill from the emulator's clock, so a test with a frozen clock sees exactly ``burst``
requests pass and then 40100 until it advances the clock. A limit set for ``None`` applies to every
token that has no limit of its own (each token still gets its own bucket). Tokens are known here only
by their fingerprint.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from pulumi_tiktok_audiences.emulator.clock import Clock


@dataclass(frozen=True)
class Limit:
    per_second: float
    burst: int


@dataclass
class _Bucket:
    level: float
    updated: float


class RateLimiter:
    """Thread-safe token buckets keyed by token fingerprint."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limits: dict[str | None, Limit] = {}
        self._buckets: dict[str, _Bucket] = {}

    def set(self, token_fingerprint: str | None, per_second: float, burst: int) -> None:
        """Limit one token (or, with None, every token without its own limit); buckets start full."""
        if per_second < 0 or burst < 1:
            raise ValueError("per_second must be >= 0 and burst >= 1")
        with self._lock:
            self._limits[token_fingerprint] = Limit(per_second, burst)
            self._buckets.clear()

    def clear(self) -> None:
        with self._lock:
            self._limits.clear()
            self._buckets.clear()

    def allow(self, token_fingerprint: str) -> bool:
        """Take one request's worth from the token's bucket; False when it is empty."""
        with self._lock:
            limit = self._limits.get(token_fingerprint) or self._limits.get(None)
            if limit is None:
                return True
            now = self._clock.time()
            bucket = self._buckets.setdefault(token_fingerprint, _Bucket(float(limit.burst), now))
            elapsed = max(0.0, now - bucket.updated)
            bucket.level = min(float(limit.burst), bucket.level + elapsed * limit.per_second)
            bucket.updated = now
            if bucket.level < 1:
                return False
            bucket.level -= 1
            return True
