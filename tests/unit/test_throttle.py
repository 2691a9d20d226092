"""The request pacer, the wait announcer, and where the pacing comes from. Clocks are fake: nothing waits."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.errors import ConfigurationError
from pulumi_tiktok_audiences.settings import (
    DEFAULT_WAIT_SECONDS,
    ENDPOINT_KEY,
    HEADROOM,
    RATE_ENV,
    RATE_KEY,
    RATE_PER_MINUTE_ENV,
    RATE_PER_MINUTE_KEY,
    TIER_ENV,
    TIER_KEY,
    TOKEN_KEY,
    WAIT_ENV,
    WAIT_KEY,
    ProviderSettings,
)
from pulumi_tiktok_audiences.throttle import STDERR_ANNOUNCER, Announcer, Pacer, Pacing, shared_pacer


class FakeTime:
    """A clock that only moves when someone sleeps (or the test moves it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def send_times(pacer: Pacer, time: FakeTime, count: int, endpoint: str = "list") -> list[float]:
    times = []
    for _ in range(count):
        pacer.acquire(endpoint)
        times.append(round(time.now, 6))
    return times


def test_requests_leave_evenly_spaced_at_the_per_second_pace() -> None:
    time = FakeTime()
    pacer = Pacer(Pacing(per_second=4), clock=time.clock, sleep=time.sleep)
    assert send_times(pacer, time, 5) == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_the_minute_limit_holds_in_every_rolling_minute() -> None:
    time = FakeTime()
    pacer = Pacer(Pacing(per_second=10, per_minute=3), clock=time.clock, sleep=time.sleep)
    assert send_times(pacer, time, 6) == [0.0, 0.1, 0.2, 60.0, 60.1, 60.2]


def test_an_idle_pacer_sends_at_once_but_never_bunches() -> None:
    time = FakeTime()
    pacer = Pacer(Pacing(per_second=2), clock=time.clock, sleep=time.sleep)
    pacer.acquire("get")
    time.now += 30.0
    assert [pacer.acquire("get") for _ in range(3)] == [0.0, 0.5, 0.5]


@settings(max_examples=60, deadline=None)
@given(
    per_second=st.sampled_from([0.6, 1, 6, 7.5, 30]),
    per_minute=st.one_of(st.none(), st.integers(1, 400)),
    gaps=st.lists(st.just(0.0) | st.floats(0, 0.2) | st.floats(0, 3), min_size=1, max_size=150),
)
def test_no_rolling_window_ever_holds_more_than_the_limits(
    per_second: float, per_minute: int | None, gaps: list[float]
) -> None:
    """Whatever the callers' arrival times, the sends obey both windows, counted as TikTok may (a
    fractional pace allows its next whole number in some seconds: 7.5 a second is 8, then 7)."""
    time = FakeTime()
    pacer = Pacer(Pacing(per_second, per_minute), clock=time.clock, sleep=time.sleep)
    sent = []
    for gap in gaps:
        time.now += gap
        pacer.acquire("list")
        sent.append(time.now)
    for index, start in enumerate(sent):
        in_second = sum(1 for t in sent[index:] if t < start + 1 - 1e-9)
        assert in_second <= math.ceil(per_second)
        if per_minute is not None:
            assert sum(1 for t in sent[index:] if t < start + 60 - 1e-9) <= per_minute


def test_the_sandbox_paces_each_endpoint_on_its_own() -> None:
    time = FakeTime()
    pacer = Pacer(Pacing(per_second=0.5, per_endpoint=True), clock=time.clock, sleep=time.sleep)
    assert [pacer.acquire(endpoint) for endpoint in ("list", "get", "list")] == [0.0, 0.0, 2.0]
    shared = Pacer(Pacing(per_second=0.5), clock=time.clock, sleep=lambda _s: None)
    assert [shared.acquire(endpoint) for endpoint in ("list", "get")] == [0.0, 2.0]


def test_callers_arriving_together_get_consecutive_slots() -> None:
    time = FakeTime()
    waits: list[float] = []
    pacer = Pacer(Pacing(per_second=5), clock=time.clock, sleep=lambda _s: None)  # the clock stands still
    threads = [threading.Thread(target=lambda: waits.append(pacer.acquire("get"))) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([i * 0.2 for i in range(10)])


def test_the_client_hook_waits_for_a_slot_per_request() -> None:
    time = FakeTime()
    pacer = Pacer(Pacing(per_second=2), clock=time.clock, sleep=time.sleep)
    pacer("rule/create")
    pacer("rule/create")
    assert time.now == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("per_second", "per_minute"), [(0, None), (-1, None), (float("inf"), None), (1, 0.5), (1, float("nan"))]
)
def test_pacing_refuses_nonsense(per_second: float, per_minute: float | None) -> None:
    with pytest.raises(ValueError, match=r"per_second|per_minute"):
        Pacing(per_second, per_minute)


def test_clients_of_one_endpoint_and_pacing_share_a_pacer() -> None:
    one = shared_pacer("https://one.example", Pacing(7, 420))
    assert shared_pacer("https://one.example", Pacing(7, 420)) is one
    assert shared_pacer("https://two.example", Pacing(7, 420)) is not one
    assert shared_pacer("https://one.example", Pacing(7, 400)) is not one


def test_the_announcer_keeps_quiet_for_a_while_after_each_line() -> None:
    time, lines = FakeTime(), []
    announce = Announcer(lines.append, quiet_seconds=10, clock=time.clock)
    for second, text in [(0, "a"), (1, "b"), (9.9, "c"), (10, "d"), (25, "e")]:
        time.now = second
        announce(text)
    assert lines == ["a", "d", "e"]


def test_the_process_announcer_writes_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    Announcer()("waiting 30 s")
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "waiting 30 s\n")
    assert isinstance(STDERR_ANNOUNCER, Announcer)


