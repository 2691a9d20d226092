"""LookalikeAudience and AudienceShare through the real provider host, against the emulator.

This module's emulator calculates audiences the way TikTok does, only faster: an audience is
"being calculated" (no size) for a second after creation or refresh, then full size a second
later. Tests that do not wait move the emulator's clock forward instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.dynamic.dynamic import serialize_provider
from pulumi.runtime.proto import provider_pb2

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_SEED,
    DEFAULT_TOKEN,
    OTHER_BC_ADVERTISER_ID,
    SECOND_ADVERTISER_ID,
    THIRD_ADVERTISER_ID,
    Emulator,
    PopulationConfig,
    RunningServer,
    Seed,
)
from pulumi_tiktok_audiences.provider import Lookalike, Share
from pulumi_tiktok_audiences.spec import AudienceSpec
from tests.contract.helpers import PROJECT, PROVIDER_KEY, rule
from tests.harness.host import UNKNOWN, HostError, ProviderHost

DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME
CALCULATING_SECONDS = 1.0
LATER = 60.0  # seconds after which every audience of this module is fully calculated
US, CA = "6252001", "6251999"  # location ids (any digits are accepted)
LOOKALIKE_COMPUTED = ("audience_id", "size", "targetable", "is_valid", "expire_time", "summary")


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    population = PopulationConfig(calculating_seconds=CALCULATING_SECONDS, growth_seconds=1.0)
    seed = Seed(tokens=DEFAULT_SEED.tokens, advertisers=DEFAULT_SEED.advertisers, population=population)
    with Emulator(seed=seed) as instance:
        yield instance


@pytest.fixture(scope="module")
def tiktok(server: RunningServer) -> Iterator[TikTokClient]:
    """Another TikTok user: Ads Manager, outside Pulumi."""
    with TikTokClient(DEFAULT_TOKEN, base_url=server.url) as client:
        yield client


class Driver:
    """Engine-shaped calls for one resource type: ``__provider`` added, news checked first."""

    def __init__(self, host: ProviderHost, provider: object, type_name: str) -> None:
        self.host, self.blob = host, serialize_provider(provider)
        self.urn = f"urn:pulumi:test::{PROJECT}::pulumi-python:dynamic/tiktok:{type_name}::r"

    def check(
        self, news: dict[str, Any], *, raw: bool = False
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        result = self.host.check(self.urn, {}, {**news, PROVIDER_KEY: self.blob}, raw=raw)
        return result.inputs, result.failures

    def checked(self, news: dict[str, Any]) -> dict[str, Any]:
        inputs, failures = self.check(news)
        assert failures == [], failures
        return inputs

    def create(self, news: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return self.host.create(self.urn, self.checked(news))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> tuple[int, list[str]]:
        result = self.host.diff(self.urn, id_, olds, self.checked(news))
        return result.changes, result.replaces

    def read(self, id_: str, outs: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        return self.host.read(self.urn, id_, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self.host.update(self.urn, id_, olds, self.checked(news))

    def delete(self, id_: str, outs: dict[str, Any]) -> None:
        self.host.delete(self.urn, id_, outs)


@pytest.fixture(scope="module")
def lookalikes(host: ProviderHost) -> Driver:
    return Driver(host, Lookalike(), "LookalikeAudience")


@pytest.fixture(scope="module")
def shares(host: ProviderHost) -> Driver:
    return Driver(host, Share(), "AudienceShare")


def make_source(tiktok: TikTokClient, name: str, event: str = "PURCHASE", days: int = 30) -> str:
    """An App Activity audience made outside Pulumi: PURCHASE in 30 days covers ~15,000 people."""
    spec = AudienceSpec.model_validate(
        {
            "advertiser_id": DEFAULT_ADVERTISER_ID,
            "name": name,
            "app_ids": [DEFAULT_APP_ID],
            "include": [rule(event, days)],
        }
    )
    return tiktok.create_rule_audience(spec.to_create_payload())


def live(emulator: Emulator, audience_id: str) -> dict[str, Any] | None:
    return next((a for a in emulator.audiences() if a["audience_id"] == audience_id), None)


def lookalike(source_id: str, **overrides: Any) -> dict[str, Any]:
    """What LookalikeAudience sends: unset arguments travel as None, declared outputs too."""
    return {
        "advertiser_id": DEFAULT_ADVERTISER_ID,
        "name": "Lookalike of buyers",
        "source_audience_id": source_id,
        "locations": [US],
        "audience_size": "BALANCED",
        "mobile_os": None,
        "placements": None,
        "include_source": None,
        "audience_sub_type": None,
        "wait_until_targetable": False,
        "readiness_timeout_seconds": None,
        "refresh_trigger": None,
        **dict.fromkeys(LOOKALIKE_COMPUTED),
        **overrides,
    }


def share(audience_id: str, advertisers: list[str]) -> dict[str, Any]:
    return {
        "advertiser_id": DEFAULT_ADVERTISER_ID,
        "audience_id": audience_id,
        "shared_advertiser_ids": advertisers,
        "summary": None,
    }


@pytest.fixture(scope="module")
def source(tiktok: TikTokClient, emulator: Emulator) -> str:
    """A calculated App Activity audience, big enough to be a lookalike source."""
    audience_id = make_source(tiktok, "lookalike source")
    emulator.clock.advance(LATER)
    return audience_id


# --- LookalikeAudience ----------------------------------------------------------------------


def test_check_names_each_invalid_field_by_path(lookalikes: Driver, source: str) -> None:
    _, failures = lookalikes.check(
        lookalike(source, locations=[], audience_size="HUGE", placements=["Facebook"])
    )
    paths = dict(failures)
    assert set(paths) == {"locations", "audience_size", "placements[0]"}
    assert "NARROW, BALANCED, BROAD" in paths["audience_size"]
    assert "TikTok, TopBuzz & BuzzVideo, Pangle" in paths["placements[0]"]


def test_preview_with_a_source_not_created_yet(lookalikes: Driver, shares: Driver, source: str) -> None:
    _, failures = lookalikes.check(lookalike(UNKNOWN, audience_size="HUGE"), raw=True)
    assert [path for path, _ in failures] == ["audience_size"]  # the unknown source is no error
    olds = lookalikes.checked(lookalike(source))
    result = lookalikes.host.diff(
        lookalikes.urn,
        "1",
        olds,
        {**olds, "source_audience_id": UNKNOWN, PROVIDER_KEY: lookalikes.blob},
        raw=True,
    )
    assert (result.changes, result.replaces) == (DIFF_SOME, ["source_audience_id"])
    assert shares.check(share(UNKNOWN, [SECOND_ADVERTISER_ID]), raw=True)[1] == []


def test_create_sends_the_lookalike_spec_and_outputs_what_every_audience_has(
    lookalikes: Driver, emulator: Emulator, source: str
) -> None:
    id_, outs = lookalikes.create(
        lookalike(source, locations=[CA, US, US], audience_size="narrow", mobile_os="ios")
    )

    stored = live(emulator, id_)
    assert stored is not None
    assert stored["kind"] == "LOOKALIKE"
    assert stored["lookalike_spec"] == {
        "source_audience_id": source,
        "include_source": False,
        "mobile_os": "IOS",
        "placements": ["TikTok"],
        "location_ids": sorted([CA, US], key=int),
        "audience_size": "NARROW",
    }
    assert outs["audience_id"] == id_
    assert outs.get("size") is None  # None travels as an absent property
    assert outs["targetable"] is False  # not waited for: TikTok has not calculated it yet
    assert f"audience {source}" in outs["summary"]


def test_read_reports_size_once_calculated(lookalikes: Driver, emulator: Emulator, source: str) -> None:
    id_, outs = lookalikes.create(lookalike(source, name="read me"))
    emulator.clock.advance(LATER)

    read_id, refreshed, inputs = lookalikes.read(id_, outs)

    assert read_id == id_
    assert refreshed["size"] >= constants.TARGETABLE_MIN_SIZE
    assert refreshed["targetable"] is True
    assert inputs is not None
    assert inputs["source_audience_id"] == source


@pytest.mark.parametrize(
    ("change", "replaces"),
    [
        ({"name": "renamed"}, []),
        ({"refresh_trigger": "2026-11"}, []),
        ({"audience_size": "BROAD"}, ["audience_size"]),
        ({"locations": [US, CA]}, ["locations"]),
        ({"include_source": True}, ["include_source"]),
        ({"source_audience_id": "7300000000000000999"}, ["source_audience_id"]),
    ],
    ids=["rename", "refresh", "size", "locations", "include-source", "source"],
)
def test_diff_replaces_on_spec_changes_only(
    lookalikes: Driver, source: str, change: dict[str, Any], replaces: list[str]
) -> None:
    olds = {**lookalikes.checked(lookalike(source)), "audience_id": "1"}
    changes, replaced = lookalikes.diff("1", olds, lookalike(source, **change))
    assert changes == DIFF_SOME
    assert replaced == replaces


def test_diff_of_the_same_lookalike_written_differently_is_empty(lookalikes: Driver, source: str) -> None:
    olds = lookalikes.checked(lookalike(source, locations=[US, CA], mobile_os="ALL"))
    changes, _ = lookalikes.diff("1", olds, lookalike(source, locations=[CA, US, CA], placements=["tiktok"]))
    assert changes == DIFF_NONE


def test_update_renames_and_refreshes_in_place(
    lookalikes: Driver, emulator: Emulator, tiktok: TikTokClient, source: str
) -> None:
    id_, outs = lookalikes.create(lookalike(source, name="before"))
    emulator.clock.advance(LATER)

    lookalikes.update(id_, outs, lookalike(source, name="after", refresh_trigger="now"))

    detail = tiktok.get_audiences(DEFAULT_ADVERTISER_ID, [id_])[0]
    assert detail.name == "after"
    assert [h.action for h in detail.history][:1] == ["refresh"]
    assert detail.is_valid is False  # TikTok recalculates a refreshed lookalike


def test_delete_removes_the_lookalike_and_tolerates_one_already_gone(
    lookalikes: Driver, emulator: Emulator, tiktok: TikTokClient, source: str
) -> None:
    id_, outs = lookalikes.create(lookalike(source, name="doomed"))
    lookalikes.delete(id_, outs)
    assert live(emulator, id_) is None

    other_id, other_outs = lookalikes.create(lookalike(source, name="deleted in Ads Manager"))
    tiktok.delete_audiences(DEFAULT_ADVERTISER_ID, [other_id])
    lookalikes.delete(other_id, other_outs)
    assert lookalikes.read(other_id, other_outs)[0] == ""


def test_create_whose_answer_is_lost_finds_the_lookalike_instead_of_duplicating(
    lookalikes: Driver, emulator: Emulator, source: str
) -> None:
    emulator.inject_fault(constants.PATH_LOOKALIKE_CREATE, drop=True, count=1)

    id_, outs = lookalikes.create(lookalike(source, name="answer lost"))

    made = [a["audience_id"] for a in emulator.audiences() if a["name"] == "answer lost"]
    assert made == [id_]
    assert outs["audience_id"] == id_


def test_source_that_is_a_lookalike_is_refused_with_tiktoks_reason(
    lookalikes: Driver, emulator: Emulator, source: str
) -> None:
    first_id, _ = lookalikes.create(lookalike(source, name="first"))
    emulator.clock.advance(LATER)
    with pytest.raises(HostError) as refused:
        lookalikes.create(lookalike(first_id, name="second"))
    assert f"audience {first_id} is a lookalike audience" in refused.value.details
    assert "Nothing was created" in refused.value.details


def test_source_too_small_is_refused_with_tiktoks_reason(
    lookalikes: Driver, emulator: Emulator, tiktok: TikTokClient
) -> None:
    small = make_source(tiktok, "loan takers", event="LOAN DISBURSAL", days=1)  # ~20 people
    emulator.clock.advance(LATER)
    with pytest.raises(HostError) as refused:
        lookalikes.create(lookalike(small, name="too small"))
    assert f"at least {constants.LOOKALIKE_SOURCE_MIN_SIZE}" in refused.value.details
    assert [a for a in emulator.audiences() if a["name"] == "too small"] == []


def test_wait_until_targetable_waits_for_source_and_lookalike(
    lookalikes: Driver, emulator: Emulator, tiktok: TikTokClient
) -> None:
    fresh = make_source(tiktok, "fresh source")  # still being calculated

    id_, outs = lookalikes.create(lookalike(fresh, name="waited", wait_until_targetable=True))

    assert outs["targetable"] is True
    assert outs["size"] >= constants.TARGETABLE_MIN_SIZE
    assert live(emulator, id_) is not None


def test_wait_that_times_out_leaves_nothing_behind(
    lookalikes: Driver, emulator: Emulator, source: str
) -> None:
    emulator.clock.freeze()  # nothing is ever calculated
    try:
        with pytest.raises(HostError) as failed:
            lookalikes.create(
                lookalike(
                    source, name="never ready", wait_until_targetable=True, readiness_timeout_seconds=0.5
                )
            )
    finally:
        emulator.clock.unfreeze()
    assert "still being calculated" in failed.value.details
    assert "readiness_timeout_seconds" in failed.value.details
    assert "was deleted again" in failed.value.details
    assert [a for a in emulator.audiences() if a["name"] == "never ready"] == []


# --- AudienceShare --------------------------------------------------------------------------


@pytest.fixture
def audience(tiktok: TikTokClient, request: pytest.FixtureRequest) -> str:
    """An audience of this test's own to share."""
    return make_source(tiktok, f"shared {request.node.name}")


