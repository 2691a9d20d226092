"""Create, read, update, delete and adoption through the real provider host, against the emulator.

Each test declares its own audience name, so tests sharing the module's emulator stay independent.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    OTHER_BC_APP_ID,
    Emulator,
    RunningServer,
)
from pulumi_tiktok_audiences.spec import AudienceSpec
from tests.contract.helpers import COMPUTED, PROVIDER_KEY, README_SUMMARY, Engine, declared, rule
from tests.harness.host import HostError

DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME


@pytest.fixture(scope="module")
def tiktok(server: RunningServer) -> Iterator[TikTokClient]:
    """A second TikTok user: changes made "in Ads Manager", outside Pulumi."""
    with TikTokClient(DEFAULT_TOKEN, base_url=server.url) as client:
        yield client


@pytest.fixture
def name(request: pytest.FixtureRequest) -> str:
    return f"audience {request.node.name}"


def calls(emulator: Emulator, path: str) -> int:
    return emulator.request_counts().get(path, 0)


def live(emulator: Emulator, audience_id: str) -> dict[str, Any] | None:
    return next(
        (a for a in emulator.audiences(DEFAULT_ADVERTISER_ID) if a["audience_id"] == audience_id), None
    )


def named(emulator: Emulator, name: str) -> list[dict[str, Any]]:
    return [a for a in emulator.audiences(DEFAULT_ADVERTISER_ID) if a["name"] == name]


def create_directly(tiktok: TikTokClient, engine: Engine, **overrides: Any) -> str:
    """An audience made outside Pulumi from a declaration's exact payload."""
    spec = AudienceSpec.model_validate(
        {k: v for k, v in engine.checked(declared(**overrides)).items() if k != PROVIDER_KEY}
    )
    return tiktok.create_rule_audience(spec.to_create_payload())


# --- create ---------------------------------------------------------------------------------------


def test_create_makes_one_audience_and_echoes_every_input(
    engine: Engine, emulator: Emulator, name: str
) -> None:
    before = calls(emulator, constants.PATH_RULE_CREATE)
    checked = engine.checked(declared(name=name))
    id_, outs = engine.create(declared(name=name))

    assert calls(emulator, constants.PATH_RULE_CREATE) == before + 1
    assert outs["audience_id"] == id_
    assert outs.get("size") is None  # None travels as an absent property
    assert outs["targetable"] is False
    assert outs["summary"] == README_SUMMARY
    assert {k: v for k, v in outs.items() if k not in COMPUTED} == checked
    audience = live(emulator, id_)
    assert audience is not None
    assert audience["name"] == name
    rules = audience["rule_spec"]["inclusion_rule_set"]["rules"]
    assert [(r["retention_days"], r["filter_set"]["filters"][0]["value"]) for r in rules] == [
        (30, "PURCHASE")
    ]


def test_create_with_wait_until_targetable_returns_a_targetable_audience(
    engine: Engine, emulator: Emulator, name: str
) -> None:
    id_, outs = engine.create(declared(name=name, wait_until_targetable=True, readiness_timeout_seconds=10))

    assert outs["targetable"] is True
    assert outs["size"] >= constants.TARGETABLE_MIN_SIZE
    assert [a["audience_id"] for a in named(emulator, name)] == [id_]


def test_create_whose_answer_is_lost_adopts_instead_of_duplicating(
    engine: Engine, emulator: Emulator, name: str
) -> None:
    emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, count=1)
    before = calls(emulator, constants.PATH_RULE_CREATE)

    id_, outs = engine.create(declared(name=name))

    assert [a["audience_id"] for a in named(emulator, name)] == [id_]
    assert calls(emulator, constants.PATH_RULE_CREATE) == before + 1
    assert outs["audience_id"] == id_


def test_create_refused_by_tiktok_says_why_and_that_nothing_was_created(
    engine: Engine, emulator: Emulator, name: str
) -> None:
    with pytest.raises(HostError) as caught:
        engine.create(declared(name=name, app_ids=[OTHER_BC_APP_ID]))
    details = caught.value.details
    assert "[40001]" in details  # TikTok's code and message
    assert f"app {OTHER_BC_APP_ID} does not belong to advertiser" in details
    assert "Nothing was created" in details
    assert named(emulator, name) == []


# --- read -----------------------------------------------------------------------------------------


def test_read_refreshes_outputs_of_an_unchanged_audience(engine: Engine, name: str) -> None:
    id_, outs = engine.create(declared(name=name))

    read_id, new_outs, inputs = engine.read(id_, outs)

    assert read_id == id_
    assert new_outs["is_valid"] is True
    assert isinstance(new_outs["size"], int | float)
    assert new_outs["size"] >= constants.TARGETABLE_MIN_SIZE  # PURCHASE in 30 days: ~15,000 people
    assert new_outs["targetable"] is True
    assert isinstance(new_outs["expire_time"], str)
    assert {k: v for k, v in new_outs.items() if k not in COMPUTED} == {
        k: v for k, v in outs.items() if k not in COMPUTED
    }
    assert inputs == {k: v for k, v in outs.items() if k not in COMPUTED}


