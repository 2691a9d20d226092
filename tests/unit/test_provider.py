"""The provider class called directly, against the emulator's in-process transport.

The host adds nothing to what is tested here (validation cases, the diff matrix, settings,
failure paths of create), so these run without a process or socket. The same rules through the
real host are in tests/contract.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.output import Unknown

import pulumi_tiktok_audiences.client as client_package
from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import AuthenticationError, TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    SECOND_ADVERTISER_ID,
    SECOND_APP_ID,
    THIRD_ADVERTISER_ID,
    Clock,
    Emulator,
)
from pulumi_tiktok_audiences.errors import (
    AdoptionError,
    ConfigurationError,
    OperationError,
    TikTokAudiencesError,
)
from pulumi_tiktok_audiences.provider import AppActivity, Share, spec_from_props
from pulumi_tiktok_audiences.providers.base import related
from pulumi_tiktok_audiences.readiness import NotReadyError
from pulumi_tiktok_audiences.settings import (
    ADVERTISER_ENV,
    ADVERTISER_KEY,
    ENDPOINT_ENV,
    ENDPOINT_KEY,
    TOKEN_ENV,
    TOKEN_KEY,
    TRACKED_EVENTS_KEY,
    WAIT_KEY,
    ProviderSettings,
    provider_retry_policy,
)
from tests.contract.helpers import (
    CHECK_FAILURES,
    COMPUTED,
    DIFF_CASES,
    PROJECT,
    SECRET_TOKEN,
    DiffCase,
    declared,
    emulator_seed,
    rule,
    stored_outputs,
)

START = datetime(2025, 6, 1, tzinfo=UTC)
DAY = 86_400.0


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=emulator_seed(), clock=Clock(START.timestamp(), frozen=True)) as instance:
        yield instance


def configured(config: dict[str, Any]) -> AppActivity:
    """A provider as the host makes it: unpickled, then configure() with the stack config."""
    provider = AppActivity()
    provider.configure(ConfigureRequest(Config(config, PROJECT)))
    return provider


@pytest.fixture
def provider(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> AppActivity:
    """Configured for an http(s) endpoint, whose client is wired to the in-process emulator."""
    monkeypatch.setattr(
        client_package, "TikTokClient", functools.partial(TikTokClient, transport=emulator.transport())
    )
    return configured({TOKEN_KEY: DEFAULT_TOKEN, ENDPOINT_KEY: IN_PROCESS_BASE_URL})


@pytest.fixture
def tiktok(emulator: Emulator) -> Iterator[TikTokClient]:
    """Someone working in Ads Manager, outside Pulumi."""
    with TikTokClient(DEFAULT_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as client:
        yield client


def checked(provider: AppActivity, **overrides: Any) -> dict[str, Any]:
    result = provider.check({}, declared(**overrides))
    assert result.failures == [], [(f.property, f.reason) for f in result.failures]
    return dict(result.inputs)


def create(provider: AppActivity, **overrides: Any) -> tuple[str, dict[str, Any]]:
    result = provider.create(checked(provider, **overrides))
    assert result.outs is not None
    return str(result.id), dict(result.outs)


def live(emulator: Emulator, advertiser_id: str = DEFAULT_ADVERTISER_ID) -> list[dict[str, Any]]:
    return emulator.audiences(advertiser_id)


class AfterRequest(httpx.BaseTransport):
    """The emulator's transport, running ``then`` once right after it has handled the next request
    to ``path``: what another thread or tool does meanwhile, in a fixed order."""

    def __init__(self, inner: httpx.BaseTransport, path: str) -> None:
        self._inner, self._path = inner, path
        self.then: Callable[[], object] | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        if self.then is not None and request.url.path.endswith(self._path):
            then, self.then = self.then, None
            then()
        return response


def provider_on(
    wire: httpx.BaseTransport, monkeypatch: pytest.MonkeyPatch, config: dict[str, Any] | None = None
) -> AppActivity:
    """A provider like the ``provider`` fixture's (plus ``config``), whose clients send through ``wire``."""
    monkeypatch.setattr(client_package, "TikTokClient", functools.partial(TikTokClient, transport=wire))
    return configured({TOKEN_KEY: DEFAULT_TOKEN, ENDPOINT_KEY: IN_PROCESS_BASE_URL, **(config or {})})


# --- settings -------------------------------------------------------------------------------------

ENV = {TOKEN_ENV: "env-token", ENDPOINT_ENV: "sandbox", ADVERTISER_ENV: THIRD_ADVERTISER_ID}


def test_settings_prefer_stack_config_to_the_environment() -> None:
    config = {TOKEN_KEY: "config-token", ENDPOINT_KEY: "http://127.0.0.1:1", ADVERTISER_KEY: "123"}
    settings = ProviderSettings.resolve(config.get, ENV)
    assert (settings.access_token, settings.endpoint, settings.advertiser_id) == (
        "config-token",
        "http://127.0.0.1:1",
        "123",
    )


def test_settings_fall_back_to_the_environment() -> None:
    settings = ProviderSettings.resolve({}.get, ENV)
    assert (settings.access_token, settings.endpoint, settings.advertiser_id) == (
        "env-token",
        "sandbox",
        THIRD_ADVERTISER_ID,
    )


