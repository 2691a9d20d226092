"""An emulator, served over HTTP, for the examples whose programs the catalog tests deploy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from pulumi_tiktok_audiences.emulator import Clock, Emulator, RunningServer


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(clock=Clock(datetime(2025, 1, 1, tzinfo=UTC).timestamp(), frozen=True)) as instance:
        yield instance


@pytest.fixture(scope="module")
def server(emulator: Emulator) -> Iterator[RunningServer]:
    with emulator.serve(port=0) as running:
        yield running
