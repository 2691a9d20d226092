"""The adaptive pacer, its judgement of refusals, the wait announcer, and where the pacing comes from.

Clocks are fake (epoch seconds, as the shared store needs): nothing waits.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pulumi_tiktok_audiences import constants, ratestore
from pulumi_tiktok_audiences.client import resolve_base_url
from pulumi_tiktok_audiences.errors import ConfigurationError
from pulumi_tiktok_audiences.ratestore import LaneState, MemoryStore, StoreError
from pulumi_tiktok_audiences.settings import (
    DEFAULT_WAIT_SECONDS,
    DEVELOPER_APP_ENV,
    DEVELOPER_APP_KEY,
    ENDPOINT_KEY,
    RATE_ENV,
    RATE_KEY,
    RATE_PER_MINUTE_ENV,
    RATE_PER_MINUTE_KEY,
    STORE_ENV,
    STORE_KEY,
    TIER_ENV,
    TIER_KEY,
    TOKEN_ENV,
    TOKEN_KEY,
    WAIT_ENV,
    WAIT_KEY,
    ProviderSettings,
)
from pulumi_tiktok_audiences.throttle import (
    BETA,
    DRAIN_SECONDS,
    FLOOR_SHARE,
    PROBE_SECONDS,
    RECOVERY_SECONDS,
    START_SHARE,
    STDERR_ANNOUNCER,
    Announcer,
    Budget,
    Pacing,
    SuspendedError,
    budget_key_for_token,
    pace_at,
    shared_budget,
)
from tests.harness.host import REPO_ROOT

START = datetime(2026, 11, 29, 21, 30, tzinfo=UTC).timestamp()  # 2 h 30 min before 00:00 UTC
BASIC = Pacing(per_second=10, per_day=864_000)


class FakeTime:
    """An epoch clock that only moves when someone sleeps (or the test moves it)."""

    def __init__(self) -> None:
        self.now = START

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def budget(time: FakeTime, pacing: Pacing = BASIC, store: MemoryStore | None = None) -> Budget:
    return Budget(store or MemoryStore(), "my-app", pacing, clock=time.clock, sleep=time.sleep)


def send_times(pacer: Budget, time: FakeTime, count: int, endpoint: str = "list") -> list[float]:
    times = []
    for _ in range(count):
        pacer.acquire(endpoint)
        pacer.accepted(endpoint)
        times.append(round(time.now - START, 3))
    return times


# --- the pace -------------------------------------------------------------------------------------


def test_a_fresh_budget_starts_at_half_the_ceiling_and_grows_additively_to_it() -> None:
    fresh = LaneState(since=START)
    assert pace_at(fresh, START, 10) == pytest.approx(10 * START_SHARE)
    assert pace_at(fresh, START + 0.25, 10) - pace_at(fresh, START, 10) == pytest.approx(
        pace_at(fresh, START + 0.5, 10) - pace_at(fresh, START + 0.25, 10)
    )
    assert pace_at(fresh, START + 600, 10) == 10  # never above the ceiling


def test_after_a_refusal_the_pace_is_cut_then_climbs_back_along_a_cubic_flat_near_the_old_pace() -> None:
    cut = LaneState(since=START, w_max=7.0, cut_at=START)
    assert pace_at(cut, START, 10) == pytest.approx(7.0 * BETA)
    k = RECOVERY_SECONDS * (7.0 / 10) ** (1 / 3)
    assert pace_at(cut, START + k, 10) == pytest.approx(7.0)
    early = pace_at(cut, START + k / 4, 10) - pace_at(cut, START, 10)
    late = pace_at(cut, START + k, 10) - pace_at(cut, START + 3 * k / 4, 10)
    assert early > 10 * late  # fast far from where TikTok refused, slow near it
    assert pace_at(cut, START + k + 5, 10) - 7.0 < 0.01  # probing beyond it only slowly
    assert pace_at(cut, START + 10_000, 10) == 10
    floor = LaneState(since=START, w_max=0.1, cut_at=START)
    assert pace_at(floor, START, 10) == FLOOR_SHARE * 10


def test_the_documented_climb_back_to_the_plateau_is_the_pacers() -> None:
    """docs/operations/rate-limits.md says how long the pace takes, after a refusal at the ceiling, to
    climb back to its plateau: that figure must be what the pacer does."""
    text = (REPO_ROOT / "docs" / "operations" / "rate-limits.md").read_text(encoding="utf-8")
    (documented,) = re.findall(r"about (\d+) s to get there", text)
    time = FakeTime()
    pacer = budget(time)
    send_times(pacer, time, 20)  # past the slow start's half second: at the ceiling
    pacer.acquire("list")
    pacer.refused("list", constants.CODE_REQUEST_TOO_FREQUENT)
    state = pacer.store.read(pacer.lane("list"))
    plateau, cut_at = state.w_max, state.cut_at
    assert plateau is not None
    assert cut_at is not None
    climb = next(t / 10 for t in range(1, 1200) if pace_at(state, cut_at + t / 10, 10) >= plateau - 1e-9)
    assert climb == pytest.approx(int(documented), rel=0.15)


def test_requests_leave_evenly_spaced_and_speed_up_while_accepted() -> None:
    time = FakeTime()
    times = send_times(budget(time), time, 60)
    gaps = [round(b - a, 3) for a, b in itertools.pairwise(times)]
    assert gaps[0] == pytest.approx(1 / (10 * START_SHARE), abs=0.002)
    assert all(b <= a + 0.0015 for a, b in itertools.pairwise(gaps))  # never slower than before
    assert min(gaps) >= 0.1  # never faster than the per-second limit
    assert gaps[-1] == pytest.approx(0.1, abs=0.0025)


def test_budgets_of_one_store_share_the_slots_as_processes_of_one_app_do() -> None:
    time, store = FakeTime(), MemoryStore()
    one, two = budget(time, store=store), budget(time, store=store)
    times = []
    for index in range(40):
        (one if index % 3 else two).acquire("list")
        times.append(time.now)
    assert min(b - a for a, b in itertools.pairwise(times)) >= 0.1 - 1e-6
    other_app = Budget(store, "another-app", BASIC, clock=time.clock, sleep=time.sleep)
    before = time.now
    other_app.acquire("list")
    assert time.now == before  # another developer app has a budget of its own


def test_threads_arriving_together_get_consecutive_slots() -> None:
    time = FakeTime()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            time.now += seconds

    pacer = Budget(MemoryStore(), "my-app", Pacing(per_second=4), clock=time.clock, sleep=sleep)
    sent: list[float] = []

    def send() -> None:
        pacer.acquire("get")
        with lock:
            sent.append(time.now)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(sent) == 8
    assert min(b - a for a, b in itertools.pairwise(sorted(sent))) >= 0.25 - 1e-3


def test_the_sandbox_paces_each_endpoint_on_its_own() -> None:
    time = FakeTime()
    pacer = budget(time, Pacing(per_second=0.5, per_day=1000, per_endpoint=True))
    assert [pacer.acquire(endpoint) - START for endpoint in ("list", "get")] == [0.0, 0.0]
    assert pacer.acquire("list") - START == pytest.approx(1 / (0.5 * START_SHARE), abs=0.01)


def test_a_lane_idle_for_long_starts_afresh() -> None:
    time = FakeTime()
    pacer = budget(time)
    send_times(pacer, time, 30)
    lane = pacer.lane("list")
    assert pace_at(pacer.store.read(lane), time.now, 10) == 10
    time.now += 3600
    pacer.acquire("list")
    assert pace_at(pacer.store.read(lane), time.now, 10) == pytest.approx(10 * START_SHARE)


# --- refusals: which window, inferred from counts and duration (never from TikTok's text) ---------


def refuse(pacer: Budget, time: FakeTime, endpoint: str = "list") -> tuple[str, float, str]:
    restriction = pacer.refused(endpoint, constants.CODE_REQUEST_TOO_FREQUENT)
    return restriction.window, round(restriction.wait_seconds, 3), restriction.note


def test_a_first_refusal_is_taken_as_per_second_cuts_the_pace_once_and_holds_every_sender() -> None:
    time = FakeTime()
    pacer = budget(time)
    send_times(pacer, time, 30)
    lane = pacer.lane("list")
    assert refuse(pacer, time) == ("second", DRAIN_SECONDS, "")
    assert pace_at(pacer.store.read(lane), time.now, 10) == pytest.approx(10 * BETA)
    time.now += 0.2
    assert refuse(pacer, time)[0] == "second"  # another answer of the same burst: no second cut
    assert 10 * BETA <= pace_at(pacer.store.read(lane), time.now, 10) < 10 * BETA + 0.05  # not cut to 7.2
    other_process = budget(time, store=pacer.store)
    with pytest.raises(SuspendedError) as caught:
        other_process.acquire("list")
    assert caught.value.restriction is not None
    assert caught.value.restriction.window == "second"
    assert caught.value.restriction.wait_seconds == pytest.approx(1.0)
    assert caught.value.code == constants.CODE_REQUEST_TOO_FREQUENT
    time.now += 1.0
    other_process.acquire("list")
    other_process.accepted("list")
    assert pacer.store.read(lane).refused_since is None  # the run is over


class BreakingStore(MemoryStore):
    """A store that stops answering once ``broken`` is set (Redis gone mid-run)."""

    broken = False

    def update(self, lane: str, change: Callable[[LaneState], LaneState]) -> LaneState:
        if self.broken:
            raise StoreError("the rate-limit store redis://cache:6379/0 failed (ConnectionError: gone)")
        return super().update(lane, change)


def test_a_store_failing_after_an_answer_never_loses_the_answer() -> None:
    """Ending a run of refusals is bookkeeping: a store that fails then must not turn an answered request
    (a create TikTok made) into an error, which would leave the audience out of the stack's state."""
    time = FakeTime()
    store = BreakingStore()
    pacer = budget(time, store=store)
    send_times(pacer, time, 30)
    refuse(pacer, time)
    time.now += DRAIN_SECONDS
    pacer.acquire("list")  # sent during the run of refusals
    store.broken = True
    pacer.accepted("list")  # TikTok answered: no error
    with pytest.raises(StoreError):
        pacer.acquire("list")  # the next request is not sent unpaced: it fails, naming the store


