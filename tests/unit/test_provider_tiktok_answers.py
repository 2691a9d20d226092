"""The provider within what TikTok really answers (reference §7): a busy audience is waited for, every
update sends the name, and a create answered with a backend or server code is looked for, never resent
blindly."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

import pulumi_tiktok_audiences.client as client_package
from pulumi_tiktok_audiences import constants, throttle
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    Emulator,
)
from pulumi_tiktok_audiences.errors import OperationError
from pulumi_tiktok_audiences.provider import AppActivity
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, PROCESSING_WAIT_KEY, TOKEN_KEY
from tests.contract.helpers import emulator_seed
from tests.unit.test_provider import checked, configured, create, live


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """A running clock: the provider's waits are real, so windows here are short."""
    with Emulator(seed=emulator_seed()) as instance:
        yield instance


@pytest.fixture
def sent(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """Every POST body the provider's clients send, with its path."""
    bodies: list[tuple[str, dict[str, Any]]] = []
    original = TikTokClient._send

    def recording(self: TikTokClient, method: str, path: str, *args: Any) -> Any:
        if method == "POST":
            bodies.append((path, dict(args[-1] or {})))
        return original(self, method, path, *args)

    monkeypatch.setattr(TikTokClient, "_send", recording)
    monkeypatch.setattr(
        client_package, "TikTokClient", functools.partial(TikTokClient, transport=emulator.transport())
    )
    return bodies


def provider_for(config: dict[str, Any] | None = None) -> AppActivity:
    return configured({TOKEN_KEY: DEFAULT_TOKEN, ENDPOINT_KEY: IN_PROCESS_BASE_URL, **(config or {})})


def test_a_sub_type_change_sends_the_current_name(
    emulator: Emulator, sent: list[tuple[str, dict[str, Any]]]
) -> None:
    provider = provider_for()
    id_, outs = create(provider, name="buyers")
    provider.update(id_, outs, checked(provider, name="buyers", audience_sub_type="REACH_FREQUENCY"))
    updates = [body for path, body in sent if path == constants.PATH_UPDATE]
    assert updates == [
        {
            "advertiser_id": DEFAULT_ADVERTISER_ID,
            "custom_audience_id": id_,
            "custom_audience_name": "buyers",
            "audience_sub_type": "REACH_FREQUENCY",
        }
    ]
    assert [(a["name"], a["audience_sub_type"]) for a in live(emulator)] == [("buyers", "REACH_FREQUENCY")]


def test_rename_and_delete_right_after_a_create_wait_for_tiktok_and_say_so(
    emulator: Emulator, sent: list[tuple[str, dict[str, Any]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[str] = []
    monkeypatch.setattr(throttle, "STDERR_ANNOUNCER", throttle.Announcer(lines.append, quiet_seconds=0))
    emulator.processing_seconds = 0.5  # real seconds: the provider sleeps for real
    provider = provider_for()
    id_, outs = create(provider, name="fresh")
    provider.update(id_, outs, checked(provider, name="fresh, renamed"))
    assert [a["name"] for a in live(emulator)] == ["fresh, renamed"]
    assert any(f"TikTok is still processing audience {id_}" in line for line in lines), lines
    second, second_outs = create(provider, name="second")
    provider.delete(second, second_outs)
    assert [a["audience_id"] for a in live(emulator)] == [id_]
    assert [path for path, _ in sent].count(constants.PATH_UPDATE) >= 2  # refused, then accepted


def test_a_busy_audience_past_the_configured_bound_fails_naming_it(
    emulator: Emulator, sent: list[tuple[str, dict[str, Any]]]
) -> None:
    emulator.processing_seconds = 3600
    provider = provider_for({PROCESSING_WAIT_KEY: "0"})
    id_, outs = create(provider, name="fresh")
    with pytest.raises(OperationError) as caught:
        provider.delete(id_, outs)
    text = str(caught.value)
    assert f"audience {id_}" in text
    assert "being updated or processed" in text
    assert "Wait until TikTok has finished" in text
    assert "stays in the stack" in text
    assert [a["audience_id"] for a in live(emulator)] == [id_]


CREATES = constants.PATH_RULE_CREATE


@pytest.mark.parametrize(
    "code",
    [
        constants.CODE_DMP_ERROR,
        constants.CODE_SYS_TIMEOUT,
        52001,  # another 5xxxx: a storage error (reference §4.1)
        constants.CODE_RPC_VALIDATION_ERROR,
        constants.CODE_TOO_MANY_REQUESTS_BL,
    ],
)
def test_a_create_carried_out_but_answered_with_an_error_code_is_found_not_duplicated(
    code: int, emulator: Emulator, sent: list[tuple[str, dict[str, Any]]]
) -> None:
    emulator.inject_fault(CREATES, code=code, processed=True, count=1)
    provider = provider_for()
    id_, _ = create(provider, name="made anyway")
    assert [(a["audience_id"], a["name"]) for a in live(emulator)] == [(id_, "made anyway")]
    assert [path for path, _ in sent].count(CREATES) == 1  # looked for, not sent again


@pytest.mark.parametrize("code", [constants.CODE_DMP_ERROR, 52001, constants.CODE_TOO_MANY_REQUESTS_BL])
def test_a_create_refused_with_a_server_code_is_looked_for_then_sent_again(
    code: int, emulator: Emulator, sent: list[tuple[str, dict[str, Any]]]
) -> None:
    emulator.inject_fault(CREATES, code=code, count=1)  # not carried out
    provider = provider_for()
    id_, _ = create(provider, name="second try")
    assert [(a["audience_id"], a["name"]) for a in live(emulator)] == [(id_, "second try")]
    assert [path for path, _ in sent].count(CREATES) == 2


def test_a_create_refused_by_the_backend_and_not_made_is_not_sent_again(
    emulator: Emulator, sent: list[tuple[str, dict[str, Any]]]
) -> None:
    emulator.inject_fault(CREATES, code=constants.CODE_RPC_VALIDATION_ERROR, count=1)
    provider = provider_for()
    with pytest.raises(OperationError) as caught:
        create(provider, name="refused")
    text = str(caught.value)
    assert "[40700]" in text
    assert "nothing was created" in text
    assert live(emulator) == []
    assert [path for path, _ in sent].count(CREATES) == 1
