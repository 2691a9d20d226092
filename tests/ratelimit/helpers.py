"""Helpers for the rate-limit tests: an emulator of two developer apps on a frozen clock."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_SEED,
    DEFAULT_TOKEN,
    Clock,
    Emulator,
    Seed,
    TokenSeed,
)

START = datetime(2026, 11, 29, 21, 30, 0, 500_000, tzinfo=UTC)  # mid-second, 2 h 30 min before 00:00 UTC
SAME_APP_TOKEN = "another-tool-of-the-same-app"
OTHER_APP_TOKEN = "a-tool-of-another-developer-app"
ADVERTISERS = DEFAULT_SEED.tokens[0].advertiser_ids


def emulator(tier: str | constants.RateTier | None) -> Emulator:
    """The default seed plus a second token of the same developer app and one of another app."""
    seed = Seed(
        tokens=(
            *DEFAULT_SEED.tokens,
            TokenSeed(token=SecretStr(SAME_APP_TOKEN), advertiser_ids=ADVERTISERS),
            TokenSeed(
                token=SecretStr(OTHER_APP_TOKEN), advertiser_ids=ADVERTISERS, developer_app="other-app"
            ),
        ),
        advertisers=DEFAULT_SEED.advertisers,
        population=DEFAULT_SEED.population,
    )
    return Emulator(seed=seed, clock=Clock(START.timestamp(), frozen=True), rate_tier=tier)


def codes(
    instance: Emulator, count: int, token: str = DEFAULT_TOKEN, path: str = constants.PATH_LIST
) -> list[int]:
    """Envelope codes of ``count`` requests sent at the emulator's current moment."""
    params = {"advertiser_id": DEFAULT_ADVERTISER_ID}
    if path == constants.PATH_GET:
        params["custom_audience_ids"] = '["1"]'
    with instance.client(token) as client:
        return [client.get(path, params=params).json()["code"] for _ in range(count)]


def messages(instance: Emulator, token: str = DEFAULT_TOKEN) -> str:
    with instance.client(token) as client:
        return str(
            client.get(constants.PATH_LIST, params={"advertiser_id": DEFAULT_ADVERTISER_ID}).json()["message"]
        )
