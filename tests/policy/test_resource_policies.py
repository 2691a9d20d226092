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

RECENT = "exclude-recent-purchasers"


def test_the_seeds_audiences_are_not_refused_for_words_in_their_names(dev: PolicyAnalyzer) -> None:
    """Issue 18: "sale" in "Wholesale" and "Lapsed" in a name made audiences discount audiences."""
    wholesale = audience("wholesale", "Wholesale app registrants", [rule(AppEvent.REGISTRATION, 30)])
    lapsed = audience("lapsed-users", "Lapsed users (no launch 30d)", [rule(INSTALL, 90)], [rule(LAUNCH, 30)])
    for resource in (wholesale, lapsed):
        assert violations(dev, resource, RECENT) == [], resource.name
    for purpose in ("retargeting", "exclusion"):
        kept = audience("spring", "Spring discount buyers", [rule(PURCHASE, 90)], purpose=purpose)
        assert violations(dev, kept, RECENT) == [], purpose


def test_an_acquisition_audience_that_keeps_recent_purchasers_is_refused(dev: PolicyAnalyzer) -> None:
    newcomers = audience("newcomers", "New users", [rule(LAUNCH, 30)], purpose="acquisition")
    found = violations(dev, newcomers, RECENT)
    assert [d.level for d in found] == ["mandatory"]
    text = message(found[0])
    assert "'New users' (resource newcomers) is for acquisition" in text
    assert "purchased in the last 7 days" in text
    assert text.endswith(
        "Write on the resource 'newcomers' in the program: "
        "exclude=[EventRule(event=AppEvent.PURCHASE, lookback_days=7)]"
    )


def test_an_acquisition_audience_of_a_catalog_gets_the_fix_as_yaml(dev: PolicyAnalyzer) -> None:
    newcomers = audience(
        "newcomers",
        "New users",
        [rule(LAUNCH, 30)],
        [rule(INSTALL, 1), rule(PURCHASE, 3)],  # a shorter purchase window is replaced, not kept
        purpose="acquisition",
        catalog="audiences.yaml",
    )
    text = message(violations(dev, newcomers, RECENT)[0])
    assert text.endswith(
        "Write in audiences.yaml, under audiences.newcomers: "
        "exclude: [{event: INSTALL, lookback_days: 1}, {event: PURCHASE, lookback_days: 7}]"
    )
    assert "EventRule" not in text
    assert "AppEvent" not in text


def test_acquisition_audiences_that_exclude_recent_purchasers_pass(dev: PolicyAnalyzer) -> None:
    for days in (7, 30):
        kept = audience("new", "New users", [rule(LAUNCH, 30)], [rule(PURCHASE, days)], purpose="acquisition")
        assert violations(dev, kept, RECENT) == [], days


def test_a_purchase_exclusion_in_another_app_does_not_count(dev: PolicyAnalyzer) -> None:
    other = audience(
        "promo",
        "Promo",
        [rule(LAUNCH, 30, [APP])],
        [rule(PURCHASE, 30, [OTHER_APP])],
        app_ids=(APP,),
        purpose="acquisition",
    )
    text = message(violations(dev, other, RECENT)[0])
    assert (  # rules with their own apps: the fix names them
        'exclude=[EventRule(event=AppEvent.PURCHASE, lookback_days=30, app_ids=["6400000002"]), '
        'EventRule(event=AppEvent.PURCHASE, lookback_days=7, app_ids=["6400000001"])]'
    ) in text


def test_exclude_recent_purchasers_config(dev: PolicyAnalyzer) -> None:
    lapsed_buyers = audience(
        "buyers", "Past buyers", [rule(PURCHASE, 90)], [rule(PURCHASE, 7)], purpose="acquisition"
    )
    assert violations(dev, lapsed_buyers, RECENT) == []
    dev.configure({RECENT: {"days": 14.0}})  # numbers reach the pack as doubles
    assert "last 14 days" in message(violations(dev, lapsed_buyers, RECENT)[0])


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

TRACKED = "tracked-events-only"


def test_nothing_is_said_when_no_tracked_events_are_declared(dev: PolicyAnalyzer) -> None:
    """Issue 18: with an assumed "INSTALL only", the seed's segments got 6 advisories."""
    carts = audience("carts", "Cart abandoners", [rule(CART, 14)], [rule(PURCHASE, 14)])
    assert violations(dev, carts, TRACKED) == []


def test_a_rule_on_an_event_the_app_does_not_post_back_is_reported(dev: PolicyAnalyzer) -> None:
    carts = audience(
        "carts",
        "Cart abandoners",
        [rule(CART, 14)],
        [rule(PURCHASE, 14)],
        tracked={APP: ["INSTALL", "PURCHASE"]},
    )
    found = violations(dev, carts, TRACKED)
    assert [d.level for d in found] == ["advisory"]
    text = message(found[0])
    assert "include[0] (ADD_TO_CART in the last 14 days)" in text
    assert f"app {APP}" in text
    assert "(declared: INSTALL, PURCHASE)" in text
    assert "matches nobody" in text
    assert "on the resource, or in the stack config tiktok:trackedEvents" in text
    assert f'tracked_events={{"{APP}": [AppEvent.INSTALL, AppEvent.PURCHASE, AppEvent.ADD_TO_CART]}}' in text


def test_a_catalog_audience_is_told_where_its_tracked_events_go_in_yaml(dev: PolicyAnalyzer) -> None:
    carts = audience(
        "carts", "Carts", [rule(CART, 14)], tracked={APP: ["INSTALL"]}, catalog="catalogs/audiences.yaml"
    )
    text = message(violations(dev, carts, TRACKED)[0])
    assert (
        "at the top of the catalog (or under stacks.<stack>): "
        f'tracked_events: {{"{APP}": [INSTALL, ADD_TO_CART]}}' in text
    )
    assert "AppEvent" not in text


def test_only_apps_with_declared_tracked_events_are_judged(dev: PolicyAnalyzer) -> None:
    two_apps = audience(
        "two", "Two apps", [rule(CART, 14)], app_ids=(APP, OTHER_APP), tracked={APP: ["INSTALL"]}
    )
    found = violations(dev, two_apps, TRACKED)
    assert len(found) == 1
    assert f"app {APP}" in message(found[0])
    tracked_both = {APP: ["ADD_TO_CART"], OTHER_APP: ["add to cart"]}  # any accepted spelling
    both = audience("both", "Two apps", [rule(CART, 14)], app_ids=(APP, OTHER_APP), tracked=tracked_both)
    assert violations(dev, both, TRACKED) == []


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
    assert "(its name argument)" in message(found[0])
    in_catalog = audience("spaced", "Lapsed buyers ", [rule(LAUNCH, 30)], catalog="audiences.yaml")
    assert "(its name: in audiences.yaml, under audiences.spaced)" in message(
        violations(dev, in_catalog, "naming")[0]
    )
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
        assert "opts=pulumi.ResourceOptions(protect=True) on the resource" in message(found[0])
        resource.protect = True
        assert violations(prod, resource, "protect-in-production") == []


def test_an_unprotected_catalog_audience_is_told_the_yaml_to_write(prod: PolicyAnalyzer) -> None:
    lapsed = audience("lapsed", "Lapsed", [rule(PURCHASE, 30)], [rule(PURCHASE, 7)], catalog="audiences.yaml")
    text = message(violations(prod, lapsed, "protect-in-production")[0])
    assert "Set protect: true in audiences.yaml, under audiences.lapsed (or under its stacks.prod)" in text
    assert "ResourceOptions" not in text


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
    props = {**props_from_spec(spec), "purpose": "acquisition"}
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
