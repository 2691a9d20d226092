"""Each resource policy through the Analyzer protocol: failing and passing resources, its config."""

from __future__ import annotations

from pulumi_tiktok_audiences import presets
from pulumi_tiktok_audiences.provider import props_from_spec
from pulumi_tiktok_audiences.spec import AppEvent
from tests.policy.analyzer import PolicyAnalyzer
from tests.policy.helpers import (
    ADVERTISER,
    APP,
    OTHER_APP,
    audience,
    lookalike,
    message,
    rule,
    share,
    violations,
)

PURCHASE, CART, INSTALL, LAUNCH = (
    AppEvent.PURCHASE,
    AppEvent.ADD_TO_CART,
    AppEvent.INSTALL,
    AppEvent.LAUNCH_APP,
)


def preset_audience(resource_name: str, args: presets.AudienceArgs):  # type: ignore[no-untyped-def]
    spec = args.to_spec(ADVERTISER)
    return audience(resource_name, spec.name, spec.include, spec.exclude, app_ids=spec.app_ids or (APP,))


def test_analyzer_info_lists_every_policy_with_its_level_and_schema(dev: PolicyAnalyzer) -> None:
    info = {p.name: p for p in dev.info.policies}
    assert dev.info.name == "tiktok-audiences"
    assert dev.info.supportsConfig
    assert set(info) == {
        "exclude-recent-purchasers",
        "no-always-empty-audience",
        "tracked-events-only",
        "lookback-bounds",
        "audience-cap",
        "naming",
        "protect-in-production",
        "targetable-before-use",
    }
    advisory = {name for name, p in info.items() if p.enforcementLevel == 0}
    assert advisory == {"tracked-events-only", "protect-in-production", "targetable-before-use"}
    assert {name for name, p in info.items() if p.policy_type == 2} == {
        "audience-cap",
        "targetable-before-use",
    }
    assert dev.schemas()["exclude-recent-purchasers"]["properties"]["days"]["default"] == 7


# --- exclude-recent-purchasers ----------------------------------------------------------------


def test_discount_audience_without_recent_purchase_exclusion_is_refused(dev: PolicyAnalyzer) -> None:
    found = violations(
        dev, audience("spring", "Spring discount buyers", [rule(PURCHASE, 90)]), "exclude-recent-purchasers"
    )
    assert [d.level for d in found] == ["mandatory"]
    text = message(found[0])
    assert "'Spring discount buyers' (resource spring)" in text
    assert "last 7 days" in text
    assert "EventRule(event=AppEvent.PURCHASE, lookback_days=7)" in text


def test_preset_shape_selects_an_audience_whatever_its_name(dev: PolicyAnalyzer) -> None:
    short = preset_audience("churned", presets.lapsed_purchasers_args(APP, not_within_days=3, name="Churned"))
    found = violations(dev, short, "exclude-recent-purchasers")
    assert len(found) == 1
    assert "built like the lapsed_purchasers preset" in message(found[0])


def test_presets_with_their_defaults_pass(dev: PolicyAnalyzer) -> None:
    for args in (presets.lapsed_purchasers_args(APP), presets.cart_abandoners_args(APP)):
        assert violations(dev, preset_audience("p", args), "exclude-recent-purchasers") == []


def test_audiences_not_meant_for_discounts_are_left_alone(dev: PolicyAnalyzer) -> None:
    active = audience("active", "Active users", [rule(LAUNCH, 30)])
    assert violations(dev, active, "exclude-recent-purchasers") == []


def test_a_purchase_exclusion_in_another_app_does_not_count(dev: PolicyAnalyzer) -> None:
    other = audience(
        "promo", "Promo", [rule(LAUNCH, 30, [APP])], [rule(PURCHASE, 30, [OTHER_APP])], app_ids=(APP,)
    )
    assert len(violations(dev, other, "exclude-recent-purchasers")) == 1


def test_exclude_recent_purchasers_config(dev: PolicyAnalyzer) -> None:
    lapsed = preset_audience("lapsed", presets.lapsed_purchasers_args(APP))  # excludes 7 days
    spring = audience("spring", "Spring discount", [rule(PURCHASE, 90)])
    churned = preset_audience(
        "churned", presets.lapsed_purchasers_args(APP, not_within_days=3, name="Churned")
    )

    dev.configure({"exclude-recent-purchasers": {"days": 14.0}})  # numbers reach the pack as doubles
    assert "last 14 days" in message(violations(dev, lapsed, "exclude-recent-purchasers")[0])

    dev.configure({"exclude-recent-purchasers": {"name_pattern": "(?i)vip", "presets": []}})
    assert violations(dev, spring, "exclude-recent-purchasers") == []
    assert violations(dev, churned, "exclude-recent-purchasers") == []
    vip = audience("vip", "VIP win-back", [rule(PURCHASE, 90)])
    assert len(violations(dev, vip, "exclude-recent-purchasers")) == 1


