"""Which failures are retried, how long to back off, and when to give up.

tenacity runs the loop (well kept: retry conditions, sleeping, the final RetryError); the wait and
stop decisions are one small object per call, since a rate limit and a fault have separate budgets.
Sleep and clock are injectable so that tests never wait for real.

The classification follows what a repeat would do on TikTok's side:

- reads can always be repeated;
- idempotent writes (rename, delete, share) have the same effect when repeated;
- a create repeated after TikTok acted would make a duplicate audience, so a create is only
  retried when TikTok certainly did not act (rate limited, or the connection never opened).

A rate limit is different from other failures: TikTok suspends the whole developer app for the rest
of the second, 5 minutes or until 00:00 UTC (reference §6.3). With ``rate_limit_wait_seconds`` set,
a suspension is waited out instead of spending the attempts meant for faults, and the time spent
waiting never counts against the faults' budget: for as long as the pacer judged the refusal to need
(``RateLimitedError.restriction``, throttle.py), else probing at 1, 2, 4 ... 30 s; long waits are
announced through ``notify``. A daily one is not retried at all.
"""

from __future__ import annotations

import enum
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from pulumi_tiktok_audiences.client.errors import (
    DailyQuotaExhaustedError,
    RateLimitedError,
    RetriesExhaustedError,
    ServerError,
    TikTokApiError,
    TikTokError,
    TransportError,
)

_log = logging.getLogger(__name__)

T = TypeVar("T")


class CallKind(enum.Enum):
    """What repeating a call would do, which decides how its failures are handled."""

    READ = "read"
    IDEMPOTENT_WRITE = "idempotent write"
    CREATE = "create"


def is_transient(error: TikTokError) -> bool:
    """Whether the same call may succeed later (throttling, server trouble, network)."""
    if isinstance(error, DailyQuotaExhaustedError):
        return False  # nothing is accepted before 00:00 UTC: waiting that long is not a retry
    if isinstance(error, RateLimitedError | ServerError):
        return True
    return isinstance(error, TransportError) and error.transient


def may_have_acted(error: TikTokError) -> bool:
    """Whether TikTok may have carried out the request although the call failed.

    A lost answer may hide anything; each API error class says for its codes (client/errors.py):
    the gateway's rate limits are answered without acting, server codes are ambiguous.
    """
    if isinstance(error, TransportError):
        return error.may_have_acted
    return isinstance(error, TikTokApiError) and error.may_have_acted


def should_retry(error: TikTokError, kind: CallKind) -> bool:
    """Retry transient failures, but a create only when TikTok certainly did not act."""
    if not is_transient(error):
        return False
    return kind is not CallKind.CREATE or not may_have_acted(error)


SUSPENSION_PROBE_MAX = 30.0
"""Longest wait between probes of a suspended app: a 5-minute suspension costs about 14 requests."""
ANNOUNCE_FROM = 2.0
"""Waits from this long on are announced (a QPS suspension's one second is not worth a line)."""


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    _log.debug(
        "retrying in %.2f s after attempt %d failed: %s",
        retry_state.upcoming_sleep,
        retry_state.attempt_number,
        error,
    )