@pytest.mark.parametrize("empty", ["", "   "])
def test_settings_treat_empty_values_as_unset(empty: str) -> None:
    config = dict.fromkeys((TOKEN_KEY, ENDPOINT_KEY, ADVERTISER_KEY), empty)
    assert ProviderSettings.resolve(config.get, ENV) == ProviderSettings.resolve({}.get, ENV)
    nowhere = ProviderSettings.resolve(config.get, dict.fromkeys(ENV, empty))
    assert (nowhere.access_token, nowhere.endpoint, nowhere.advertiser_id) == (None, "production", None)


@pytest.mark.parametrize("endpoint", ["production", "sandbox", "local", "https://example.test/"])
def test_settings_accept_the_documented_endpoints(endpoint: str) -> None:
    assert ProviderSettings.resolve({ENDPOINT_KEY: endpoint}.get, {}).endpoint == endpoint


@pytest.mark.parametrize("endpoint", ["prod", "ftp://example.test", "example.test"])
def test_settings_refuse_an_unknown_endpoint_naming_the_allowed_ones(endpoint: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ProviderSettings.resolve({ENDPOINT_KEY: endpoint}.get, {})
    message = str(caught.value)
    for allowed in (ENDPOINT_KEY, "production", "sandbox", "local", "http(s) URL"):
        assert allowed in message


def test_settings_keep_the_token_out_of_their_repr() -> None:
    settings = ProviderSettings.resolve({TOKEN_KEY: SECRET_TOKEN}.get, {})
    assert settings.access_token == SECRET_TOKEN
    assert SECRET_TOKEN not in repr(settings)


def test_a_client_without_a_token_explains_what_to_set() -> None:
    with pytest.raises(ConfigurationError) as caught:
        ProviderSettings.resolve({ENDPOINT_KEY: "sandbox"}.get, {}).make_client()
    assert TOKEN_KEY in str(caught.value)
    assert TOKEN_ENV in str(caught.value)


def test_the_local_endpoint_needs_no_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with ProviderSettings.resolve({ENDPOINT_KEY: "local"}.get, {}).make_client() as client:
        assert client.list_audiences(DEFAULT_ADVERTISER_ID) == []
    assert (tmp_path / ".tiktok-emulator" / "local.db").exists()


def test_an_unconfigured_provider_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ADVERTISER_ENV, SECOND_ADVERTISER_ID)
    result = AppActivity().check({}, declared(advertiser_id=None))
    assert result.failures == []
    assert result.inputs["advertiser_id"] == SECOND_ADVERTISER_ID


# --- check ----------------------------------------------------------------------------------------


def _only(event: str, days: int) -> list[dict[str, Any]]:
    return [{"event": event, "lookback_days": days}]


CANONICAL = [
    pytest.param(
        {"include": [rule("add to cart", 30)]}, {"include": _only("APP ADD TO CART", 30)}, id="alias"
    ),
    pytest.param(
        {"include": [rule("in_app_ad_click", 30)]},
        {"include": _only("IN-APP AD CLICK", 30)},
        id="member-name",
    ),
    pytest.param({"include": [rule("PURCHASE", 30.0)]}, {"include": _only("PURCHASE", 30)}, id="float-days"),
    pytest.param(
        {"app_ids": [SECOND_APP_ID, DEFAULT_APP_ID, SECOND_APP_ID]},
        {"app_ids": [DEFAULT_APP_ID, SECOND_APP_ID]},
        id="app-id-order-and-repeats",
    ),
    pytest.param({"app_ids": [6400000001]}, {"app_ids": [DEFAULT_APP_ID]}, id="int-app-id"),
    pytest.param(
        {"advertiser_id": 7000000000000000001}, {"advertiser_id": DEFAULT_ADVERTISER_ID}, id="int-advertiser"
    ),
    pytest.param(
        {
            "app_ids": None,
            "include": [rule("PURCHASE", 30, [DEFAULT_APP_ID])],
            "exclude": [rule("PURCHASE", 7, [DEFAULT_APP_ID])],
        },
        {"app_ids": [DEFAULT_APP_ID], "include": _only("PURCHASE", 30)},
        id="shared-per-rule-apps",
    ),
    pytest.param({"match": "all"}, {"match": "any"}, id="match-all-one-rule"),
    pytest.param({"retention_in_days": 90.0}, {"retention_in_days": 90}, id="float-retention"),
    pytest.param({}, {"audience_sub_type": "NORMAL", "match": "any", "auto_refresh": True}, id="defaults"),
    pytest.param(
        {"adopt_audience_id": 7300000000000000042},
        {"adopt_audience_id": "7300000000000000042"},
        id="int-adopt-id",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), CANONICAL)
def test_check_puts_inputs_in_canonical_form(
    provider: AppActivity, overrides: dict[str, Any], expected: dict[str, Any]
) -> None:
    inputs = checked(provider, **overrides)
    for key, value in expected.items():
        assert inputs[key] == value
        assert type(inputs[key]) is type(value)
    assert not set(COMPUTED) & inputs.keys()
    assert None not in inputs.values()


@pytest.mark.parametrize(
    ("overrides", "path", "fragments"),
    [case[1:] for case in CHECK_FAILURES],
    ids=[case[0] for case in CHECK_FAILURES],
)
def test_check_reports_each_problem_at_its_property_path(
    provider: AppActivity, emulator: Emulator, overrides: dict[str, Any], path: str, fragments: list[str]
) -> None:
    failures = {f.property: f.reason for f in provider.check({}, declared(**overrides)).failures}
    assert path in failures, failures
    for fragment in fragments:
        assert fragment in failures[path]
    assert emulator.request_counts() == {}