# --- no-always-empty-audience ------------------------------------------------------------------


def test_an_include_rule_covered_by_an_exclude_rule_is_refused(dev: PolicyAnalyzer) -> None:
    empty = audience("empty", "Recent buyers", [rule(PURCHASE, 7)], [rule(PURCHASE, 30)])
    found = violations(dev, empty, "no-always-empty-audience")
    assert [d.level for d in found] == ["mandatory"]
    text = message(found[0])
    assert "'Recent buyers' (resource empty)" in text
    assert (
        "include[0] (PURCHASE in the last 7 days) is covered by exclude[0] (PURCHASE in the last 30 days)"
        in text
    )
    assert "can never fill" in text
    assert "shorter than 7 days" in text


def test_one_covered_rule_among_several_adds_nobody(dev: PolicyAnalyzer) -> None:
    partly = audience("partly", "Buyers or carts", [rule(CART, 30), rule(PURCHASE, 7)], [rule(PURCHASE, 7)])
    found = violations(dev, partly, "no-always-empty-audience")
    assert len(found) == 1
    assert "include[1]" in message(found[0])
    assert "adds nobody" in message(found[0])


def test_a_shorter_or_narrower_exclusion_passes(dev: PolicyAnalyzer) -> None:
    lapsed = audience("lapsed", "Lapsed", [rule(PURCHASE, 30)], [rule(PURCHASE, 7)])
    other_app = audience(
        "two-apps", "Two apps", [rule(PURCHASE, 7)], [rule(PURCHASE, 30, [APP])], app_ids=(APP, OTHER_APP)
    )
    assert violations(dev, lapsed, "no-always-empty-audience") == []
    assert violations(dev, other_app, "no-always-empty-audience") == []


def test_enforcement_level_comes_from_the_config(dev: PolicyAnalyzer) -> None:
    empty = audience("empty", "Recent buyers", [rule(PURCHASE, 7)], [rule(PURCHASE, 30)])
    dev.configure({"no-always-empty-audience": "advisory"})
    assert [d.level for d in violations(dev, empty, "no-always-empty-audience")] == ["advisory"]
    dev.configure({"no-always-empty-audience": {"enforcementLevel": "disabled"}})
    assert violations(dev, empty, "no-always-empty-audience") == []
    dev.configure({"all": "disabled"})
    assert dev.analyze(empty) == []


# --- tracked-events-only -----------------------------------------------------------------------


def test_events_the_partner_does_not_send_are_flagged_by_default(dev: PolicyAnalyzer) -> None:
    carts = audience("carts", "Cart abandoners", [rule(CART, 14)], [rule(PURCHASE, 14)])
    found = violations(dev, carts, "tracked-events-only")
    assert [d.level for d in found] == ["advisory", "advisory"]
    text = message(found[0])
    assert "include[0] (ADD_TO_CART in the last 14 days)" in text
    assert f"app {APP}" in text
    assert "measurement partner" in text
    assert "declared: INSTALL" in text
    assert "exclude[0] (PURCHASE" in message(found[1])


def test_install_is_always_tracked(dev: PolicyAnalyzer) -> None:
    installs = audience("installs", "Installers", [rule(INSTALL, 30)])
    assert violations(dev, installs, "tracked-events-only") == []


def test_tracked_events_per_app_and_for_every_app(dev: PolicyAnalyzer) -> None:
    two_apps = audience("two", "Two apps", [rule(CART, 14)], app_ids=(APP, OTHER_APP))
    dev.configure({"tracked-events-only": {"apps": {APP: ["ADD_TO_CART"]}}})
    found = violations(dev, two_apps, "tracked-events-only")
    assert len(found) == 1
    assert f"app {OTHER_APP}" in message(found[0])
    dev.configure({"tracked-events-only": {"events": ["add to cart"]}})  # any accepted spelling
    assert violations(dev, two_apps, "tracked-events-only") == []


# --- lookback-bounds ---------------------------------------------------------------------------


def test_no_bounds_by_default(dev: PolicyAnalyzer) -> None:
    assert violations(dev, audience("long", "Long", [rule(PURCHASE, 180)]), "lookback-bounds") == []


def test_lookbacks_outside_the_teams_bounds_are_refused(dev: PolicyAnalyzer) -> None:
    dev.configure({"lookback-bounds": {"events": {"PURCHASE": {"min_days": 3, "max_days": 60}}}})
    long = audience("long", "Long", [rule(PURCHASE, 90)], [rule(PURCHASE, 2)])
    found = violations(dev, long, "lookback-bounds")
    assert [d.level for d in found] == ["mandatory", "mandatory"]
    assert "include[0] (PURCHASE in the last 90 days) is outside the 3 to 60 days" in message(found[0])
    assert "exclude[0]" in message(found[1])
    assert violations(dev, audience("ok", "Ok", [rule(PURCHASE, 60)]), "lookback-bounds") == []
    assert violations(dev, audience("other", "Other", [rule(LAUNCH, 180)]), "lookback-bounds") == []