def shared_with(tiktok: TikTokClient, audience_id: str) -> set[str]:
    log = tiktok.share_log(DEFAULT_ADVERTISER_ID, audience_id)
    return {str(e.shared_advertiser_id) for e in log if e.status == "SHARED"}


def test_share_create_update_and_delete(shares: Driver, tiktok: TikTokClient, audience: str) -> None:
    id_, outs = shares.create(share(audience, [SECOND_ADVERTISER_ID]))
    assert id_ == f"{DEFAULT_ADVERTISER_ID}/{audience}"
    assert shared_with(tiktok, audience) == {SECOND_ADVERTISER_ID}

    news = share(audience, [THIRD_ADVERTISER_ID])
    changes, replaces = shares.diff(id_, outs, news)
    assert (changes, replaces) == (DIFF_SOME, [])
    outs = shares.update(id_, outs, news)
    assert shared_with(tiktok, audience) == {THIRD_ADVERTISER_ID}

    shares.delete(id_, outs)
    assert shared_with(tiktok, audience) == set()


def test_share_cancelled_in_ads_manager_is_drift(shares: Driver, tiktok: TikTokClient, audience: str) -> None:
    both = [SECOND_ADVERTISER_ID, THIRD_ADVERTISER_ID]
    id_, outs = shares.create(share(audience, both))
    tiktok.cancel_share(DEFAULT_ADVERTISER_ID, audience, THIRD_ADVERTISER_ID)

    read_id, refreshed, _ = shares.read(id_, outs)
    assert read_id == id_
    assert refreshed["shared_advertiser_ids"] == [SECOND_ADVERTISER_ID]
    changes, _ = shares.diff(id_, refreshed, share(audience, both))
    assert changes == DIFF_SOME
    shares.update(id_, refreshed, share(audience, both))
    assert shared_with(tiktok, audience) == set(both)

    tiktok.cancel_share(DEFAULT_ADVERTISER_ID, audience, SECOND_ADVERTISER_ID)
    tiktok.cancel_share(DEFAULT_ADVERTISER_ID, audience, THIRD_ADVERTISER_ID)
    assert shares.read(id_, outs)[0] == ""  # every share cancelled: gone, the next up shares again
    shares.delete(id_, outs)  # cancelling what is already cancelled is done


