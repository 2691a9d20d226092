"""Audience life cycle on the controlled clock: calculating, growing, targetable or not, expiring."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    SECOND_ADVERTISER_ID,
    Emulator,
    PopulationConfig,
    population,
)
from pulumi_tiktok_audiences.emulator.clock import TIME_FORMAT
from tests.emulator.helpers import Api, rule

A1 = DEFAULT_ADVERTISER_ID
DAY = 86_400


def parse(text: str) -> datetime:
    return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)


def test_audience_calculates_then_grows_to_a_targetable_size(api: Api, emulator: Emulator) -> None:
    timing = emulator.seed.population
    audience_id = api.create(include=[rule("PURCHASE", 30)])
    first = api.details(audience_id)
    assert (first["is_valid"], first["cover_num"]) == (False, 0)
    emulator.clock.advance(timing.calculating_seconds)
    sizes = [api.details(audience_id)["cover_num"]]
    assert api.details(audience_id)["is_valid"] is True
    for _ in range(4):
        emulator.clock.advance(timing.growth_seconds / 4)
        sizes.append(api.details(audience_id)["cover_num"])
    assert 0 < sizes[0] < sizes[-1]
    assert sizes == sorted(sizes)
    assert sizes[-1] >= c.TARGETABLE_MIN_SIZE
    emulator.clock.advance(30 * DAY)
    assert api.details(audience_id)["cover_num"] == sizes[-1]  # full size reached, stays
    (listed,) = api.listing()["list"]
    assert (listed["cover_num"], listed["is_valid"]) == (sizes[-1], True)


def test_rare_event_audience_is_never_targetable(api: Api, emulator: Emulator) -> None:
    audience_id = api.create(include=[rule("LOAN DISBURSAL", 30)])
    for _ in range(3):
        emulator.clock.advance(100 * DAY)
        details = api.details(audience_id)
        assert details["is_valid"] is True
        assert 0 < details["cover_num"] < c.TARGETABLE_MIN_SIZE


def test_size_is_deterministic_and_grows_with_the_rule(emulator: Emulator) -> None:
    def size(*rules: dict[str, object], exclude: list[dict[str, object]] | None = None) -> int:
        spec: dict[str, object] = {"inclusion_rule_set": {"operator": "OR", "rules": list(rules)}}
        if exclude:
            spec["exclusion_rule_set"] = {"operator": "OR", "rules": exclude}
        return population.app_audience_size(A1, spec)

    assert size(rule("PURCHASE", 30)) == size(rule("PURCHASE", 30))
    assert size(rule("PURCHASE", 60)) > size(rule("PURCHASE", 30))
    assert size(rule("PURCHASE", 30), rule("INSTALL", 30)) > size(rule("PURCHASE", 30))
    assert size(rule("INSTALL", 30)) > size(rule("PURCHASE", 30)) > size(rule("LOAN APPLY", 30))
    assert 0 < size(rule("PURCHASE", 30), exclude=[rule("PURCHASE", 7)]) < size(rule("PURCHASE", 30))
    assert population.app_audience_size(
        SECOND_ADVERTISER_ID, {"inclusion_rule_set": {"rules": [rule()]}}
    ) != size(rule())


@pytest.mark.parametrize("event", sorted(population.RARE_EVENTS))
def test_rare_events_stay_under_the_targeting_minimum_for_a_month(event: str) -> None:
    for advertiser in range(50):
        spec = {
            "inclusion_rule_set": {
                "operator": "OR",
                "rules": [rule(event, 30, apps=[str(6400000000 + advertiser)])],
            }
        }
        assert (
            population.app_audience_size(str(7000000000000000000 + advertiser), spec) < c.TARGETABLE_MIN_SIZE
        )


def test_every_app_event_has_a_size() -> None:
    assert (population.BROAD_EVENTS | population.RARE_EVENTS).issubset(c.APP_EVENTS)
    assert all(population.daily_users(event) > 0 for event in c.APP_EVENTS)


def test_population_timing_is_configurable() -> None:
    config = PopulationConfig(calculating_seconds=10, growth_seconds=0)
    assert population.cover(5000, 0, 9.9, config) == (False, 0)
    assert population.cover(5000, 0, 10, config) == (True, 5000)


# --- expiry -------------------------------------------------------------------------------


def test_retention_in_days_sets_a_fixed_expiry(api: Api, emulator: Emulator) -> None:
    audience_id = api.create(retention_in_days=10)
    details = api.details(audience_id)
    assert parse(details["expired_time"]) - parse(details["create_time"]) == timedelta(days=10)
    assert details["is_expiring"] is True  # 10 days left, within 60
    emulator.clock.advance(5 * DAY)
    api.ok(
        "POST",
        c.PATH_UPDATE,
        {"advertiser_id": A1, "custom_audience_id": audience_id, "custom_audience_name": "r"},
    )
    assert api.details(audience_id)["expired_time"] == details["expired_time"]  # not reset by changes
    emulator.clock.advance(5 * DAY)
    expired = api.details(audience_id)
    assert (expired["is_valid"], expired["cover_num"]) == (False, 0)


def test_unused_audience_expires_a_year_after_its_last_change(api: Api, emulator: Emulator) -> None:
    audience_id = api.create()
    details = api.details(audience_id)
    assert parse(details["expired_time"]) - parse(details["create_time"]) == timedelta(
        days=c.UNUSED_EXPIRY_DAYS
    )
    assert details["is_expiring"] is False
    emulator.clock.advance((c.UNUSED_EXPIRY_DAYS - c.EXPIRING_WITHIN_DAYS - 1) * DAY)
    assert api.details(audience_id)["is_expiring"] is False
    emulator.clock.advance(2 * DAY)
    assert api.details(audience_id)["is_expiring"] is True
    api.ok(
        "POST",
        c.PATH_UPDATE,
        {"advertiser_id": A1, "custom_audience_id": audience_id, "custom_audience_name": "r"},
    )
    renamed = api.details(audience_id)
    assert renamed["is_expiring"] is False
    now = datetime.fromtimestamp(emulator.clock.time(), UTC).replace(microsecond=0)
    assert parse(renamed["expired_time"]) == now + timedelta(days=c.UNUSED_EXPIRY_DAYS)


def test_sharing_resets_the_expiry_clock(api: Api, emulator: Emulator) -> None:
    audience_id = api.create()
    before = api.details(audience_id)["expired_time"]
    emulator.clock.advance(DAY)
    api.ok(
        "POST",
        c.PATH_SHARE,
        {
            "advertiser_id": A1,
            "custom_audience_ids": [audience_id],
            "shared_advertiser_ids": [SECOND_ADVERTISER_ID],
        },
    )
    assert parse(api.details(audience_id)["expired_time"]) - parse(before) == timedelta(days=1)


def test_expired_audience_can_only_be_deleted(api: Api, emulator: Emulator) -> None:
    audience_id = api.create(include=[rule("INSTALL", 30)])
    emulator.clock.advance(c.UNUSED_EXPIRY_DAYS * DAY)
    (listed,) = api.listing()["list"]
    assert (listed["is_valid"], listed["cover_num"], listed["is_expiring"]) == (False, 0, True)
    refused = [
        (
            c.PATH_UPDATE,
            {"advertiser_id": A1, "custom_audience_id": audience_id, "custom_audience_name": "x"},
        ),
        (
            c.PATH_SHARE,
            {
                "advertiser_id": A1,
                "custom_audience_ids": [audience_id],
                "shared_advertiser_ids": [SECOND_ADVERTISER_ID],
            },
        ),
        (
            c.PATH_LOOKALIKE_CREATE,
            {
                "advertiser_id": A1,
                "custom_audience_name": "lal",
                "lookalike_spec": {
                    "source_audience_id": audience_id,
                    "include_source": True,
                    "mobile_os": "ALL",
                    "placements": ["TikTok"],
                    "location_ids": ["6252001"],
                    "audience_size": "NARROW",
                },
            },
        ),
    ]
    for path, body in refused:
        answer = api.post(path, body)
        assert answer["code"] == c.CODE_PARAM_ERROR
        assert "expired" in answer["message"]
    api.ok("POST", c.PATH_DELETE, {"advertiser_id": A1, "custom_audience_ids": [audience_id]})
    assert api.listing()["list"] == []


# --- history ------------------------------------------------------------------------------


def test_history_is_newest_first_and_limited_by_history_size(api: Api, emulator: Emulator) -> None:
    audience_id = api.create(name="v0")
    for version in range(1, 4):
        emulator.clock.advance(60)
        api.ok(
            "POST",
            c.PATH_UPDATE,
            {"advertiser_id": A1, "custom_audience_id": audience_id, "custom_audience_name": f"v{version}"},
        )
    query = {"advertiser_id": A1, "custom_audience_ids": [audience_id]}
    history = api.ok("GET", c.PATH_GET, query)["list"][0]["audience_history"]
    assert [h["action"] for h in history] == ["update name"] * 3 + ["create"]
    assert [h["opt_time"] for h in history] == sorted((h["opt_time"] for h in history), reverse=True)
    assert {h["editor"] for h in history} == {"open_api"}
    limited = api.ok("GET", c.PATH_GET, {**query, "history_size": 2})["list"][0]["audience_history"]
    assert limited == history[:2]
