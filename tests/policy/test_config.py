"""A misconfigured policy config gets a clear error: from the engine when the schema says it is
wrong, from the pack when only the policy can tell (unknown keys, regular expressions, events)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pulumi_tiktok_audiences.spec import AppEvent
from tests.harness.host import REPO_ROOT
from tests.policy.analyzer import AnalyzerError, ConfigRejectedError, PolicyAnalyzer
from tests.policy.helpers import audience, rule

AUDIENCE = audience("a", "Spring discount", [rule(AppEvent.PURCHASE, 30)])


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"exclude-recent-purchasers": {"days": "seven"}},
            "exclude-recent-purchasers: 'seven' is not of type 'integer'",
        ),
        (
            {"exclude-recent-purchasers": {"days": 0}},
            "exclude-recent-purchasers: 0 is less than the minimum of 1",
        ),
        ({"audience-cap": {"max_audiences": 401}}, "audience-cap: 401 is greater than the maximum of 400"),
        ({"targetable-before-use": {"min_size": 500}}, "500 is less than the minimum of 1000"),
        (
            {"lookback-bounds": {"events": {"PURCHASE": {"max": 60}}}},
            "Additional properties are not allowed ('max'",
        ),
        ({"naming": {"enforcementLevel": "strict"}}, '"strict" is not valid'),
        ({"naming": "strict"}, '"strict" is not valid'),
    ],
)
def test_the_engine_refuses_what_the_schema_forbids(
    dev: PolicyAnalyzer, config: dict[str, Any], expected: str
) -> None:
    with pytest.raises(ConfigRejectedError) as caught:
        dev.configure(config)
    assert any(expected in error for error in caught.value.errors), caught.value.errors


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"exclude-recent-purchasers": {"dayz": 7}},
            "exclude-recent-purchasers.dayz: unknown field 'dayz'; did you mean 'days'?",
        ),
        (
            {"naming": {"pattern": "ua-(["}},
            "naming.pattern: 'ua-([' is not a valid regular expression",
        ),
        (
            {"lookback-bounds": {"events": {"PURCHSE": {"max_days": 60}}}},
            "lookback-bounds.events.PURCHSE.[key]: unknown app event 'PURCHSE': did you mean PURCHASE?",
        ),
        (
            {"lookback-bounds": {"events": {"PURCHASE": {"min_days": 30, "max_days": 7}}}},
            "lookback-bounds.events.PURCHASE: min_days (30) must not be above max_days (7)",
        ),
    ],
)
def test_the_pack_refuses_what_only_the_policy_can_tell(
    dev: PolicyAnalyzer, config: dict[str, Any], expected: str
) -> None:
    dev.configure(config)  # the engine's schema lets these through
    with pytest.raises(AnalyzerError) as caught:
        dev.analyze(AUDIENCE)
    assert expected in caught.value.details
    assert "Correct it in the file given to --policy-pack-config." in caught.value.details


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        (
            {"exclude-recent-purchasers": {"name_pattern": "(?i)sale", "presets": [], "days": 7}},
            [
                "exclude-recent-purchasers.name_pattern: removed: the policy checks the audiences declared "
                "with purpose: acquisition",
                "exclude-recent-purchasers.presets: removed:",
            ],
        ),
        (
            {"tracked-events-only": {"events": ["INSTALL"], "apps": {"6400000001": ["PURCHASE"]}}},
            [
                "tracked-events-only.events: removed: tracked events are declared with the audiences",
                "per app tracked_events in the catalog, or the stack config tiktok:trackedEvents",
                "tracked-events-only.apps: removed:",
            ],
        ),
    ],
)
def test_keys_of_earlier_versions_say_what_replaced_them(
    dev: PolicyAnalyzer, config: dict[str, Any], expected: list[str]
) -> None:
    dev.configure(config)
    with pytest.raises(AnalyzerError) as caught:
        dev.analyze(AUDIENCE)
    for fragment in expected:
        assert fragment in caught.value.details


def test_a_stack_policy_config_error_stops_analyze_stack(dev: PolicyAnalyzer) -> None:
    dev.configure({"audience-cap": {"max_audience": 10}})
    with pytest.raises(AnalyzerError) as caught:
        dev.analyze_stack([AUDIENCE])
    assert "audience-cap.max_audience: unknown field 'max_audience'; did you mean 'max_audiences'?" in (
        caught.value.details
    )


def test_a_policy_not_configured_uses_its_schema_defaults(dev: PolicyAnalyzer) -> None:
    config = dev.configure({"naming": "advisory"})
    assert config["naming"] == {
        "enforcementLevel": "advisory",
        "pattern": r"\S(.*\S)?",
        "description": "no leading or trailing spaces",
    }
    assert config["exclude-recent-purchasers"]["days"] == 7


def test_the_guardrails_guide_example_config_is_accepted(dev: PolicyAnalyzer) -> None:
    section = (REPO_ROOT / "docs" / "guides" / "guardrails.md").read_text(encoding="utf-8")
    example = json.loads(section.split("```json\n", 1)[1].split("```", 1)[0])
    config = dev.configure(example)
    assert config["tracked-events-only"]["enforcementLevel"] == "mandatory"
    carts = audience("carts", "ua-carts", [rule(AppEvent.ADD_TO_CART, 14)], [rule(AppEvent.PURCHASE, 14)])
    assert dev.analyze(carts) == []
