"""The provider, import and recovery flows on every answer shape the emulator offers (answers.py).

TikTok's real get answer is undocumented for App Activity rules (reference §6.1): the emulator's
default is the least convenient plausible shape, and ``--answer-shape`` moves the whole suite to
another. This module runs the flows that read answers (adoption, lost-create lookup, crash recovery,
import, lookalike lookup) on each shape, plus the failures that must never guess: a create answered
with code 0 in an odd shape, and rule text nobody can read.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from pulumi.dynamic import Config, ConfigureRequest

import pulumi_tiktok_audiences.client as client_package
from pulumi_tiktok_audiences import constants, reading
from pulumi_tiktok_audiences import pending as pending_module
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    SECOND_APP_ID,
    Clock,
    Emulator,
)
from pulumi_tiktok_audiences.emulator.answers import AnswerShape
from pulumi_tiktok_audiences.errors import AdoptionError, OperationError
from pulumi_tiktok_audiences.importing import classify
from pulumi_tiktok_audiences.pending import PendingCreate
from pulumi_tiktok_audiences.provider import AppActivity, Lookalike, spec_from_props
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from tests.contract.helpers import PROJECT, declared, emulator_seed, rule

START = datetime(2025, 6, 1, tzinfo=UTC)
Rewrite = Callable[[dict[str, Any]], dict[str, Any]]


class Rewriting(httpx.BaseTransport):
    """The emulator's transport, with the JSON answers of chosen endpoints rewritten (a server that
    answers differently from the emulator)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self._inner = inner
        self.rewrites: dict[str, Rewrite] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self._inner.handle_request(request)
        path = request.url.path.removeprefix(constants.API_PREFIX)
        if path not in self.rewrites:
            return response
        body = self.rewrites[path](json.loads(response.read()))
        return httpx.Response(response.status_code, headers={"Date": response.headers["Date"]}, json=body)


@pytest.fixture(params=list(AnswerShape), ids=[shape.value for shape in AnswerShape])
def shape(request: pytest.FixtureRequest) -> AnswerShape:
    return AnswerShape(request.param)


@pytest.fixture
def emulator(shape: AnswerShape) -> Iterator[Emulator]:
    clock = Clock(START.timestamp(), frozen=True)
    with Emulator(seed=emulator_seed(), clock=clock, answer_shape=shape) as instance:
        yield instance


@pytest.fixture
def wire(emulator: Emulator) -> Rewriting:
    return Rewriting(emulator.transport())


def configured(
    cls: type[AppActivity] | type[Lookalike], wire: Rewriting, monkeypatch: pytest.MonkeyPatch
) -> Any:
    monkeypatch.setattr(client_package, "TikTokClient", functools.partial(TikTokClient, transport=wire))
    provider = cls()
    provider.configure(
        ConfigureRequest(Config({TOKEN_KEY: DEFAULT_TOKEN, ENDPOINT_KEY: IN_PROCESS_BASE_URL}, PROJECT))
    )
    return provider


@pytest.fixture
def provider(wire: Rewriting, monkeypatch: pytest.MonkeyPatch) -> AppActivity:
    return configured(AppActivity, wire, monkeypatch)  # type: ignore[no-any-return]


