"""A CLI user sets the rate-limit settings through the environment: a bad one is named by the variable
they set (as well as the stack key), before any request is sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, DEFAULT_TOKEN, Emulator
from pulumi_tiktok_audiences.settings import (
    DEVELOPER_APP_ENV,
    RATE_ENV,
    STORE_ENV,
    TIER_ENV,
    TOKEN_ENV,
    WAIT_ENV,
)


@pytest.fixture
def served() -> Iterator[tuple[Emulator, str]]:
    with Emulator() as emulator, emulator.serve() as server:
        yield emulator, server.url


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        (STORE_ENV, "bogus", "unknown rate-limit store 'bogus'"),
        (STORE_ENV, "redis://:hunter2@127.0.0.1:1/0", "cannot open the rate-limit store redis://:***@"),
        (RATE_ENV, "11", "more than the basic tier's 10 requests per second"),
        (WAIT_ENV, "soon", "expected 0 or a positive number of seconds"),
        (DEVELOPER_APP_ENV, "bad\nname", "at most 200 printable characters"),
        (TIER_ENV, "gold", "unknown rate-limit tier 'gold'"),
    ],
)
def test_a_bad_rate_setting_names_the_variable_set_and_nothing_is_sent(
    served: tuple[Emulator, str], monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    emulator, url = served
    monkeypatch.setenv(TOKEN_ENV, DEFAULT_TOKEN)
    monkeypatch.setenv(TIER_ENV, "basic")
    monkeypatch.setenv(variable, value)

    result = CliRunner().invoke(main, ["import", "--endpoint", url, "--advertiser-id", DEFAULT_ADVERTISER_ID])

    assert result.exit_code == 1
    assert f"{variable})" in result.output  # "tiktok:rateLimitStore (TIKTOK_RATE_LIMIT_STORE): ..."
    assert says in result.output
    assert "hunter2" not in result.output
    assert sum(emulator.request_counts().values()) == 0