def test_check_of_a_known_bad_value_beside_unknowns(provider: AppActivity) -> None:
    news = declared(
        name=Unknown(),
        app_ids=[DEFAULT_APP_ID, Unknown()],
        include=[{"event": Unknown(), "lookback_days": 0}],
        exclude=[{"event": "PURCHASE", "lookback_days": Unknown()}],
    )
    failures = provider.check({}, news).failures
    assert [f.property for f in failures] == ["include[0].lookback_days"]


@pytest.mark.parametrize(
    ("outer", "inner", "contains"),
    [
        ("include[0].event", "include[0].event", True),
        ("include[0]", "include[0].event", True),
        ("include", "include[1].lookback_days", True),
        ("include[0]", "include[0].app_ids[2]", True),
        ("include[1]", "include[10]", False),  # a text prefix, not a path prefix
        ("app_ids", "app_ids_of_rule", False),
        ("include[0].event", "include[0].lookback_days", False),  # siblings
        ("include[0]", "exclude[0]", False),
    ],
)
def test_check_holds_back_a_failure_related_to_an_unknown_value_in_either_direction(
    outer: str, inner: str, contains: bool
) -> None:
    """A failure is not reported in a preview when its path and an unknown value's path contain one
    another, whichever is the outer one: a failure inside an unknown value, or an unknown value
    inside what failed."""
    assert related(outer, inner) is contains
    assert related(inner, outer) is contains


# --- diff -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", DIFF_CASES, ids=[case.id for case in DIFF_CASES])
def test_diff_of_checked_inputs(provider: AppActivity, case: DiffCase) -> None:
    olds = stored_outputs(checked(provider, **case.old))
    result = provider.diff("7300000000000000001", olds, checked(provider, **case.new))
    assert (result.changes, result.replaces, result.delete_before_replace) == (
        case.changes,
        case.replaces,
        False,
    )


@pytest.mark.parametrize("case", DIFF_CASES, ids=[case.id for case in DIFF_CASES])
def test_diff_does_not_rely_on_check_having_normalised_both_sides(
    provider: AppActivity, case: DiffCase
) -> None:
    """Old state may come from an older provider version, written in another (valid) form."""
    result = provider.diff("7300000000000000001", stored_outputs(declared(**case.old)), declared(**case.new))
    assert (result.changes, result.replaces) == (case.changes, case.replaces)


def test_diff_with_unknown_values_reports_what_may_change(provider: AppActivity) -> None:
    olds = stored_outputs(checked(provider))
    news = checked(provider)
    result = provider.diff("1", olds, {**news, "name": Unknown(), "retention_in_days": Unknown()})
    assert (result.changes, result.replaces) == (True, ["retention_in_days"])


# --- create, read, update, delete -----------------------------------------------------------------


def test_create_outputs(provider: AppActivity, emulator: Emulator) -> None:
    id_, outs = create(provider, name="created")
    assert emulator.request_counts()[constants.PATH_RULE_CREATE] == 1
    assert outs["audience_id"] == id_
    assert (outs["size"], outs["is_valid"], outs["targetable"]) == (None, False, False)
    assert [a["name"] for a in live(emulator)] == ["created"]


def test_a_create_answered_with_a_server_error_is_looked_for_then_sent_again(
    provider: AppActivity, emulator: Emulator
) -> None:
    emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503, count=1)  # TikTok did not act
    id_, _ = create(provider, name="second try")
    assert [a["audience_id"] for a in live(emulator)] == [id_]
    assert emulator.request_counts()[constants.PATH_RULE_CREATE] == 2


def test_a_create_lost_twice_still_makes_at_most_one_audience(
    provider: AppActivity, emulator: Emulator
) -> None:
    emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503, count=1)  # not acted on
    emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, count=1)  # acted on, answer lost
    id_, _ = create(provider, name="lost twice")
    assert [a["audience_id"] for a in live(emulator)] == [id_]


def test_a_create_that_fails_twice_says_nothing_was_created(
    provider: AppActivity, emulator: Emulator
) -> None:
    emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503, count=1)
    emulator.inject_fault(constants.PATH_RULE_CREATE, code=constants.CODE_PARAM_ERROR, count=1)
    with pytest.raises(OperationError) as caught:
        create(provider, name="fails twice")
    assert "[40002]" in str(caught.value)
    assert "nothing was created" in str(caught.value).lower()
    assert live(emulator) == []


def test_a_lost_create_answer_whose_lookup_fails_says_the_audience_may_exist(
    provider: AppActivity, emulator: Emulator
) -> None:
    """The create may have been carried out and nobody can tell: never sent again, and the user is
    told where to look."""
    create(provider, name="first create lists the advertiser")
    emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, count=1)  # made, answer lost
    emulator.inject_fault(constants.PATH_LIST, code=constants.CODE_PERMISSION_ERROR, count=1)
    with pytest.raises(OperationError) as caught:
        create(provider, name="made, not found")
    message = str(caught.value)
    assert "answer was lost" in message
    assert "looking for the audience failed" in message
    assert "[40001]" in message
    assert "look for 'made, not found' in TikTok Ads Manager and delete it" in message
    assert emulator.request_counts()[constants.PATH_RULE_CREATE] == 2  # the first create, this one once
    assert "made, not found" in [a["name"] for a in live(emulator)]