@pytest.fixture
def tiktok(emulator: Emulator) -> Iterator[TikTokClient]:
    """Someone outside Pulumi (Ads Manager, an interrupted deployment)."""
    with TikTokClient(DEFAULT_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as client:
        yield client


def checked(provider: AppActivity, **overrides: Any) -> dict[str, Any]:
    result = provider.check({}, declared(**overrides))
    assert result.failures == []
    return dict(result.inputs)


def create(provider: AppActivity, **overrides: Any) -> str:
    return str(provider.create(checked(provider, **overrides)).id)


def live_ids(emulator: Emulator) -> list[str]:
    return [a["audience_id"] for a in emulator.audiences(DEFAULT_ADVERTISER_ID)]


def creates(emulator: Emulator) -> int:
    return emulator.request_counts().get(constants.PATH_RULE_CREATE, 0)


MIXED = {  # two rules with their own apps, one shared: every part of the rule text is exercised
    "app_ids": None,
    "include": [
        rule("PURCHASE", 30, [DEFAULT_APP_ID]),
        rule("ADD_TO_CART", 14, [DEFAULT_APP_ID, SECOND_APP_ID]),
    ],
    "exclude": [rule("PURCHASE", 7, [SECOND_APP_ID])],
    "audience_sub_type": "REACH_FREQUENCY",
    "auto_refresh": False,
}


# --- the emulator's answers, read back -----------------------------------------------------------


@pytest.mark.parametrize("overrides", [{}, MIXED], ids=["readme", "mixed"])
def test_every_shape_reads_back_to_the_created_spec(
    provider: AppActivity, tiktok: TikTokClient, overrides: dict[str, Any]
) -> None:
    spec = spec_from_props(checked(provider, **overrides))
    audience_id = tiktok.create_rule_audience(spec.to_create_payload())
    (detail,) = tiktok.get_audiences(DEFAULT_ADVERTISER_ID, [audience_id])
    assert reading.live_spec(detail, DEFAULT_ADVERTISER_ID, spec.retention_in_days) == spec
    assert reading.mismatches(detail, spec) == []


def test_the_default_shape_is_the_backend_one() -> None:
    with Emulator() as emulator:
        assert emulator.service.answer_shape is AnswerShape.BACKEND


def test_the_shape_comes_from_the_environment_and_a_bad_one_lists_the_choices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TIKTOK_EMULATOR_ANSWER_SHAPE", "Request")
    with Emulator() as emulator:
        assert emulator.service.answer_shape is AnswerShape.REQUEST
    with pytest.raises(ValueError, match="backend, adgroup, request"):
        Emulator(answer_shape="inclusions")


# --- provider flows on every shape --------------------------------------------------------------


def test_adoption_matches_and_lists_differences(provider: AppActivity, emulator: Emulator) -> None:
    existing = create(provider, **MIXED)
    emulator.reset_request_counts()
    assert create(provider, **MIXED, adopt_audience_id=existing) == existing
    assert creates(emulator) == 0
    with pytest.raises(AdoptionError, match="in the last 60 days"):
        create(
            provider,
            **{**MIXED, "include": [rule("PURCHASE", 60, [DEFAULT_APP_ID])]},
            adopt_audience_id=existing,
        )


def test_a_lost_create_answer_is_found_not_resent(provider: AppActivity, emulator: Emulator) -> None:
    emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, count=1)  # acted on, answer lost
    id_ = create(provider, **MIXED)
    assert live_ids(emulator) == [id_]
    assert creates(emulator) == 1


def test_an_interrupted_deployments_audience_is_found_for_its_pending_create(
    provider: AppActivity, tiktok: TikTokClient
) -> None:
    """Crash recovery reads the rules on every shape: the pending create's audience is found (for
    ``pulumi refresh --import-pending-creates``), one the stack holds is not, and a create never
    takes it (it may be a live audience of the stack: recovery.py)."""
    inputs = checked(provider, **MIXED)
    orphan = tiktok.create_rule_audience(spec_from_props(inputs).to_create_payload())
    held = tiktok.create_rule_audience(spec_from_props(inputs).to_create_payload())
    waiting = PendingCreate(
        "urn:pulumi:dev::p::t::a", f"{pending_module._TYPE_PREFIX}AppActivityAudience", inputs, 0
    )
    assert pending_module.find(tiktok, waiting, {held}).audience_id == orphan
    assert create(provider, **MIXED) not in {orphan, held}


def test_import_adopts_every_app_activity_audience(provider: AppActivity, tiktok: TikTokClient) -> None:
    specs = [spec_from_props(checked(provider, name=f"a{n}", **MIXED)) for n in range(2)]
    ids = [tiktok.create_rule_audience(spec.to_create_payload()) for spec in specs]
    details = tiktok.get_audiences(DEFAULT_ADVERTISER_ID, ids)
    result = classify(DEFAULT_ADVERTISER_ID, details, tiktok.server_now())
    assert result.skipped == ()
    # TikTok does not report retention_in_days; everything else round-trips.
    assert [(a.audience_id, a.spec) for a in result.adopted] == list(zip(ids, specs, strict=True))


