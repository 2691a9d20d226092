"""Test data shared by the provider tests (direct and through the host), and an engine-like driver.

``declared()`` is what ``AppActivityAudience`` sends as inputs; ``DIFF_CASES`` is the diff matrix
run both against the provider class and through the real host; ``Engine`` adds ``__provider``
and runs ``check`` before ``create``/``diff``/``update``, as the engine does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pulumi.dynamic.dynamic import serialize_provider
from pydantic import SecretStr

from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_SEED,
    SECOND_ADVERTISER_ID,
    SECOND_APP_ID,
    THIRD_APP_ID,
    PopulationConfig,
    Seed,
    TokenSeed,
)
from pulumi_tiktok_audiences.provider import AppActivity
from pulumi_tiktok_audiences.settings import ADVERTISER_KEY
from tests.harness.host import CheckResult, DiffResult, ProviderHost

SECRET_TOKEN = "tok-SECRET-1f2e3d"
PROVIDER_KEY = "__provider"
BLOB = serialize_provider(AppActivity())
TYPE = "pulumi-python:dynamic/tiktok:AppActivityAudience"
PROJECT = "tiktok-test"
# The README's words for the lapsed buyers of declared().
README_SUMMARY = (
    "People who purchased in app 6400000001 in the last 30 days, except those who purchased in the "
    "last 7 days."
)
COMPUTED = ("audience_id", "size", "targetable", "is_valid", "expire_time", "summary")


def urn(name: str) -> str:
    return f"urn:pulumi:test::{PROJECT}::{TYPE}::{name}"


def emulator_seed() -> Seed:
    """The default world plus SECRET_TOKEN; audiences reach their full size at once."""
    grant = TokenSeed(token=SecretStr(SECRET_TOKEN), advertiser_ids=DEFAULT_SEED.tokens[0].advertiser_ids)
    return Seed(
        tokens=(*DEFAULT_SEED.tokens, grant),
        advertisers=DEFAULT_SEED.advertisers,
        population=PopulationConfig(calculating_seconds=0, growth_seconds=0),
    )


def declared(**overrides: Any) -> dict[str, Any]:
    """The inputs AppActivityAudience sends for the README's lapsed buyers, with overrides.

    Unset arguments and the declared outputs travel as None, exactly as the resource sends them.
    """
    props: dict[str, Any] = {
        "advertiser_id": DEFAULT_ADVERTISER_ID,
        "name": "Lapsed purchasers",
        "app_ids": [DEFAULT_APP_ID],
        "include": [{"event": "PURCHASE", "lookback_days": 30}],
        "exclude": [{"event": "PURCHASE", "lookback_days": 7}],
        "auto_refresh": True,
        "retention_in_days": None,
        "audience_sub_type": None,
        "match": None,
        "adopt_audience_id": None,
        **dict.fromkeys(COMPUTED),
    }
    props.update(overrides)
    return props


def stored_outputs(checked: dict[str, Any], **computed: Any) -> dict[str, Any]:
    """Old outputs as state holds them: the checked inputs plus what TikTok computed."""
    values = {
        "audience_id": "7300000000000000001",
        "size": 15000,
        "targetable": True,
        "is_valid": True,
        "expire_time": "2030-01-01 00:00:00",
        "summary": "People who purchased.",
        **computed,
    }
    return {**checked, **values}


def rule(event: str, days: float, app_ids: list[str] | None = None) -> dict[str, Any]:
    return {"event": event, "lookback_days": days, **({"app_ids": app_ids} if app_ids else {})}


@dataclass(frozen=True)
class DiffCase:
    """Old and new declarations (overrides of ``declared()``) and the expected diff."""

    id: str
    old: dict[str, Any]
    new: dict[str, Any]
    changes: bool
    replaces: list[str] = field(default_factory=list)


TWO_RULES = [rule("PURCHASE", 30), rule("ADD_TO_CART", 14)]
# Rules with different apps: no audience default, every rule lists its own.
PER_RULE_APPS = {
    "app_ids": None,
    "include": [rule("PURCHASE", 30, [DEFAULT_APP_ID])],
    "exclude": [rule("PURCHASE", 7, [SECOND_APP_ID])],
}
DIFF_CASES = [
    DiffCase("identical", {}, {}, changes=False),
    DiffCase("rename-in-place", {}, {"name": "Lapsed buyers"}, changes=True),
    DiffCase("include-event", {}, {"include": [rule("ADD_TO_CART", 30)]}, True, ["include"]),
    DiffCase("include-lookback", {}, {"include": [rule("PURCHASE", 60)]}, True, ["include"]),
    DiffCase("include-rule-added", {}, {"include": TWO_RULES}, True, ["include"]),
    DiffCase("exclude-lookback", {}, {"exclude": [rule("PURCHASE", 14)]}, True, ["exclude"]),
    DiffCase("exclude-removed", {}, {"exclude": []}, True, ["exclude"]),
    DiffCase("app-ids", {}, {"app_ids": [SECOND_APP_ID]}, True, ["app_ids"]),
    DiffCase("auto-refresh", {}, {"auto_refresh": False}, True, ["auto_refresh"]),
    DiffCase("retention", {}, {"retention_in_days": 90}, True, ["retention_in_days"]),
    DiffCase(
        "retention-changed", {"retention_in_days": 90}, {"retention_in_days": 30}, True, ["retention_in_days"]
    ),
    DiffCase("advertiser", {}, {"advertiser_id": SECOND_ADVERTISER_ID}, True, ["advertiser_id"]),
    DiffCase("rename-and-rule", {}, {"name": "x", "include": [rule("LOGIN", 30)]}, True, ["include"]),
    DiffCase("sub-type-normal-to-rf", {}, {"audience_sub_type": "REACH_FREQUENCY"}, changes=True),
    DiffCase(
        "sub-type-rf-to-normal", {"audience_sub_type": "REACH_FREQUENCY"}, {}, True, ["audience_sub_type"]
    ),
    # The same audience written differently: no diff.
    DiffCase(
        "event-alias",
        {"include": [rule("APP ADD TO CART", 30)]},
        {"include": [rule("add to cart", 30)]},
        changes=False,
    ),
    DiffCase(
        "event-member-name",
        {"include": [rule("ADD_TO_CART", 30)]},
        {"include": [rule("Add-To-Cart", 30)]},
        changes=False,
    ),
    DiffCase(
        "app-id-order",
        {"app_ids": [DEFAULT_APP_ID, SECOND_APP_ID]},
        {"app_ids": [SECOND_APP_ID, DEFAULT_APP_ID]},
        changes=False,
    ),
    DiffCase(
        "duplicate-app-ids",
        {"app_ids": [DEFAULT_APP_ID]},
        {"app_ids": [DEFAULT_APP_ID, DEFAULT_APP_ID]},
        changes=False,
    ),
    DiffCase(
        "default-vs-per-rule-app-ids",
        {},
        {
            "app_ids": None,
            "include": [rule("PURCHASE", 30, [DEFAULT_APP_ID])],
            "exclude": [rule("PURCHASE", 7, [DEFAULT_APP_ID])],
        },
        changes=False,
    ),
    DiffCase("rule-order", {"include": TWO_RULES}, {"include": TWO_RULES[::-1]}, changes=False),
    DiffCase("float-lookback", {}, {"include": [rule("PURCHASE", 30.0)]}, changes=False),
    DiffCase("explicit-defaults", {}, {"audience_sub_type": "NORMAL", "match": "any"}, changes=False),
    DiffCase("match-all-one-rule", {}, {"match": "all"}, changes=False),
    DiffCase(
        "per-rule-app-ids",
        PER_RULE_APPS,
        {**PER_RULE_APPS, "exclude": [rule("PURCHASE", 7, [THIRD_APP_ID])]},
        True,
        ["exclude"],
    ),
    # What TikTok knows nothing of (spec.LOCAL_FIELDS): stored by an update, never a replacement.
    DiffCase("purpose-declared", {}, {"purpose": "retargeting"}, changes=True),
    DiffCase("purpose-changed", {"purpose": "retargeting"}, {"purpose": "acquisition"}, changes=True),
    DiffCase("tracked-events-declared", {}, {"tracked_events": {DEFAULT_APP_ID: ["PURCHASE"]}}, changes=True),
    DiffCase(
        "tracked-events-written-differently",
        {"tracked_events": {DEFAULT_APP_ID: ["PURCHASE", "ADD_TO_CART"]}},
        {"tracked_events": {DEFAULT_APP_ID: ["add to cart", "purchase", "PURCHASE"]}},
        changes=False,
    ),
    DiffCase(
        "rule-and-purpose",
        {},
        {"purpose": "acquisition", "exclude": [rule("PURCHASE", 14)]},
        True,
        ["exclude"],
    ),
]

# (id, overrides of declared(), property path, fragments its message must hold)
CHECK_FAILURES: list[tuple[str, dict[str, Any], str, list[str]]] = [
    (
        "unknown-event",
        {"include": [rule("add to crt", 30)]},
        "include[0].event",
        ["unknown app event 'add to crt'", "did you mean ADD_TO_CART?", "ADD_TO_CART or add-to-cart"],
    ),
    (
        "lookback-too-long",
        {"include": [rule("PURCHASE", 181)]},
        "include[0].lookback_days",
        ["1 to 180 days", "181"],
    ),
    (
        "lookback-zero-in-exclude",
        {"exclude": [rule("PURCHASE", 0)]},
        "exclude[0].lookback_days",
        ["1 to 180 days"],
    ),
    (
        "six-include-rules",
        {"include": [rule("PURCHASE", d) for d in range(1, 7)]},
        "include",
        ["1 to 5 rules", "got 6"],
    ),
    ("retention-zero", {"retention_in_days": 0}, "retention_in_days", ["1 to 365 days"]),
    ("bad-sub-type", {"audience_sub_type": "RF"}, "audience_sub_type", ["NORMAL", "REACH_FREQUENCY"]),
    (
        "match-all-two-rules",
        {"match": "all", "include": TWO_RULES},
        "match",
        ['match "all"', "OR only", "exclude the other"],
    ),
    ("missing-app-ids", {"app_ids": None}, "include[0].app_ids", ["no app ids", "app_ids"]),
    ("missing-advertiser", {"advertiser_id": None}, "advertiser_id", [ADVERTISER_KEY]),
    ("non-digit-adopt-id", {"adopt_audience_id": "aud-1"}, "adopt_audience_id", ["whole number", "aud-1"]),
]


class Engine:
    """Engine-shaped calls on a ProviderHost for one project: ``__provider`` added, news checked."""

    def __init__(self, host: ProviderHost) -> None:
        self.host = host

    def check(self, news: dict[str, Any], olds: dict[str, Any] | None = None) -> CheckResult:
        return self.host.check(urn("audience"), olds or {}, {**news, PROVIDER_KEY: BLOB})

    def checked(self, news: dict[str, Any]) -> dict[str, Any]:
        result = self.check(news)
        assert result.failures == [], result.failures
        return result.inputs

    def create(self, news: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        return self.host.create(urn("audience"), self.checked(news))

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return self.host.diff(urn("audience"), id_, olds, self.checked(news))

    def read(
        self, id_: str, outs: dict[str, Any], inputs: dict[str, Any] | None = None
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        return self.host.read(urn("audience"), id_, outs, inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        return self.host.update(urn("audience"), id_, olds, self.checked(news))

    def delete(self, id_: str, outs: dict[str, Any]) -> None:
        self.host.delete(urn("audience"), id_, outs)
