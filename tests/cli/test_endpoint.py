"""Every command that talks to TikTok finds its endpoint and token the same way: the flag, then
TIKTOK_ENDPOINT / TIKTOK_ACCESS_TOKEN, then production. Each runs against two emulators served over
HTTP, and the one that counted the requests says which endpoint the command used."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, DEFAULT_APP_ID, DEFAULT_TOKEN, Emulator
from pulumi_tiktok_audiences.provider import props_from_spec
from pulumi_tiktok_audiences.settings import ENDPOINT_ENV, TOKEN_ENV
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, EventRule

URN = "urn:pulumi:dev::shop::pulumi-python:dynamic/tiktok:AppActivityAudience::buyers"
SPEC = AudienceSpec(
    advertiser_id=DEFAULT_ADVERTISER_ID,
    name="Buyers of an interrupted up",
    app_ids=[DEFAULT_APP_ID],
    include=[EventRule(event=AppEvent.PURCHASE, lookback_days=30)],
)
WRONG_TOKEN = "not-the-emulators-token"


class Served:
    """An emulator served over HTTP, with the number of API requests it answered."""

    def __init__(self, emulator: Emulator, url: str) -> None:
        self.emulator, self.url = emulator, url

    def requests(self) -> int:
        return sum(self.emulator.request_counts().values())


def _served() -> Iterator[Served]:
    with Emulator() as emulator, emulator.serve() as server:
        yield Served(emulator, server.url)


@pytest.fixture
def chosen() -> Iterator[Served]:
    yield from _served()


@pytest.fixture
def other() -> Iterator[Served]:
    yield from _served()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (ENDPOINT_ENV, TOKEN_ENV, "TIKTOK_ADVERTISER_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # `local` would make .tiktok-emulator/ here, never in the repository


def _import(served: Served) -> tuple[list[str], str | None]:
    return ["import", "--advertiser-id", DEFAULT_ADVERTISER_ID], None


def _pending(served: Served) -> tuple[list[str], str | None]:
    """A stack export with the pending create of an audience that exists on ``served``."""
    with TikTokClient(DEFAULT_TOKEN, base_url=served.url) as client:
        client.create_rule_audience(SPEC.to_create_payload())
    operation = {"resource": {"urn": URN, "type": URN.split("::")[2], "inputs": props_from_spec(SPEC)}}
    export = {
        "version": 3,
        "deployment": {"resources": [], "pending_operations": [operation | {"type": "creating"}]},
    }
    return ["pending"], json.dumps(export)


def _doctor(served: Served) -> tuple[list[str], str | None]:
    return ["doctor", "--advertiser-id", DEFAULT_ADVERTISER_ID], None


COMMANDS: dict[str, Callable[[Served], tuple[list[str], str | None]]] = {
    "import": _import,
    "pending": _pending,
    "doctor": _doctor,
}


def _run(args: list[str], stdin: str | None, env: dict[str, str]) -> Result:
    return CliRunner().invoke(main, args, input=stdin, env=env)


@pytest.mark.parametrize("name", COMMANDS)
def test_the_environment_names_the_endpoint_and_the_token(name: str, chosen: Served) -> None:
    args, stdin = COMMANDS[name](chosen)
    before = chosen.requests()

    result = _run(args, stdin, {ENDPOINT_ENV: chosen.url, TOKEN_ENV: DEFAULT_TOKEN})

    assert result.exit_code == 0, result.output
    assert chosen.requests() > before, f"{name} did not call {ENDPOINT_ENV}'s server"
    assert DEFAULT_TOKEN not in result.output


@pytest.mark.parametrize("name", COMMANDS)
def test_the_flags_win_over_the_environment(name: str, chosen: Served, other: Served) -> None:
    args, stdin = COMMANDS[name](chosen)
    before = chosen.requests()

    result = _run(
        [*args, "--endpoint", chosen.url, "--token", DEFAULT_TOKEN],
        stdin,
        {ENDPOINT_ENV: other.url, TOKEN_ENV: WRONG_TOKEN},
    )

    assert result.exit_code == 0, result.output
    assert chosen.requests() > before
    assert other.requests() == 0


@pytest.mark.parametrize("name", COMMANDS)
def test_help_names_the_variables_and_the_default(name: str) -> None:
    result = CliRunner().invoke(main, [name, "--help"], terminal_width=200)
    assert result.exit_code == 0
    help_text = " ".join(result.output.split())
    assert f"[env var: {ENDPOINT_ENV}; default: production]" in help_text
    assert f"[env var: {TOKEN_ENV}]" in help_text


@pytest.mark.parametrize("name", ["import", "pending"])
def test_a_missing_token_is_a_usage_error_naming_both_ways_to_give_it(name: str, chosen: Served) -> None:
    args, stdin = COMMANDS[name](chosen)
    result = _run(args, stdin, {ENDPOINT_ENV: chosen.url})
    assert result.exit_code == 2, result.output
    assert f"no access token: set {TOKEN_ENV} or pass --token" in result.output
