"""Which failures are retried, how long to back off, and when to give up.

tenacity runs the loop: it is well kept, and its stop / wait / retry policies are small
composable objects, so "attempts OR elapsed time" and "exponential backoff with full jitter"
are one line each instead of a hand-written loop. Sleep and clock are injectable so that
tests never wait for real.

The classification follows what a repeat would do on TikTok's side:

- reads can always be repeated;
- idempotent writes (rename, delete, share) have the same effect when repeated;
- a create repeated after TikTok acted would make a duplicate audience, so a create is only
  retried when TikTok certainly did not act (rate limited, or the connection never opened).
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import tenacity

from pulumi_tiktok_audiences.client.errors import (
    RateLimitedError,
    RetriesExhaustedError,
    ServerError,
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
    if isinstance(error, RateLimitedError | ServerError):
        return True
    return isinstance(error, TransportError) and error.transient


def may_have_acted(error: TikTokError) -> bool:
    """Whether TikTok may have carried out the request although the call failed.

    Rate-limit codes are returned without acting; a server code or a lost answer is ambiguous.
    """
    if isinstance(error, TransportError):
        return error.may_have_acted
    return isinstance(error, ServerError)


def should_retry(error: TikTokError, kind: CallKind) -> bool:
    """Retry transient failures, but a create only when TikTok certainly did not act."""
    if not is_transient(error):
        return False
    return kind is not CallKind.CREATE or not may_have_acted(error)


class _OutOfTime(tenacity.stop.stop_base):
    """Stop when the next sleep would end past the time budget (measured on ``clock``)."""

    def __init__(self, clock: Callable[[], float], start: float, budget: float) -> None:
        self._clock = clock
        self._start = start
        self._budget = budget

    def __call__(self, retry_state: tenacity.RetryCallState) -> bool:
        return self._clock() - self._start + retry_state.upcoming_sleep > self._budget


def _log_retry(retry_state: tenacity.RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    _log.debug(
        "retrying in %.2f s after attempt %d failed: %s",
        retry_state.upcoming_sleep,
        retry_state.attempt_number,
        error,
    )


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Bounded retries with exponential backoff and full jitter.

    The n-th wait is uniform in ``[0, min(max_backoff, initial_backoff * 2**(n-1))]``, and the
    loop stops after ``max_attempts`` attempts or when the next wait would end more than
    ``max_elapsed_seconds`` after the first attempt started, whichever comes first.
    """

    max_attempts: int = 5
    max_elapsed_seconds: float = 60.0
    initial_backoff: float = 1.0
    max_backoff: float = 20.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.max_elapsed_seconds < 0 or self.initial_backoff < 0 or self.max_backoff < 0:
            raise ValueError("RetryPolicy durations must not be negative")

    def call(self, attempt: Callable[[], T], *, retry_if: Callable[[TikTokError], bool]) -> T:
        """Run ``attempt`` until it succeeds, fails for good, or the budget is spent.

        A failure that ``retry_if`` rejects is raised as it is; a retryable failure that
        outlasts the budget becomes :class:`RetriesExhaustedError`.
        """
        start = self.clock()
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts)
            | _OutOfTime(self.clock, start, self.max_elapsed_seconds),
            wait=tenacity.wait_random_exponential(multiplier=self.initial_backoff, max=self.max_backoff),
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
                error, attempts=last.attempt_number, elapsed_seconds=self.clock() - start
            ) from error
