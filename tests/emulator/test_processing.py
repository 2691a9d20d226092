"""The emulator's defaults that follow what TikTok really answers (reference §7): the processing window
after a create or a recalculation, update without a name, sandbox mode, and faults after acting."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import httpx
import pytest

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    IN_PROCESS_SANDBOX_URL,
    Clock,
    Emulator,
)
from pulumi_tiktok_audiences.emulator.sandbox import SANDBOX_ENV
from pulumi_tiktok_audiences.emulator.service import DEFAULT_PROCESSING_SECONDS, PROCESSING_ENV
from tests.emulator.conftest import START
from tests.emulator.helpers import Api, create_body, lookalike_body
from tests.emulator.test_cli import serving, stop
from tests.emulator.test_requests import GET_PATHS, POST_PATHS

A1 = DEFAULT_ADVERTISER_ID
BUSY = "is currently being updated or under processing"


@pytest.fixture
def busy_emulator() -> Iterator[Emulator]:
    """The emulator with its window of 2 s after a create, on a frozen clock the tests move."""
    with Emulator(clock=Clock(START, frozen=True), processing_seconds=2.0) as instance:
        yield instance


@pytest.fixture
def busy(busy_emulator: Emulator) -> Iterator[Api]:
    with busy_emulator.client() as client:
        yield Api(client)


def rename(api: Api, audience_id: str, name: str = "renamed") -> dict[str, object]:
    body = {"advertiser_id": A1, "custom_audience_id": audience_id, "custom_audience_name": name}
    return api.post(c.PATH_UPDATE, body)


def delete(api: Api, audience_id: str) -> dict[str, object]:
    return api.post(c.PATH_DELETE, {"advertiser_id": A1, "custom_audience_ids": [audience_id]})


def test_the_default_window_is_on_and_short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PROCESSING_ENV, raising=False)  # the suite sets 0 (tests/conftest.py)
    with Emulator() as emulator:
        assert emulator.processing_seconds == DEFAULT_PROCESSING_SECONDS
    assert 0 < DEFAULT_PROCESSING_SECONDS <= 3  # a couple of seconds: on by default, cheap to wait out
    monkeypatch.setenv(PROCESSING_ENV, "0.5")
    with Emulator() as emulator:
        assert emulator.processing_seconds == 0.5


def test_update_and_delete_right_after_a_create_are_refused_as_being_processed(
    busy: Api, busy_emulator: Emulator
) -> None:
    audience_id = busy.create(name="fresh")
    for answer in (rename(busy, audience_id), delete(busy, audience_id)):
        assert answer["code"] == c.CODE_PARAM_ERROR
        assert BUSY in str(answer["message"])
        assert answer["data"] == {}
    busy_emulator.clock.advance(1.9)  # measured on the emulator's clock
    assert rename(busy, audience_id)["code"] == c.CODE_PARAM_ERROR
    busy_emulator.clock.advance(0.1)
    assert rename(busy, audience_id)["code"] == 0
    assert busy.details(audience_id)["name"] == "renamed"
    assert delete(busy, audience_id)["code"] == 0


def test_a_recalculation_opens_the_window_again(busy: Api, busy_emulator: Emulator) -> None:
    busy_emulator.processing_seconds = 0
    source = busy.create(name="source")
    busy_emulator.clock.advance(60)  # calculated: big enough for a lookalike
    lookalike = busy.ok("POST", c.PATH_LOOKALIKE_CREATE, lookalike_body(source))["custom_audience_id"]
    busy_emulator.processing_seconds = 2.0
    busy_emulator.clock.advance(60)
    assert rename(busy, lookalike)["code"] == 0
    busy.ok("POST", c.PATH_LOOKALIKE_UPDATE, {"advertiser_id": A1, "custom_audience_ids": [lookalike]})
    assert BUSY in str(rename(busy, lookalike)["message"])
    assert rename(busy, source)["code"] == 0  # only the recalculated audience is busy


def test_update_without_a_name_is_refused_even_for_a_sub_type_change(api: Api) -> None:
    audience_id = api.create(name="keep")
    sub_type_only = {
        "advertiser_id": A1,
        "custom_audience_id": audience_id,
        "audience_sub_type": "REACH_FREQUENCY",
    }
    answer = api.post(c.PATH_UPDATE, sub_type_only)
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert "You must pass in either this field or file_paths" in str(answer["message"])
    assert api.details(audience_id)["audience_sub_type"] == 0  # unchanged (NORMAL, backend integer)
    api.ok("POST", c.PATH_UPDATE, {**sub_type_only, "custom_audience_name": "keep"})


def _every_endpoint(client: httpx.Client) -> list[dict[str, object]]:
    answers = [client.post(path, json={"advertiser_id": A1}).json() for path in POST_PATHS]
    gets = [*GET_PATHS, c.PATH_APP_LIST, c.PATH_AUTHORIZED_ADVERTISERS]
    answers += [client.get(path, params={"advertiser_id": A1}).json() for path in gets]
    return answers


def sandbox_client(emulator: Emulator, base_url: str) -> httpx.Client:
    return httpx.Client(
        transport=emulator.transport(),
        base_url=base_url + c.API_PREFIX,
        headers={c.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN},
    )


@pytest.mark.parametrize("how", ["flag", "environment", "in-process sandbox URL", "TikTok's sandbox host"])
def test_sandbox_mode_refuses_every_audience_and_app_endpoint_with_40014(
    how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_url = {"in-process sandbox URL": IN_PROCESS_SANDBOX_URL, "TikTok's sandbox host": c.SANDBOX_URL}
    monkeypatch.setenv(SANDBOX_ENV, "1" if how == "environment" else "")
    with Emulator(sandbox=True if how == "flag" else None) as emulator:
        with sandbox_client(emulator, base_url.get(how, IN_PROCESS_BASE_URL)) as client:
            answers = _every_endpoint(client)
        assert {answer["code"] for answer in answers} == {c.CODE_SANDBOX_ENDPOINT_UNSUPPORTED}
        assert all("not supported in sandbox" in str(answer["message"]) for answer in answers)
        assert all(answer["data"] == {} for answer in answers)
        with sandbox_client(emulator, base_url.get(how, IN_PROCESS_BASE_URL)) as client:
            client.headers[c.ACCESS_TOKEN_HEADER] = "not-a-token"
            refused = client.get(c.PATH_LIST, params={"advertiser_id": A1}).json()
        assert refused["code"] == c.CODE_INVALID_ACCESS_TOKEN  # the token is still checked first


def test_outside_sandbox_mode_the_same_emulator_serves_the_endpoints(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SANDBOX_ENV, raising=False)
    with Emulator() as emulator, sandbox_client(emulator, IN_PROCESS_BASE_URL) as client:
        answer = client.get(c.PATH_APP_LIST, params={"advertiser_id": A1}).json()
    assert answer["code"] == 0
    assert DEFAULT_APP_ID in str(answer["data"])


def test_a_processed_fault_carries_out_the_request_then_answers_the_code(
    api: Api, emulator: Emulator
) -> None:
    emulator.inject_fault(c.PATH_RULE_CREATE, code=c.CODE_DMP_ERROR, processed=True, count=1)
    answer = api.post(c.PATH_RULE_CREATE, create_body(name="made anyway"))
    assert (answer["code"], answer["data"]) == (c.CODE_DMP_ERROR, {})
    assert [a["name"] for a in emulator.audiences(A1)] == ["made anyway"]
    with pytest.raises(ValueError, match="processed goes with code"):
        emulator.inject_fault(c.PATH_RULE_CREATE, drop=True, processed=True)


def test_serve_takes_the_sandbox_mode_and_the_processing_window_from_its_flags() -> None:
    headers = {c.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN}
    with serving("--sandbox") as (url, process):
        listed = httpx.get(url + c.API_PREFIX + c.PATH_LIST, params={"advertiser_id": A1}, headers=headers)
        stop(process, signal.SIGTERM)
    assert listed.json()["code"] == c.CODE_SANDBOX_ENDPOINT_UNSUPPORTED
    with serving("--processing-seconds", "600") as (url, process):
        made = httpx.post(url + c.API_PREFIX + c.PATH_RULE_CREATE, json=create_body(), headers=headers).json()
        body = {"advertiser_id": A1, "custom_audience_ids": [made["data"]["custom_audience_id"]]}
        deleted = httpx.post(url + c.API_PREFIX + c.PATH_DELETE, json=body, headers=headers).json()
        stop(process, signal.SIGTERM)
    assert BUSY in deleted["message"]
