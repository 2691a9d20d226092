"""AudienceSpec: events, validation messages and paths, canonical form, payload mapping."""

import json
import re
import subprocess
import sys
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.changes import classify
from pulumi_tiktok_audiences.reading import spec_from_rule_text
from pulumi_tiktok_audiences.spec import (
    LOCAL_FIELDS,
    REPLACE_FIELDS,
    AppEvent,
    AudienceSpec,
    EventRule,
    Purpose,
    error_paths,
)
from tests.openapi_schema import load_operation

ADVERTISER = "7000000000000000001"


def spec_input(**overrides: Any) -> dict[str, Any]:
    """A valid spec's input (lapsed purchasers of app 123), with fields replaced or added."""
    data: dict[str, Any] = {
        "advertiser_id": ADVERTISER,
        "name": "lapsed purchasers",
        "app_ids": ["123"],
        "include": [{"event": "PURCHASE", "lookback_days": 30}],
        "exclude": [{"event": "PURCHASE", "lookback_days": 7}],
    }
    data.update(overrides)
    return data


def errors_of(**overrides: Any) -> dict[str, str]:
    """{property path: message} of the validation errors of spec_input(**overrides)."""
    with pytest.raises(ValidationError) as caught:
        AudienceSpec.model_validate(spec_input(**overrides))
    return dict(error_paths(caught.value))


def rule(event: str, days: int, app_ids: list[Any] | None = None) -> dict[str, Any]:
    return {"event": event, "lookback_days": days, **({"app_ids": app_ids} if app_ids is not None else {})}


# --- AppEvent -------------------------------------------------------------------------------------


def test_app_event_values_are_exactly_the_published_events() -> None:
    assert len(AppEvent) == 28
    assert {e.value for e in AppEvent} == set(constants.APP_EVENTS)


@pytest.mark.parametrize(
    ("member", "wire"),
    [
        (AppEvent.ADD_TO_CART, "APP ADD TO CART"),
        (AppEvent.ADD_PAYMENT_INFO, "APP ADD PAYMENT INFO"),
        (AppEvent.SEARCH, "APP SEARCH"),
        (AppEvent.IN_APP_AD_CLICK, "IN-APP AD CLICK"),
        (AppEvent.DAY_2_RETENTION, "DAY 2 RETENTION"),
        (AppEvent.LAUNCH_APP, "LAUNCH APP"),
    ],
)
def test_member_names_map_to_wire_strings(member: AppEvent, wire: str) -> None:
    assert member == wire
    assert member.value == wire


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("add to cart", AppEvent.ADD_TO_CART),
        ("ADD_TO_CART", AppEvent.ADD_TO_CART),
        ("app add to cart", AppEvent.ADD_TO_CART),
        ("APP ADD TO CART", AppEvent.ADD_TO_CART),
        ("App-Add-To-Cart", AppEvent.ADD_TO_CART),
        ("in-app ad click", AppEvent.IN_APP_AD_CLICK),
        ("IN_APP_AD_CLICK", AppEvent.IN_APP_AD_CLICK),
        ("in app ad impression", AppEvent.IN_APP_AD_IMPRESSION),
        ("  purchase ", AppEvent.PURCHASE),
        ("day 2 retention", AppEvent.DAY_2_RETENTION),
        ("Launch  App", AppEvent.LAUNCH_APP),
        ("search", AppEvent.SEARCH),
        ("app_search", AppEvent.SEARCH),
    ],
)
def test_parse_accepts_names_wire_strings_and_variants(text: str, expected: AppEvent) -> None:
    assert AppEvent.parse(text) is expected


def test_parse_accepts_every_member_its_name_and_its_value() -> None:
    for event in AppEvent:
        assert AppEvent.parse(event) is event
        assert AppEvent.parse(event.name) is event
        assert AppEvent.parse(event.value.lower()) is event


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("purchse", "PURCHASE"),
        ("add to kart", "ADD_TO_CART"),
        ("APP ADD TO CRT", "ADD_TO_CART"),
        ("instal", "INSTALL"),
    ],
)
def test_unknown_events_name_the_closest_event_as_users_write_it(text: str, suggestion: str) -> None:
    with pytest.raises(ValueError, match="unknown app event") as caught:
        AppEvent.parse(text)
    message = str(caught.value)
    assert f"did you mean {suggestion}?" in message
    assert len(message) < 200
    assert "ADD_TO_CART" in message
    assert "add-to-cart" in message
    assert not any(" " in event.value and event.value in message for event in AppEvent)  # no API spellings


