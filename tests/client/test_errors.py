"""Envelope parsing and the typed errors: which class, which attributes, which message."""

from __future__ import annotations

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import (
    AuthenticationError,
    BlocklistedError,
    InvalidRequestError,
    MissingAccessTokenError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RetriesExhaustedError,
    ServerError,
    TikTokApiError,
    TikTokError,
    TransportError,
)
from pulumi_tiktok_audiences.errors import TikTokAudiencesError
from tests.client.helpers import (
    ADVERTISER,
    EVERY_CALL,
    REQUEST_ID,
    Recorder,
    api_error,
    envelope,
    fake_api,
    make_client,
    minimal_app_payload,
)

PERMANENT = [
    (constants.CODE_ACCESS_TOKEN_EXPIRE, AuthenticationError),
    (constants.CODE_EMPTY_ACCESS_TOKEN, AuthenticationError),
    (constants.CODE_INVALID_ACCESS_TOKEN, AuthenticationError),
    (constants.CODE_PERMISSION_ERROR, PermissionDeniedError),
    (constants.CODE_INVALID_PARAMS, InvalidRequestError),
    (constants.CODE_PARAM_ERROR, InvalidRequestError),
    (constants.CODE_ID_LIMIT_EXCEED, InvalidRequestError),
    (constants.CODE_NOT_EXIST, NotFoundError),
]


@pytest.mark.parametrize(("code", "cls"), PERMANENT)
def test_each_code_raises_its_error_type_with_tiktoks_details(code: int, cls: type[TikTokApiError]) -> None:
    recorder = Recorder([api_error(code, "audience name is too long")])
    with make_client(recorder) as client, pytest.raises(cls) as caught:
        client.create_rule_audience(minimal_app_payload())
    error = caught.value
    assert type(error) is cls
    assert (error.code, error.request_id, error.endpoint) == (code, REQUEST_ID, "rule/create")
    assert error.tiktok_message == "audience name is too long"
    assert str(error).startswith(
        f"TikTok rejected rule/create: [{code}] audience name is too long (request_id {REQUEST_ID})"
    )
    assert cls.hint
    assert str(error).endswith(cls.hint)


@pytest.mark.parametrize("code", sorted(constants.RATE_LIMIT_CODES))
def test_rate_limit_codes_are_rate_limited_errors(code: int) -> None:
    recorder = Recorder([api_error(code)])
    with make_client(recorder, max_attempts=1) as client, pytest.raises(RetriesExhaustedError) as caught:
        client.list_audiences(ADVERTISER)
    expected = BlocklistedError if code == constants.CODE_TOO_MANY_REQUESTS_BL else RateLimitedError
    assert type(caught.value.last_error) is expected
    assert caught.value.code == code


@pytest.mark.parametrize(
    "code", [constants.CODE_SYS_ERROR, constants.CODE_SYS_TIMEOUT, 51000, constants.CODE_DMP_ERROR, 51099]
)
def test_server_codes_are_server_errors(code: int) -> None:
    recorder = Recorder([api_error(code)])
    with make_client(recorder, max_attempts=1) as client, pytest.raises(RetriesExhaustedError) as caught:
        client.list_audiences(ADVERTISER)
    assert type(caught.value.last_error) is ServerError


def test_an_unlisted_code_is_a_plain_api_error_and_is_not_retried() -> None:
    recorder = Recorder([api_error(40300, "advertiser does not exist")])
    with make_client(recorder) as client, pytest.raises(TikTokApiError) as caught:
        client.get_audiences(ADVERTISER, ["1"])
    assert type(caught.value) is TikTokApiError
    assert str(caught.value) == (
        f"TikTok rejected get: [40300] advertiser does not exist (request_id {REQUEST_ID})"
    )
    assert len(recorder.requests) == 1


def test_every_error_belongs_to_one_hierarchy() -> None:
    api_errors = (
        AuthenticationError,
        PermissionDeniedError,
        InvalidRequestError,
        NotFoundError,
        RateLimitedError,
        ServerError,
    )
    assert all(issubclass(cls, TikTokApiError) for cls in api_errors)
    others = (TikTokApiError, TransportError, MissingAccessTokenError, RetriesExhaustedError)
    assert all(issubclass(cls, TikTokError) for cls in others)
    assert issubclass(TikTokError, TikTokAudiencesError)


def test_an_error_envelope_without_message_or_data_still_raises() -> None:
    recorder = Recorder([httpx.Response(200, json={"code": 40002, "request_id": None})])
    with make_client(recorder) as client, pytest.raises(InvalidRequestError) as caught:
        client.rename_audience(ADVERTISER, "1", "x")
    assert "[40002] (no message) (request_id unknown)" in str(caught.value)


@pytest.mark.parametrize("token", [None, "", "   "])
@pytest.mark.parametrize("name", sorted(EVERY_CALL))
def test_a_missing_token_fails_before_any_request(token: str | None, name: str) -> None:
    recorder = Recorder(fake_api)
    _, call = EVERY_CALL[name]
    with make_client(recorder, token=token) as client, pytest.raises(MissingAccessTokenError) as caught:
        call(client)
    assert recorder.requests == []
    assert "configure the access token" in str(caught.value)


@pytest.mark.parametrize(
    ("answer", "text"),
    [
        (httpx.Response(404, text="no such route"), "HTTP 404 (check the endpoint URL https://business-api"),
        (httpx.Response(405, text=""), "HTTP 405"),
        (httpx.Response(302, headers={"location": "https://elsewhere.example/"}), "HTTP 302"),
    ],
)
def test_client_side_http_errors_are_permanent_transport_errors(answer: httpx.Response, text: str) -> None:
    recorder = Recorder([answer])
    with make_client(recorder) as client, pytest.raises(TransportError) as caught:
        client.get_audiences(ADVERTISER, ["1"])
    assert text in str(caught.value)
    assert (caught.value.status_code, caught.value.transient) == (answer.status_code, False)
    assert len(recorder.requests) == 1  # not retried; redirects not followed


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json=["not", "an", "envelope"]),
        httpx.Response(200, json={"message": "no code"}),
    ],
)
def test_answers_that_are_no_envelope_are_transport_errors(answer: httpx.Response) -> None:
    recorder = Recorder([answer])
    with make_client(recorder, max_attempts=1) as client, pytest.raises(RetriesExhaustedError) as caught:
        client.list_audiences(ADVERTISER)
    last = caught.value.last_error
    assert isinstance(last, TransportError)
    assert "not TikTok's JSON envelope" in str(last)


def test_success_with_undocumented_data_is_reported_not_guessed() -> None:
    recorder = Recorder([envelope({"list": [{"audience_details": {"name": "no id"}}]})])
    with make_client(recorder) as client, pytest.raises(TransportError) as caught:
        client.get_audiences(ADVERTISER, ["1"])
    assert "succeeded but its data is not as documented" in str(caught.value)
    assert "audience_id" in str(caught.value)
    assert len(recorder.requests) == 1