def test_share_with_another_business_center_is_refused(
    shares: Driver, tiktok: TikTokClient, audience: str
) -> None:
    with pytest.raises(HostError) as refused:
        shares.create(share(audience, [SECOND_ADVERTISER_ID, OTHER_BC_ADVERTISER_ID]))
    assert "not in the same Business Center" in refused.value.details
    assert shared_with(tiktok, audience) == set()


def test_share_check_enforces_tiktoks_limits(shares: Driver, audience: str) -> None:
    _, failures = shares.check(share(audience, []))
    assert [path for path, _ in failures] == ["shared_advertiser_ids"]
    eleven = [str(7100000000000000000 + i) for i in range(constants.SHARE_ADVERTISERS_MAX + 1)]
    _, failures = shares.check(share(audience, eleven))
    assert [path for path, _ in failures] == ["shared_advertiser_ids"]
    assert "1 to 10" in failures[0][1]
    _, failures = shares.check(share(audience, [DEFAULT_ADVERTISER_ID]))
    assert [path for path, _ in failures] == ["shared_advertiser_ids"]
    assert "owns the audience" in failures[0][1]


def test_changing_the_audience_replaces_the_share(shares: Driver, audience: str) -> None:
    olds = shares.checked(share(audience, [SECOND_ADVERTISER_ID]))
    changes, replaces = shares.diff("x", olds, share("7300000000000000999", [SECOND_ADVERTISER_ID]))
    assert (changes, replaces) == (DIFF_SOME, ["audience_id"])
