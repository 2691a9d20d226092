"""The emulator enforces TikTok's rate-limit tiers per developer app, on its own clock (reference §6.3)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Emulator
from pulumi_tiktok_audiences.emulator.directory import fingerprint
from tests.ratelimit.helpers import OTHER_APP_TOKEN, SAME_APP_TOKEN, START, codes, emulator, messages

OK, LIMITED = constants.CODE_OK, constants.CODE_REQUEST_TOO_FREQUENT
BASIC = constants.RATE_TIERS["basic"]
# Airbyte issue #70992 (reference §7.2), with the emulator's developer app for TikTok's app id.
REAL_TEXT = "Due to too many requests, requests from App emulator-app are temporarily restricted."


def windows(instance: Emulator) -> list[tuple[str, float]]:
    return [(s["window"], s["seconds"]) for s in instance.suspensions()]


def test_no_tier_no_limit() -> None:
    with emulator(None) as instance:
        assert set(codes(instance, 50)) == {OK}
        assert instance.suspensions() == []


def test_past_the_per_second_limit_the_app_is_suspended_for_the_rest_of_the_second() -> None:
    with emulator("basic") as instance:
        assert codes(instance, 12) == [OK] * 10 + [LIMITED] * 2
        assert windows(instance) == [("second", 0.5)]  # the clock stands at .5 s
        assert messages(instance) == REAL_TEXT  # TikTok's own words: no window named
        instance.clock.advance(0.6)  # next second, but the refused requests still fill the last one
        assert codes(instance, 1) == [LIMITED]
        instance.clock.advance(1.0)
        assert codes(instance, 10) == [OK] * 10


def test_every_token_of_the_app_counts_and_other_apps_do_not() -> None:
    with emulator("basic") as instance:
        assert codes(instance, 6) == [OK] * 6
        assert codes(instance, 5, SAME_APP_TOKEN) == [OK] * 4 + [LIMITED]
        assert codes(instance, 1) == [LIMITED]  # the whole app is suspended
        assert codes(instance, 10, OTHER_APP_TOKEN) == [OK] * 10
        # Whose requests filled the second, by token fingerprint (the refused 11th included).
        (suspension,) = instance.suspensions()
        assert suspension["senders"] == {fingerprint(DEFAULT_TOKEN): 6, fingerprint(SAME_APP_TOKEN): 5}


def test_past_the_per_minute_limit_the_app_is_suspended_for_five_minutes() -> None:
    with emulator(constants.RateTier(per_second=5, per_minute=20, per_day=1000)) as instance:
        for _ in range(4):  # 5 a second: 20 in 4 seconds
            assert codes(instance, 5) == [OK] * 5
            instance.clock.advance(1.0)
        assert codes(instance, 1, SAME_APP_TOKEN) == [LIMITED]  # the 21st of the minute
        assert windows(instance) == [("minute", 300.0)]
        (suspension,) = instance.suspensions()  # whose requests filled the minute
        assert suspension["senders"] == {fingerprint(DEFAULT_TOKEN): 20, fingerprint(SAME_APP_TOKEN): 1}
        assert messages(instance) == REAL_TEXT
        instance.clock.advance(299.9)
        assert codes(instance, 1) == [LIMITED]
        instance.clock.advance(0.2)
        assert codes(instance, 5) == [OK] * 4 + [LIMITED]  # the refused probe still counts in the second


def test_the_basic_tier_allows_600_a_minute() -> None:
    with emulator("basic") as instance:
        for _ in range(60):
            assert codes(instance, 10) == [OK] * 10
            instance.clock.advance(1.0)
        instance.clock.advance(-0.5)  # 59.5 s after the first ten: they are still in the minute
        assert codes(instance, 1) == [LIMITED]
        assert windows(instance) == [("minute", 300.0)]


def test_past_the_per_day_limit_the_app_is_suspended_until_midnight_utc() -> None:
    with emulator(constants.RateTier(per_second=100, per_minute=6000, per_day=25)) as instance:
        assert codes(instance, 26) == [OK] * 25 + [LIMITED]
        assert windows(instance) == [("day", 2.5 * 3600 - 0.5)]
        assert instance.suspensions()[0]["senders"] == {}  # a day's count is not broken down
        assert messages(instance) == REAL_TEXT
        instance.clock.set(START.replace(hour=23, minute=59, second=59, microsecond=0))
        assert codes(instance, 1) == [LIMITED]
        instance.clock.advance(1.0)
        assert codes(instance, 25) == [OK] * 25


def test_the_sandbox_limits_each_endpoint_on_its_own() -> None:
    with emulator("sandbox") as instance:
        assert codes(instance, 2) == [OK, LIMITED]
        assert codes(instance, 1, path=constants.PATH_GET) != [LIMITED]  # get has its own quota
        for _ in range(27):
            instance.clock.advance(1.0)
            assert codes(instance, 1) == [OK]
        instance.clock.advance(1.0)
        assert codes(instance, 1) == [OK]  # the 30th of the minute, counting the refused one
        instance.clock.advance(1.0)
        assert codes(instance, 1) == [LIMITED]
        assert [w for w, _ in windows(instance)] == ["second", "minute"]
        assert messages(instance) == REAL_TEXT


def test_a_reset_forgets_the_counts_but_keeps_the_tier() -> None:
    with emulator("basic") as instance:
        codes(instance, 11)
        instance.reset()
        assert instance.suspensions() == []
        assert codes(instance, 11) == [OK] * 10 + [LIMITED]


def test_the_tier_is_set_and_read_over_http_controls() -> None:
    with emulator(None) as instance, instance.serve() as server, httpx.Client(base_url=server.url) as http:

        def control(method: str, body: Any = None) -> httpx.Response:
            return http.request(method, "/_emulator/rate_tier", json=body)

        assert control("POST", {"tier": "sandbox"}).json()["data"]["tier"]["per_minute"] == 30
        assert codes(instance, 2) == [OK, LIMITED]
        state = control("GET").json()["data"]
        assert [s["window"] for s in state["suspensions"]] == ["second"]
        custom = {"per_second": 2, "per_minute": 100, "per_day": 1000}
        assert control("POST", custom).json()["data"]["tier"] == {**custom, "per_endpoint": False}
        assert control("POST", {}).json()["data"] == {"tier": None, "suspensions": []}
        for bad in ({"tier": "gold"}, {"per_second": 2}, {"tier": "basic", "per_day": 5}, {"per_second": 0}):
            answer = control("POST", bad)
            assert (answer.status_code, answer.json()["code"]) == (400, constants.CODE_PARAM_ERROR), bad


def test_the_per_token_test_limit_answers_with_the_real_text_too() -> None:
    with emulator(None) as instance:
        instance.set_rate_limit(None, per_second=0, burst=1)
        assert codes(instance, 2) == [OK, LIMITED]
        assert messages(instance) == REAL_TEXT


def test_the_advertiser_qps_limit_answers_40133_with_the_real_text() -> None:
    with emulator(None) as instance, instance.serve() as server, httpx.Client(base_url=server.url) as http:
        assert http.post("/_emulator/advertiser_qps", json={"per_second": 3}).json()["code"] == OK
        assert codes(instance, 4) == [OK] * 3 + [constants.CODE_ADVERTISER_QPS_LIMIT]
        assert codes(instance, 1, path=constants.PATH_GET) != [
            constants.CODE_ADVERTISER_QPS_LIMIT
        ]  # per path
        assert codes(instance, 1, OTHER_APP_TOKEN) == [constants.CODE_ADVERTISER_QPS_LIMIT]  # per advertiser
        # reference §7.2: "Advertiser ({ID})'s QPS ({current QPS}) reaches QPS limit {QPS limit} for
        # current path"
        expected = "Advertiser (7000000000000000001)'s QPS (6) reaches QPS limit 3 for current path"
        assert messages(instance) == expected
        instance.clock.advance(1.0)
        assert codes(instance, 3) == [OK] * 3
        assert http.post("/_emulator/advertiser_qps", json={}).json()["code"] == OK
        assert codes(instance, 10) == [OK] * 10


def test_an_unknown_tier_is_refused_naming_the_tiers() -> None:
    with pytest.raises(ValueError, match="basic, advanced, premium, ultimate, sandbox"):
        Emulator(rate_tier="gold")


def test_emulator_serve_enforces_a_tier() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pulumi_tiktok_audiences.cli",
            "emulator",
            "serve",
            "--port",
            "0",
            "--rate-tier",
            "sandbox",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        # The emulator's clock stands still, so the three requests fall in one second however slowly
        # a busy machine sends them.
        assert httpx.post(url + "/_emulator/clock/freeze", json={}).json()["code"] == OK
        with httpx.Client(
            base_url=url + constants.API_PREFIX, headers={"Access-Token": DEFAULT_TOKEN}
        ) as http:
            params = {"advertiser_id": "7000000000000000001"}
            answers = [http.get(constants.PATH_LIST, params=params).json()["code"] for _ in range(3)]
        assert answers == [OK, LIMITED, LIMITED]  # 1 a second on the sandbox tier
    finally:
        process.terminate()
        process.wait(timeout=10)