def test_a_lost_lookalike_create_is_found_by_its_backend_settings(
    wire: Rewriting, emulator: Emulator, tiktok: TikTokClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tiktok.create_rule_audience(spec_from_props(checked(AppActivity())).to_create_payload())
    lookalike = configured(Lookalike, wire, monkeypatch)
    props = {
        "advertiser_id": DEFAULT_ADVERTISER_ID,
        "name": "buyers lookalike",
        "source_audience_id": source,
        "locations": ["6252001", "2635167"],
        "audience_size": "broad",
        "placements": ["Pangle", "TikTok"],
        "include_source": True,
    }
    emulator.inject_fault(constants.PATH_LOOKALIKE_CREATE, drop=True, count=1)
    result = lookalike.create(lookalike.check({}, props).inputs)
    assert [
        a["audience_id"] for a in emulator.audiences(DEFAULT_ADVERTISER_ID) if a["kind"] == "LOOKALIKE"
    ] == [result.id]
    assert emulator.request_counts()[constants.PATH_LOOKALIKE_CREATE] == 1


# --- answers nobody can read: never a guess, never a second create --------------------------------


def _odd_create_answer(answer: dict[str, Any]) -> dict[str, Any]:
    return {**answer, "data": {"custom_audience": {"id": answer["data"]["custom_audience_id"]}}}


def test_a_create_answered_with_code_0_in_an_odd_shape_makes_exactly_one_audience(
    provider: AppActivity, wire: Rewriting, emulator: Emulator
) -> None:
    """Before: the odd answer counted as lost and the create was sent up to 8 times (issue 12)."""
    wire.rewrites[constants.PATH_RULE_CREATE] = _odd_create_answer
    id_ = create(provider, **MIXED)
    assert live_ids(emulator) == [id_]
    assert creates(emulator) == 1
    assert create(provider, **MIXED, name="second") != id_  # a second resource is not given the first
    assert creates(emulator) == 2


@pytest.mark.parametrize("shape", [AnswerShape.BACKEND])
def test_an_odd_create_answer_whose_audience_is_not_listed_says_how_to_find_it(
    provider: AppActivity, wire: Rewriting, emulator: Emulator
) -> None:
    wire.rewrites[constants.PATH_RULE_CREATE] = _odd_create_answer
    wire.rewrites[constants.PATH_LIST] = lambda answer: {**answer, "data": {"list": [], "page_info": None}}
    with pytest.raises(OperationError) as caught:
        create(provider, name="not listed yet")
    message = str(caught.value)
    assert "must not be created again" in message
    for fragment in ("'not listed yet'", "adopt_audience_id", "Ads Manager"):  # which audience, what to do
        assert fragment in message
    assert creates(emulator) == 1
    assert len(live_ids(emulator)) == 1


def _unreadable_rule(answer: dict[str, Any]) -> dict[str, Any]:
    for item in answer["data"]["list"]:
        item["audience_details"]["rule"] = json.dumps({"audience_rule": {"inclusions": "see Ads Manager"}})
    return answer


@pytest.mark.parametrize("shape", [AnswerShape.BACKEND])
@pytest.mark.parametrize("answer", ["dropped", "odd"])
def test_an_unreadable_rule_stops_the_lookup_of_a_create_naming_the_audience(
    provider: AppActivity, wire: Rewriting, emulator: Emulator, answer: str
) -> None:
    """Nothing matched by guess and no second create: the issue's 8 identical audiences came from here."""
    wire.rewrites[constants.PATH_GET] = _unreadable_rule
    if answer == "odd":
        wire.rewrites[constants.PATH_RULE_CREATE] = _odd_create_answer
    else:
        emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, count=1)
    with pytest.raises(reading.UnverifiableAudienceError) as caught:
        create(provider, name="unreadable")
    (made,) = live_ids(emulator)
    message = str(caught.value)
    assert made in message
    assert "'unreadable'" in message
    assert "audience_rule" in message  # what could not be read
    assert f'adopt_audience_id to "{made}"' in message  # what to do
    assert creates(emulator) == 1


@pytest.mark.parametrize("shape", [AnswerShape.BACKEND])
def test_an_explicit_adoption_takes_over_an_audience_whose_rule_cannot_be_read(
    provider: AppActivity, wire: Rewriting, emulator: Emulator
) -> None:
    """The advice above works: adopt_audience_id is the user's word after checking Ads Manager."""
    existing = create(provider)
    wire.rewrites[constants.PATH_GET] = _unreadable_rule
    emulator.reset_request_counts()
    assert create(provider, adopt_audience_id=existing) == existing
    assert creates(emulator) == 0


@pytest.mark.parametrize("shape", [AnswerShape.BACKEND])
def test_an_existing_audience_whose_rule_cannot_be_read_is_named_as_a_possible_look_alike(
    provider: AppActivity,
    wire: Rewriting,
    emulator: Emulator,
    tiktok: TikTokClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before a create, audiences with the declared name are checked: one whose rule cannot be read
    may be an orphan of this very audience, so the warning (and a failed create's error) names it,
    instead of failing the create or leaving it out in silence; it is never taken."""
    existing = tiktok.create_rule_audience(
        spec_from_props(checked(provider, name="unreadable")).to_create_payload()
    )
    wire.rewrites[constants.PATH_GET] = _unreadable_rule
    with caplog.at_level(logging.WARNING, logger="pulumi_tiktok_audiences.recovery"):
        made = create(provider, name="unreadable")
    assert made != existing
    assert sorted(live_ids(emulator)) == sorted([existing, made])
    (warning,) = [r.getMessage() for r in caplog.records if r.name == "pulumi_tiktok_audiences.recovery"]
    assert f"{existing} ('unreadable')" in warning

    emulator.inject_fault(constants.PATH_RULE_CREATE, code=constants.CODE_PARAM_ERROR, count=1)
    with pytest.raises(OperationError) as caught:
        create(provider, name="unreadable")
    assert f"(not adopted): {existing} ('unreadable')" in str(caught.value)
