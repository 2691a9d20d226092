"""Every endpoint's happy path and business errors, through both front doors."""

from __future__ import annotations

import json

import pytest

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    OTHER_BC_ADVERTISER_ID,
    SECOND_ADVERTISER_ID,
    THIRD_ADVERTISER_ID,
    Emulator,
)
from tests.emulator.helpers import TIME, Api, create_body, lookalike_body, rule

A1, A2, A3, A9 = DEFAULT_ADVERTISER_ID, SECOND_ADVERTISER_ID, THIRD_ADVERTISER_ID, OTHER_BC_ADVERTISER_ID
LIST_FIELDS = {
    "audience_id",
    "name",
    "audience_type",
    "cover_num",
    "is_valid",
    "is_expiring",
    "expired_time",
    "create_time",
    "shared",
    "is_creator",
    "calculate_type",
}
DETAIL_FIELDS = (LIST_FIELDS - {"audience_type"}) | {
    "type",
    "audience_sub_type",
    "owner_id",
    "is_auto_refresh",
    "rule",
    "lookalike_spec",
    "msg",
    "error_msg",
    "audience_enhancement",
    "enhancement_status",
}


def ready(emulator: Emulator) -> None:
    """Let every audience finish calculating and growing."""
    population = emulator.seed.population
    emulator.clock.advance(population.calculating_seconds + population.growth_seconds + 1)


# --- rule/create, get, list ---------------------------------------------------------------


def test_create_then_get_returns_documented_details(door: Api) -> None:
    body = create_body(
        "cart, no purchase",
        include=[rule("APP ADD TO CART", 30)],
        exclude=[rule("PURCHASE", 7)],
        is_auto_refresh=False,
    )
    audience_id = door.ok("POST", c.PATH_RULE_CREATE, body)["custom_audience_id"]
    assert audience_id.isdigit()
    assert len(audience_id) == 19
    data = door.ok("GET", c.PATH_GET, {"advertiser_id": A1, "custom_audience_ids": [audience_id]})
    (item,) = data["list"]
    assert set(item) == {"audience_details", "audience_history"}
    details = item["audience_details"]
    assert set(details) == DETAIL_FIELDS
    assert details["audience_id"] == audience_id
    assert details["name"] == "cart, no purchase"
    assert details["type"] == c.APP_ACTIVITY_TYPE_NAME
    assert details["audience_sub_type"] == 0  # NORMAL, as the backend's integer
    assert details["is_auto_refresh"] is False
    assert details["owner_id"] == A1
    assert (details["is_creator"], details["shared"]) == (True, False)
    # The rule as TikTok's backend may return it (reference §6.1): inclusions/exclusions, the ad-group
    # inner naming, integer enums (APP 3, OR 2, EQ 1 from Y:rule_create), retention as a string.

    def backend(event: str, days: int) -> dict[str, object]:
        return {
            "event_sources": [{"type": 3, "id": DEFAULT_APP_ID}],
            "filter": {"operator": 2, "filters": [{"field": "EVENT", "operator": 1, "value": event}]},
            "retention": str(days),
        }

    assert json.loads(details["rule"]) == {
        "inclusions": {"operator": 2, "rules": [backend("APP ADD TO CART", 30)]},
        "exclusions": {"operator": 2, "rules": [backend("PURCHASE", 7)]},
    }
    assert TIME.fullmatch(details["create_time"])
    assert TIME.fullmatch(details["expired_time"])
    (history,) = item["audience_history"]
    assert history["action"] == "create"
    assert history["editor"] == "open_api"
    assert history["opt_time"] == details["create_time"]


def test_created_audience_ids_are_unique(door: Api) -> None:
    ids = {door.create(name=f"a{i}") for i in range(5)}
    assert len(ids) == 5


def test_is_auto_refresh_defaults_to_true(door: Api) -> None:
    assert door.details(door.create())["is_auto_refresh"] is True


def test_list_items_carry_the_list_fields(door: Api) -> None:
    audience_id = door.create()
    data = door.listing()
    (item,) = data["list"]
    assert set(item) == LIST_FIELDS
    assert item["audience_id"] == audience_id
    assert item["audience_type"] == c.APP_ACTIVITY_TYPE_NAME
    assert data["page_info"] == {
        "page": 1,
        "page_size": c.LIST_PAGE_SIZE_DEFAULT,
        "total_number": 1,
        "total_page": 1,
    }


def test_list_pages(door: Api) -> None:
    ids = [door.create(name=f"a{i}") for i in range(23)]
    pages = [door.listing(page=p, page_size=10) for p in (1, 2, 3, 4)]
    assert [len(p["list"]) for p in pages] == [10, 10, 3, 0]
    assert all(p["page_info"]["total_number"] == 23 and p["page_info"]["total_page"] == 3 for p in pages)
    assert [item["audience_id"] for p in pages for item in p["list"]] == ids
    assert len(door.listing()["list"]) == c.LIST_PAGE_SIZE_DEFAULT


