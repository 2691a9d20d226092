"""Secrets: the access token appears nowhere it could leak, and the emulator compares it in constant time.

The scenarios of this package scan what they produce (state, outputs, host output, errors and the
emulator's database file, see ``helpers.assert_secret_free``); this module adds what they do not
cover: the serialized provider, every log line of the emulator and the client at DEBUG, the
emulator's answers to requests carrying the token in odd places, and the token comparison itself.
"""

from __future__ import annotations

import base64
import hmac
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import RetryPolicy, TikTokClient, TikTokError
from pulumi_tiktok_audiences.emulator import DEFAULT_SEED, Emulator, RunningServer
from pulumi_tiktok_audiences.emulator import directory as directory_module
from pulumi_tiktok_audiences.emulator.directory import Directory
from pulumi_tiktok_audiences.provider import AppActivity
from tests.reliability.helpers import (
    SECRET_TOKEN,
    Deployment,
    assert_secret_free,
    audiences,
    raw_http,
    reliability_seed,
    write_project,
)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    """Every log line of the package (emulator and client) and of werkzeug, at DEBUG."""
    handler = _Lines()
    handler.setFormatter(logging.Formatter("%(name)s %(message)s %(exc_info)s"))
    loggers = [logging.getLogger(name) for name in ("pulumi_tiktok_audiences", "werkzeug")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler.lines
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


def test_the_serialized_provider_holds_no_token(tmp_path: Path, server: RunningServer) -> None:
    blob = serialize_provider(AppActivity())
    assert SECRET_TOKEN.encode() not in base64.b64decode(blob)
    project = tmp_path / "project"
    write_project(project, audiences(2))
    deployment = Deployment(project, server.url)
    assert deployment.converge(max_runs=1) == 1
    stored = {s.outputs["__provider"] for s in deployment.state.values()}
    assert stored == {blob}  # what the state keeps is exactly that blob


def test_logs_answers_and_errors_hold_no_token(
    emulator: Emulator, server: RunningServer, db_path: Path, log_lines: list[str]
) -> None:
    texts: list[str] = []
    base = server.url + constants.API_PREFIX
    with httpx.Client(base_url=base) as http:
        # The token where TikTok's files put it (query), in requests refused by the HTTP layer
        # (a request line too long, or malformed), as a body field, and as the wrong token.
        list_path = constants.PATH_LIST
        query = {"Access-Token": SECRET_TOKEN, "advertiser_id": "x"}
        texts.append(http.get(list_path, params=query).text)
        too_long = f"GET {constants.API_PREFIX}{list_path}?Access-Token={SECRET_TOKEN}&pad={'x' * 70_000}"
        texts.append(raw_http(server, f"{too_long} HTTP/1.1\r\nHost: x\r\n\r\n".encode()).decode())
        bad_syntax = f"GET {constants.API_PREFIX}{list_path}?Access-Token={SECRET_TOKEN} HTTP/1.1 extra"
        texts.append(raw_http(server, f"{bad_syntax}\r\nHost: x\r\n\r\n".encode()).decode())
        texts.append(http.post(constants.PATH_DELETE, json={"access_token": SECRET_TOKEN}).text)
        headers = {constants.ACCESS_TOKEN_HEADER: SECRET_TOKEN + "x"}
        texts.append(http.post(constants.PATH_DELETE, json={}, headers=headers).text)
    emulator.inject_fault(constants.PATH_LIST, http_status=503)
    emulator.inject_fault(constants.PATH_GET, drop=True)
    no_waits = RetryPolicy(sleep=lambda _: None)
    with TikTokClient(SECRET_TOKEN, base_url=server.url, timeout=5, retry=no_waits) as client:
        for call in (lambda: client.list_audiences("1"), lambda: client.get_audiences("1", ["2"])):
            with pytest.raises(TikTokError) as raised:
                call()
            texts += [str(raised.value), repr(raised.value), repr(client)]
    assert log_lines, "nothing was logged: the scan would prove nothing"
    assert_secret_free([*texts, *log_lines], db_path)


def test_the_emulator_compares_tokens_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every known token is compared (digests, hmac.compare_digest) whichever matches, if any."""
    seed = reliability_seed()
    directory = Directory(seed)
    compared: list[tuple[bytes, bytes]] = []
    original = hmac.compare_digest

    def compare_digest(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(directory_module.hmac, "compare_digest", compare_digest)
    first = DEFAULT_SEED.tokens[0].token.get_secret_value()
    for token, found in ((first, True), (SECRET_TOKEN, True), ("wrong", False), (SECRET_TOKEN[:-1], False)):
        compared.clear()
        assert (directory.authenticate(token) is not None) is found
        assert len(compared) == len(seed.tokens)
        assert all(len(a) == len(b) == 32 for a, b in compared)  # digests: no length to leak
