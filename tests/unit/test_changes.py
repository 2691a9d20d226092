"""changes.classify: the one answer to "no change, update in place or replacement"."""

from __future__ import annotations

from typing import Any

import pytest

from pulumi_tiktok_audiences.changes import classify, classify_unknown
from pulumi_tiktok_audiences.lookalike import ReadinessOptions
from pulumi_tiktok_audiences.spec import AudienceSpec


def spec(**overrides: Any) -> AudienceSpec:
    fields: dict[str, Any] = {
        "advertiser_id": "111",
        "name": "Cart abandoners",
        "app_ids": ["11"],
        "include": [{"event": "ADD_TO_CART", "lookback_days": 30}],
        "exclude": [{"event": "PURCHASE", "lookback_days": 30}, {"event": "CHECKOUT", "lookback_days": 7}],
    }
    return AudienceSpec.model_validate({**fields, **overrides})


@pytest.mark.parametrize(
    "other",
    [
        {"exclude": [{"event": "CHECKOUT", "lookback_days": 7}, {"event": "PURCHASE", "lookback_days": 30}]},
        {"include": [{"event": "app add to cart", "lookback_days": 30.0}]},
        {
            "app_ids": None,
            "include": [{"event": "ADD_TO_CART", "lookback_days": 30, "app_ids": ["11"]}],
            "exclude": [
                {"event": "PURCHASE", "lookback_days": 30, "app_ids": ["11"]},
                {"event": "CHECKOUT", "lookback_days": 7, "app_ids": ["11"]},
            ],
        },
    ],
    ids=["exclude-order", "event-alias", "apps-on-the-rules"],
)
def test_the_same_audience_written_differently_is_no_change(other: dict[str, Any]) -> None:
    change = classify(spec(), spec(**other))
    assert (change.kind, change.fields, change.replaces, change.name) == ("same", (), (), None)


def test_a_rename_and_a_sub_type_move_are_updates_in_place() -> None:
    change = classify(spec(), spec(name="Carts", audience_sub_type="REACH_FREQUENCY"))
    assert (change.kind, change.fields, change.replaces) == ("update", ("name", "audience_sub_type"), ())
    assert change.name == ("Cart abandoners", "Carts")
    back = classify(spec(audience_sub_type="REACH_FREQUENCY"), spec())
    assert back.replaces == ("audience_sub_type",)
    assert back.reasons == (
        "audience_sub_type: REACH_FREQUENCY -> NORMAL (TikTok only moves NORMAL to REACH_FREQUENCY in place)",
    )


def test_how_a_create_waits_changes_the_state_only() -> None:
    change = classify(spec(), spec(), new_readiness=ReadinessOptions(wait_until_targetable=True))
    assert (change.kind, change.fields) == ("update", ("wait_until_targetable",))


@pytest.mark.parametrize(
    ("other", "replaces", "reason"),
    [
        ({"advertiser_id": "222"}, ("advertiser_id",), "it moves from ad account 111 to 222"),
        (
            {"app_ids": ["11", "12"]},
            ("app_ids",),
            "its apps change: 11 -> 11, 12 (TikTok cannot edit an audience's rules)",
        ),
        (
            {"include": [{"event": "ADD_TO_CART", "lookback_days": 60}]},
            ("include",),
            "who it includes changes (TikTok cannot edit an audience's rules)",
        ),
        (
            {"exclude": []},
            ("exclude",),
            "who it leaves out changes (TikTok cannot edit an audience's rules)",
        ),
        (
            {"auto_refresh": False},
            ("auto_refresh",),
            "auto_refresh: true -> false (TikTok fixes it when the audience is created)",
        ),
        (
            {"retention_in_days": 90},
            ("retention_in_days",),
            "retention_in_days: not set -> 90 (TikTok fixes the expiry when the audience is created)",
        ),
    ],
)
def test_what_tiktok_fixes_at_creation_replaces_with_a_reason(
    other: dict[str, Any], replaces: tuple[str, ...], reason: str
) -> None:
    change = classify(spec(), spec(name="Renamed too", **other))
    assert (change.kind, change.replaces, change.reasons) == ("replace", replaces, (reason,))
    assert change.name == ("Cart abandoners", "Renamed too")  # shown inside the replacement


def test_values_not_known_yet_may_replace_only_through_fields_tiktok_fixes() -> None:
    assert classify_unknown({"name"}).kind == "update"
    maybe = classify_unknown({"name", "include", "app_ids"})
    assert (maybe.kind, maybe.replaces) == ("replace", ("app_ids", "include"))