@pytest.mark.parametrize("value", ["", "PIXEL ADD TO CART", "xyzzy", 3, None, ["PURCHASE"]])
def test_parse_rejects_everything_else_saying_how_events_are_written(value: object) -> None:
    with pytest.raises(ValueError, match="PURCHASE, ADD_TO_CART or add-to-cart") as caught:
        AppEvent.parse(value)
    assert len(str(caught.value)) < 200


# --- EventRule ------------------------------------------------------------------------------------


def test_event_rule_accepts_aliases_float_days_and_int_app_ids() -> None:
    parsed = EventRule.model_validate(
        {"event": "add to cart", "lookback_days": 30.0, "app_ids": [456, "123"]}
    )
    assert parsed.event is AppEvent.ADD_TO_CART
    assert parsed.lookback_days == 30
    assert type(parsed.lookback_days) is int
    assert parsed.app_ids == ["123", "456"]


def test_event_rule_app_ids_are_deduplicated_and_in_numeric_order() -> None:
    parsed = EventRule(event=AppEvent.PURCHASE, lookback_days=7, app_ids=["99", "100", "0099", "9"])
    assert parsed.app_ids == ["9", "99", "100"]


@pytest.mark.parametrize(
    "days", [constants.LOOKBACK_DAYS_MIN, constants.LOOKBACK_DAYS_MAX, float(constants.LOOKBACK_DAYS_MAX)]
)
def test_event_rule_accepts_the_lookback_bounds(days: float) -> None:
    assert EventRule(event=AppEvent.INSTALL, lookback_days=days).lookback_days == int(days)


@pytest.mark.parametrize("days", [0, 181, -5, "abc", "30", True, False, 30.5, None, float("nan")])
def test_event_rule_rejects_bad_lookbacks_naming_the_assumed_range(days: object) -> None:
    with pytest.raises(ValidationError) as caught:
        EventRule.model_validate({"event": "INSTALL", "lookback_days": days})
    ((path, message),) = error_paths(caught.value)
    assert path == "lookback_days"
    assert f"{constants.LOOKBACK_DAYS_MIN} to {constants.LOOKBACK_DAYS_MAX} days" in message
    assert "the range Ads Manager offers" in message
    assert repr(days) in message


