"""Coalesced reads: one paged listing per advertiser answers the host's one-at-a-time reads.

The engine refreshes a stack with one Read per resource (the host runs four at a time). Asked
one by one, N audiences cost N calls; TikTok's list endpoint returns 100 per call, so the first
read of an advertiser's audience lists them all and keeps the result as a *snapshot* that the
following reads take from: a refresh of N audiences of one advertiser costs ceil(N/100) calls.

A snapshot must never hide a change that a fresh call would show, hence:

- **single flight**: the listing runs under the advertiser's lock; threads that need the same
  advertiser meanwhile wait for it instead of listing too (other advertisers are not held up);
- **served once**: each audience is handed out once per snapshot. A refresh reads every
  resource once, so a second read of the same id starts a new pass (the next refresh in a
  long-lived process): it lists again;
- **short life**: a snapshot older than :data:`SNAPSHOT_TTL` seconds is listed again;
- **own writes**: :meth:`AudienceCache.forget` (called after every create/rename/delete of this
  process) drops the audience, so the next read asks TikTok for it by id. It waits for a listing
  in progress, so a listing can never store an answer older than the write;
- **absent is confirmed**: TikTok pages by offset, and a deletion elsewhere during the listing
  shifts later audiences back a page, so one can be skipped. An audience missing from the
  snapshot is asked for by id (one call) before it is reported gone: wrongly reporting it gone
  would drop it from the stack and the next ``pulumi up`` would create a duplicate.

One cache per provider object, which the host keeps for its whole life: it lives exactly as
long as the process, and a new ``pulumi refresh`` (a new host process) starts empty.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pulumi_tiktok_audiences import constants

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import AudienceSummary, TikTokClient

SNAPSHOT_TTL = 30.0
"""Seconds a listing may answer reads. Long enough to outlast the read phase of a large refresh
(1,000 reads take a few seconds through the host), short enough that a long-lived process does
not serve another tool's changes older than half a minute."""


@dataclass
class _Snapshot:
    taken_at: float
    unserved: dict[str, AudienceSummary]
    served: set[str] = field(default_factory=set)


class AudienceCache:
    """Reads of audiences by id, answered from per-advertiser listings of ``client``."""

    def __init__(
        self, client: TikTokClient, *, ttl: float = SNAPSHOT_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._snapshots: dict[str, _Snapshot] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_lock = threading.Lock()

    def get(self, advertiser_id: str, audience_id: str) -> AudienceSummary | None:
        """The audience as TikTok's list shows it, or None when it does not exist."""
        with self._lock(advertiser_id):
            snapshot = self._snapshots.get(advertiser_id)
            if (
                snapshot is None
                or self._clock() - snapshot.taken_at > self._ttl
                or audience_id in snapshot.served
            ):
                snapshot = self._snapshots[advertiser_id] = self._list(advertiser_id)
            found = snapshot.unserved.pop(audience_id, None)
            if found is not None:
                snapshot.served.add(audience_id)
                return found
        return self.fetch(advertiser_id, audience_id)

    def fetch(self, advertiser_id: str, audience_id: str) -> AudienceSummary | None:
        """The audience asked for by id, bypassing snapshots (one call)."""
        found = self._client.list_audiences(advertiser_id, audience_ids=[audience_id])
        return next((a for a in found if a.audience_id == audience_id), None)

    def forget(self, advertiser_id: str, audience_id: str) -> None:
        """This process changed the audience: no snapshot may answer for it any more."""
        with self._lock(advertiser_id):
            snapshot = self._snapshots.get(advertiser_id)
            if snapshot is not None:
                snapshot.unserved.pop(audience_id, None)
                snapshot.served.discard(audience_id)

    def _list(self, advertiser_id: str) -> _Snapshot:
        taken_at = self._clock()
        audiences = self._client.iter_audiences(advertiser_id, page_size=constants.LIST_PAGE_SIZE_MAX)
        return _Snapshot(taken_at, {a.audience_id: a for a in audiences})

    def _lock(self, advertiser_id: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(advertiser_id, threading.Lock())
