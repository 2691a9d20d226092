"""Fixtures: one emulator (frozen clock) served over HTTP per module, and test engines.

The engine starts a provider host per operation in the project's directory (so local modules
such as a stand-in resource import); after each test, no host may have printed the token.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Clock, Emulator, RunningServer
from tests.e2e.programs import Program
from tests.harness.engine import Engine

START = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
"""Far from the real time on purpose: expiry must follow the emulator's clock, not this machine's."""

EngineFor = Callable[[Program, Path], Engine]


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(clock=Clock(START, frozen=True)) as instance:
        yield instance


@pytest.fixture(scope="module")
def server(emulator: Emulator) -> Iterator[RunningServer]:
    with emulator.serve(port=0) as running:
        yield running


@pytest.fixture(autouse=True)
def _fresh_emulator(emulator: Emulator) -> None:
    """Every test starts with no audiences and no counted requests."""
    emulator.reset()


@pytest.fixture
def engine_for(server: RunningServer) -> Iterator[EngineFor]:
    engines: list[Engine] = []

    def make(program: Program, workdir: Path) -> Engine:
        """An engine for the program's stack in ``workdir``, pointed at the emulator."""
        engines.append(program.engine(workdir, server.url))
        return engines[-1]

    yield make
    leaked = [e.project_dir for e in engines if any(DEFAULT_TOKEN in log for log in e.host_logs)]
    assert not leaked, f"the access token appeared in the provider host's output: {leaked}"