@pytest.mark.parametrize("app_ids", [[], ["abc"], ["12a"], [1.5e9], [0], [-1], [True], ["1 2"], [str(2**63)]])
def test_event_rule_rejects_bad_app_ids(app_ids: list[Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        EventRule.model_validate({"event": "INSTALL", "lookback_days": 1, "app_ids": app_ids})
    ((path, message),) = error_paths(caught.value)
    assert path.startswith("app_ids")
    assert ("at least 1 app id" if not app_ids else "positive whole number") in message


def test_event_rule_refuses_unknown_fields_suggesting_the_intended_one() -> None:
    with pytest.raises(ValidationError) as caught:
        EventRule.model_validate({"event": "INSTALL", "lookback": 7})
    # The unknown field does not hide the other problems of the same rule.
    (path, message), (missing, _) = error_paths(caught.value)
    assert path == "lookback"
    assert "unknown field 'lookback'" in message
    assert "did you mean 'lookback_days'?" in message
    assert missing == "lookback_days"


def test_event_rule_is_frozen() -> None:
    parsed = EventRule(event=AppEvent.INSTALL, lookback_days=1)
    with pytest.raises(ValidationError):
        parsed.lookback_days = 2  # type: ignore[misc]


# --- AudienceSpec validation: paths and messages --------------------------------------------------


def test_unknown_event_error_lists_close_matches() -> None:
    errors = errors_of(include=[rule("PURCHASE", 30), rule("purchse", 30)])
    assert list(errors) == ["include[1].event"]
    assert "did you mean PURCHASE?" in errors["include[1].event"]


@pytest.mark.parametrize("days", [0, 181, -5, "abc", True])
def test_bad_lookback_is_reported_at_its_rule(days: object) -> None:
    errors = errors_of(exclude=[rule("PURCHASE", 7), rule("INSTALL", days)])  # type: ignore[arg-type]
    assert list(errors) == ["exclude[1].lookback_days"]
    assert "1 to 180 days" in errors["exclude[1].lookback_days"]


@pytest.mark.parametrize(("name", "got"), [("", "blank"), ("   ", "blank"), ("x" * 129, "129 characters")])
def test_bad_names_name_the_length_limit(name: str, got: str) -> None:
    errors = errors_of(name=name)
    assert list(errors) == ["name"]
    assert "1 to 128 characters" in errors["name"]
    assert got in errors["name"]


def test_names_are_kept_as_given_up_to_the_limit() -> None:
    for name in (" padded ", "x" * constants.AUDIENCE_NAME_MAX_LEN, "émoji 🎯"):
        assert AudienceSpec.model_validate(spec_input(name=name)).name == name


@pytest.mark.parametrize("count", [0, 6])
def test_include_needs_one_to_five_rules(count: int) -> None:
    errors = errors_of(include=[rule("INSTALL", d + 1) for d in range(count)])
    assert list(errors) == ["include"]
    assert "1 to 5 rules" in errors["include"]
    assert f"got {count}" in errors["include"]


def test_exclude_allows_at_most_five_rules() -> None:
    errors = errors_of(exclude=[rule("INSTALL", d + 1) for d in range(6)])
    assert list(errors) == ["exclude"]
    assert "at most 5 rules" in errors["exclude"]
    assert AudienceSpec.model_validate(spec_input(exclude=[rule("INSTALL", d + 1) for d in range(5)]))


@pytest.mark.parametrize("days", [0, 366, 12.5, "x", False])
def test_retention_must_be_one_to_365_days(days: object) -> None:
    errors = errors_of(retention_in_days=days)
    assert list(errors) == ["retention_in_days"]
    assert "1 to 365 days" in errors["retention_in_days"]


def test_retention_accepts_protobuf_floats() -> None:
    assert AudienceSpec.model_validate(spec_input(retention_in_days=365.0)).retention_in_days == 365


def test_bad_sub_type_lists_the_allowed_values() -> None:
    errors = errors_of(audience_sub_type="FREQUENT")
    assert list(errors) == ["audience_sub_type"]
    assert all(repr(allowed) in errors["audience_sub_type"] for allowed in constants.AUDIENCE_SUB_TYPES)


def test_sub_types_are_the_published_ones() -> None:
    for sub_type in constants.AUDIENCE_SUB_TYPES:
        assert (
            AudienceSpec.model_validate(spec_input(audience_sub_type=sub_type)).audience_sub_type == sub_type
        )


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_auto_refresh_must_be_a_boolean(value: object) -> None:
    assert list(errors_of(auto_refresh=value)) == ["auto_refresh"]


@pytest.mark.parametrize("advertiser_id", ["", "adv-1", 1.0, None, "0"])
def test_advertiser_id_must_be_numeric(advertiser_id: object) -> None:
    errors = errors_of(advertiser_id=advertiser_id)
    assert list(errors) == ["advertiser_id"]
    assert "positive whole number" in errors["advertiser_id"]


def test_ids_given_as_integers_become_strings() -> None:
    spec = AudienceSpec.model_validate(spec_input(advertiser_id=int(ADVERTISER), app_ids=[123]))
    assert spec.advertiser_id == ADVERTISER
    assert spec.app_ids == ["123"]


def test_rules_without_app_ids_are_reported_where_they_lack_them() -> None:
    errors = errors_of(
        app_ids=None,
        include=[rule("INSTALL", 7, ["1"]), rule("PURCHASE", 7)],
        exclude=[rule("LAUNCH APP", 7)],
    )
    assert sorted(errors) == ["exclude[0].app_ids", "include[1].app_ids"]
    assert all("set app_ids on the rule, or on the audience" in m for m in errors.values())


def test_match_all_with_two_include_rules_is_refused_with_the_supported_alternative() -> None:
    errors = errors_of(match="all", include=[rule("ADD_TO_CART", 30), rule("PURCHASE", 30)])
    assert list(errors) == ["match"]
    message = errors["match"]
    assert "only supports OR" in message or "with OR only" in message
    assert "include one event and exclude the other" in message


def test_match_all_with_one_include_rule_is_the_same_audience_as_any() -> None:
    spec = AudienceSpec.model_validate(spec_input(match="all"))
    assert spec.match == "any"
    assert spec == AudienceSpec.model_validate(spec_input())


def test_match_any_keeps_rules_as_alternatives() -> None:
    spec = AudienceSpec.model_validate(spec_input(include=[rule("INSTALL", 7), rule("LOGIN", 7)]))
    assert spec.to_create_payload()["rule_spec"]["inclusion_rule_set"]["operator"] == "OR"


def test_bad_match_value_lists_the_allowed_values() -> None:
    errors = errors_of(match="none")
    assert "'any'" in errors["match"]
    assert "'all'" in errors["match"]


def test_unknown_fields_are_refused_by_name() -> None:
    errors = errors_of(colour="blue", retention_days=3)
    assert sorted(errors) == ["colour", "retention_days"]
    assert "unknown field 'colour'" in errors["colour"]
    assert "did you mean 'retention_in_days'?" in errors["retention_days"]
    assert "audience_sub_type" in errors["colour"]  # the allowed fields are listed


def test_errors_in_several_places_are_all_reported() -> None:
    errors = errors_of(
        name="",
        include=[rule("INSTALL", 7), rule("INSTAL", 500)],
        exclude=[{"event": "PURCHASE"}],
        retention_in_days=0,
    )
    assert sorted(errors) == [
        "exclude[0].lookback_days",
        "include[1].event",
        "include[1].lookback_days",
        "name",
        "retention_in_days",
    ]


def test_error_paths_of_a_nested_list_element() -> None:
    errors = errors_of(app_ids=["1", "x"])
    assert list(errors) == ["app_ids[1]"]


def test_spec_is_frozen() -> None:
    spec = AudienceSpec.model_validate(spec_input())
    with pytest.raises(ValidationError):
        spec.name = "other"  # type: ignore[misc]


# --- Canonical form -------------------------------------------------------------------------------


def test_per_rule_app_ids_equal_to_the_default_are_dropped() -> None:
    spec = AudienceSpec.model_validate(spec_input(include=[rule("PURCHASE", 30, ["123"])]))
    assert spec.include[0].app_ids is None
    assert spec == AudienceSpec.model_validate(spec_input())


def test_app_ids_shared_by_every_rule_become_the_default() -> None:
    spec = AudienceSpec.model_validate(
        spec_input(
            app_ids=None,
            include=[rule("PURCHASE", 30, ["456", "123"])],
            exclude=[rule("PURCHASE", 7, [123, 456, 456])],
        )
    )
    assert spec.app_ids == ["123", "456"]
    assert [r.app_ids for r in (*spec.include, *spec.exclude)] == [None, None]


def test_different_app_ids_per_rule_leave_no_default() -> None:
    spec = AudienceSpec.model_validate(
        spec_input(app_ids=["1"], include=[rule("INSTALL", 7), rule("INSTALL", 7, ["2"])], exclude=[])
    )
    assert spec.app_ids is None
    assert [r.app_ids for r in spec.include] == [["1"], ["2"]]


def test_an_unused_default_is_dropped() -> None:
    spec = AudienceSpec.model_validate(
        spec_input(app_ids=["9"], include=[rule("INSTALL", 7, ["1"])], exclude=[rule("LOGIN", 3, ["2"])])
    )
    assert spec.app_ids is None
    assert (
        spec.to_create_payload()
        == AudienceSpec.model_validate(
            spec_input(
                app_ids=None, **{"include": [rule("INSTALL", 7, ["1"])], "exclude": [rule("LOGIN", 3, ["2"])]}
            )
        ).to_create_payload()
    )


def test_rule_order_and_duplicates_are_kept() -> None:
    rules = [rule("LOGIN", 3), rule("INSTALL", 7), rule("LOGIN", 3)]
    spec = AudienceSpec.model_validate(spec_input(include=rules))
    assert [(r.event, r.lookback_days) for r in spec.include] == [
        (AppEvent.LOGIN, 3),
        (AppEvent.INSTALL, 7),
        (AppEvent.LOGIN, 3),
    ]


def test_canonical_form_survives_a_json_round_trip() -> None:
    spec = AudienceSpec.model_validate(
        spec_input(
            app_ids=None, include=[rule("add to cart", 30, [2, 1])], exclude=[rule("purchase", 30, [1])]
        )
    )
    dumped = spec.model_dump(mode="json", exclude_none=True)
    assert dumped["include"] == [{"event": "APP ADD TO CART", "lookback_days": 30, "app_ids": ["1", "2"]}]
    assert AudienceSpec.model_validate(dumped) == spec
    assert AudienceSpec.model_validate(json.loads(spec.model_dump_json())) == spec


def test_app_ids_for_gives_each_rules_effective_apps() -> None:
    shared = AudienceSpec.model_validate(spec_input())
    assert [shared.app_ids_for(r) for r in (*shared.include, *shared.exclude)] == [["123"], ["123"]]
    mixed = AudienceSpec.model_validate(spec_input(include=[rule("INSTALL", 7, ["5"])]))
    assert mixed.app_ids_for(mixed.include[0]) == ["5"]
    assert mixed.app_ids_for(mixed.exclude[0]) == ["123"]


# --- Replacement key ------------------------------------------------------------------------------


def key_of(**overrides: Any) -> dict[str, Any]:
    return AudienceSpec.model_validate(spec_input(**overrides)).replacement_key()


def test_replacement_key_ignores_name_rule_order_duplicates_and_app_id_placement() -> None:
    base = key_of(include=[rule("INSTALL", 7), rule("LOGIN", 3)])
    assert key_of(name="renamed", include=[rule("INSTALL", 7), rule("LOGIN", 3)]) == base
    assert key_of(include=[rule("LOGIN", 3), rule("INSTALL", 7), rule("LOGIN", 3)]) == base
    assert (
        key_of(
            app_ids=None,
            include=[rule("LOGIN", 3, [123]), rule("INSTALL", 7, ["123"])],
            exclude=[rule("PURCHASE", 7, ["123"])],
        )
        == base
    )


@pytest.mark.parametrize(
    "change",
    [
        {"advertiser_id": "42"},
        {"app_ids": ["124"]},
        {"include": [rule("PURCHASE", 31)]},
        {"include": [rule("CHECKOUT", 30)]},
        {"include": [rule("PURCHASE", 30), rule("INSTALL", 30)]},
        {"exclude": []},
        {"exclude": [rule("PURCHASE", 8)]},
        {"include": [rule("PURCHASE", 7)], "exclude": [rule("PURCHASE", 30)]},
        {"auto_refresh": False},
        {"retention_in_days": 30},
        {"audience_sub_type": "REACH_FREQUENCY"},
    ],
)
def test_replacement_key_changes_with_everything_tiktok_cannot_update(change: dict[str, Any]) -> None:
    assert key_of(**change) != key_of()


# --- Payload mapping ------------------------------------------------------------------------------


def test_create_payload_is_the_documented_body() -> None:
    spec = AudienceSpec.model_validate(
        spec_input(
            name="cart-no-purchase-30d",
            app_ids=["555"],
            include=[rule("add to cart", 30)],
            exclude=[rule("PURCHASE", 30)],
        )
    )

    def rule_set(event: str) -> dict[str, Any]:
        return {
            "operator": "OR",
            "rules": [
                {
                    "event_source_ids": ["555"],
                    "retention_days": 30,
                    "filter_set": {
                        "operator": "OR",
                        "filters": [{"field": "EVENT", "operator": "EQ", "value": event}],
                    },
                }
            ],
        }

    assert spec.to_create_payload() == {  # reference §3.7, plus the sub type we always send
        "advertiser_id": ADVERTISER,
        "custom_audience_name": "cart-no-purchase-30d",
        "audience_type": "APP",
        "audience_sub_type": "NORMAL",
        "is_auto_refresh": True,
        "rule_spec": {
            "inclusion_rule_set": rule_set("APP ADD TO CART"),
            "exclusion_rule_set": rule_set("PURCHASE"),
        },
    }


def test_payload_sends_retention_only_when_set_and_exclusions_only_when_present() -> None:
    plain = AudienceSpec.model_validate(spec_input(exclude=[])).to_create_payload()
    assert "retention_in_days" not in plain
    assert "exclusion_rule_set" not in plain["rule_spec"]
    expiring = AudienceSpec.model_validate(spec_input(retention_in_days=90, auto_refresh=False))
    payload = expiring.to_create_payload()
    assert payload["retention_in_days"] == 90
    assert payload["is_auto_refresh"] is False


def test_payload_lists_each_rules_own_apps() -> None:
    spec = AudienceSpec.model_validate(
        spec_input(app_ids=None, include=[rule("INSTALL", 7, [3, 1])], exclude=[rule("LOGIN", 7, [2])])
    )
    rule_spec = spec.to_create_payload()["rule_spec"]
    assert rule_spec["inclusion_rule_set"]["rules"][0]["event_source_ids"] == ["1", "3"]
    assert rule_spec["exclusion_rule_set"]["rules"][0]["event_source_ids"] == ["2"]


@pytest.mark.parametrize("event", list(AppEvent))
def test_every_event_makes_a_schema_valid_payload(event: AppEvent) -> None:
    payload = AudienceSpec.model_validate(spec_input(include=[rule(event.name, 1)])).to_create_payload()
    assert load_operation("dmp_custom_audience_rule_create").body_errors(payload) == []
    assert payload["rule_spec"]["inclusion_rule_set"]["rules"][0]["filter_set"]["filters"][0]["value"] == (
        event.value
    )


def test_payload_round_trips_through_from_create_payload() -> None:
    spec = AudienceSpec.model_validate(spec_input(retention_in_days=10, audience_sub_type="REACH_FREQUENCY"))
    assert AudienceSpec.from_create_payload(spec.to_create_payload()) == spec


def test_from_create_payload_uses_tiktoks_defaults_for_omitted_settings() -> None:
    payload = AudienceSpec.model_validate(spec_input()).to_create_payload()
    del payload["is_auto_refresh"], payload["audience_sub_type"]
    spec = AudienceSpec.from_create_payload(payload)
    assert (spec.auto_refresh, spec.audience_sub_type, spec.retention_in_days) == (True, "NORMAL", None)


def test_from_create_payload_canonicalises_the_wire_app_id_order() -> None:
    payload = AudienceSpec.model_validate(spec_input(app_ids=["1", "2"])).to_create_payload()
    payload["rule_spec"]["inclusion_rule_set"]["rules"][0]["event_source_ids"] = ["2", "1", "2"]
    assert AudienceSpec.from_create_payload(payload) == AudienceSpec.model_validate(
        spec_input(app_ids=["1", "2"])
    )


def test_from_rule_spec_and_from_rule_text_read_tiktoks_rule() -> None:
    spec = AudienceSpec.model_validate(spec_input(auto_refresh=False, retention_in_days=3))
    settings: dict[str, Any] = {"auto_refresh": False, "retention_in_days": 3}
    assert AudienceSpec.from_rule_spec(ADVERTISER, spec.name, spec.to_rule_spec(), **settings) == spec
    text = json.dumps(spec.to_rule_spec())
    assert spec_from_rule_text(ADVERTISER, spec.name, text, **settings) == spec


def test_from_rule_spec_defaults_match_the_spec_defaults() -> None:
    spec = AudienceSpec.model_validate(spec_input())
    assert AudienceSpec.from_rule_spec(ADVERTISER, spec.name, spec.to_rule_spec()) == spec


def test_from_rule_text_rejects_text_that_is_not_json() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        spec_from_rule_text(ADVERTISER, "x", "{inclusions: nope")


def mutated_payload(path: list[Any], value: Any) -> dict[str, Any]:
    """A valid payload with the value at ``path`` replaced (or removed when value is ...)."""
    payload = AudienceSpec.model_validate(spec_input()).to_create_payload()
    target = payload
    for step in path[:-1]:
        target = target[step]
    if value is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return payload


INCLUDED_RULE = ["rule_spec", "inclusion_rule_set", "rules", 0]
FILTER = [*INCLUDED_RULE, "filter_set", "filters", 0]


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (["audience_type"], "PIXEL", "only 'APP'"),
        (["identity_id"], "1", "identity_id not supported"),
        (["rule_spec", "inclusion_rule_set", "operator"], "AND", "'AND' is not supported"),
        (
            [*FILTER, "parameter_filters"],
            [{"field": "URL", "operator": "CONTAINS", "values": ["x"]}],
            "parameter_filters not supported",
        ),
        ([*INCLUDED_RULE, "filter_set", "operator"], "AND", "filter_set is not supported"),
        ([*INCLUDED_RULE, "filter_set", "filters"], [], "exactly 1 filter"),
        ([*FILTER, "operator"], "NOT_EQ", "only field 'EVENT' with operator 'EQ'"),
        ([*FILTER, "value"], "PIXEL ADD TO CART", "unknown app event"),
        ([*FILTER, "value"], "purchase", "did you mean PURCHASE?"),
        (["rule_spec", "inclusion_rule_set"], ..., "rule_spec lacks inclusion_rule_set"),
        (["rule_spec"], {"inclusions": None, "exclusions": None}, "inclusions, exclusions not supported"),
        (["rule_spec"], "{}", "must be a JSON object"),
        (["rule_spec", "inclusion_rule_set", "rules"], {}, "rules must be a list"),
    ],
)
def test_from_create_payload_rejects_what_the_spec_cannot_express(
    path: list[Any], value: Any, expected: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(expected)):
        AudienceSpec.from_create_payload(mutated_payload(path, value))


