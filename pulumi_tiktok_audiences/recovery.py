"""Recovery without guessing: never take an audience the stack (or anyone else) may already own.

TikTok has no idempotency key and no tags, so an audience can only be recognised by what it is:
advertiser, name and rules. That is not enough to adopt one automatically. Under the real engine
an audience with the same name and rules is, far more often than an orphan, the *old* audience
of a replacement (``pulumi up --replace``, a rule change with the same name, a logical rename
without an alias): taking it as the new one, then letting the engine delete the old resource,
deletes the very audience the stack now points at (docs/how-it-works/reliability.md).

So the provider adopts automatically in one case only, where it is provably its own audience:
the lost answer of a create call. :class:`KnownAudiences` lists an advertiser's audiences once
per process, *before* the process's first create for it; afterwards every audience this process
creates or claims, and every id the engine sends (diff, read), is added. After a lost answer, an
audience is the result only if it is in none of these sets and is the only one with the declared
name and rules. Everything else (an earlier deployment's orphan above all) goes through Pulumi's
own path: the checkpoint's pending create and ``pulumi refresh --import-pending-creates`` (the
``tiktok-audiences pending`` command finds the ids); the provider names look-alike audiences in
a warning instead of adopting them. Data safety first: a possible duplicate the user is told
about beats deleting a live audience.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.errors import OperationError

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import AudienceDetail, TikTokClient

Matches = Callable[["AudienceDetail"], bool]
"""Whether an audience's details (type, rules, settings) are the declared ones."""

log = logging.getLogger(__name__)


def matching(
    client: TikTokClient, advertiser_id: str, audience_ids: Sequence[str], matches: Matches
) -> list[AudienceDetail]:
    """Those of ``audience_ids`` whose details match (one get call; none for no ids)."""
    if not audience_ids:
        return []
    details = client.get_audiences(advertiser_id, audience_ids, missing_ok=True)
    return [d for d in details if matches(d)]


def describe(details: Sequence[AudienceDetail]) -> str:
    """Audiences by id and name, for messages."""
    return ", ".join(f"{d.audience_id} ({d.name!r})" for d in details)


class KnownAudiences:
    """Per process and advertiser: the audiences that are not ours to adopt after a lost answer."""

    def __init__(self) -> None:
        self._before: dict[str, dict[str, str | None]] = {}  # id -> name, before the first create
        self._ours: set[str] = set()  # created or claimed here, or sent by the engine
        self._locks: dict[tuple[str, str], threading.Lock] = {}  # per advertiser and name
        self._listing_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()

    def managed(self, audience_id: str) -> None:
        """The engine sent this id (it is in the stack's state), or this process created it."""
        with self._lock:
            self._ours.add(audience_id)

    @contextmanager
    def creating(self, client: TikTokClient, advertiser_id: str, name: str) -> Iterator[Creation]:
        """One create of ``name`` at a time per process, after the advertiser's listing.

        Two resources of one stack may declare equal audiences; serialising their creates keeps
        one's lost-answer lookup from taking the other's audience.
        """
        with self._lock:
            lock = self._locks.setdefault((advertiser_id, name), threading.Lock())
            listing_lock = self._listing_locks.setdefault(advertiser_id, threading.Lock())
        with lock:
            with listing_lock:  # one listing per advertiser, even when creates start together
                if advertiser_id not in self._before:
                    audiences = client.iter_audiences(advertiser_id, page_size=constants.LIST_PAGE_SIZE_MAX)
                    self._before[advertiser_id] = {a.audience_id: a.name for a in audiences}
            yield Creation(self, client, advertiser_id, name, self._before[advertiser_id])

    def excluded(self, listed: Iterable[str]) -> set[str]:
        """``listed`` and every audience this process has: never a lost answer, never a look-alike."""
        with self._lock:
            return {*listed, *self._ours}


class Creation:
    """One create in progress: what existed before it, and the lookups it may do."""

    def __init__(
        self,
        known: KnownAudiences,
        client: TikTokClient,
        advertiser_id: str,
        name: str,
        listed: dict[str, str | None],
    ) -> None:
        self._known, self._client = known, client
        self.advertiser_id, self.name, self._listed = advertiser_id, name, listed
        self.look_alikes: list[AudienceDetail] = []

    def warn_about_look_alikes(self, matches: Matches) -> None:
        """Name the existing audiences equal to the declared one (not adopted: they may be managed)."""
        excluded = self._known.excluded(())
        same_name = [i for i, name in self._listed.items() if name == self.name and i not in excluded]
        self.look_alikes = matching(self._client, self.advertiser_id, same_name, _or_unverifiable(matches))
        if self.look_alikes:
            log.warning(
                "Advertiser %s already has an audience with the name and rules of %r: %s. It is not "
                "adopted, since it may belong to this or another stack; a new one is created. During "
                "`pulumi up --replace` or a rename without an alias it is the old audience, deleted at "
                "the end. If it was left behind by an interrupted `pulumi up`, run `tiktok-audiences "
                "pending` (docs/operations/recovery.md).",
                self.advertiser_id,
                self.name,
                describe(self.look_alikes),
            )

    def created(self, audience_id: str) -> None:
        self._known.managed(audience_id)

    def lost_answer(self, matches: Matches) -> str | None:
        """The audience our create made although its answer was lost; None if it made none.

        Only an audience that did not exist before this process started creating, that nobody
        in this process has, and that is the only one with the declared name and rules.
        """
        excluded = self._known.excluded(self._listed)
        new = [
            a.audience_id
            for a in self._client.iter_audiences(self.advertiser_id, page_size=constants.LIST_PAGE_SIZE_MAX)
            if a.name == self.name and a.audience_id not in excluded
        ]
        found = matching(self._client, self.advertiser_id, new, matches)
        if len(found) > 1:
            raise OperationError(
                f"Creating audience {self.name!r} for advertiser {self.advertiser_id}: TikTok's answer "
                f"was lost, and several new audiences match it: {describe(found)}. None was taken: one "
                "may be this create's, the others another tool's. Delete the ones nobody uses in TikTok "
                "Ads Manager (or take one over with adopt_audience_id), then run `pulumi up` again."
            )
        if not found:
            return None
        self.created(found[0].audience_id)
        return found[0].audience_id


def _or_unverifiable(matches: Matches) -> Matches:
    """``matches``, where an audience whose answer cannot be read counts as a possible look-alike:
    the warning names it rather than failing the create or leaving it out in silence."""
    from pulumi_tiktok_audiences.reading import UnverifiableAudienceError

    def tolerant(detail: AudienceDetail) -> bool:
        try:
            return matches(detail)
        except UnverifiableAudienceError:
            return True

    return tolerant
