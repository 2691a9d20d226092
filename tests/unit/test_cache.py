"""The read cache: what reads cost, and that it never hides a change a fresh call would show.

A real client on the emulator's in-process transport; calls are counted by the emulator.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.cache import SNAPSHOT_TTL, AudienceCache
from pulumi_tiktok_audiences.client import AudienceSummary, TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    SECOND_ADVERTISER_ID,
    Emulator,
)
from pulumi_tiktok_audiences.spec import AudienceSpec
from tests.contract.helpers import declared, emulator_seed
from tests.harness.bulk import add_audiences


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=emulator_seed()) as instance:
        yield instance


@pytest.fixture
def client(emulator: Emulator) -> Iterator[TikTokClient]:
    with TikTokClient(DEFAULT_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as made:
        yield made


@pytest.fixture
def other(emulator: Emulator) -> Iterator[TikTokClient]:
    """Another process working on the same advertiser (Ads Manager, a second stack)."""
    with TikTokClient(DEFAULT_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as made:
        yield made


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(client: TikTokClient, clock: FakeClock) -> AudienceCache:
    return AudienceCache(client, clock=clock)


def spec(advertiser_id: str = DEFAULT_ADVERTISER_ID) -> AudienceSpec:
    props = {k: v for k, v in declared(advertiser_id=advertiser_id).items() if v is not None}
    return AudienceSpec.model_validate(props)


def seeded(emulator: Emulator, count: int, advertiser_id: str = DEFAULT_ADVERTISER_ID) -> list[str]:
    ids = add_audiences(emulator, spec(advertiser_id), [f"a{i}" for i in range(count)])
    emulator.reset_request_counts()
    return ids


def calls(emulator: Emulator) -> dict[str, int]:
    return emulator.request_counts()


def name_of(found: AudienceSummary | None) -> str | None:
    return None if found is None else found.name


# --- cost -----------------------------------------------------------------------------------------


def test_reading_every_audience_lists_them_once_page_by_page(
    emulator: Emulator, cache: AudienceCache
) -> None:
    ids = seeded(emulator, 250)

    names = [name_of(cache.get(DEFAULT_ADVERTISER_ID, i)) for i in ids]

    assert names == [f"a{i}" for i in range(250)]
    assert calls(emulator) == {constants.PATH_LIST: math.ceil(250 / constants.LIST_PAGE_SIZE_MAX)}


def test_concurrent_reads_wait_for_one_listing(emulator: Emulator, cache: AudienceCache) -> None:
    ids = seeded(emulator, 150)
    emulator.inject_fault(constants.PATH_LIST, latency=0.05)  # keep the listing in flight
    start = threading.Barrier(8)

    def read(audience_id: str) -> str | None:
        if audience_id in ids[:8]:  # the first eight start together
            start.wait()
        return name_of(cache.get(DEFAULT_ADVERTISER_ID, audience_id))

    with ThreadPoolExecutor(8) as pool:
        names = list(pool.map(read, ids))

    assert names == [f"a{i}" for i in range(150)]
    assert calls(emulator) == {constants.PATH_LIST: 2}


def test_each_advertiser_costs_its_own_listing(emulator: Emulator, cache: AudienceCache) -> None:
    first = seeded(emulator, 3)
    second = seeded(emulator, 3, SECOND_ADVERTISER_ID)

    for audience_id in first:
        assert cache.get(DEFAULT_ADVERTISER_ID, audience_id) is not None
    for audience_id in second:
        assert cache.get(SECOND_ADVERTISER_ID, audience_id) is not None
    assert cache.get(SECOND_ADVERTISER_ID, first[0]) is None  # not visible to that advertiser

    # One listing each, and one call to confirm that the other advertiser's audience is absent.
    assert calls(emulator) == {constants.PATH_LIST: 3}


# --- freshness ------------------------------------------------------------------------------------


def test_a_rename_by_this_process_is_never_hidden(
    emulator: Emulator, cache: AudienceCache, client: TikTokClient
) -> None:
    first, second = seeded(emulator, 2)
    cache.get(DEFAULT_ADVERTISER_ID, first)  # the listing now holds `second` too

    client.rename_audience(DEFAULT_ADVERTISER_ID, second, "renamed here")
    cache.forget(DEFAULT_ADVERTISER_ID, second)

    assert name_of(cache.get(DEFAULT_ADVERTISER_ID, second)) == "renamed here"


def test_a_delete_by_this_process_reads_as_gone(
    emulator: Emulator, cache: AudienceCache, client: TikTokClient
) -> None:
    first, second = seeded(emulator, 2)
    cache.get(DEFAULT_ADVERTISER_ID, first)

    client.delete_audiences(DEFAULT_ADVERTISER_ID, [second])
    cache.forget(DEFAULT_ADVERTISER_ID, second)

    assert cache.get(DEFAULT_ADVERTISER_ID, second) is None


def test_another_process_rename_is_seen_by_the_next_pass(
    emulator: Emulator, cache: AudienceCache, other: TikTokClient
) -> None:
    ids = seeded(emulator, 3)
    for audience_id in ids:  # one refresh
        cache.get(DEFAULT_ADVERTISER_ID, audience_id)

    other.rename_audience(DEFAULT_ADVERTISER_ID, ids[1], "renamed elsewhere")

    assert [name_of(cache.get(DEFAULT_ADVERTISER_ID, i)) for i in ids] == ["a0", "renamed elsewhere", "a2"]
    assert calls(emulator)[constants.PATH_LIST] == 2  # the second pass listed again, once


def test_a_listing_older_than_the_ttl_is_not_used(
    emulator: Emulator, cache: AudienceCache, other: TikTokClient, clock: FakeClock
) -> None:
    ids = seeded(emulator, 3)
    cache.get(DEFAULT_ADVERTISER_ID, ids[0])
    other.rename_audience(DEFAULT_ADVERTISER_ID, ids[1], "renamed elsewhere")
    other.rename_audience(DEFAULT_ADVERTISER_ID, ids[2], "renamed elsewhere too")

    assert name_of(cache.get(DEFAULT_ADVERTISER_ID, ids[1])) == "a1"  # the listing, taken before
    clock.now += SNAPSHOT_TTL + 1
    assert name_of(cache.get(DEFAULT_ADVERTISER_ID, ids[2])) == "renamed elsewhere too"


def test_an_audience_missing_from_the_listing_is_asked_for_before_it_counts_as_gone(
    emulator: Emulator, cache: AudienceCache, other: TikTokClient
) -> None:
    existing = seeded(emulator, 2)
    cache.get(DEFAULT_ADVERTISER_ID, existing[0])
    made_elsewhere = other.create_rule_audience(spec().to_create_payload())
    emulator.reset_request_counts()

    assert cache.get(DEFAULT_ADVERTISER_ID, made_elsewhere) is not None
    assert cache.get(DEFAULT_ADVERTISER_ID, "7399999999999999999") is None
    assert calls(emulator) == {constants.PATH_LIST: 2}  # one by-id call each


class _PausedListing:
    """A client whose listing answers with what it saw before a write, and waits to be released."""

    def __init__(self, before: list[AudienceSummary], after: list[AudienceSummary]) -> None:
        self.before, self.after = before, after
        self.listing = threading.Event()
        self.release = threading.Event()

    def iter_audiences(self, _advertiser_id: str, **_: Any) -> Iterator[AudienceSummary]:
        self.listing.set()
        assert self.release.wait(60), "the test never released the listing"
        yield from self.before

    def list_audiences(self, _advertiser_id: str, *, audience_ids: list[str]) -> list[AudienceSummary]:
        return [a for a in self.after if a.audience_id in audience_ids]


class _ObservedLock:
    """A lock that tells when a thread had to wait for it (a second thread arrived while it was held)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.contended = threading.Event()

    def __enter__(self) -> None:
        if not self._lock.acquire(blocking=False):
            self.contended.set()
            self._lock.acquire()

    def __exit__(self, *_: object) -> None:
        self._lock.release()