def test_from_create_payload_reports_invalid_values_as_validation_errors() -> None:
    with pytest.raises(ValidationError) as caught:
        AudienceSpec.from_create_payload(mutated_payload([*INCLUDED_RULE, "retention_days"], 0))
    assert [path for path, _ in error_paths(caught.value)] == ["include[0].lookback_days"]


# --- JSON Schema and import cost ------------------------------------------------------------------


def test_json_schema_describes_the_spec() -> None:
    schema = AudienceSpec.model_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    rule_schema = schema["$defs"]["EventRule"]
    event_ref = rule_schema["properties"]["event"]["$ref"].rsplit("/", 1)[-1]
    assert schema["$defs"][event_ref]["enum"] == list(constants.APP_EVENTS)
    lookback = rule_schema["properties"]["lookback_days"]
    assert (lookback["minimum"], lookback["maximum"]) == (
        constants.LOOKBACK_DAYS_MIN,
        constants.LOOKBACK_DAYS_MAX,
    )
    assert schema["additionalProperties"] is False
    assert schema["properties"]["include"]["maxItems"] == constants.RULES_PER_SET_MAX


def test_json_schema_accepts_a_canonical_spec_and_rejects_an_unknown_event() -> None:
    schema = AudienceSpec.model_json_schema()
    dumped = AudienceSpec.model_validate(spec_input()).model_dump(mode="json")
    jsonschema.validate(dumped, schema)
    dumped["include"][0]["event"] = "PIXEL SEARCH"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(dumped, schema)