def test_refusals_outlasting_a_few_seconds_are_taken_as_the_five_minute_suspension() -> None:
    time = FakeTime()
    pacer = budget(time)
    pacer.acquire("rule/create")
    waits = []
    while True:
        window, wait, note = refuse(pacer, time, "rule/create")
        if window != "second":
            break
        time.now += wait
        waits.append(wait)
    assert waits == [1.0, 1.0, 1.0]
    assert (window, wait) == ("minute", PROBE_SECONDS)
    for part in ("'my-app'", "for 3 s", "rule/create: code 40100", "5-minute suspension", "21:35:00 UTC"):
        assert part in note
    probes = 0
    while window == "minute":
        time.now += wait
        probes += 1
        window, wait, note = refuse(pacer, time, "rule/create")
    assert window == "day"  # refused for longer than 5 minutes: the daily quota is spent
    assert 300 < time.now - START < 320
    assert probes <= 12
    assert "longer than its 5-minute suspension" in note


def test_a_refusal_after_the_days_count_passed_the_quota_is_the_daily_one_at_once() -> None:
    time = FakeTime()
    pacer = budget(time, Pacing(per_second=10, per_day=5))
    send_times(pacer, time, 6)
    assert refuse(pacer, time)[:2] == ("day", 0.0)
    assert "sent 6 requests today, more than its tier's daily quota (5)" in refuse(pacer, time)[2]