def test_list_orders_by_create_time_then_id(door: Api, emulator: Emulator) -> None:
    late = door.create(name="late")
    emulator.clock.advance(-60)
    early_1 = door.create(name="early 1")
    early_2 = door.create(name="early 2")
    listed = [item["audience_id"] for item in door.listing()["list"]]
    assert listed == [*sorted([early_1, early_2]), late]


def test_list_filter_skips_ids_the_advertiser_cannot_see(door: Api) -> None:
    wanted, _other = door.create(name="wanted"), door.create(name="other")
    foreign = door.create(advertiser_id=A2)
    data = door.listing(custom_audience_ids=[wanted, foreign, "7399999999999999999"])
    assert [item["audience_id"] for item in data["list"]] == [wanted]
    assert data["page_info"]["total_number"] == 1


def test_get_keeps_request_order_and_reports_each_id_once(door: Api) -> None:
    first, second = door.create(name="first"), door.create(name="second")
    data = door.ok("GET", c.PATH_GET, {"advertiser_id": A1, "custom_audience_ids": [second, first, second]})
    assert [item["audience_details"]["audience_id"] for item in data["list"]] == [second, first]


@pytest.mark.parametrize(
    ("make_id", "code"),
    [
        (lambda api: "7399999999999999999", c.CODE_NOT_EXIST),  # does not exist
        (lambda api: api.create(advertiser_id=A2), c.CODE_PERMISSION_ERROR),  # another advertiser's
    ],
    ids=["unknown", "foreign"],
)
def test_get_refuses_ids_it_cannot_show(door: Api, make_id: object, code: int) -> None:
    bad = make_id(door)  # type: ignore[operator]
    answer = door.get(c.PATH_GET, advertiser_id=A1, custom_audience_ids=[door.create(), bad])
    assert answer["code"] == code
    assert bad in answer["message"]
    assert answer["message"].startswith("custom_audience_ids")


def test_audience_cap_per_advertiser(api: Api) -> None:
    for index in range(c.AUDIENCES_PER_ADVERTISER_MAX):
        api.create(name=f"a{index}")
    answer = api.post(c.PATH_RULE_CREATE, create_body())
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert str(c.AUDIENCES_PER_ADVERTISER_MAX) in answer["message"]
    assert api.create(advertiser_id=A2)  # the cap is per advertiser
    victim = api.listing()["list"][0]["audience_id"]
    api.ok("POST", c.PATH_DELETE, {"advertiser_id": A1, "custom_audience_ids": [victim]})
    assert api.create()  # deleting frees a place


# --- update -------------------------------------------------------------------------------


def test_update_renames_and_records_history(door: Api) -> None:
    audience_id = door.create(name="old")
    door.ok(
        "POST",
        c.PATH_UPDATE,
        {"advertiser_id": A1, "custom_audience_id": audience_id, "custom_audience_name": "new"},
    )
    data = door.ok(
        "GET", c.PATH_GET, {"advertiser_id": A1, "custom_audience_ids": [audience_id], "history_size": 1}
    )
    (item,) = data["list"]
    assert item["audience_details"]["name"] == "new"
    assert [h["action"] for h in item["audience_history"]] == ["update name"]


def test_update_sub_type_is_one_way_and_ignores_other_fields(door: Api) -> None:
    audience_id = door.create(name="keep")
    to_rf = {"advertiser_id": A1, "custom_audience_id": audience_id, "audience_sub_type": "REACH_FREQUENCY"}
    door.ok("POST", c.PATH_UPDATE, {**to_rf, "custom_audience_name": "ignored"})
    details = door.details(audience_id)
    # the backend's integer for REACH_FREQUENCY (answers.py, reference §6.1)
    assert (details["audience_sub_type"], details["name"]) == (1, "keep")
    back = door.post(c.PATH_UPDATE, {**to_rf, "custom_audience_name": "keep", "audience_sub_type": "NORMAL"})
    assert back["code"] == c.CODE_PARAM_ERROR
    assert back["message"].startswith("audience_sub_type")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"rule_spec": create_body()["rule_spec"]}, "rule_spec"),
        ({"is_auto_refresh": False, "custom_audience_name": "x"}, "is_auto_refresh"),
        ({"retention_in_days": 30, "custom_audience_name": "x"}, "retention_in_days"),
        ({}, "custom_audience_name"),  # nothing to change
        ({"custom_audience_name": "x" * (c.AUDIENCE_NAME_MAX_LEN + 1)}, "custom_audience_name"),
        ({"file_paths": ["f"], "custom_audience_name": "x"}, "file_paths"),
    ],
    ids=["rule_spec", "is_auto_refresh", "retention_in_days", "nothing", "long-name", "file_paths"],
)
def test_update_refuses_what_it_cannot_change(door: Api, extra: dict[str, object], field: str) -> None:
    audience_id = door.create(name="same")
    answer = door.post(c.PATH_UPDATE, {"advertiser_id": A1, "custom_audience_id": audience_id, **extra})
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert answer["message"].startswith(field)
    assert door.details(audience_id)["name"] == "same"