def test_a_create_whose_answers_are_always_lost_says_nothing_was_created(
    provider: AppActivity, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each lost answer is looked for, then the create is retried within the provider's bounds."""
    policy = dataclasses.replace(provider_retry_policy(), sleep=lambda _: None)
    monkeypatch.setattr("pulumi_tiktok_audiences.providers.base.provider_retry_policy", lambda: policy)
    emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503)  # never acted on
    with pytest.raises(OperationError) as caught:
        create(provider, name="always lost, never made")
    assert f"lost {policy.max_attempts} times" in str(caught.value)
    assert "nothing was created" in str(caught.value).lower()
    assert emulator.request_counts()[constants.PATH_RULE_CREATE] == policy.max_attempts
    assert live(emulator) == []


def test_read_refreshes_what_tiktok_computes(provider: AppActivity, emulator: Emulator) -> None:
    id_, outs = create(provider)
    result = provider.read(id_, outs)
    assert result.id == id_
    assert result.outs["is_valid"] is True
    assert result.outs["size"] == live(emulator)[0]["cover_num"]
    assert result.outs["targetable"] is True
    assert result.outs["expire_time"] == live(emulator)[0]["expired_time"]
    assert result.inputs == {k: v for k, v in outs.items() if k not in COMPUTED}


def test_a_valid_audience_below_the_targeting_minimum_is_not_targetable(provider: AppActivity) -> None:
    id_, outs = create(provider, include=[rule("LOAN_DISBURSAL", 30)], exclude=[])
    result = provider.read(id_, outs)
    assert result.outs["is_valid"] is True
    assert 0 < result.outs["size"] < constants.TARGETABLE_MIN_SIZE
    assert result.outs["targetable"] is False


def test_read_reports_a_rename_made_outside_pulumi(provider: AppActivity, tiktok: TikTokClient) -> None:
    id_, outs = create(provider, name="declared")
    tiktok.rename_audience(DEFAULT_ADVERTISER_ID, id_, "renamed by hand")
    result = provider.read(id_, outs)
    assert result.outs["name"] == "renamed by hand"
    assert result.inputs is not None
    assert result.inputs["name"] == "renamed by hand"
    diff = provider.diff(id_, result.outs, checked(provider, name="declared"))
    assert (diff.changes, diff.replaces) == (True, [])


def test_read_of_a_deleted_audience_returns_no_id(provider: AppActivity, tiktok: TikTokClient) -> None:
    id_, outs = create(provider)
    tiktok.delete_audiences(DEFAULT_ADVERTISER_ID, [id_])
    assert provider.read(id_, outs).id == ""


@pytest.mark.parametrize(("retention", "days"), [(1, 1), (None, constants.UNUSED_EXPIRY_DAYS)])
def test_read_of_an_expired_audience_returns_no_id(
    provider: AppActivity, emulator: Emulator, retention: int | None, days: int
) -> None:
    id_, outs = create(provider, retention_in_days=retention)
    emulator.clock.advance(days * DAY - 60)
    assert provider.read(id_, outs).id == id_
    emulator.clock.advance(120)
    assert provider.read(id_, outs).id == ""


def test_update_renames_in_place_and_keeps_computed_outputs(
    provider: AppActivity, emulator: Emulator
) -> None:
    id_, outs = create(provider, name="before")
    refreshed = dict(provider.read(id_, outs).outs)
    result = provider.update(id_, refreshed, checked(provider, name="after"))
    assert result.outs is not None
    assert result.outs["audience_id"] == id_
    assert result.outs["name"] == "after"
    assert result.outs["size"] == refreshed["size"]
    assert [(a["audience_id"], a["name"]) for a in live(emulator)] == [(id_, "after")]


def test_update_refused_by_tiktok_explains(provider: AppActivity, emulator: Emulator) -> None:
    id_, outs = create(provider, name="before")
    emulator.inject_fault(constants.PATH_UPDATE, code=constants.CODE_PARAM_ERROR, count=1)
    with pytest.raises(OperationError) as caught:
        provider.update(id_, outs, checked(provider, name="after"))
    assert "[40002]" in str(caught.value)
    assert "The audience is unchanged on TikTok's side" in str(caught.value)
    assert [a["name"] for a in live(emulator)] == ["before"]


