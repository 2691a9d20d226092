"""Check and Diff through the real provider host: validation as CheckFailures, diff shapes, unknowns.

Neither may call TikTok: `pulumi preview` runs them, possibly without credentials.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2

from pulumi_tiktok_audiences.emulator import DEFAULT_APP_ID, SECOND_APP_ID, Emulator
from tests.contract.helpers import (
    BLOB,
    CHECK_FAILURES,
    DIFF_CASES,
    PROVIDER_KEY,
    DiffCase,
    Engine,
    declared,
    rule,
    stored_outputs,
    urn,
)
from tests.harness.host import UNKNOWN, ProviderHost

DIFF_NONE = provider_pb2.DiffResponse.DIFF_NONE
DIFF_SOME = provider_pb2.DiffResponse.DIFF_SOME


@pytest.fixture(autouse=True)
def no_api_calls(emulator: Emulator) -> Iterator[None]:
    """Every test in this module: check and diff leave TikTok untouched."""
    emulator.reset_request_counts()
    yield
    assert emulator.request_counts() == {}


# --- check ----------------------------------------------------------------------------------------


def test_check_returns_canonical_inputs(engine: Engine) -> None:
    result = engine.check(
        declared(
            app_ids=[SECOND_APP_ID, DEFAULT_APP_ID, SECOND_APP_ID],
            include=[rule("add to cart", 30.0)],
            exclude=[],
        )
    )
    assert result.failures == []
    inputs = result.inputs
    assert inputs["include"] == [{"event": "APP ADD TO CART", "lookback_days": 30}]
    assert inputs["app_ids"] == [DEFAULT_APP_ID, SECOND_APP_ID]
    assert inputs["audience_sub_type"] == "NORMAL"
    assert inputs["match"] == "any"
    assert inputs[PROVIDER_KEY] == BLOB
    assert not {"audience_id", "size", "summary"} & inputs.keys()


def test_check_keeps_a_valid_adopt_id_as_a_string(engine: Engine) -> None:
    result = engine.check(declared(adopt_audience_id="7300000000000000042"))
    assert result.failures == []
    assert result.inputs["adopt_audience_id"] == "7300000000000000042"


@pytest.mark.parametrize(
    ("overrides", "path", "fragments"),
    [case[1:] for case in CHECK_FAILURES],
    ids=[case[0] for case in CHECK_FAILURES],
)
def test_check_reports_each_problem_at_its_property_path(
    engine: Engine, overrides: dict[str, Any], path: str, fragments: list[str]
) -> None:
    failures = dict(engine.check(declared(**overrides)).failures)
    assert path in failures, failures
    for fragment in fragments:
        assert fragment in failures[path]


def test_check_reports_every_problem_at_once(engine: Engine) -> None:
    failures = engine.check(
        declared(retention_in_days=0, audience_sub_type="RF", include=[rule("PURCHASE", 999)])
    ).failures
    assert {path for path, _ in failures} == {
        "retention_in_days",
        "audience_sub_type",
        "include[0].lookback_days",
    }


def _raw_check(host: ProviderHost, **overrides: Any) -> list[tuple[str, str]]:
    news = {k: v for k, v in declared(**overrides).items() if v is not None}
    return host.check(urn("audience"), {}, {**news, PROVIDER_KEY: BLOB}, raw=True).failures


@pytest.mark.parametrize(
    "overrides",
    [
        {"name": UNKNOWN},
        {"app_ids": UNKNOWN},
        {"app_ids": [DEFAULT_APP_ID, UNKNOWN]},
        {"advertiser_id": UNKNOWN},
        {"include": UNKNOWN},
        {"include": [{"event": UNKNOWN, "lookback_days": 30}]},
        {"exclude": [{"event": "PURCHASE", "lookback_days": UNKNOWN}]},
        {"adopt_audience_id": UNKNOWN},
    ],
    ids=["name", "app-ids", "one-app-id", "advertiser", "include", "event", "lookback", "adopt"],
)
def test_check_tolerates_unknown_values(host: ProviderHost, overrides: dict[str, Any]) -> None:
    assert _raw_check(host, **overrides) == []


@pytest.mark.parametrize(
    ("overrides", "bad_path"),
    [
        ({"name": UNKNOWN, "retention_in_days": 0}, "retention_in_days"),
        ({"include": [{"event": UNKNOWN, "lookback_days": 999}]}, "include[0].lookback_days"),
        ({"app_ids": UNKNOWN, "exclude": [{"event": "PURCHSE", "lookback_days": 7}]}, "exclude[0].event"),
    ],
    ids=["beside-unknown-name", "beside-unknown-event", "beside-unknown-app-ids"],
)
def test_check_still_fails_a_known_bad_value_beside_an_unknown(
    host: ProviderHost, overrides: dict[str, Any], bad_path: str
) -> None:
    assert [path for path, _ in _raw_check(host, **overrides)] == [bad_path]


# --- diff -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DIFF_CASES, ids=[case.id for case in DIFF_CASES])
def test_diff(engine: Engine, case: DiffCase) -> None:
    olds = stored_outputs(engine.checked(declared(**case.old)))
    result = engine.diff("7300000000000000001", olds, declared(**case.new))
    assert result.changes == (DIFF_SOME if case.changes else DIFF_NONE)
    assert result.replaces == case.replaces
    assert result.delete_before_replace is False  # create the new audience before deleting the old


@pytest.mark.parametrize(
    "computed",
    [
        {"size": 999_999},
        {"size": None, "is_valid": False, "targetable": False},
        {"expire_time": "2031-06-30 12:00:00"},
        {"summary": "stale text"},
    ],
    ids=["size", "calculating", "expire-time", "summary"],
)
def test_diff_ignores_what_tiktok_computes(engine: Engine, computed: dict[str, Any]) -> None:
    olds = stored_outputs(engine.checked(declared()), **computed)
    assert engine.diff("7300000000000000001", olds, declared()).changes == DIFF_NONE


@pytest.mark.parametrize(
    ("overrides", "replaces"),
    [
        ({"name": UNKNOWN}, []),
        ({"app_ids": UNKNOWN}, ["app_ids"]),
        ({"include": [{"event": UNKNOWN, "lookback_days": 30}]}, ["include"]),
        ({"advertiser_id": UNKNOWN, "name": UNKNOWN}, ["advertiser_id"]),
    ],
    ids=["name", "app-ids", "event", "advertiser-and-name"],
)
def test_diff_with_unknown_values_reports_a_change(
    host: ProviderHost, engine: Engine, overrides: dict[str, Any], replaces: list[str]
) -> None:
    olds = {k: v for k, v in stored_outputs(engine.checked(declared())).items() if v is not None}
    news = {k: v for k, v in declared(**overrides).items() if v is not None}
    result = host.diff(urn("audience"), "7300000000000000001", olds, {**news, PROVIDER_KEY: BLOB}, raw=True)
    assert result.changes == DIFF_SOME
    assert result.replaces == replaces
    assert result.delete_before_replace is False
