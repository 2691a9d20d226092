"""Fixtures: one emulator (frozen clock) served over HTTP per module, and provider hosts.

Provider hosts are started once per program and module, as the engine starts one per project
(its working directory is the project's, so local modules such as a stand-in resource import).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest

from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Clock, Emulator, RunningServer
from tests.e2e.programs import Program
from tests.harness.engine import project_name
from tests.harness.host import ProviderHost

START = datetime(2025, 1, 1, tzinfo=UTC).timestamp()
"""Far from the real time on purpose: expiry must follow the emulator's clock, not this machine's."""

HostFor = Callable[[Program], ProviderHost]


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


@pytest.fixture(scope="module")
def host_for() -> Iterator[HostFor]:
    hosts: dict[tuple[str, str], ProviderHost] = {}

    def get(program: Program) -> ProviderHost:
        """The host for the program's stack (the provider reads its config once per host)."""
        key = (program.key, program.stack)
        if key not in hosts:
            hosts[key] = ProviderHost(project=project_name(program.source), cwd=program.source)
        return hosts[key]

    yield get
    logs = {key: host.close() for key, host in hosts.items()}
    leaked = [key for key, text in logs.items() if DEFAULT_TOKEN in text]
    assert not leaked, f"the access token appeared in the provider host's output: {leaked}"
