"""Choosing the endpoint, building and closing the client."""

from __future__ import annotations

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import NAMED_ENDPOINTS, TikTokClient, resolve_base_url
from tests.client.helpers import ADVERTISER, Recorder, fake_api


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        ("production", constants.PRODUCTION_URL),
        ("sandbox", constants.SANDBOX_URL),
        (" Sandbox ", constants.SANDBOX_URL),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://tiktok-proxy.example.com/base", "https://tiktok-proxy.example.com/base"),
    ],
)
def test_resolve_base_url(endpoint: str, expected: str) -> None:
    assert resolve_base_url(endpoint) == expected


@pytest.mark.parametrize("endpoint", ["prod", "local", "ftp://example.com", "http://", "127.0.0.1:8080", ""])
def test_resolve_base_url_rejects_anything_else_and_lists_the_choices(endpoint: str) -> None:
    with pytest.raises(ValueError, match="production, sandbox, or an http"):
        resolve_base_url(endpoint)


def test_resolve_base_url_accepts_names_added_by_the_caller() -> None:
    named = {**NAMED_ENDPOINTS, "local": "http://tiktok-emulator.local"}
    assert resolve_base_url("local", named=named) == "http://tiktok-emulator.local"
    assert resolve_base_url("production", named=named) == constants.PRODUCTION_URL


def test_the_default_host_is_production() -> None:
    recorder = Recorder(fake_api)
    with TikTokClient("token", transport=httpx.MockTransport(recorder)) as client:
        assert client.base_url == constants.PRODUCTION_URL
        client.list_audiences(ADVERTISER)
    assert recorder.requests[0].url.host == "business-api.tiktok.com"


def test_closing_the_client_closes_its_transport() -> None:
    class Transport(httpx.MockTransport):
        closed = False

        def close(self) -> None:
            self.closed = True

    transport = Transport(fake_api)
    with TikTokClient("token", transport=transport):
        assert not transport.closed
    assert transport.closed


def test_every_call_has_a_timeout() -> None:
    seen: list[dict[str, float | None]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return fake_api(request)

    with TikTokClient("token", transport=httpx.MockTransport(handler)) as client:
        client.list_audiences(ADVERTISER)
    with TikTokClient("token", transport=httpx.MockTransport(handler), timeout=2.5) as client:
        client.list_audiences(ADVERTISER)
    assert all(value is not None and value > 0 for value in seen[0].values())
    assert set(seen[1].values()) == {2.5}
