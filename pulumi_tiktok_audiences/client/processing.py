"""Waiting while TikTok is still processing an audience, apart from the fault and rate-limit retries.

Right after a create, or while TikTok recalculates an audience, update and delete are refused with
40002 "the audience is currently being updated or under processing" (reference §7.3). That is no
parameter error: the same call succeeds once TikTok is done. So an update, rename, delete or share
refused that way (:class:`~.errors.AudienceBusyError`, told apart from a real parameter error by
TikTok's message) is tried again with a growing pause, announced through ``notify`` (the host's
stderr), until ``max_seconds`` have passed; then :class:`~.errors.StillProcessingError` names the
audience and what to do. Any other 40002 is raised at once, and the bound stops a busy answer that
never clears from being waited on forever.

Kept out of retry.py on purpose: a busy audience is neither a fault (whose attempts it must not
spend) nor a rate limit (whose budget belongs to the whole developer app).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from pulumi_tiktok_audiences.client.errors import AudienceBusyError, StillProcessingError

T = TypeVar("T")

DEFAULT_MAX_SECONDS = 600.0
"""How long one call waits for TikTok to finish processing by default. Not in TikTok's documentation;
ten minutes covers a create's processing as far as anyone has reported it, and keeps a stuck
audience from holding a deployment for long (configurable: tiktok:processingWaitSeconds)."""
ANNOUNCE_FROM = 2.0
"""Pauses from this long on get a line of their own (besides the first refusal's)."""


@dataclass(frozen=True, kw_only=True)
class ProcessingWait:
    """Try a call again while TikTok answers that the audience is busy, for at most ``max_seconds``.

    Pauses start at ``first_pause`` and grow by ``growth`` up to ``max_pause``: short at first, since
    the emulator's window and most of TikTok's are short, then a probe every 30 s.
    """

    max_seconds: float = DEFAULT_MAX_SECONDS
    first_pause: float = 0.25
    growth: float = 1.5
    max_pause: float = 30.0
    notify: Callable[[str], None] | None = field(default=None, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)

    def __post_init__(self) -> None:
        if min(self.max_seconds, self.first_pause, self.max_pause) < 0 or self.growth < 1:
            raise ValueError("ProcessingWait durations must not be negative, nor growth below 1")

    def call(self, attempt: Callable[[], T], *, what: str) -> T:
        """``attempt()``, tried again while it fails with :class:`AudienceBusyError`.

        ``what`` names the audience in messages (``audience 123``).
        """
        start = self.clock()
        slept = 0.0
        pause = self.first_pause
        while True:
            try:
                return attempt()
            except AudienceBusyError as busy:
                # The clock, or the pauses themselves if a test's sleep does not move it.
                waited = max(self.clock() - start, slept)
                if waited + pause > self.max_seconds:
                    raise StillProcessingError(busy, audience=what, waited_seconds=waited) from None
                if self.notify is not None and (slept == 0 or pause >= ANNOUNCE_FROM):
                    self.notify(
                        f"TikTok is still processing {what} and refuses {busy.endpoint} for now "
                        f"([{busy.code}] {busy.tiktok_message}); trying again in {pause:.1f} s "
                        f"(waited {waited:.0f} s; giving up after {self.max_seconds:.0f} s)."
                    )
                self.sleep(pause)
                slept += pause
                pause = min(self.max_pause, pause * self.growth)
