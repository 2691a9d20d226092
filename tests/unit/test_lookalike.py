"""The lookalike and share specs (lookalike.py) and the readiness polling (readiness.py)."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pydantic import ValidationError

import pulumi_tiktok_audiences.client as client_package
from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import AudienceDetail, LookalikeSpec, TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_SEED,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    SECOND_ADVERTISER_ID,
    Clock,
    Emulator,
    PopulationConfig,
    Seed,
)
from pulumi_tiktok_audiences.errors import OperationError
from pulumi_tiktok_audiences.lookalike import LookalikeAudienceSpec, LookalikeOptions, ShareSpec
from pulumi_tiktok_audiences.provider import Lookalike
from pulumi_tiktok_audiences.providers.lookalike import declared_lookalike
from pulumi_tiktok_audiences.readiness import NotReadyError, audience_size, is_targetable, wait_until
from pulumi_tiktok_audiences.reading import UnreadableAnswerError
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from pulumi_tiktok_audiences.spec import AudienceSpec, error_paths
from tests.openapi_schema import load_operation

SOURCE = "7300000000000000001"


def spec(**overrides: Any) -> dict[str, Any]:
    return {
        "advertiser_id": DEFAULT_ADVERTISER_ID,
        "name": "Buyers lookalike",
        "source_audience_id": SOURCE,
        "locations": ["6252001"],
        "audience_size": "BALANCED",
        **overrides,
    }


def failures(model: type[LookalikeAudienceSpec | ShareSpec | LookalikeOptions], data: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as exc:
        model.model_validate(data)
    return dict(error_paths(exc.value))


# --- lookalike spec ---------------------------------------------------------------------------


def test_defaults_follow_tiktoks_tables() -> None:
    parsed = LookalikeAudienceSpec.model_validate(spec())
    assert parsed.mobile_os == constants.LOOKALIKE_MOBILE_OS[0] == "ALL"
    assert parsed.placements == ["TikTok"]
    assert parsed.include_source is False
    assert parsed.audience_sub_type == "NORMAL"


def test_create_payload_matches_tiktoks_schema() -> None:
    payload = LookalikeAudienceSpec.model_validate(
        spec(placements=["Pangle", "TikTok"], include_source=True, mobile_os="android")
    ).to_create_payload()
    assert load_operation("dmp_custom_audience_lookalike_create").body_errors(payload) == []
    assert payload["lookalike_spec"]["placements"] == ["TikTok", "Pangle"]  # TikTok's table order
    assert payload["lookalike_spec"]["mobile_os"] == "ANDROID"


def test_create_sends_only_documented_fields_and_a_lookalike_is_normal_only() -> None:
    payload = LookalikeAudienceSpec.model_validate(spec(audience_sub_type="normal")).to_create_payload()
    assert "audience_sub_type" not in payload  # Y:lookalike_create has no such field (reference §6.4)
    found = failures(LookalikeAudienceSpec, spec(audience_sub_type="REACH_FREQUENCY"))
    assert list(found) == ["audience_sub_type"]
    assert "can only be NORMAL" in found["audience_sub_type"]
    assert "lookalike/create takes no audience_sub_type" in found["audience_sub_type"]


@pytest.mark.parametrize(
    "reported",
    [
        {  # the documented names (Y:get response_rule)
            "source_audience_id": SOURCE,
            "include_source": False,
            "mobile_os": "ALL",
            "placements": ["TikTok"],
            "location_ids": ["2", "10"],
            "audience_size": "BROAD",
        },
        {  # the backend's names and types (Y:lookalike_create x-open-source and codes)
            "seed_id": int(SOURCE),
            "is_contain_seed": 0,
            "platform": "all",
            "app_names": "TikTok",
            "country_ids": [10, 2],
            "lookalike_num": 30,
        },
    ],
    ids=["documented", "backend"],
)
def test_a_lookalike_reads_back_under_either_naming(reported: dict[str, Any]) -> None:
    declared = LookalikeAudienceSpec.model_validate(spec(locations=["2", "10"], audience_size="broad"))
    assert declared.mismatches(LookalikeSpec.model_validate(reported)) == []
    other = LookalikeSpec.model_validate({**reported, "lookalike_num": 10, "audience_size": "NARROW"})
    assert declared.mismatches(other) == ["audience_size: TikTok has 'NARROW', declared 'BROAD'"]


@pytest.mark.parametrize(
    ("reported", "what"),
    [
        ({"seed_id": SOURCE, "lookalike_num": 30, "country_ids": ["2"]}, "does not report mobile_os"),
        (
            {"seed_id": SOURCE, "lookalike_num": 40, "country_ids": ["2"], "platform": "ALL"}
            | {"app_names": ["TikTok"], "is_contain_seed": False},
            "audience_size",
        ),
    ],
)
def test_a_lookalike_report_that_cannot_be_read_is_never_matched(reported: dict[str, Any], what: str) -> None:
    declared = LookalikeAudienceSpec.model_validate(spec())
    with pytest.raises(UnreadableAnswerError, match=what):
        declared.mismatches(LookalikeSpec.model_validate(reported))


def test_an_answer_with_several_lookalike_specs_matches_when_any_is_the_declared_one() -> None:
    """TikTok's files disagree on one lookalike_spec object or a list (Q12): in a list, any entry may
    be the declared one, and none matching means another lookalike."""
    matches = declared_lookalike(LookalikeAudienceSpec.model_validate(spec(audience_size="BROAD"))).matches
    ours = {
        "source_audience_id": SOURCE,
        "include_source": False,
        "mobile_os": "ALL",
        "placements": ["TikTok"],
        "location_ids": ["6252001"],
        "audience_size": "BROAD",
    }
    narrow, elsewhere = {**ours, "audience_size": "NARROW"}, {**ours, "location_ids": ["2"]}

    def answer(*specs: dict[str, Any]) -> AudienceDetail:
        return AudienceDetail.model_validate(
            {"audience_id": "7300000000000000009", "type": "Lookalike", "lookalike_spec": list(specs)}
        )

    assert matches(answer(narrow, ours))
    assert matches(answer(ours, elsewhere))
    assert not matches(answer(narrow, elsewhere))
    rule_audience = AudienceDetail.model_validate(
        {"audience_id": "7300000000000000010", "type": "App Activity", "lookalike_spec": [ours]}
    )
    assert not matches(rule_audience)  # the declared settings, but not a lookalike


def test_one_lookalike_written_differently_is_one_spec() -> None:
    a = LookalikeAudienceSpec.model_validate(spec(locations=["2", "10", "2"], audience_size="broad"))
    b = LookalikeAudienceSpec.model_validate(spec(locations=[10, "02"], audience_size="BROAD"))
    assert a == b
    assert a.locations == ["2", "10"]


@pytest.mark.parametrize(
    ("overrides", "path", "fragment"),
    [
        ({"locations": []}, "locations", "at least 1 location id"),
        ({"locations": ["US"]}, "locations[0]", "a location id must be a positive whole number"),
        ({"audience_size": "HUGE"}, "audience_size", "NARROW, BALANCED, BROAD"),
        ({"mobile_os": "WINDOWS"}, "mobile_os", "ALL, ANDROID, IOS"),
        ({"placements": ["Facebook"]}, "placements[0]", "TikTok, TopBuzz & BuzzVideo, Pangle"),
        ({"placements": []}, "placements", "at least 1 placement"),
        ({"source_audience_id": "aud-1"}, "source_audience_id", "an audience id"),
        ({"name": " "}, "name", "not blank"),
        ({"include_source": "yes"}, "include_source", "boolean"),
        ({"audience_sub_type": "RF"}, "audience_sub_type", "NORMAL, REACH_FREQUENCY"),
    ],
)
def test_invalid_fields_are_named_by_path(overrides: dict[str, Any], path: str, fragment: str) -> None:
    found = failures(LookalikeAudienceSpec, spec(**overrides))
    assert list(found) == [path]
    assert fragment.lower() in found[path].lower()


def test_unknown_field_suggests_the_intended_one() -> None:
    found = failures(LookalikeAudienceSpec, {**spec(), "location_ids": ["1"]})
    assert "did you mean 'locations'?" in found["location_ids"]


def test_replacement_key_ignores_the_name_only() -> None:
    base = LookalikeAudienceSpec.model_validate(spec())
    renamed = LookalikeAudienceSpec.model_validate(spec(name="Other"))
    broader = LookalikeAudienceSpec.model_validate(spec(audience_size="BROAD"))
    assert base.replacement_key() == renamed.replacement_key()
    assert base.replacement_key() != broader.replacement_key()


def test_summary_names_source_size_and_places() -> None:
    text = LookalikeAudienceSpec.model_validate(
        spec(locations=["1", "2"], mobile_os="IOS", include_source=True)
    ).summary()
    assert text == (
        f"People similar to audience {SOURCE} (balanced lookalike) in locations 1 and 2, on iOS devices, "
        "placements TikTok, source audience included."
    )


def test_options_refuse_a_non_positive_timeout() -> None:
    assert "readiness_timeout_seconds" in failures(LookalikeOptions, {"readiness_timeout_seconds": 0})


# --- share spec -------------------------------------------------------------------------------


def test_share_canonical_and_id() -> None:
    share = ShareSpec.model_validate(
        {"advertiser_id": 1, "audience_id": "5", "shared_advertiser_ids": ["30", "4", "4"]}
    )
    assert share.shared_advertiser_ids == ["4", "30"]
    assert share.share_id() == "1/5"


@pytest.mark.parametrize(
    ("advertisers", "fragment"),
    [
        ([], "1 to 10"),
        ([str(100 + i) for i in range(constants.SHARE_ADVERTISERS_MAX + 1)], "1 to 10"),
        ([DEFAULT_ADVERTISER_ID], "owns the audience"),
    ],
    ids=["none", "eleven", "owner"],
)
def test_share_limits(advertisers: list[str], fragment: str) -> None:
    found = failures(
        ShareSpec,
        {"advertiser_id": DEFAULT_ADVERTISER_ID, "audience_id": SOURCE, "shared_advertiser_ids": advertisers},
    )
    assert list(found) == ["shared_advertiser_ids"]
    assert fragment in found["shared_advertiser_ids"]


# --- readiness --------------------------------------------------------------------------------


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    population = PopulationConfig(calculating_seconds=100, growth_seconds=100)
    seed = Seed(tokens=DEFAULT_SEED.tokens, advertisers=DEFAULT_SEED.advertisers, population=population)
    with Emulator(seed=seed, clock=Clock(1_700_000_000, frozen=True)) as instance:
        yield instance


@pytest.fixture
def client(emulator: Emulator) -> Iterator[TikTokClient]:
    with TikTokClient(DEFAULT_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as c:
        yield c


def buyers(client: TikTokClient) -> str:
    spec = AudienceSpec.model_validate(
        {
            "advertiser_id": DEFAULT_ADVERTISER_ID,
            "name": "buyers",
            "app_ids": [DEFAULT_APP_ID],
            "include": [{"event": "PURCHASE", "lookback_days": 30}],
        }
    )
    return client.create_rule_audience(spec.to_create_payload())


def test_size_is_unknown_while_calculating_then_grows(client: TikTokClient, emulator: Emulator) -> None:
    audience_id = buyers(client)
    calculating = audience_size(client, DEFAULT_ADVERTISER_ID, audience_id)
    assert (calculating.size, calculating.is_valid, calculating.targetable) == (None, False, False)
    emulator.clock.advance(1_000)
    done = audience_size(client, DEFAULT_ADVERTISER_ID, audience_id)
    assert done.is_valid
    assert done.targetable
    assert done.size is not None
    assert done.size >= constants.TARGETABLE_MIN_SIZE


def test_wait_polls_until_targetable(client: TikTokClient, emulator: Emulator) -> None:
    audience_id = buyers(client)
    pauses: list[float] = []

    def sleep(seconds: float) -> None:  # the emulator's time passes while the caller sleeps
        pauses.append(seconds)
        emulator.clock.advance(60)

    size = wait_until(
        client,
        DEFAULT_ADVERTISER_ID,
        audience_id,
        is_targetable,
        timeout_seconds=3600,
        what="buyers",
        sleep=sleep,
        clock=lambda: 0.0,
    )
    assert size.targetable
    assert len(pauses) >= 2  # calculating for 100 s: at least two polls of 60 s
    assert pauses == sorted(pauses)  # polls slow down, never speed up


def test_wait_gives_up_at_the_deadline_with_the_last_size(client: TikTokClient) -> None:
    audience_id = buyers(client)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(NotReadyError) as failed:
        wait_until(
            client,
            DEFAULT_ADVERTISER_ID,
            audience_id,
            is_targetable,
            timeout_seconds=10,
            what="buyers to be targetable",
            sleep=sleep,
            clock=lambda: now[0],
        )
    assert now[0] == 10  # never sleeps past the deadline
    assert failed.value.last.size is None
    assert "Waited 10 s for buyers to be targetable" in str(failed.value)
    assert "still being calculated" in str(failed.value)


def test_size_of_an_audience_the_advertiser_lacks_is_an_error(client: TikTokClient) -> None:
    audience_id = buyers(client)
    with pytest.raises(OperationError, match=f"Advertiser {SECOND_ADVERTISER_ID} has no audience"):
        audience_size(client, SECOND_ADVERTISER_ID, audience_id)


# --- the provider -------------------------------------------------------------------------------


def test_a_read_after_renaming_a_lookalike_reports_the_new_name(
    client: TikTokClient, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refresh answers reads from one listing of the advertiser (cache.py); a lookalike renamed
    since that listing is read from TikTok, not from it."""
    monkeypatch.setattr(
        client_package, "TikTokClient", functools.partial(TikTokClient, transport=emulator.transport())
    )
    provider = Lookalike()
    provider.configure(
        ConfigureRequest(Config({TOKEN_KEY: DEFAULT_TOKEN, ENDPOINT_KEY: IN_PROCESS_BASE_URL}, "p"))
    )
    source = buyers(client)
    emulator.clock.advance(1_000)  # calculated

    def created(**overrides: Any) -> tuple[str, dict[str, Any]]:
        result = provider.create(provider.check({}, spec(source_audience_id=source, **overrides)).inputs)
        assert result.outs is not None
        return str(result.id), dict(result.outs)

    other, other_outs = created(name="other", audience_size="BROAD")
    id_, outs = created(name="before")
    provider.read(other, other_outs)  # the listing holds "before"
    provider.update(id_, outs, provider.check(outs, {**outs, "name": "after"}).inputs)
    emulator.reset_request_counts()
    assert provider.read(id_, outs).outs["name"] == "after"
    assert emulator.request_counts()[constants.PATH_LIST] == 1  # asked for by id
