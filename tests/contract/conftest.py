"""Per module: one emulator served over HTTP on 127.0.0.1, and one provider host configured for it.

A host configures a provider once per ``__provider`` string, so one host serves one configuration;
modules that need another configuration start their own hosts.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Emulator, RunningServer
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from tests.contract.helpers import PROJECT, Engine, emulator_seed
from tests.harness.host import ProviderHost, secret


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=emulator_seed()) as instance:
        yield instance


@pytest.fixture(scope="module")
def server(emulator: Emulator) -> Iterator[RunningServer]:
    with emulator.serve("127.0.0.1", 0) as running:
        yield running


@pytest.fixture(scope="module")
def host(server: RunningServer) -> Iterator[ProviderHost]:
    """A host configured as `pulumi up` would: the token as a secret, keys namespaced."""
    with ProviderHost(project=PROJECT) as started:
        started.configure({TOKEN_KEY: secret(DEFAULT_TOKEN), ENDPOINT_KEY: server.url})
        yield started


@pytest.fixture(scope="module")
def engine(host: ProviderHost) -> Engine:
    return Engine(host)
