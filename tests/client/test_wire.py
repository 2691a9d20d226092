"""What the client puts on the wire: method, path, headers, query encoding, JSON bodies.

The fidelity tests hold every request against TikTok's own OpenAPI request schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import TikTokClient
from tests.client.helpers import (
    ADVERTISER,
    EVERY_CALL,
    TOKEN,
    Recorder,
    body,
    fake_api,
    make_client,
    minimal_app_payload,
    query,
)
from tests.openapi_schema import load_operation


def _run(name: str) -> list[httpx.Request]:
    recorder = Recorder(fake_api)
    _, call = EVERY_CALL[name]
    with make_client(recorder) as client:
        call(client)
    assert recorder.requests, f"{name} sent nothing"
    return recorder.requests


@pytest.mark.parametrize("name", sorted(EVERY_CALL))
def test_every_request_matches_tiktoks_openapi_schema(name: str) -> None:
    operation_name, _ = EVERY_CALL[name]
    operation = load_operation(operation_name)
    for request in _run(name):
        assert request.method == operation.method
        assert request.url.path == constants.API_PREFIX + operation.path
        if operation.method == "GET":
            assert request.content == b""
            assert operation.query_errors(query(request)) == []
        else:
            assert request.url.query == b""
            assert operation.body_errors(body(request)) == []


@pytest.mark.parametrize("name", sorted(EVERY_CALL))
def test_every_request_carries_the_token_header_and_a_trailing_slash(name: str) -> None:
    for request in _run(name):
        assert request.headers[constants.ACCESS_TOKEN_HEADER] == TOKEN
        assert request.url.host == "business-api.tiktok.com"
        assert request.url.scheme == "https"
        assert request.url.path.endswith("/")
        assert "authorization" not in request.headers  # no Bearer scheme (reference §1)
        if request.method == "POST":
            assert request.headers["content-type"] == "application/json"


def test_get_sends_ids_as_one_url_encoded_json_array_of_strings() -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        client.get_audiences(ADVERTISER, ["111", "222"])
    (request,) = recorder.requests
    assert "custom_audience_ids=%5B%22111%22%2C%22222%22%5D" in request.url.query.decode()
    assert request.url.params.get_list("custom_audience_ids") == ['["111","222"]']
    assert query(request)["advertiser_id"] == ADVERTISER
    assert "history_size" not in query(request)


def test_list_sends_scalars_as_plain_parameters() -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        client.list_audiences(ADVERTISER, page_size=37)
    (request,) = recorder.requests
    assert query(request) == {"advertiser_id": ADVERTISER, "page": "1", "page_size": "37"}


def test_create_sends_the_payload_unchanged_and_returns_the_new_id() -> None:
    payload = minimal_app_payload("cart, 30 days é")
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        audience_id = client.create_rule_audience(payload)
    assert audience_id == "1800000000000000001"
    (request,) = recorder.requests
    assert body(request) == payload


@pytest.mark.parametrize(
    ("call", "path", "expected"),
    [
        (
            lambda c: c.rename_audience(ADVERTISER, "55", "renamed"),
            constants.PATH_UPDATE,
            {"advertiser_id": ADVERTISER, "custom_audience_id": "55", "custom_audience_name": "renamed"},
        ),
        (
            lambda c: c.update_audience_sub_type(ADVERTISER, "55", "REACH_FREQUENCY", "buyers"),
            constants.PATH_UPDATE,
            {  # with the current name: update needs one (reference §7.4)
                "advertiser_id": ADVERTISER,
                "custom_audience_id": "55",
                "custom_audience_name": "buyers",
                "audience_sub_type": "REACH_FREQUENCY",
            },
        ),
        (
            lambda c: c.delete_audiences(ADVERTISER, ["55", "56"]),
            constants.PATH_DELETE,
            {"advertiser_id": ADVERTISER, "custom_audience_ids": ["55", "56"]},
        ),
        (
            lambda c: c.share_audiences(ADVERTISER, ["55"], ["77", "78"]),
            constants.PATH_SHARE,
            {
                "advertiser_id": ADVERTISER,
                "custom_audience_ids": ["55"],
                "shared_advertiser_ids": ["77", "78"],
            },
        ),
        (
            lambda c: c.cancel_share(ADVERTISER, "55", "77"),
            constants.PATH_SHARE_CANCEL,
            {"advertiser_id": ADVERTISER, "custom_audience_id": "55", "shared_advertiser_id": "77"},
        ),
        (
            lambda c: c.refresh_lookalikes(ADVERTISER, ["57"]),
            constants.PATH_LOOKALIKE_UPDATE,
            {"advertiser_id": ADVERTISER, "custom_audience_ids": ["57"]},
        ),
    ],
)
def test_writes_send_exactly_the_documented_body(
    call: Callable[[TikTokClient], object], path: str, expected: dict[str, object]
) -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        assert call(client) is None
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.url.path == constants.API_PREFIX + path
    assert body(request) == expected


def test_share_log_returns_typed_rows() -> None:
    recorder = Recorder(fake_api)
    with make_client(recorder) as client:
        rows = client.share_log(ADVERTISER, "55")
    assert [(r.custom_audience_id, r.shared_advertiser_id, r.status) for r in rows] == [
        ("55", "7000000000000000002", "SHARED")
    ]
    assert query(recorder.requests[0]) == {"advertiser_id": ADVERTISER, "custom_audience_id": "55"}


def test_any_base_url_is_used_as_the_host_root() -> None:
    recorder = Recorder(fake_api)
    client = TikTokClient(TOKEN, base_url="http://127.0.0.1:8123/", transport=httpx.MockTransport(recorder))
    with client:
        client.share_log(ADVERTISER, "55")
    assert str(recorder.requests[0].url).startswith(
        "http://127.0.0.1:8123/open_api/v1.3/dmp/custom_audience/share/log/?"
    )


def test_server_now_follows_the_date_header_of_the_last_answer() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={"code": 0, "message": "OK", "request_id": "r1", "data": {"list": []}},
            headers={"Date": "Tue, 01 Jun 2027 10:00:00 GMT"},
        )

    client = TikTokClient("t", transport=httpx.MockTransport(handler))
    before = client.server_now()
    assert abs((before - datetime.now(UTC)).total_seconds()) < 60  # no answer yet: our clock
    client.get_audiences("1", ["2"])
    assert client.server_now() == datetime(2027, 6, 1, 10, 0, tzinfo=UTC)