def test_the_days_count_is_per_utc_day_and_shared_by_processes() -> None:
    time, store = FakeTime(), MemoryStore()
    send_times(budget(time, store=store), time, 3)
    send_times(budget(time, store=store), time, 2)
    lane = budget(time).lane("list")
    assert (store.read(lane).day, store.read(lane).day_count) == ("2026-11-29", 5)
    time.now = datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC).timestamp()
    send_times(budget(time, store=store), time, 1)
    assert (store.read(lane).day, store.read(lane).day_count) == ("2026-11-30", 1)


def test_refusals_far_apart_are_separate_runs() -> None:
    time = FakeTime()
    pacer = budget(time)
    assert refuse(pacer, time)[0] == "second"
    time.now += 120
    assert refuse(pacer, time)[0] == "second"


def test_a_suspended_error_names_the_wait_and_no_token() -> None:
    time = FakeTime()
    store = MemoryStore()
    pacer = budget(time, store=store)
    lane = pacer.lane("get")
    store.update(lane, lambda s: replace(s, blocked_until=time.now + 90, note="Taken as the 5-minute one."))
    with pytest.raises(SuspendedError) as caught:
        pacer.acquire("get")
    assert caught.value.restriction is not None
    assert (caught.value.restriction.window, caught.value.restriction.wait_seconds) == ("minute", 90)
    assert "get was not sent" in str(caught.value)
    assert "21:31:30 UTC" in str(caught.value)