def test_an_update_refused_after_its_sub_type_change_says_what_changed(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sub-type change and a rename are two calls: the rename refused, the sub-type stays changed."""
    wire = AfterRequest(emulator.transport(), constants.PATH_UPDATE)
    provider = provider_on(wire, monkeypatch)
    id_, outs = create(provider, name="before")
    wire.then = lambda: emulator.inject_fault(constants.PATH_UPDATE, code=constants.CODE_PARAM_ERROR, count=1)
    with pytest.raises(OperationError) as caught:
        provider.update(id_, outs, checked(provider, name="after", audience_sub_type="REACH_FREQUENCY"))
    message = str(caught.value)
    assert "[40002]" in message
    assert "its sub-type was changed to REACH_FREQUENCY" in message
    assert "unchanged on TikTok" not in message
    assert [(a["name"], a["audience_sub_type"]) for a in live(emulator)] == [("before", "REACH_FREQUENCY")]


def test_delete_is_idempotent(provider: AppActivity, emulator: Emulator) -> None:
    id_, outs = create(provider)
    provider.delete(id_, outs)
    provider.delete(id_, outs)
    assert live(emulator) == []


def test_delete_refused_by_tiktok_keeps_the_audience(provider: AppActivity, emulator: Emulator) -> None:
    id_, outs = create(provider)
    emulator.inject_fault(constants.PATH_DELETE, code=constants.CODE_PARAM_ERROR, count=1)
    with pytest.raises(OperationError) as caught:
        provider.delete(id_, outs)
    assert "[40002]" in str(caught.value)
    assert "stays in the stack" in str(caught.value)
    assert [a["audience_id"] for a in live(emulator)] == [id_]


def test_a_delete_refused_for_the_token_fails_at_once(provider: AppActivity, emulator: Emulator) -> None:
    """A refused token fails every call alike: the audience is not looked up with it (the second,
    chained failure made the error too long for the host's answer)."""
    id_, outs = create(provider)
    emulator.inject_fault(constants.PATH_DELETE, code=constants.CODE_INVALID_ACCESS_TOKEN, count=1)
    emulator.reset_request_counts()
    with pytest.raises(AuthenticationError):
        provider.delete(id_, outs)
    assert emulator.request_counts() == {constants.PATH_DELETE: 1}
    assert [a["audience_id"] for a in live(emulator)] == [id_]


def test_a_share_cancel_refused_for_the_token_fails_at_once(
    provider: AppActivity, emulator: Emulator
) -> None:
    """As for a delete: the share log is not read with a token TikTok has just refused."""
    audience_id, _ = create(provider)
    shares = Share()
    shares.configure(
        ConfigureRequest(Config({TOKEN_KEY: DEFAULT_TOKEN, ENDPOINT_KEY: IN_PROCESS_BASE_URL}, PROJECT))
    )
    news = {"advertiser_id": DEFAULT_ADVERTISER_ID, "audience_id": audience_id}
    created = shares.create(
        shares.check({}, {**news, "shared_advertiser_ids": [SECOND_ADVERTISER_ID]}).inputs
    )
    assert created.outs is not None
    emulator.inject_fault(constants.PATH_SHARE_CANCEL, code=constants.CODE_INVALID_ACCESS_TOKEN, count=1)
    emulator.reset_request_counts()
    with pytest.raises(AuthenticationError):
        shares.delete(str(created.id), dict(created.outs))
    assert emulator.request_counts() == {constants.PATH_SHARE_CANCEL: 1}


# --- adoption -------------------------------------------------------------------------------------


def test_adoption_of_a_matching_audience(provider: AppActivity, emulator: Emulator) -> None:
    existing, _ = create(provider, name="made earlier")
    emulator.reset_request_counts()
    id_, outs = create(provider, name="made earlier", adopt_audience_id=existing)
    assert id_ == existing
    assert outs["adopt_audience_id"] == existing
    assert constants.PATH_RULE_CREATE not in emulator.request_counts()


@pytest.mark.parametrize(
    ("overrides", "difference"),
    [
        ({"include": [rule("PURCHASE", 60)]}, "in the last 60 days"),
        ({"exclude": []}, "except those who"),
        ({"app_ids": [SECOND_APP_ID]}, SECOND_APP_ID),
        ({"auto_refresh": False}, "auto-refresh off"),
        ({"audience_sub_type": "REACH_FREQUENCY"}, "Reach & Frequency"),
    ],
    ids=["lookback", "exclude", "app", "auto-refresh", "sub-type"],
)
def test_adoption_of_a_different_audience_lists_the_difference(
    provider: AppActivity, overrides: dict[str, Any], difference: str
) -> None:
    existing, _ = create(provider)
    with pytest.raises(AdoptionError) as caught:
        provider.create(checked(provider, adopt_audience_id=existing, **overrides))
    assert "does not match" in str(caught.value)
    assert difference in str(caught.value)


def test_adoption_of_an_audience_of_another_advertiser_fails(
    provider: AppActivity, emulator: Emulator
) -> None:
    existing, _ = create(provider, advertiser_id=SECOND_ADVERTISER_ID)
    with pytest.raises(TikTokAudiencesError) as caught:
        provider.create(checked(provider, adopt_audience_id=existing))
    assert existing in str(caught.value)
    assert live(emulator) == []


def test_adoption_of_a_nonexistent_audience_fails(provider: AppActivity) -> None:
    with pytest.raises(AdoptionError) as caught:
        provider.create(checked(provider, adopt_audience_id="7399999999999999999"))
    assert "no such audience" in str(caught.value)


# --- readiness --------------------------------------------------------------------------------------


def test_create_can_wait_until_the_audience_is_targetable(provider: AppActivity, emulator: Emulator) -> None:
    id_, outs = create(provider, wait_until_targetable=True, readiness_timeout_seconds=5)
    assert outs["targetable"] is True
    assert outs["size"] >= constants.TARGETABLE_MIN_SIZE
    assert (outs["wait_until_targetable"], outs["readiness_timeout_seconds"]) == (True, 5)
    assert [a["audience_id"] for a in live(emulator)] == [id_]


def test_a_create_that_never_becomes_targetable_times_out_and_leaves_nothing(
    provider: AppActivity, emulator: Emulator
) -> None:
    narrow = checked(
        provider,
        include=[rule("LOAN_DISBURSAL", 30)],
        exclude=[],
        wait_until_targetable=True,
        readiness_timeout_seconds=0.2,
    )
    with pytest.raises(NotReadyError, match=r"readiness_timeout_seconds.*deleted again"):
        provider.create(narrow)
    assert live(emulator) == []


def test_an_adopted_audience_is_not_deleted_when_the_wait_times_out(
    provider: AppActivity, emulator: Emulator, tiktok: TikTokClient
) -> None:
    spec_inputs = checked(provider, include=[rule("LOAN_DISBURSAL", 30)], exclude=[])
    existing = tiktok.create_rule_audience(spec_from_props(spec_inputs).to_create_payload())
    adopting = {
        **spec_inputs,
        "adopt_audience_id": existing,
        "wait_until_targetable": True,
        "readiness_timeout_seconds": 0.2,
    }
    with pytest.raises(NotReadyError):
        provider.create(adopting)
    assert [a["audience_id"] for a in live(emulator)] == [existing]


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"wait_until_targetable": "yes"}, "wait_until_targetable"),
        ({"readiness_timeout_seconds": 0}, "readiness_timeout_seconds"),
    ],
)
def test_check_refuses_bad_readiness_options(
    provider: AppActivity, overrides: dict[str, Any], path: str
) -> None:
    failures = provider.check({}, declared(**overrides)).failures
    assert [f.property for f in failures] == [path]