# --- configuration --------------------------------------------------------------------------------


def resolve(config: dict[str, str], environ: dict[str, str] | None = None) -> ProviderSettings:
    return ProviderSettings.resolve(config.get, environ or {})


def test_production_paces_at_half_the_basic_tier_by_default() -> None:
    settings = resolve({ENDPOINT_KEY: "production"})
    basic = constants.RATE_TIERS["basic"]
    assert settings.tier == "basic"
    assert settings.pacing == Pacing(basic.per_second * HEADROOM, basic.per_minute * HEADROOM)
    assert settings.pacing == Pacing(5, 300)


def test_the_sandbox_paces_each_endpoint_within_the_sandbox_limits() -> None:
    settings = resolve({ENDPOINT_KEY: "sandbox"})
    assert settings.tier == "sandbox"
    assert settings.pacing == Pacing(per_second=0.5, per_minute=15, per_endpoint=True)


@pytest.mark.parametrize(
    ("tier", "expected"),
    [("advanced", Pacing(10, 600)), ("Premium", Pacing(15, 900)), ("ultimate", Pacing(25, 1500))],
)
def test_a_tier_sets_the_pace(tier: str, expected: Pacing) -> None:
    assert resolve({TIER_KEY: tier}).pacing == expected
    assert resolve({}, {TIER_ENV: tier}).pacing == expected


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8080", "local"])
def test_an_emulator_is_not_paced_unless_asked(endpoint: str) -> None:
    assert resolve({ENDPOINT_KEY: endpoint}).pacing is None
    assert resolve({ENDPOINT_KEY: endpoint, RATE_KEY: "50"}).pacing == Pacing(50)
    assert resolve({ENDPOINT_KEY: endpoint, TIER_KEY: "basic"}).pacing == Pacing(5, 300)