def test_the_default_budget_name_is_a_keyed_hash_of_the_token_never_the_token() -> None:
    token = "tok-SECRET-7f3Qz9-DO-NOT-LEAK"
    name = budget_key_for_token(token)
    assert name == budget_key_for_token(token)
    assert name.startswith("token-")
    assert "SECRET" not in name
    assert token not in name
    assert budget_key_for_token(token + "x") != name


# --- the announcer --------------------------------------------------------------------------------


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


def test_production_paces_under_the_basic_tier_by_default() -> None:
    settings = resolve({ENDPOINT_KEY: "production"})
    assert settings.tier == "basic"
    assert settings.pacing == Pacing(10, 864_000)


@pytest.mark.parametrize(
    ("endpoint", "tier"),
    [
        ("HTTPS://Business-API.tiktok.com:443/", "basic"),
        ("https://business-api.tiktok.com/", "basic"),
        ("https://SANDBOX-ads.tiktok.com", "sandbox"),
    ],
)
def test_tiktoks_hosts_however_spelled_are_paced_and_share_the_budget_of_their_name(
    endpoint: str, tier: str
) -> None:
    """An unpaced deployment against TikTok could get the whole app suspended: the host decides, not the
    URL's spelling, and so does the budget's scope (processes spelling it differently share it)."""
    settings = resolve({ENDPOINT_KEY: endpoint})
    assert settings.tier == tier
    named = "production" if tier == "basic" else "sandbox"
    assert resolve_base_url(endpoint) == resolve_base_url(named)


def test_the_sandbox_paces_each_endpoint_under_its_minute_limit() -> None:
    settings = resolve({ENDPOINT_KEY: "sandbox"})
    assert settings.tier == "sandbox"
    assert settings.pacing == Pacing(per_second=0.5, per_day=1000, per_endpoint=True)  # 30 a minute


@pytest.mark.parametrize(
    ("tier", "expected"),
    [
        ("advanced", Pacing(20, 1_728_000)),
        ("Premium", Pacing(30, 2_592_000)),
        ("ultimate", Pacing(50, 4_320_000)),
    ],
)
def test_a_tier_sets_the_ceiling(tier: str, expected: Pacing) -> None:
    assert resolve({TIER_KEY: tier}).pacing == expected
    assert resolve({}, {TIER_ENV: tier}).pacing == expected


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8080", "local"])
def test_an_emulator_is_not_paced_unless_asked(endpoint: str) -> None:
    assert resolve({ENDPOINT_KEY: endpoint}).pacing is None
    assert resolve({ENDPOINT_KEY: endpoint, RATE_KEY: "50"}).pacing == Pacing(50)
    assert resolve({ENDPOINT_KEY: endpoint, TIER_KEY: "basic"}).pacing == Pacing(10, 864_000)


