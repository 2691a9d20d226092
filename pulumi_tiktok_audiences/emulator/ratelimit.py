"""Rate limits, answered the way TikTok does: code 40100 in an HTTP 200, no headers, and a text that
names no window: "Due to too many requests, requests from App [id] are temporarily restricted."
(Airbyte issue #70992, reference §7.2), so a client must infer the window itself.

:class:`AppQuota` is TikTok's own rule (reference §6.3): a tier's requests per second, per minute
and per day for each developer app, counting every token of the app together (sandbox: for each
endpoint on its own). Past a limit the app is suspended: for the rest of the current second (QPS),
for 5 minutes (QPM), or until 00:00 UTC (QPD); every request is refused meanwhile. Where TikTok is
silent the stricter reading is taken, so that a client passing here passes there:

- the second and the minute are rolling windows (TikTok documents "a one minute sliding window" for
  its v2 API, developers.tiktok.com/doc/tiktok-api-v2-rate-limit), which a client over the limit in a
  calendar window is over in too; the day is the calendar day in UTC ("suspend until 00:00:00 UTC+0,
  when the daily counter resets");
- every request that reaches the gate counts, the refused ones included, so a client that keeps
  knocking during a suspension is suspended again when it ends.

:class:`RateLimiter` is a test control rather than TikTok's rule: a token bucket per access token
(``set_rate_limit``), for contention without waiting for windows. :class:`AdvertiserQps` is TikTok's
advertiser-level limit per path (code 40133 with its real text, reference §7.2); its number is not
published, so it is off unless a test sets one.

Both run on the emulator's clock, so a test with a frozen clock sees exactly the allowed requests pass
and then 40100 until it moves the clock. Tokens are known here only by their fingerprint.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator.clock import Clock, format_time


@dataclass(frozen=True)
class Suspension:
    """One suspension of an app (and endpoint, on the sandbox), as the controls report it."""

    developer_app: str
    endpoint: str | None
    window: str  # "second" | "minute" | "day"
    start: float
    until: float
    senders: tuple[tuple[str, int], ...] = ()
    """Requests of each token (by fingerprint) in the rolling window that tripped it (none for a day):
    whose requests filled the second or minute, for a benchmark to tell its own from another tool's."""

    def describe(self) -> dict[str, object]:
        return {
            "developer_app": self.developer_app,
            "endpoint": self.endpoint,
            "window": self.window,
            "start": format_time(self.start),
            "until": format_time(self.until),
            "seconds": round(self.until - self.start, 3),
            "senders": dict(self.senders),
        }


@dataclass
class _Usage:
    """What one app (or app and endpoint) has sent, as far as the limits look back."""

    last_second: deque[tuple[float, str]] = field(default_factory=deque)
    """(time, sender's token fingerprint) of each request in the rolling second; last_minute the same."""
    last_minute: deque[tuple[float, str]] = field(default_factory=deque)
    day: int = -1
    today: int = 0
    suspended: Suspension | None = None


class AppQuota:
    """TikTok's per-app limits of one tier (None: unlimited), thread-safe."""

    def __init__(self, clock: Clock, tier: constants.RateTier | None = None) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tier = tier
        self._usage: dict[tuple[str, str | None], _Usage] = {}
        self._suspensions: list[Suspension] = []

    @property
    def tier(self) -> constants.RateTier | None:
        return self._tier

    def set_tier(self, tier: constants.RateTier | None) -> None:
        """Enforce ``tier`` from now on (None: no limit), with every count and suspension forgotten."""
        with self._lock:
            self._tier = tier
            self._usage.clear()
            self._suspensions.clear()

    def reset(self) -> None:
        self.set_tier(self._tier)

    def suspensions(self) -> list[Suspension]:
        """Every suspension so far, oldest first."""
        with self._lock:
            return list(self._suspensions)

    def refusal(self, developer_app: str, endpoint: str, sender: str) -> str | None:
        """Count one request of ``developer_app`` to ``endpoint`` from the token whose fingerprint is
        ``sender``; TikTok's message if it is refused."""
        with self._lock:
            tier = self._tier
            if tier is None:
                return None
            key = (developer_app, endpoint if tier.per_endpoint else None)
            usage = self._usage.setdefault(key, _Usage())
            now = self._clock.time()
            _count(usage, now, sender)
            if usage.suspended is not None and now < usage.suspended.until:
                return restricted_message(developer_app)
            window = _over(tier, usage)
            if window is None:
                return None
            tripped = {"second": usage.last_second, "minute": usage.last_minute}.get(window)
            senders = _senders(tripped) if tripped is not None else ()
            usage.suspended = Suspension(developer_app, key[1], window, now, _until(window, now), senders)
            self._suspensions.append(usage.suspended)
            return restricted_message(developer_app)


def _count(usage: _Usage, now: float, sender: str) -> None:
    for window, span in ((usage.last_second, 1.0), (usage.last_minute, 60.0)):
        window.append((now, sender))
        while window and window[0][0] <= now - span:
            window.popleft()
    day = int(now // 86_400)
    if day != usage.day:
        usage.day, usage.today = day, 0
    usage.today += 1


def _senders(window: deque[tuple[float, str]]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(Counter(sender for _, sender in window).items()))


def _over(tier: constants.RateTier, usage: _Usage) -> str | None:
    """The longest-suspending window over its limit, if any."""
    if usage.today > tier.per_day:
        return "day"
    if len(usage.last_minute) > tier.per_minute:
        return "minute"
    if len(usage.last_second) > tier.per_second:
        return "second"
    return None


def _until(window: str, now: float) -> float:
    if window == "second":
        return math.floor(now) + 1.0
    if window == "minute":
        return now + constants.QPM_SUSPENSION_SECONDS
    midnight = datetime.fromtimestamp(now, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return (midnight + timedelta(days=1)).timestamp()


def restricted_message(developer_app: str) -> str:
    """TikTok's real 40100 text (reference §7.2): the same for a second, a minute or a day."""
    return f"Due to too many requests, requests from App {developer_app} are temporarily restricted."


class AdvertiserQps:
    """TikTok's advertiser-level QPS limit per path (40133), over a rolling second; thread-safe."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._limit: int | None = None
        self._recent: dict[tuple[str, str], deque[float]] = {}

    def set(self, per_second: int | None) -> None:
        """Refuse an advertiser's requests to one path past ``per_second`` in a second (None: no limit)."""
        if per_second is not None and per_second < 1:
            raise ValueError("per_second must be at least 1")
        with self._lock:
            self._limit = per_second
            self._recent.clear()

    def refusal(self, advertiser_id: str, path: str) -> str | None:
        """Count one request; TikTok's 40133 text if it is over the limit."""
        with self._lock:
            if self._limit is None:
                return None
            now = self._clock.time()
            recent = self._recent.setdefault((advertiser_id, path), deque())
            recent.append(now)
            while recent and recent[0] <= now - 1.0:
                recent.popleft()
            if len(recent) <= self._limit:
                return None
            return (
                f"Advertiser ({advertiser_id})'s QPS ({len(recent)}) reaches QPS limit {self._limit} "
                "for current path"
            )


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
