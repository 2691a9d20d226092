"""The access token never leaves the request header: not in logs, errors, reprs or strings."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import TikTokClient, TikTokError
from tests.client.helpers import (
    ADVERTISER,
    EVERY_CALL,
    TOKEN,
    Answer,
    FakeClock,
    Recorder,
    api_error,
    fake_api,
    make_client,
    minimal_app_payload,
)

_REQUEST = httpx.Request("GET", "https://business-api.tiktok.com/")

# Every way a call can fail, several of them echoing the token back as hostile servers might.
FAILURES: dict[str, Answer] = {
    **{
        f"code {code}": api_error(code, f"token {TOKEN} rejected")
        for code in (40000, 40001, 40002, 40007, 40011, 40102, 40104, 40105, 40300, 40100, 50000, 51003)
    },
    "connect error": httpx.ConnectError(f"refused while sending {TOKEN}", request=_REQUEST),
    "read timeout": httpx.ReadTimeout(f"timeout {TOKEN}", request=_REQUEST),
    "protocol error": httpx.RemoteProtocolError("server disconnected", request=_REQUEST),
    "HTTP 500": httpx.Response(500, text=f"headers were Access-Token: {TOKEN}"),
    "HTTP 404": httpx.Response(404, text=f"no route; you sent {TOKEN}"),
    "not JSON": httpx.Response(200, text=f"<html>{TOKEN}</html>"),
}


def _all_text(error: BaseException) -> str:
    """Everything a user could see of an error: str, repr, attributes, the chained traceback."""
    parts = [str(error), repr(error), "".join(traceback.format_exception(error))]
    parts += [repr(value) for value in vars(error).values()]
    return "\n".join(parts)


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


def _assert_logs_clean(caplog: pytest.LogCaptureFixture) -> None:
    assert caplog.records, "the client should log its calls at DEBUG"
    for record in caplog.records:
        assert TOKEN not in record.getMessage()
    assert TOKEN not in caplog.text


@pytest.mark.parametrize("name", sorted(EVERY_CALL))
def test_successful_calls_send_the_token_only_in_the_header(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder(fake_api)
    _, call = EVERY_CALL[name]
    with make_client(recorder) as client:
        result = call(client)
    assert recorder.requests[0].headers[constants.ACCESS_TOKEN_HEADER] == TOKEN
    for request in recorder.requests:
        assert TOKEN not in str(request.url)
        assert TOKEN.encode() not in request.content
    assert TOKEN not in repr(result)
    _assert_logs_clean(caplog)
    assert any("request_id" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("failure", sorted(FAILURES))
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.create_rule_audience(minimal_app_payload()),
        lambda c: c.get_audiences(ADVERTISER, ["1"]),
        lambda c: c.rename_audience(ADVERTISER, "1", "n"),
    ],
    ids=["create", "read", "idempotent-write"],
)
def test_no_error_reveals_the_token(
    failure: str, call: Callable[[TikTokClient], object], caplog: pytest.LogCaptureFixture
) -> None:
    recorder = Recorder([FAILURES[failure]])
    with make_client(recorder, FakeClock(), max_attempts=3) as client, pytest.raises(TikTokError) as caught:
        call(client)
    assert TOKEN not in _all_text(caught.value)
    _assert_logs_clean(caplog)


def test_the_echoed_token_is_replaced_not_dropped() -> None:
    recorder = Recorder([api_error(40105, f"token {TOKEN} is invalid")])
    with make_client(recorder) as client, pytest.raises(TikTokError) as caught:
        client.list_audiences(ADVERTISER)
    assert "token <access token> is invalid" in str(caught.value)


def test_reprs_and_strings_do_not_show_the_token() -> None:
    client = TikTokClient(TOKEN, transport=httpx.MockTransport(fake_api))
    with client:
        for text in (repr(client), str(client), repr(vars(client))):
            assert TOKEN not in text
        assert "access_token=<set>" in repr(client)
    assert "access_token=<missing>" in repr(TikTokClient(None))
