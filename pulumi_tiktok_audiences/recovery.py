"""Crash recovery: find the audience an interrupted deployment created but never recorded.

When the provider process dies (or the engine is killed) after TikTok created an audience but
before the engine saved its id, the next ``pulumi up`` would create the audience again and leave
the first one behind, unmanaged. TikTok has no idempotency key and no tags, so such an *orphan*
can only be recognised by what it is: the same advertiser, the same name and the same rules,
created a few minutes ago.

:class:`OrphanFinder` lists each advertiser's audiences once per process, on the first create,
and keeps those created within the adoption window: a create adopts one of them whose name and
rules match instead of sending a new create. The listing is taken before this process creates
anything for the advertiser, so the process never adopts an audience it created itself. Each
orphan is adopted once, and an audience whose id the engine has sent in this process (diff, read:
it is in the stack's state) is never adopted, so two resources of one stack do not end up sharing
one audience whenever the engine has shown that it manages it.

The rule, and its limit (README "Reliability"): an audience of another stack or tool with the
same advertiser, name and rules, created within the window, is indistinguishable from an orphan.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import AudienceDetail, AudienceSummary, TikTokClient

Candidate = Callable[["AudienceSummary", datetime], bool]
"""Whether a listed audience may be the one looked for, given TikTok's clock (name, age)."""
Matches = Callable[["AudienceDetail"], bool]
"""Whether an audience's details (rules, settings) are the declared ones."""


def newest_matching(
    client: TikTokClient, advertiser_id: str, audience_ids: Sequence[str], matches: Matches
) -> AudienceDetail | None:
    """Of ``audience_ids``, the newest whose details match (one get call), or None."""
    if not audience_ids:
        return None
    details = client.get_audiences(advertiser_id, audience_ids, missing_ok=True)
    matching = [d for d in details if matches(d)]
    if not matching:
        return None
    return max(matching, key=lambda d: (d.create_time or "", d.audience_id))


class OrphanFinder:
    """Recent audiences per advertiser, listed once per process, each adoptable once."""

    def __init__(self) -> None:
        self._listings: dict[str, tuple[list[AudienceSummary], datetime]] = {}
        self._taken: set[str] = set()  # adopted here, or in the stack's state (engine-sent ids)
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def managed(self, audience_id: str) -> None:
        """The engine manages this audience (it sent its id): it is nobody's orphan."""
        with self._lock:
            self._taken.add(audience_id)

    def adopt(
        self, client: TikTokClient, advertiser_id: str, candidate: Candidate, matches: Matches
    ) -> AudienceDetail | None:
        """The orphan to adopt instead of creating, or None (then create as usual)."""
        with self._advertiser_lock(advertiser_id):
            listing = self._listings.get(advertiser_id)
            if listing is None:
                audiences = client.list_audiences(advertiser_id)
                listing = self._listings[advertiser_id] = (audiences, client.server_now())
            audiences, listed_at = listing
            with self._lock:
                ids = [
                    a.audience_id
                    for a in audiences
                    if a.audience_id not in self._taken and candidate(a, listed_at)
                ]
            found = newest_matching(client, advertiser_id, ids, matches)
            if found is not None:
                self.managed(found.audience_id)
            return found

    def claim_new(
        self, client: TikTokClient, advertiser_id: str, candidate: Candidate, matches: Matches
    ) -> AudienceDetail | None:
        """The audience our own create just made, when TikTok's answer did not name it.

        Listed now: the newest matching audience that was not there before this process created
        anything (the first listing) and that no resource has claimed yet, which it then claims.
        """
        with self._advertiser_lock(advertiser_id):
            before = {a.audience_id for a in self._listings.get(advertiser_id, ([], None))[0]}
            audiences = client.list_audiences(advertiser_id)
            now = client.server_now()
            with self._lock:
                ids = [
                    a.audience_id
                    for a in audiences
                    if a.audience_id not in before and a.audience_id not in self._taken and candidate(a, now)
                ]
            found = newest_matching(client, advertiser_id, ids, matches)
            if found is not None:
                self.managed(found.audience_id)
            return found

    def _advertiser_lock(self, advertiser_id: str) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(advertiser_id, threading.Lock())