def test_a_configured_rate_lowers_the_ceiling() -> None:
    assert resolve({RATE_KEY: "9"}).pacing == Pacing(9, 864_000)
    assert resolve({RATE_PER_MINUTE_KEY: "300"}).pacing == Pacing(5, 864_000)
    assert resolve({RATE_KEY: "8", RATE_PER_MINUTE_KEY: "300"}).pacing == Pacing(5, 864_000)
    assert resolve({ENDPOINT_KEY: "sandbox", RATE_KEY: "0.25"}).pacing == Pacing(
        0.25, 1000, per_endpoint=True
    )


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
        (
            {RATE_KEY: "15"},
            [
                "tiktok:requestsPerSecond (TIKTOK_REQUESTS_PER_SECOND): 15",
                "basic tier's 10 requests per second",
            ],
        ),
        ({TIER_KEY: "advanced", RATE_PER_MINUTE_KEY: "1500"}, ["advanced tier's 1,200 requests per minute"]),
        ({ENDPOINT_KEY: "sandbox", RATE_KEY: "2"}, ["sandbox tier's 1 requests per second"]),
    ],
)
def test_a_rate_above_the_tier_is_refused_with_what_to_set(config: dict[str, str], says: list[str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve(config)
    expected = [*says, f"set {TIER_KEY} ({TIER_ENV}) to", "ultimate"]
    assert [part for part in expected if part not in str(caught.value)] == []


def test_the_store_and_the_developer_app_come_from_stack_config_then_the_environment() -> None:
    assert resolve({}).rate_limit_store == ratestore.LOCAL
    assert resolve({}, {STORE_ENV: "memory"}).rate_limit_store == "memory"
    assert resolve({STORE_KEY: "redis://cache:6379/2"}, {STORE_ENV: "memory"}).rate_limit_store == (
        "redis://cache:6379/2"
    )
    assert resolve({}).developer_app is None
    assert resolve({}, {DEVELOPER_APP_ENV: "7000000000000000001"}).developer_app == "7000000000000000001"
    assert resolve({DEVELOPER_APP_KEY: "agency"}).budget_name("t") == "agency"
    assert resolve({}).budget_name("t") == budget_key_for_token("t")


def test_a_developer_app_name_that_is_the_access_token_is_refused_without_echoing_it() -> None:
    """The name is written to the shared store in clear: the token given there by mistake must not be."""
    with pytest.raises(ConfigurationError) as caught:
        resolve({}, {TOKEN_ENV: "act.s3cr3t-token", DEVELOPER_APP_ENV: " act.s3cr3t-token "})
    assert DEVELOPER_APP_KEY in str(caught.value)
    assert "access token" in str(caught.value)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize("value", ["sqlite", "file:///tmp/x", "redis:/oops", "mem"])
def test_an_unknown_store_names_the_key_and_the_choices(value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        resolve({STORE_KEY: value})
    for part in (STORE_KEY, "local", "memory", "redis://"):
        assert part in str(caught.value)


def test_a_store_that_cannot_be_reached_is_named_without_its_password() -> None:
    settings = resolve({TOKEN_KEY: "t", STORE_KEY: "redis://user:hunter2@127.0.0.1:1/0"})
    with pytest.raises(ConfigurationError) as caught:
        settings.make_client()
    assert "redis://user:***@127.0.0.1:1/0" in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown", "secret"),
    [
        ("redis://user:p@ss@127.0.0.1:1/0", "redis://user:***@127.0.0.1:1/0", "p@ss"),  # '@' unencoded
        ("redis://127.0.0.1:1/0?password=hunter2", "redis://127.0.0.1:1/0?password=***", "hunter2"),
        ("rediss://:hunter2@h:1/0?ssl_cert_reqs=none", "rediss://:***@h:1/0?ssl_cert_reqs=none", "hunter2"),
    ],
)
def test_a_store_url_is_shown_without_any_form_of_its_password(url: str, shown: str, secret: str) -> None:
    """redis-py takes the password after the userinfo's first ':' up to its last '@', or from a
    ``password`` query parameter: neither may reach a message."""
    text = ratestore.redact_url(f"cannot open {url} (refused)")
    assert text == f"cannot open {shown} (refused)"
    assert secret not in text


def test_a_local_store_that_cannot_be_opened_names_its_file_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "cache"
    blocker.write_text("")  # a file where the cache folder should be (root ignores read-only modes)
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    settings = resolve({TOKEN_KEY: "t"})
    with pytest.raises(ConfigurationError) as caught:
        settings.make_client()
    text = str(caught.value)
    assert str(blocker / "pulumi-tiktok-audiences" / "rate-budget.sqlite") in text
    assert "XDG_CACHE_HOME" in text
    assert f"{STORE_KEY} to memory" in text
    assert f"{STORE_KEY} to local" not in text  # local is what failed


def test_a_local_store_without_a_folder_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    with pytest.raises(ConfigurationError) as caught:
        resolve({TOKEN_KEY: "t"}).make_client()
    text = str(caught.value)
    assert "XDG_CACHE_HOME is unset and this user's home folder is unknown" in text
    assert f"{STORE_KEY} to memory" in text
    assert "RuntimeError" not in text


def test_the_client_shares_the_process_budget_in_the_local_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    settings = resolve({TOKEN_KEY: "t", ENDPOINT_KEY: "sandbox", WAIT_KEY: "42"})
    with settings.make_client() as client:
        store = ratestore.open_store(ratestore.LOCAL)
        assert isinstance(store, ratestore.SQLiteStore)
        assert store.path == tmp_path / "pulumi-tiktok-audiences" / "rate-budget.sqlite"
        pacing = Pacing(0.5, 1000, per_endpoint=True)
        assert client._limiter is shared_budget(
            store, budget_key_for_token("t"), constants.SANDBOX_URL, pacing
        )
        assert client._retry.rate_limit_wait_seconds == 42
        assert client._retry.notify is STDERR_ANNOUNCER


def test_cli_commands_read_the_rate_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIER_ENV, "premium")
    monkeypatch.setenv(WAIT_ENV, "60")
    monkeypatch.setenv(DEVELOPER_APP_ENV, "agency")
    settings = ProviderSettings.for_command("t", "production")
    assert (settings.access_token, settings.tier, settings.rate_limit_wait_seconds) == ("t", "premium", 60)
    assert settings.developer_app == "agency"


def test_a_test_clock_gets_a_budget_of_its_own() -> None:
    time = FakeTime()
    settings = resolve({TOKEN_KEY: "t", ENDPOINT_KEY: "production"})
    sleep: Callable[[float], None] = time.sleep
    with settings.make_client(clock=time.clock, sleep=sleep) as client:
        limiter = client._limiter
        assert isinstance(limiter, Budget)
        assert isinstance(limiter.store, MemoryStore)
        limiter("list")
        limiter("list")
    assert time.now - START == pytest.approx(1 / (10 * START_SHARE), abs=0.002)


@pytest.mark.parametrize("module", ["settings", "cli", "resources"])
def test_importing_the_settings_loads_neither_the_client_nor_httpx(module: str) -> None:
    """Every CLI command and the Pulumi program import the settings: the client (httpx, tenacity) is
    loaded when a client is made, not at import."""
    code = (
        f"import sys, pulumi_tiktok_audiences.{module}; "
        "loaded = ('httpx', 'tenacity', 'pulumi_tiktok_audiences.client'); "
        "print(sorted(m for m in loaded if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