def test_importing_the_spec_loads_neither_pulumi_nor_httpx() -> None:
    code = (
        "import sys, pulumi_tiktok_audiences.spec; "
        "print(sorted(m for m in ('pulumi', 'httpx', 'grpc') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- Local fields: purpose and tracked events -----------------------------------------------------

TRACKED = {"123": ["INSTALL", "PURCHASE"]}


def test_local_fields_are_the_documented_ones_and_never_replace() -> None:
    assert LOCAL_FIELDS == {"purpose", "tracked_events"} <= set(AudienceSpec.model_fields)
    assert not LOCAL_FIELDS & set(REPLACE_FIELDS)


def test_local_fields_never_reach_the_payload() -> None:
    bare = AudienceSpec.model_validate(spec_input())
    local = AudienceSpec.model_validate(spec_input(purpose="retargeting", tracked_events=TRACKED))
    payload = local.to_create_payload()
    assert payload == bare.to_create_payload()
    assert load_operation("dmp_custom_audience_rule_create").body_errors(payload) == []
    assert not {"purpose", "tracked_events"} & set(json.dumps(payload).split('"'))


@pytest.mark.parametrize(
    "change",
    [{"purpose": "acquisition"}, {"tracked_events": TRACKED}, {"purpose": "exclusion", "tracked_events": {}}],
)
def test_a_change_of_local_fields_alone_is_no_replacement(change: dict[str, Any]) -> None:
    old = AudienceSpec.model_validate(spec_input(purpose="retargeting"))
    new = AudienceSpec.model_validate(spec_input(**change))
    assert new != old
    assert classify(old, new).kind == "update"  # the stored state only
    assert old.replacement_key() == new.replacement_key()


def test_tracked_events_have_one_canonical_form() -> None:
    written = AudienceSpec.model_validate(
        spec_input(tracked_events={"0456": ["purchase", "Add-To-Cart", "INSTALL"], "123": ["PURCHASE"] * 2})
    )
    stored = AudienceSpec.model_validate(
        spec_input(tracked_events={"123": ["PURCHASE"], "456": ["INSTALL", "APP ADD TO CART", "PURCHASE"]})
    )
    assert written == stored
    assert written.tracked_events == (
        ("123", (AppEvent.PURCHASE,)),
        ("456", (AppEvent.INSTALL, AppEvent.ADD_TO_CART, AppEvent.PURCHASE)),
    )
    dumped = written.model_dump(mode="json")
    assert dumped["tracked_events"] == {
        "123": ["PURCHASE"],
        "456": ["INSTALL", "APP ADD TO CART", "PURCHASE"],
    }
    assert AudienceSpec.model_validate(dumped) == written
    assert AudienceSpec.model_validate(written.model_dump()) == written
    jsonschema.validate(dumped, AudienceSpec.model_json_schema())


def test_purpose_is_read_in_any_case_and_a_wrong_one_lists_the_purposes() -> None:
    assert AudienceSpec.model_validate(spec_input(purpose=" Acquisition")).purpose is Purpose.ACQUISITION
    assert errors_of(purpose="discount") == {
        "purpose": "Input should be 'acquisition', 'retargeting' or 'exclusion'"
    }


@pytest.mark.parametrize(
    ("tracked", "path", "needle"),
    [
        ("PURCHASE", "tracked_events", "must map app ids to the events"),
        ({"123": "PURCHASE"}, "tracked_events.123", "must be a list of events"),
        ({"123": ["PURCHASED"]}, "tracked_events.123[0]", "did you mean PURCHASE?"),
        ({"app": ["PURCHASE"]}, "tracked_events.app.[key]", "an app id must be a positive whole number"),
    ],
)
def test_bad_tracked_events_are_reported_where_they_are(tracked: object, path: str, needle: str) -> None:
    errors = errors_of(tracked_events=tracked)
    assert list(errors) == [path]
    assert needle in errors[path]


def test_untracked_rules_name_each_app_whose_declared_events_lack_the_rule_event() -> None:
    spec = AudienceSpec.model_validate(
        spec_input(
            app_ids=["123", "456"],
            include=[rule("ADD_TO_CART", 30)],
            tracked_events={"123": ["INSTALL", "PURCHASE"]},  # nothing declared for 456: not judged
        )
    )
    assert [(kind, index, app) for kind, index, _, app in spec.untracked_rules()] == [("include", 0, "123")]
    assert AudienceSpec.model_validate(spec_input()).untracked_rules() == []
