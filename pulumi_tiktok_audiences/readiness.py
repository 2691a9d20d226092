"""Audience size and readiness: is an audience big enough to target yet, and waiting until it is.

TikTok computes an audience's size (``cover_num``) for hours after it is created or refreshed, and
an ad group can target it only from 1,000 people (``constants.TARGETABLE_MIN_SIZE``); a lookalike
needs a source of at least 100. A deployment that creates an audience and then something that
uses it has to wait in between; these functions do the polling, with a deadline, for the
provider (``wait_until_targetable``) and for programs (``resources.audience_size``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.errors import OperationError

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import AudienceDetail, AudienceSummary, TikTokClient

FIRST_POLL_SECONDS = 0.5
MAX_POLL_SECONDS = 30.0
"""Polls start fast (the emulator is ready in seconds) and slow down to this (TikTok takes hours)."""


@dataclass(frozen=True)
class AudienceSize:
    """An audience's size as TikTok reports it; ``size`` is None while TikTok is calculating it."""

    audience_id: str
    size: int | None
    is_valid: bool

    @classmethod
    def of(cls, audience: AudienceSummary | AudienceDetail) -> AudienceSize:
        valid = bool(audience.is_valid)
        return cls(audience.audience_id, audience.cover_num if valid else None, valid)

    @property
    def targetable(self) -> bool:
        """True from 1,000 matched people on: an ad group may target the audience."""
        return self.size is not None and self.size >= constants.TARGETABLE_MIN_SIZE

    def describe(self) -> str:
        if self.size is None:
            return f"audience {self.audience_id} is still being calculated by TikTok"
        return f"audience {self.audience_id} has {self.size:,} people"


class NotReadyError(OperationError):
    """An audience did not become ready before the deadline; ``last`` is what TikTok last reported."""

    def __init__(self, message: str, last: AudienceSize) -> None:
        super().__init__(message)
        self.last = last


def audience_size(client: TikTokClient, advertiser_id: str, audience_id: str) -> AudienceSize:
    """The audience's current size; OperationError if the advertiser has no such audience."""
    found = client.list_audiences(advertiser_id, audience_ids=[audience_id])
    audience = next((a for a in found if a.audience_id == audience_id), None)
    if audience is None:
        raise OperationError(f"Advertiser {advertiser_id} has no audience {audience_id}.")
    return AudienceSize.of(audience)


def wait_until(
    client: TikTokClient,
    advertiser_id: str,
    audience_id: str,
    ready: Callable[[AudienceSize], bool],
    *,
    timeout_seconds: float,
    what: str,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> AudienceSize:
    """Poll until ``ready(size)`` holds; NotReadyError after ``timeout_seconds`` (``what`` says why)."""
    deadline = clock() + timeout_seconds
    pause = FIRST_POLL_SECONDS
    while True:
        current = audience_size(client, advertiser_id, audience_id)
        if ready(current):
            return current
        left = deadline - clock()
        if left <= 0:
            raise NotReadyError(
                f"Waited {timeout_seconds:g} s for {what}, but {current.describe()}.", current
            )
        sleep(min(pause, left))
        pause = min(pause * 2, MAX_POLL_SECONDS)


def is_targetable(size: AudienceSize) -> bool:
    return size.targetable


def is_calculated(size: AudienceSize) -> bool:
    return size.is_valid
