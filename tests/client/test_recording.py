"""The recording transport: every exchange on disk, in order, with no credential anywhere in it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import RetryPolicy, TikTokClient, TikTokError
from pulumi_tiktok_audiences.client.recording import REDACTED, Recorder
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, IN_PROCESS_BASE_URL, Emulator

TOKEN = "rec-token-5f1c9a7e3b2d4c6a8e0f1a2b3c4d5e6f"
SECRET = "app-secret-0123456789abcdef"


def echo(request: httpx.Request) -> httpx.Response:
    """A server that repeats the credentials it was sent in its answer (the worst case)."""
    token = request.headers[constants.ACCESS_TOKEN_HEADER]
    message = f"token {token} secret {request.url.params.get('secret')} body {request.content.decode()}"
    return httpx.Response(200, json={"code": 40001, "message": message, "request_id": "r", "data": {}})


def recordings(folder: Path) -> list[dict[str, object]]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def test_exchanges_are_written_in_order_with_query_body_status_and_answer(tmp_path: Path) -> None:
    with Emulator() as emulator:
        recorder = Recorder(tmp_path, secrets=["emulator-token"])
        transport = recorder.transport(emulator.transport())
        with TikTokClient("emulator-token", base_url=IN_PROCESS_BASE_URL, transport=transport) as client:
            client.list_apps(DEFAULT_ADVERTISER_ID)
            client.list_audiences(DEFAULT_ADVERTISER_ID)
    names = [path.name for path in sorted(tmp_path.glob("*.json"))]
    assert names == ["0001-app_list.json", "0002-list.json"]
    first, second = recordings(tmp_path)
    assert first["method"] == "GET"
    assert first["path"] == "/open_api/v1.3/app/list/"
    assert first["query"] == {"advertiser_id": DEFAULT_ADVERTISER_ID}
    assert first["status"] == 200
    assert first["answer"]["data"]["apps"][0]["app_id"] == "6400000001"  # type: ignore[index]
    assert second["query"]["page_size"] == "100"  # type: ignore[index]


def test_no_credential_survives_in_query_body_or_answer(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, secrets=[TOKEN, SECRET])
    transport = recorder.transport(httpx.MockTransport(echo))
    with TikTokClient(TOKEN, base_url="https://tiktok.test", transport=transport) as client:
        with pytest.raises(Exception, match="40001"):
            client.authorized_advertisers("7000000000000000123", SECRET)
        with pytest.raises(Exception, match="40001"):
            client.rename_audience(DEFAULT_ADVERTISER_ID, "1", f"named {TOKEN}")
    files = list(tmp_path.glob("*.json"))
    assert len(files) == 2
    for path in files:
        text = path.read_text()
        assert TOKEN not in text
        assert SECRET not in text
        assert REDACTED in text
    oauth = recordings(tmp_path)[0]
    assert oauth["query"] == {"app_id": "7000000000000000123"}  # the secret parameter is dropped


def test_a_token_sent_as_a_query_parameter_is_dropped(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, secrets=[TOKEN])
    with httpx.Client(transport=recorder.transport(httpx.MockTransport(echo))) as http:
        http.get(
            "https://tiktok.test/open_api/v1.3/app/list/",
            params={"Access-Token": TOKEN, "a": "1"},
            headers={constants.ACCESS_TOKEN_HEADER: TOKEN},
        )
    (entry,) = recordings(tmp_path)
    assert entry["query"] == {"a": "1"}
    assert TOKEN not in json.dumps(entry)


def test_a_failed_exchange_is_recorded_with_its_error(tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    recorder = Recorder(tmp_path, secrets=[TOKEN])
    transport = recorder.transport(httpx.MockTransport(refuse))
    retry = RetryPolicy(max_attempts=2, sleep=lambda _: None)
    with (
        TikTokClient(TOKEN, base_url="https://tiktok.test", transport=transport, retry=retry) as client,
        pytest.raises(TikTokError, match="ConnectError"),
    ):
        client.list_apps(DEFAULT_ADVERTISER_ID)
    entries = recordings(tmp_path)
    assert len(entries) == 2  # each attempt
    assert all(entry["error"] == "ConnectError" and "answer" not in entry for entry in entries)


def test_numbering_continues_in_a_folder_that_already_has_recordings(tmp_path: Path) -> None:
    for _ in range(2):
        recorder = Recorder(tmp_path, secrets=[TOKEN])
        with httpx.Client(transport=recorder.transport(httpx.MockTransport(echo))) as http:
            http.get(
                "https://tiktok.test/open_api/v1.3/app/list/", headers={constants.ACCESS_TOKEN_HEADER: TOKEN}
            )
    assert sorted(p.name for p in tmp_path.glob("*.json")) == ["0001-app_list.json", "0002-app_list.json"]
