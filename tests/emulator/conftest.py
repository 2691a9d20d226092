"""Fixtures: an emulator on a frozen clock, and plain httpx clients on both of its front doors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, IN_PROCESS_BASE_URL, Clock, Emulator
from tests.emulator.helpers import Api

START = datetime(2025, 1, 1, tzinfo=UTC).timestamp()


@pytest.fixture
def clock() -> Clock:
    return Clock(START, frozen=True)


@pytest.fixture
def emulator(clock: Clock) -> Iterator[Emulator]:
    with Emulator(clock=clock) as instance:
        yield instance


def in_process_client(emulator: Emulator, token: str | None = DEFAULT_TOKEN) -> httpx.Client:
    headers = {constants.ACCESS_TOKEN_HEADER: token} if token else {}
    return httpx.Client(
        transport=emulator.transport(), base_url=IN_PROCESS_BASE_URL + constants.API_PREFIX, headers=headers
    )


@pytest.fixture
def api(emulator: Emulator) -> Iterator[Api]:
    """The in-process front door."""
    with in_process_client(emulator) as client:
        yield Api(client)


@pytest.fixture(params=["in_process", "http_server"])
def door(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Api]:
    """Each front door in turn: the httpx transport, then a real server on 127.0.0.1 port 0."""
    if request.param == "in_process":
        with in_process_client(emulator) as client:
            yield Api(client)
        return
    with (
        emulator.serve("127.0.0.1", 0) as server,
        httpx.Client(
            base_url=server.url + constants.API_PREFIX, headers={constants.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN}
        ) as client,
    ):
        yield Api(client)
