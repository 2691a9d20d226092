"""How the provider host gets its settings: stack config (namespaced keys, secret token), env fallbacks.

A host configures a provider once, so each configuration here has its own host. Without a token,
check and diff still work (`pulumi preview` of a pull request), and every CRUD call says what to set.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pulumi.runtime.proto import provider_pb2

from pulumi_tiktok_audiences.emulator import (
    DEFAULT_TOKEN,
    SECOND_ADVERTISER_ID,
    THIRD_ADVERTISER_ID,
    Emulator,
    RunningServer,
)
from pulumi_tiktok_audiences.settings import (
    ADVERTISER_ENV,
    ADVERTISER_KEY,
    ENDPOINT_ENV,
    ENDPOINT_KEY,
    TOKEN_ENV,
    TOKEN_KEY,
)
from tests.contract.helpers import BLOB, PROJECT, PROVIDER_KEY, Engine, declared, stored_outputs, urn
from tests.harness.host import HostError, ProviderHost, secret

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing answers there


@pytest.fixture(scope="module")
def configured(server: RunningServer) -> Iterator[Engine]:
    """Stack config as the engine sends it, and misleading env values that config must beat."""
    env = {TOKEN_ENV: "not-a-token", ENDPOINT_ENV: UNREACHABLE, ADVERTISER_ENV: THIRD_ADVERTISER_ID}
    with ProviderHost(project=PROJECT, env=env) as host:
        host.configure(
            {
                TOKEN_KEY: secret(DEFAULT_TOKEN),
                ENDPOINT_KEY: server.url,
                ADVERTISER_KEY: SECOND_ADVERTISER_ID,
                "aws:region": "eu-west-1",  # other namespaces arrive too, and are ignored
            }
        )
        yield Engine(host)


@pytest.fixture(scope="module")
def from_env(server: RunningServer) -> Iterator[Engine]:
    env = {TOKEN_ENV: DEFAULT_TOKEN, ENDPOINT_ENV: server.url, ADVERTISER_ENV: SECOND_ADVERTISER_ID}
    with ProviderHost(project=PROJECT, env=env) as host:
        host.configure({})
        yield Engine(host)


@pytest.fixture(scope="module")
def tokenless(server: RunningServer) -> Iterator[Engine]:
    with ProviderHost(project=PROJECT) as host:
        host.configure({ENDPOINT_KEY: server.url, ADVERTISER_KEY: SECOND_ADVERTISER_ID})
        yield Engine(host)


@pytest.mark.parametrize("source", ["configured", "from_env"])
def test_settings_reach_the_provider(request: pytest.FixtureRequest, emulator: Emulator, source: str) -> None:
    engine: Engine = request.getfixturevalue(source)
    name = f"from {source}"

    checked = engine.checked(declared(name=name, advertiser_id=None))
    assert checked["advertiser_id"] == SECOND_ADVERTISER_ID
    id_, _ = engine.create(declared(name=name, advertiser_id=None))  # token and endpoint work

    assert [a["audience_id"] for a in emulator.audiences(SECOND_ADVERTISER_ID) if a["name"] == name] == [id_]


def test_without_a_token_check_and_diff_work(tokenless: Engine, emulator: Emulator) -> None:
    emulator.reset_request_counts()
    checked = tokenless.checked(declared(advertiser_id=None))
    assert checked["advertiser_id"] == SECOND_ADVERTISER_ID
    diff = tokenless.diff("7300000000000000001", stored_outputs(checked), declared(name="renamed"))
    assert diff.changes == provider_pb2.DiffResponse.DIFF_SOME
    assert emulator.request_counts() == {}


def test_without_a_token_every_crud_call_names_the_settings(
    tokenless: Engine, engine: Engine, emulator: Emulator
) -> None:
    id_, outs = engine.create(declared(name="made with a token"))
    emulator.reset_request_counts()
    attempts = {
        "create": lambda: tokenless.create(declared()),
        "read": lambda: tokenless.read(id_, outs),
        "update": lambda: tokenless.update(id_, outs, declared(name="renamed")),
        "delete": lambda: tokenless.delete(id_, outs),
    }
    for operation, attempt in attempts.items():
        with pytest.raises(HostError) as caught:
            attempt()
        assert TOKEN_KEY in caught.value.details, operation
        assert TOKEN_ENV in caught.value.details, operation
    assert emulator.request_counts() == {}


def test_reading_by_id_defaults_the_advertiser_from_config(configured: Engine) -> None:
    """`opts.id` (a read-only get): the engine sends the program's unchecked inputs, without Check."""
    id_, _ = configured.create(declared(name="looked up by id", advertiser_id=None))
    program_inputs = {**declared(name="looked up by id", advertiser_id=None), PROVIDER_KEY: BLOB}

    read_id, outs, _ = configured.host.read(urn("audience"), id_, {}, inputs=program_inputs)

    assert read_id == id_
    assert outs["advertiser_id"] == SECOND_ADVERTISER_ID
