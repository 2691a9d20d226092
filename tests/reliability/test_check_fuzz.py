"""Bad input: arbitrary declarations through ``check``, in the provider and through the real host.

Each one either passes, and then yields a rule/create body that TikTok's own request schema
accepts, or fails with CheckFailures named after the property at fault; never anything else.
Declarations start valid and get any of their properties replaced by anything: wrong types,
unicode, huge or negative numbers, NaN, unknown events, long strings and huge lists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pulumi.dynamic import CheckFailure, Config, ConfigureRequest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, DEFAULT_APP_ID
from pulumi_tiktok_audiences.provider import INPUT_KEYS, AppActivity, spec_from_props
from pulumi_tiktok_audiences.spec import AppEvent
from tests.contract.helpers import BLOB
from tests.harness.host import ProviderHost
from tests.openapi_schema import load_operation

URN = "urn:pulumi:test::tiktok-test::pulumi-python:dynamic:Resource::a"
RULE_CREATE = load_operation("dmp_custom_audience_rule_create")
# A declared property, then the path inside it (an unknown key in it may be any text).
PROPERTY_ROOT = re.compile(r"^([a-z_]+)(?=$|\[\d+\]|\.)")

TEXT = (
    st.text(max_size=30)
    | st.text(min_size=129, max_size=400)
    | st.sampled_from(["", " ", "\x00", "€" * 129, "\u202e"])
)
NUMBERS = (
    st.integers(-(2**70), 2**70)
    | st.sampled_from([0, -1, 1, 180, 181, 365, 366, 2**31, 2**63])
    | st.floats(allow_nan=True, allow_infinity=True)
)
ANYTHING = st.recursive(
    st.none() | st.booleans() | NUMBERS | TEXT,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(TEXT, children, max_size=3),
    max_leaves=8,
)
EVENTS = (
    st.sampled_from(constants.APP_EVENTS)
    | st.sampled_from([e.name for e in AppEvent])
    | st.sampled_from(["add to crt", "PURCHASE ", "purchase", "ÄDD_TO_CART", "EVENT"])
    | TEXT
)
APP_IDS = st.lists(st.sampled_from([DEFAULT_APP_ID, "1", "0", "-5", "12a", "9" * 30]), max_size=4)
HUGE_LIST = st.integers(100, 2000).map(lambda n: [DEFAULT_APP_ID] * n)
RULE = st.fixed_dictionaries(
    {"event": EVENTS, "lookback_days": NUMBERS},
    optional={"app_ids": APP_IDS | HUGE_LIST | ANYTHING, "unknown": ANYTHING},
)
RULES = st.lists(RULE | ANYTHING, max_size=7) | st.integers(6, 500).map(
    lambda n: [{"event": "PURCHASE", "lookback_days": 30}] * n
)
OVERRIDES: dict[str, st.SearchStrategy[Any]] = {
    "advertiser_id": st.sampled_from([DEFAULT_ADVERTISER_ID, "", "0", "-1", "7e18", "\uff11\uff12"])
    | ANYTHING,
    "name": TEXT | ANYTHING,
    "app_ids": APP_IDS | HUGE_LIST | ANYTHING,
    "include": RULES | ANYTHING,
    "exclude": RULES | ANYTHING,
    "auto_refresh": ANYTHING,
    "retention_in_days": NUMBERS | ANYTHING,
    "audience_sub_type": st.sampled_from(["NORMAL", "REACH_FREQUENCY", "RF", "normal"]) | ANYTHING,
    "match": st.sampled_from(["any", "all", "ANY", "some"]) | ANYTHING,
    "adopt_audience_id": st.sampled_from(["7300000000000000001", "aud-1", ""]) | ANYTHING,
}
VALID = {
    "advertiser_id": DEFAULT_ADVERTISER_ID,
    "name": "Buyers",
    "app_ids": [DEFAULT_APP_ID],
    "include": [{"event": "PURCHASE", "lookback_days": 30}],
}
DECLARATIONS = (
    st.lists(st.sampled_from(sorted(OVERRIDES)), unique=True, max_size=4)
    .flatmap(lambda keys: st.fixed_dictionaries({k: OVERRIDES[k] for k in keys}))
    .map(lambda overrides: {**VALID, **overrides})
)


def assert_checked(inputs: dict[str, Any], failures: list[tuple[str, str]]) -> None:
    """Either a schema-valid body, or failures that name a declared property."""
    if not failures:
        payload = spec_from_props(inputs).to_create_payload()
        assert RULE_CREATE.body_errors(payload) == []
        return
    for prop, reason in failures:
        root = PROPERTY_ROOT.match(prop)
        assert root is not None, f"not a property path: {prop!r}"
        assert root.group(1) in INPUT_KEYS, prop
        assert reason.strip(), prop


@pytest.fixture(scope="module")
def provider() -> AppActivity:
    instance = AppActivity()
    instance.configure(ConfigureRequest(Config({}, "p")))
    return instance


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(declared=DECLARATIONS)
def test_check_passes_with_a_valid_body_or_fails_by_property(
    provider: AppActivity, declared: dict[str, Any]
) -> None:
    result = provider.check({}, declared)
    failures: list[CheckFailure] = result.failures
    assert_checked(result.inputs, [(f.property, f.reason) for f in failures])


@pytest.fixture(scope="module")
def host() -> Iterator[ProviderHost]:
    with ProviderHost() as started:
        started.configure({})
        yield started


def _sendable(value: Any) -> bool:
    """What the engine can put in a property bag: protobuf Struct holds finite doubles only."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value) < 2**53
    if isinstance(value, list):
        return all(_sendable(v) for v in value)
    if isinstance(value, dict):
        return all(_sendable(v) for v in value.values())
    return True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(declared=DECLARATIONS.filter(_sendable))
def test_check_through_the_host_never_fails_otherwise(host: ProviderHost, declared: dict[str, Any]) -> None:
    result = host.check(URN, {}, {**declared, "__provider": BLOB})
    assert_checked({k: v for k, v in result.inputs.items() if k != "__provider"}, result.failures)