def test_changing_readiness_options_updates_state_without_replacing(provider: AppActivity) -> None:
    id_, outs = create(provider)
    news = checked(provider, wait_until_targetable=True)
    result = provider.diff(id_, outs, news)
    assert (result.changes, result.replaces) == (True, [])
    assert provider.update(id_, outs, news).outs["wait_until_targetable"] is True


# --- local fields: purpose and tracked events (spec.LOCAL_FIELDS) ------------------------------------

TRACKED = {DEFAULT_APP_ID: ["INSTALL", "PURCHASE"]}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({}, {"purpose": "retargeting", "tracked_events": TRACKED}),
        ({"purpose": "retargeting", "tracked_events": TRACKED}, {}),
        ({"purpose": "retargeting"}, {"purpose": "acquisition"}),
    ],
)
def test_a_change_of_local_fields_only_updates_state_without_calling_tiktok(
    provider: AppActivity, emulator: Emulator, old: dict[str, Any], new: dict[str, Any]
) -> None:
    id_, outs = create(provider, **old)
    news = checked(provider, **new)
    diff = provider.diff(id_, outs, news)
    assert (diff.changes, diff.replaces) == (True, [])
    before = live(emulator)
    emulator.reset_request_counts()
    result = provider.update(id_, outs, news)
    assert emulator.request_counts() == {}
    assert live(emulator) == before
    stored = {key: result.outs.get(key) for key in ("purpose", "tracked_events")}
    assert stored == {key: news.get(key) for key in ("purpose", "tracked_events")}
    assert provider.diff(id_, dict(result.outs), news).changes is False


def test_read_keeps_the_local_fields_tiktok_knows_nothing_of(provider: AppActivity) -> None:
    id_, outs = create(provider, purpose="Retargeting", tracked_events=TRACKED)
    result = provider.read(id_, outs)
    for bag in (result.outs, result.inputs):
        assert bag["purpose"] == "retargeting"
        assert bag["tracked_events"] == TRACKED


def test_tracked_events_default_to_the_stack_config(provider: AppActivity, emulator: Emulator) -> None:
    config = {
        TOKEN_KEY: DEFAULT_TOKEN,
        ENDPOINT_KEY: IN_PROCESS_BASE_URL,
        TRACKED_EVENTS_KEY: json.dumps({DEFAULT_APP_ID: ["purchase", "install"]}),
    }
    stack = configured(config)
    assert stack.check({}, declared()).inputs["tracked_events"] == TRACKED
    own = {DEFAULT_APP_ID: ["INSTALL"]}
    assert stack.check({}, declared(tracked_events=own)).inputs["tracked_events"] == own
    assert "tracked_events" not in checked(provider)  # nothing configured, nothing declared


def test_a_get_by_id_applies_the_configured_tracked_events(provider: AppActivity) -> None:
    """A get by id (``opts.id``) sends the program's inputs unchecked: read applies check's defaults,
    the stack config's tracked events as well as its advertiser."""
    id_, _ = create(provider)
    config = {
        TOKEN_KEY: DEFAULT_TOKEN,
        ENDPOINT_KEY: IN_PROCESS_BASE_URL,
        TRACKED_EVENTS_KEY: json.dumps({DEFAULT_APP_ID: ["purchase", "install"]}),
    }
    result = configured(config).read(id_, declared())
    assert result.outs["tracked_events"] == TRACKED
    assert result.inputs is not None
    assert result.inputs["tracked_events"] == TRACKED


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("[1, 2", "expected a JSON object of app id to events"),
        ('{"6400000001": ["PURCHASED"]}', "6400000001[0]: unknown app event 'PURCHASED'"),
        ('["PURCHASE"]', "must map app ids to the events"),
    ],
)
def test_bad_tracked_events_config_names_the_key_and_the_problem(value: str, needle: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        ProviderSettings.resolve({TRACKED_EVENTS_KEY: value}.get, {})
    assert str(caught.value).startswith(f"{TRACKED_EVENTS_KEY}: ")
    assert needle in str(caught.value)


def test_the_catalog_that_declared_an_audience_is_kept_but_never_a_change(provider: AppActivity) -> None:
    """load_catalog records its file (advice.CATALOG_KEY) so that the guardrails answer in YAML."""
    id_, outs = create(provider, catalog="audiences.yaml")
    assert outs["catalog"] == "audiences.yaml"
    assert provider.read(id_, outs).inputs["catalog"] == "audiences.yaml"
    moved = checked(provider, catalog="catalogs/audiences.yaml")
    assert provider.diff(id_, outs, moved).changes is False
    failures = provider.check({}, declared(catalog=3)).failures
    assert [f.property for f in failures] == ["catalog"]


# --- recovery: what a lost create answer may be ------------------------------------------------------


def test_a_lost_answer_with_several_new_matches_takes_none_and_names_them(
    provider: AppActivity, emulator: Emulator, tiktok: TikTokClient
) -> None:
    create(provider, name="first create lists the advertiser")
    spec = spec_from_props(checked(provider, name="made elsewhere meanwhile"))
    others = [tiktok.create_rule_audience(spec.to_create_payload()) for _ in range(2)]
    emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503, count=1)  # answer lost, not made
    with pytest.raises(OperationError) as caught:
        create(provider, name="made elsewhere meanwhile")
    named = [f"{i} ('made elsewhere meanwhile')" for i in others]
    assert ", ".join(named) in str(caught.value) or ", ".join(reversed(named)) in str(caught.value)
    assert "None was taken" in str(caught.value)
    assert {a["audience_id"] for a in live(emulator)} >= set(others)