def format_duration(seconds: float) -> str:
    """``330`` -> ``5 min 30 s``: how long, for people."""
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter.

    The n-th wait is uniform in ``[0, min(max_backoff, initial_backoff * 2**(n-1))]``, and the
    loop stops after ``max_attempts`` attempts or when the next wait would end more than
    ``max_elapsed_seconds`` after the first attempt started, whichever comes first.

    With ``rate_limit_wait_seconds``, rate limits are not counted in those bounds: the call waits
    1, 2, 4 ... (at most 30) seconds between probes for as long as the next probe starts within
    ``rate_limit_wait_seconds`` of the first refusal, and announces each wait of 2 s or more
    through ``notify``.
    """

    max_attempts: int = 5
    max_elapsed_seconds: float = 60.0
    initial_backoff: float = 1.0
    max_backoff: float = 20.0
    rate_limit_wait_seconds: float | None = None
    notify: Callable[[str], None] | None = field(default=None, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        durations = (self.max_elapsed_seconds, self.initial_backoff, self.max_backoff)
        if min(durations) < 0 or (self.rate_limit_wait_seconds or 0) < 0:
            raise ValueError("RetryPolicy durations must not be negative")

    def call(self, attempt: Callable[[], T], *, retry_if: Callable[[TikTokError], bool]) -> T:
        """Run ``attempt`` until it succeeds, fails for good, or the budget is spent.

        A failure that ``retry_if`` rejects is raised as it is; a retryable failure that
        outlasts the budget becomes :class:`RetriesExhaustedError`.
        """
        loop = _Loop(self)
        retrying = tenacity.Retrying(
            stop=loop.stop,
            wait=loop.wait,
            retry=tenacity.retry_if_exception(lambda exc: isinstance(exc, TikTokError) and retry_if(exc)),
            sleep=self.sleep,
            before_sleep=_log_retry,
        )
        try:
            return retrying(attempt)
        except tenacity.RetryError as exhausted:
            last = exhausted.last_attempt
            error = last.exception()
            assert isinstance(error, TikTokError)  # only TikTokErrors are retried
            raise RetriesExhaustedError(
                error, attempts=last.attempt_number, elapsed_seconds=self.clock() - loop.start
            ) from error


class _Loop:
    """One call's retry state: tenacity asks ``wait`` then ``stop`` after each failed attempt."""

    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy
        self.start = policy.clock()
        self._faults = 0  # failed attempts other than rate limits
        self._suspended_since: float | None = None
        self._suspended_waits: list[float] = []
        self._stop = False

    def _waits_out(self, state: tenacity.RetryCallState) -> RateLimitedError | None:
        error = state.outcome.exception() if state.outcome else None
        if self.policy.rate_limit_wait_seconds is not None and isinstance(error, RateLimitedError):
            return error
        return None

    def wait(self, state: tenacity.RetryCallState) -> float:
        policy, now = self.policy, self.policy.clock()
        limited = self._waits_out(state)
        if limited is None:
            self._faults += 1
            # Without the suspensions waited out: a fault after a long one still has its whole budget.
            fault_time = now - self.start - sum(self._suspended_waits)
            ceiling = min(policy.max_backoff, policy.initial_backoff * 2.0 ** (self._faults - 1))
            pause = random.uniform(0.0, ceiling)  # noqa: S311 - jitter, not a secret
            self._stop = (
                self._faults >= policy.max_attempts or fault_time + pause > policy.max_elapsed_seconds
            )
            return pause
        if self._suspended_since is None:
            self._suspended_since = now
        restriction = limited.restriction
        if restriction is not None:
            pause = max(restriction.wait_seconds, 0.0)
        else:
            pause = min(SUSPENSION_PROBE_MAX, 2.0 ** len(self._suspended_waits))
        # The clock, or the waits themselves if a test's sleep does not move it.
        waited = max(now - self._suspended_since, sum(self._suspended_waits))
        budget = policy.rate_limit_wait_seconds or 0.0
        self._stop = waited + pause > budget
        if not self._stop:
            self._suspended_waits.append(pause)
            if pause >= ANNOUNCE_FROM and policy.notify is not None:
                about = (
                    restriction.note
                    if restriction is not None and restriction.note
                    else (
                        f"TikTok is refusing this app's requests as too frequent ({limited.endpoint}: "
                        f"code {limited.code}); another deployment or tool may be using the same developer "
                        "app."
                    )
                )
                policy.notify(
                    f"{about} Trying again in {format_duration(pause)} (waited {format_duration(waited)}; "
                    f"giving up after {format_duration(budget)})."
                )
        return pause

    def stop(self, _state: tenacity.RetryCallState) -> bool:
        return self._stop