class _ObservedCache(AudienceCache):
    """The cache with one observed lock for every advertiser."""

    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.lock = _ObservedLock()

    def _lock(self, advertiser_id: str) -> threading.Lock:
        return cast(threading.Lock, self.lock)


def test_a_write_during_a_listing_is_not_hidden_by_it() -> None:
    old = AudienceSummary.model_validate({"audience_id": "1", "name": "before"})
    new = AudienceSummary.model_validate({"audience_id": "1", "name": "after"})
    client = _PausedListing(before=[old], after=[new])
    cache = _ObservedCache(client)
    reader = threading.Thread(target=cache.get, args=(DEFAULT_ADVERTISER_ID, "2"))
    reader.start()
    assert client.listing.wait(60), "the reader never started its listing"

    # The write lands after the listing read its page: the snapshot will hold the old name.
    writer = threading.Thread(target=cache.forget, args=(DEFAULT_ADVERTISER_ID, "1"))
    writer.start()
    # forget must wait for the listing instead of running before it is stored: the interleaving is
    # forced by releasing the listing only once the writer is seen waiting for the advertiser's lock.
    assert cache.lock.contended.wait(60), "forget did not wait for the listing in progress"
    client.release.set()
    for thread in (reader, writer):
        thread.join(60)
        assert not thread.is_alive(), "a cache call is still blocked"

    assert name_of(cache.get(DEFAULT_ADVERTISER_ID, "1")) == "after"