@pytest.mark.parametrize("lost", ["committed", "not acted on"])
def test_equal_resources_of_one_process_keep_their_own_audiences_when_an_answer_is_lost(
    provider: AppActivity, emulator: Emulator, lost: str
) -> None:
    """Two resources of one stack declare the same audience; the second create's answer is lost.
    The first's audience is new since the listing and equal in name and rules, but this process made
    it: it is never the second's result (else both would hold one id, or the lookup would refuse)."""
    first, _ = create(provider, name="twins")
    if lost == "committed":
        emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, count=1)  # made, answer lost
    else:
        emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503, count=1)  # not made
    second, _ = create(provider, name="twins")
    assert second != first
    assert sorted(a["audience_id"] for a in live(emulator)) == sorted([first, second])


def test_an_audience_listed_before_creating_is_not_a_lost_answer(
    provider: AppActivity, emulator: Emulator, tiktok: TikTokClient
) -> None:
    """The old audience of a replacement has the declared name and rules: it is never the result."""
    spec = spec_from_props(checked(provider, name="old audience of a replacement"))
    old = tiktok.create_rule_audience(spec.to_create_payload())
    emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503, count=1)
    new_id, _ = create(provider, name="old audience of a replacement")
    assert new_id != old
    assert emulator.request_counts()[constants.PATH_RULE_CREATE] == 1 + 2  # the old one; lost, then re-sent


def test_an_existing_equal_audience_is_named_not_taken_and_others_are_not_named(
    provider: AppActivity, tiktok: TikTokClient, caplog: pytest.LogCaptureFixture
) -> None:
    """Before creating, the provider names the audiences already there with the declared name and
    rules (an orphan, or the old audience of a replacement), and only those; it takes none."""
    spec = spec_from_props(checked(provider, name="look-alike"))
    equal = tiktok.create_rule_audience(spec.to_create_payload())
    other_rules = spec_from_props(checked(provider, name="look-alike", include=[rule("LOGIN", 3)]))
    different = tiktok.create_rule_audience(other_rules.to_create_payload())
    other_name = tiktok.create_rule_audience(spec.model_copy(update={"name": "other"}).to_create_payload())

    with caplog.at_level(logging.WARNING, logger="pulumi_tiktok_audiences.recovery"):
        new_id, _ = create(provider, name="look-alike")

    assert new_id not in {equal, different, other_name}
    warnings = [r.getMessage() for r in caplog.records if r.name == "pulumi_tiktok_audiences.recovery"]
    assert len(warnings) == 1
    assert f"Advertiser {DEFAULT_ADVERTISER_ID} already has an audience" in warnings[0]
    assert "with the name and rules of 'look-alike'" in warnings[0]
    assert f"{equal} ('look-alike')" in warnings[0]
    assert "run `tiktok-audiences pending` (docs/operations/recovery.md)" in warnings[0]  # not README
    assert different not in warnings[0]
    assert other_name not in warnings[0]


def test_an_audience_deleted_since_the_listing_is_neither_a_look_alike_nor_an_error(
    provider: AppActivity, emulator: Emulator, tiktok: TikTokClient, caplog: pytest.LogCaptureFixture
) -> None:
    """The advertiser is listed once per process, before its first create; an audience listed then
    and deleted since (by another tool, or by this deployment) is left out when its details are
    asked for: it neither fails the create nor is named."""
    spec = spec_from_props(checked(provider, name="deleted meanwhile"))
    gone = tiktok.create_rule_audience(spec.to_create_payload())
    create(provider, name="first create lists the advertiser")
    tiktok.delete_audiences(DEFAULT_ADVERTISER_ID, [gone])

    with caplog.at_level(logging.WARNING, logger="pulumi_tiktok_audiences.recovery"):
        new_id, _ = create(provider, name="deleted meanwhile")

    assert [a["audience_id"] for a in live(emulator) if a["name"] == "deleted meanwhile"] == [new_id]
    assert [r for r in caplog.records if r.name == "pulumi_tiktok_audiences.recovery"] == []


NOT_ADOPTED = "Existing audiences with the same name and rules (not adopted)"