def test_update_of_unknown_or_foreign_audience(door: Api) -> None:
    foreign = door.create(advertiser_id=A2)
    for audience_id, code in (
        ("7399999999999999999", c.CODE_NOT_EXIST),
        (foreign, c.CODE_PERMISSION_ERROR),
    ):
        answer = door.post(
            c.PATH_UPDATE,
            {"advertiser_id": A1, "custom_audience_id": audience_id, "custom_audience_name": "x"},
        )
        assert answer["code"] == code
        assert audience_id in answer["message"]


# --- delete -------------------------------------------------------------------------------


def test_delete_removes_from_get_and_list(door: Api) -> None:
    keep, gone = door.create(name="keep"), door.create(name="gone")
    door.ok("POST", c.PATH_DELETE, {"advertiser_id": A1, "custom_audience_ids": [gone]})
    assert [item["audience_id"] for item in door.listing()["list"]] == [keep]
    answer = door.get(c.PATH_GET, advertiser_id=A1, custom_audience_ids=[gone])
    assert answer["code"] == c.CODE_NOT_EXIST
    assert gone in answer["message"]
    again = door.post(c.PATH_DELETE, {"advertiser_id": A1, "custom_audience_ids": [gone]})
    assert again["code"] == c.CODE_NOT_EXIST


def test_delete_is_all_or_nothing(door: Api) -> None:
    audience_id = door.create()
    answer = door.post(
        c.PATH_DELETE, {"advertiser_id": A1, "custom_audience_ids": [audience_id, "7399999999999999999"]}
    )
    assert answer["code"] == c.CODE_NOT_EXIST
    assert "7399999999999999999" in answer["message"]
    assert door.details(audience_id)["audience_id"] == audience_id


def test_delete_of_foreign_audience_is_a_permission_error(door: Api) -> None:
    foreign = door.create(advertiser_id=A2)
    answer = door.post(c.PATH_DELETE, {"advertiser_id": A1, "custom_audience_ids": [foreign]})
    assert answer["code"] == c.CODE_PERMISSION_ERROR


# --- share, share/cancel, share/log -------------------------------------------------------


def test_share_makes_the_audience_visible_to_the_target(door: Api) -> None:
    audience_id = door.create()
    door.ok(
        "POST",
        c.PATH_SHARE,
        {"advertiser_id": A1, "custom_audience_ids": [audience_id], "shared_advertiser_ids": [A2, A3]},
    )
    (mine,) = door.listing()["list"]
    assert (mine["shared"], mine["is_creator"]) == (True, True)
    (theirs,) = door.listing(A2)["list"]
    assert (theirs["audience_id"], theirs["shared"], theirs["is_creator"]) == (audience_id, True, False)
    assert door.details(audience_id, A2)["owner_id"] == A1
    # a recipient may read but not change it
    answer = door.post(c.PATH_DELETE, {"advertiser_id": A2, "custom_audience_ids": [audience_id]})
    assert answer["code"] == c.CODE_PERMISSION_ERROR
    log = door.ok("GET", c.PATH_SHARE_LOG, {"advertiser_id": A1, "custom_audience_id": audience_id})["list"]
    assert {(e["shared_advertiser_id"], e["custom_audience_id"], e["status"]) for e in log} == {
        (A2, audience_id, "SHARED"),
        (A3, audience_id, "SHARED"),
    }
    assert all(e["shared_advertiser_name"] for e in log)


def test_share_cancel_stops_sharing(door: Api) -> None:
    audience_id = door.create()
    door.ok(
        "POST",
        c.PATH_SHARE,
        {"advertiser_id": A1, "custom_audience_ids": [audience_id], "shared_advertiser_ids": [A2]},
    )
    cancel = {"advertiser_id": A1, "custom_audience_id": audience_id, "shared_advertiser_id": A2}
    door.ok("POST", c.PATH_SHARE_CANCEL, cancel)
    assert door.listing(A2)["list"] == []
    assert (
        door.get(c.PATH_GET, advertiser_id=A2, custom_audience_ids=[audience_id])["code"]
        == c.CODE_PERMISSION_ERROR
    )
    (entry,) = door.ok("GET", c.PATH_SHARE_LOG, {"advertiser_id": A1, "custom_audience_id": audience_id})[
        "list"
    ]
    assert entry["status"] == "CANCELLED"
    again = door.post(c.PATH_SHARE_CANCEL, cancel)
    assert again["code"] == c.CODE_PARAM_ERROR
    assert A2 in again["message"]
    history = door.ok("GET", c.PATH_GET, {"advertiser_id": A1, "custom_audience_ids": [audience_id]})["list"][
        0
    ]
    assert [h["action"] for h in history["audience_history"]] == ["cancel share", "share", "create"]