def test_read_after_a_rename_in_ads_manager_reports_the_live_name(
    engine: Engine, tiktok: TikTokClient, name: str
) -> None:
    id_, outs = engine.create(declared(name=name))
    tiktok.rename_audience(DEFAULT_ADVERTISER_ID, id_, "Renamed in Ads Manager")

    read_id, new_outs, inputs = engine.read(id_, outs)

    assert read_id == id_
    assert new_outs["name"] == "Renamed in Ads Manager"
    assert inputs is not None
    assert inputs["name"] == "Renamed in Ads Manager"
    diff = engine.diff(id_, new_outs, declared(name=name))
    assert (diff.changes, diff.replaces) == (DIFF_SOME, [])


def test_read_of_an_audience_deleted_outside_pulumi_returns_no_id(
    engine: Engine, tiktok: TikTokClient, name: str
) -> None:
    id_, outs = engine.create(declared(name=name))
    tiktok.delete_audiences(DEFAULT_ADVERTISER_ID, [id_])

    assert engine.read(id_, outs)[0] == ""


def test_read_of_an_expired_audience_returns_no_id(engine: Engine, emulator: Emulator, name: str) -> None:
    id_, outs = engine.create(declared(name=name, retention_in_days=1))
    emulator.clock.advance(2 * 86_400)
    try:
        assert engine.read(id_, outs)[0] == ""
    finally:
        emulator.clock.advance(-2 * 86_400)


# --- update ---------------------------------------------------------------------------------------


def test_update_renames_in_place(engine: Engine, emulator: Emulator, name: str) -> None:
    id_, outs = engine.create(declared(name=name))
    before = calls(emulator, constants.PATH_RULE_CREATE)

    new_outs = engine.update(id_, outs, declared(name=f"{name} (renamed)"))

    assert new_outs["audience_id"] == id_
    assert new_outs["name"] == f"{name} (renamed)"
    audience = live(emulator, id_)
    assert audience is not None
    assert audience["name"] == f"{name} (renamed)"
    assert calls(emulator, constants.PATH_RULE_CREATE) == before


def test_update_moves_normal_to_reach_frequency_in_place(
    engine: Engine, emulator: Emulator, name: str
) -> None:
    id_, outs = engine.create(declared(name=name))

    new_outs = engine.update(id_, outs, declared(name=name, audience_sub_type="REACH_FREQUENCY"))

    assert new_outs["audience_sub_type"] == "REACH_FREQUENCY"
    audience = live(emulator, id_)
    assert audience is not None
    assert audience["audience_sub_type"] == "REACH_FREQUENCY"


# --- delete ---------------------------------------------------------------------------------------


def test_delete_deletes_and_deleting_again_succeeds(engine: Engine, emulator: Emulator, name: str) -> None:
    id_, outs = engine.create(declared(name=name))

    engine.delete(id_, outs)
    assert live(emulator, id_) is None
    engine.delete(id_, outs)  # already gone: done


def test_delete_refused_by_tiktok_fails_with_its_reason_and_keeps_the_audience(
    engine: Engine, emulator: Emulator, name: str
) -> None:
    id_, outs = engine.create(declared(name=name))
    emulator.inject_fault(constants.PATH_DELETE, code=constants.CODE_PARAM_ERROR, count=1)

    with pytest.raises(HostError) as caught:
        engine.delete(id_, outs)

    assert "[40002] injected fault" in caught.value.details
    assert "stays in the stack" in caught.value.details
    assert live(emulator, id_) is not None


# --- adoption -------------------------------------------------------------------------------------


def test_adopting_a_matching_audience_takes_it_over_without_creating(
    engine: Engine, emulator: Emulator, tiktok: TikTokClient, name: str
) -> None:
    existing = create_directly(tiktok, engine, name=name)
    before = calls(emulator, constants.PATH_RULE_CREATE)

    id_, outs = engine.create(declared(name=name, adopt_audience_id=existing))

    assert id_ == existing
    assert outs["audience_id"] == existing
    assert outs["adopt_audience_id"] == existing
    assert calls(emulator, constants.PATH_RULE_CREATE) == before
    assert len(named(emulator, name)) == 1


def test_adopting_renames_when_only_the_name_differs(
    engine: Engine, emulator: Emulator, tiktok: TikTokClient, name: str
) -> None:
    existing = create_directly(tiktok, engine, name="made by hand")

    id_, _ = engine.create(declared(name=name, adopt_audience_id=existing))

    assert id_ == existing
    audience = live(emulator, existing)
    assert audience is not None
    assert audience["name"] == name


def test_adopting_an_audience_with_other_rules_fails_listing_the_difference(
    engine: Engine, emulator: Emulator, tiktok: TikTokClient, name: str
) -> None:
    existing = create_directly(tiktok, engine, name=name, include=[rule("ADD_TO_CART", 14)])
    before = calls(emulator, constants.PATH_RULE_CREATE)

    with pytest.raises(HostError) as caught:
        engine.create(declared(name=name, adopt_audience_id=existing))

    details = caught.value.details
    assert f"adopt_audience_id {existing} does not match" in details
    assert "added to cart in app 6400000001 in the last 14 days" in details  # what TikTok has
    assert "purchased in app 6400000001 in the last 30 days" in details  # what was declared
    assert calls(emulator, constants.PATH_RULE_CREATE) == before


def test_adopting_a_nonexistent_audience_fails_clearly(engine: Engine, name: str) -> None:
    with pytest.raises(HostError) as caught:
        engine.create(declared(name=name, adopt_audience_id="7399999999999999999"))
    assert "adopt_audience_id 7399999999999999999" in caught.value.details
    assert "no such audience" in caught.value.details