@pytest.mark.parametrize("failure", ["refused", "rate limited", "always lost"])
def test_a_failed_create_names_the_equal_audiences_it_did_not_take_and_only_those(
    emulator: Emulator, tiktok: TikTokClient, monkeypatch: pytest.MonkeyPatch, failure: str
) -> None:
    """The user who reads the error must learn of the look-alike (an orphan of an earlier run, or the
    old audience of a replacement) without scrolling back to the warning; one with the same name but
    other rules is not one."""
    provider = provider_on(emulator.transport(), monkeypatch, {WAIT_KEY: "0"})  # a rate limit: no wait
    spec = spec_from_props(checked(provider, name="look-alike"))
    equal = tiktok.create_rule_audience(spec.to_create_payload())
    other_rules = spec_from_props(checked(provider, name="look-alike", include=[rule("LOGIN", 3)]))
    different = tiktok.create_rule_audience(other_rules.to_create_payload())
    if failure == "refused":
        emulator.inject_fault(constants.PATH_RULE_CREATE, code=constants.CODE_PARAM_ERROR, count=1)
    elif failure == "rate limited":  # the client's retries of a create TikTok did not act on run out
        emulator.inject_fault(constants.PATH_RULE_CREATE, code=constants.CODE_REQUEST_TOO_FREQUENT)
    else:
        policy = dataclasses.replace(provider_retry_policy(), sleep=lambda _: None)
        monkeypatch.setattr("pulumi_tiktok_audiences.providers.base.provider_retry_policy", lambda: policy)
        emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503)
    with pytest.raises(OperationError) as caught:
        create(provider, name="look-alike")
    message = str(caught.value)
    assert message.startswith(f"Creating audience 'look-alike' for advertiser {DEFAULT_ADVERTISER_ID}")
    assert "nothing was created" in message.lower()
    assert message.endswith(f" {NOT_ADOPTED}: {equal} ('look-alike').")
    assert different not in message
    assert sorted(a["audience_id"] for a in live(emulator)) == sorted([equal, different])


def test_a_failed_create_without_equal_audiences_names_none(
    provider: AppActivity, emulator: Emulator
) -> None:
    create(provider, name="other name")
    emulator.inject_fault(constants.PATH_RULE_CREATE, code=constants.CODE_PARAM_ERROR, count=1)
    with pytest.raises(OperationError) as caught:
        create(provider, name="refused")
    assert "[40002]" in str(caught.value)
    assert str(caught.value).endswith("Nothing was created. Fix the cause and run `pulumi up` again.")


# --- the read cache: this process's own writes are never answered from a listing -------------------
# A refresh lists an advertiser once and answers the following reads from that listing (cache.py).
# Each test lists first (a read of another audience), then writes through the provider, then reads.


def test_a_read_after_a_rename_reports_the_new_name(provider: AppActivity, emulator: Emulator) -> None:
    other, other_outs = create(provider, name="other")
    id_, outs = create(provider, name="before")
    provider.read(other, other_outs)  # the listing holds "before"
    provider.update(id_, outs, checked(provider, name="after"))
    emulator.reset_request_counts()
    result = provider.read(id_, outs)
    assert result.outs["name"] == "after"
    assert emulator.request_counts()[constants.PATH_LIST] == 1  # asked for by id


def test_a_read_after_an_update_that_failed_once_tiktok_had_acted_reports_the_new_name(
    provider: AppActivity, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TikTok's backend may fail after it acted (50002, reference §4.1): every retry renamed, and
    the update failed. The listing from before the update answers for that audience no more."""
    policy = dataclasses.replace(provider_retry_policy(), sleep=lambda _: None)
    monkeypatch.setattr("pulumi_tiktok_audiences.settings.provider_retry_policy", lambda: policy)
    other, other_outs = create(provider, name="other")
    id_, outs = create(provider, name="before")
    provider.read(other, other_outs)
    emulator.inject_fault(constants.PATH_UPDATE, code=constants.CODE_SYS_TIMEOUT, processed=True)
    with pytest.raises(OperationError) as caught:
        provider.update(id_, outs, checked(provider, name="after"))
    assert "TikTok may have carried out the failed call" in str(caught.value)
    assert "unchanged on TikTok" not in str(caught.value)
    emulator.clear_faults()
    assert [a["name"] for a in live(emulator) if a["audience_id"] == id_] == ["after"]
    assert provider.read(id_, outs).outs["name"] == "after"


def test_a_read_after_adopting_under_another_name_reports_the_declared_name(
    provider: AppActivity, emulator: Emulator, tiktok: TikTokClient
) -> None:
    existing = tiktok.create_rule_audience(
        spec_from_props(checked(provider, name="by hand")).to_create_payload()
    )
    other, other_outs = create(provider, name="other")
    provider.read(other, other_outs)  # the listing holds "by hand"
    id_, outs = create(provider, name="declared", adopt_audience_id=existing)
    assert id_ == existing
    assert provider.read(id_, outs).outs["name"] == "declared"


def test_a_read_after_a_create_asks_tiktok_even_when_a_listing_already_holds_the_new_audience(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The host runs four operations at a time: a read of another resource may list the advertiser
    after TikTok made the audience and before the create returns. The create forgets it, so the next
    read asks TikTok for it by id (cache.py, own writes) instead of answering from that listing."""
    wire = AfterRequest(emulator.transport(), constants.PATH_RULE_CREATE)
    provider = provider_on(wire, monkeypatch)
    other, other_outs = create(provider, name="other")
    wire.then = lambda: provider.read(other, other_outs)  # the concurrent read
    id_, outs = create(provider, name="new")
    assert wire.then is None  # the listing was taken during the create
    emulator.reset_request_counts()
    assert provider.read(id_, outs).id == id_
    assert emulator.request_counts()[constants.PATH_LIST] == 1