@pytest.mark.parametrize(
    ("targets", "expected"),
    [([A9], "Business Center"), (["7000000000000000777"], "does not exist"), ([A1], "itself")],
    ids=["other-bc", "unknown", "self"],
)
def test_share_refuses_bad_targets(door: Api, targets: list[str], expected: str) -> None:
    audience_id = door.create()
    answer = door.post(
        c.PATH_SHARE,
        {"advertiser_id": A1, "custom_audience_ids": [audience_id], "shared_advertiser_ids": targets},
    )
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert expected in answer["message"]
    assert door.listing()["list"][0]["shared"] is False


def test_share_limits(api: Api) -> None:
    ids = [api.create(name=f"a{i}") for i in range(c.SHARE_AUDIENCES_MAX + 1)]
    too_many = api.post(
        c.PATH_SHARE, {"advertiser_id": A1, "custom_audience_ids": ids, "shared_advertiser_ids": [A2]}
    )
    assert too_many["code"] == c.CODE_PARAM_ERROR
    assert too_many["message"].startswith("custom_audience_ids")
    targets = [str(7000000000000000100 + i) for i in range(c.SHARE_ADVERTISERS_MAX + 1)]
    answer = api.post(
        c.PATH_SHARE, {"advertiser_id": A1, "custom_audience_ids": ids[:1], "shared_advertiser_ids": targets}
    )
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert answer["message"].startswith("shared_advertiser_ids")


# --- lookalike ----------------------------------------------------------------------------


def test_lookalike_create_and_refresh(door: Api, emulator: Emulator) -> None:
    source = door.create(include=[rule("LAUNCH APP", 30)])
    ready(emulator)
    lookalike = door.ok("POST", c.PATH_LOOKALIKE_CREATE, lookalike_body(source))["custom_audience_id"]
    details = door.details(lookalike)
    assert details["type"] == c.LOOKALIKE_TYPE_NAME
    (spec,) = details["lookalike_spec"]
    assert spec == {  # backend names and types (Y:get response_rule, Y:lookalike_create codes)
        "seed_id": int(source),
        "is_contain_seed": False,
        "platform": "ALL",
        "app_names": ["TikTok"],
        "country_ids": ["6252001"],
        "lookalike_num": 20,
    }
    assert details["is_valid"] is False  # calculating
    ready(emulator)
    assert door.details(lookalike)["is_valid"] is True
    door.ok("POST", c.PATH_LOOKALIKE_UPDATE, {"advertiser_id": A1, "custom_audience_ids": [lookalike]})
    refreshed = door.ok("GET", c.PATH_GET, {"advertiser_id": A1, "custom_audience_ids": [lookalike]})["list"][
        0
    ]
    assert refreshed["audience_details"]["is_valid"] is False  # calculating again
    assert refreshed["audience_history"][0]["action"] == "refresh"
    # a lookalike cannot be the source of another, nor change its sub type
    answer = door.post(c.PATH_LOOKALIKE_CREATE, lookalike_body(lookalike))
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert lookalike in answer["message"]
    sub = {"advertiser_id": A1, "custom_audience_id": lookalike, "audience_sub_type": "REACH_FREQUENCY"}
    assert door.post(c.PATH_UPDATE, sub)["code"] == c.CODE_PARAM_ERROR


def test_lookalike_source_must_cover_enough_people(door: Api) -> None:
    source = door.create()  # still calculating: covers 0 people
    answer = door.post(c.PATH_LOOKALIKE_CREATE, lookalike_body(source))
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert str(c.LOOKALIKE_SOURCE_MIN_SIZE) in answer["message"]


def test_lookalike_source_must_exist_and_belong_to_the_advertiser(door: Api, emulator: Emulator) -> None:
    foreign = door.create(advertiser_id=A2)
    ready(emulator)
    for source, code in (("7399999999999999999", c.CODE_NOT_EXIST), (foreign, c.CODE_PERMISSION_ERROR)):
        answer = door.post(c.PATH_LOOKALIKE_CREATE, lookalike_body(source))
        assert answer["code"] == code
        assert answer["message"].startswith("lookalike_spec.source_audience_id")


def test_lookalike_update_needs_lookalike_audiences(door: Api) -> None:
    audience_id = door.create()
    answer = door.post(c.PATH_LOOKALIKE_UPDATE, {"advertiser_id": A1, "custom_audience_ids": [audience_id]})
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert audience_id in answer["message"]