def test_default_bounds_apply_to_events_not_listed(dev: PolicyAnalyzer) -> None:
    dev.configure(
        {"lookback-bounds": {"default": {"min_days": 7}, "events": {"APP ADD TO CART": {"max_days": 3}}}}
    )
    assert len(violations(dev, audience("short", "Short", [rule(LAUNCH, 3)]), "lookback-bounds")) == 1
    assert violations(dev, audience("carts", "Carts", [rule(CART, 3)]), "lookback-bounds") == []


# --- naming ------------------------------------------------------------------------------------


def test_default_naming_refuses_stray_spaces_only(dev: PolicyAnalyzer) -> None:
    found = violations(dev, audience("spaced", "Lapsed buyers ", [rule(LAUNCH, 30)]), "naming")
    assert [d.level for d in found] == ["mandatory"]
    assert "'Lapsed buyers ' (resource spaced)" in message(found[0])
    assert "no leading or trailing spaces" in message(found[0])
    assert violations(dev, audience("ok", "Lapsed buyers", [rule(LAUNCH, 30)]), "naming") == []


def test_naming_pattern_applies_to_audiences_and_lookalikes(dev: PolicyAnalyzer) -> None:
    dev.configure({"naming": {"pattern": r"ua-[a-z0-9-]+", "description": "ua-<segment>"}})
    assert len(violations(dev, audience("a", "Lapsed buyers", [rule(LAUNCH, 30)]), "naming")) == 1
    assert violations(dev, audience("b", "ua-lapsed-buyers", [rule(LAUNCH, 30)]), "naming") == []
    found = violations(dev, lookalike("lal", "Buyers lookalike", "7300000000000000001"), "naming")
    assert "ua-<segment>" in message(found[0])


# --- protect-in-production ---------------------------------------------------------------------


def test_unprotected_audiences_lookalikes_and_shares_in_prod_are_refused(prod: PolicyAnalyzer) -> None:
    for resource in (
        audience("lapsed", "Lapsed", [rule(PURCHASE, 30)], [rule(PURCHASE, 7)]),
        lookalike("lal", "Buyers lookalike", "7300000000000000001"),
        share("lal-share", "7300000000000000002"),
    ):
        found = violations(prod, resource, "protect-in-production")
        assert [d.level for d in found] == ["advisory"], resource.name
        assert f"resource {resource.name}" in message(found[0])
        assert "protect=True" in message(found[0])
        resource.protect = True
        assert violations(prod, resource, "protect-in-production") == []


def test_other_stacks_need_no_protection(dev: PolicyAnalyzer) -> None:
    assert violations(dev, audience("a", "A", [rule(LAUNCH, 30)]), "protect-in-production") == []


def test_production_stacks_come_from_the_config(prod: PolicyAnalyzer, dev: PolicyAnalyzer) -> None:
    plain = audience("a", "A", [rule(LAUNCH, 30)])
    prod.configure({"protect-in-production": {"stack_pattern": "live|dev"}})
    assert violations(prod, plain, "protect-in-production") == []
    dev.configure({"protect-in-production": {"stack_pattern": "live|dev"}})
    assert len(violations(dev, plain, "protect-in-production")) == 1


# --- what the engine sends: unknowns, invalid inputs, secrets -----------------------------------


def test_unknown_values_in_preview_are_skipped_not_failed(dev: PolicyAnalyzer) -> None:
    spec = presets.lapsed_purchasers_args(APP, name="Win-back").to_spec(ADVERTISER)
    props = props_from_spec(spec)
    from pulumi.output import Unknown

    props["app_ids"] = [Unknown()]  # an app id from a resource not created yet
    resource = audience("wb", "Win-back", [rule(PURCHASE, 30)])
    resource.props = props
    assert dev.analyze(resource) == []


def test_inputs_the_provider_refuses_are_left_to_the_provider(dev: PolicyAnalyzer) -> None:
    resource = audience("bad", "Discount", [rule(PURCHASE, 7)], [rule(PURCHASE, 30)])
    resource.props = {**resource.props, "include": [{"event": "PURCHSE", "lookback_days": 7}]}
    assert dev.analyze(resource) == []


def test_secret_inputs_are_read_and_no_secret_reaches_a_message(dev: PolicyAnalyzer) -> None:
    from tests.harness.host import secret
    from tests.policy.conftest import SECRET_TOKEN

    empty = audience("empty", "Recent buyers", [rule(PURCHASE, 7)], [rule(PURCHASE, 30)])
    empty.props = {**empty.props, "advertiser_id": secret(ADVERTISER)}  # e.g. from secret config
    found = dev.analyze(empty)
    assert "no-always-empty-audience" in {d.policy for d in found}
    assert all(SECRET_TOKEN not in d.message for d in found)