def test_one_number_takes_the_same_share_of_the_tier_for_the_other_window() -> None:
    assert resolve({RATE_KEY: "9"}).pacing == Pacing(9, 540)
    assert resolve({RATE_PER_MINUTE_KEY: "300"}).pacing == Pacing(5, 300)
    assert resolve({RATE_KEY: "8", RATE_PER_MINUTE_KEY: "300"}).pacing == Pacing(8, 300)
    assert resolve({ENDPOINT_KEY: "sandbox", RATE_KEY: "1"}).pacing == Pacing(1, 30, per_endpoint=True)


def test_rates_come_from_stack_config_then_the_environment() -> None:
    assert resolve({RATE_KEY: "2.5"}, {RATE_ENV: "4"}).requests_per_second == 2.5
    assert resolve({}, {RATE_ENV: "4"}).requests_per_second == 4
    assert resolve({}, {RATE_PER_MINUTE_ENV: "120"}).requests_per_minute == 120
    assert resolve({}, {WAIT_ENV: "0"}).rate_limit_wait_seconds == 0
    assert resolve({WAIT_KEY: "900"}, {WAIT_ENV: "0"}).rate_limit_wait_seconds == 900
    assert resolve({}).rate_limit_wait_seconds == DEFAULT_WAIT_SECONDS > constants.QPM_SUSPENSION_SECONDS


@pytest.mark.parametrize(
    ("key", "value"),
    [(RATE_KEY, "0"), (RATE_KEY, "fast"), (RATE_KEY, "inf"), (RATE_PER_MINUTE_KEY, "0.5"), (WAIT_KEY, "-1")],
)
def test_a_bad_number_names_the_key(key: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        resolve({key: value})


def test_an_unknown_tier_lists_the_tiers() -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve({TIER_KEY: "gold"})
    for word in (TIER_KEY, "'gold'", *constants.RATE_TIERS):
        assert word in str(caught.value)


@pytest.mark.parametrize(
    ("config", "says"),
    [
        ({RATE_KEY: "15"}, ["tiktok:requestsPerSecond: 15", "basic tier's 10 requests per second"]),
        ({TIER_KEY: "advanced", RATE_PER_MINUTE_KEY: "1500"}, ["advanced tier's 1,200 requests per minute"]),
        ({ENDPOINT_KEY: "sandbox", RATE_KEY: "2"}, ["sandbox tier's 1 requests per second"]),
    ],
)
def test_a_rate_above_the_tier_is_refused_with_what_to_set(config: dict[str, str], says: list[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve(config)
    assert [part for part in [*says, TIER_KEY, "ultimate"] if part not in str(caught.value)] == []


def test_the_client_is_paced_by_the_shared_pacer_and_waits_out_suspensions() -> None:
    settings = resolve({TOKEN_KEY: "t", ENDPOINT_KEY: "sandbox", WAIT_KEY: "42"})
    with settings.make_client() as client:
        assert client._limiter is shared_pacer(constants.SANDBOX_URL, Pacing(0.5, 15, per_endpoint=True))
        assert client._retry.rate_limit_wait_seconds == 42
        assert client._retry.notify is STDERR_ANNOUNCER


def test_cli_commands_read_the_rate_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIER_ENV, "premium")
    monkeypatch.setenv(WAIT_ENV, "60")
    settings = ProviderSettings.for_command("t", "production")
    assert (settings.access_token, settings.tier, settings.rate_limit_wait_seconds) == ("t", "premium", 60)


def test_a_test_clock_gets_a_pacer_of_its_own() -> None:
    time = FakeTime()
    settings = resolve({TOKEN_KEY: "t", ENDPOINT_KEY: "production"})
    sleep: Callable[[float], None] = time.sleep
    with settings.make_client(clock=time.clock, sleep=sleep) as client:
        limiter = client._limiter
        assert isinstance(limiter, Pacer)
        assert limiter is not shared_pacer(constants.PRODUCTION_URL, Pacing(5, 300))
        limiter("list")
        limiter("list")
    assert time.now == pytest.approx(1 / 5)
