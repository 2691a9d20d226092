"""The request pacer and where its rate comes from. Clocks are fake: nothing here waits."""

from __future__ import annotations

import threading

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.errors import ConfigurationError
from pulumi_tiktok_audiences.settings import (
    DEFAULT_REQUESTS_PER_SECOND,
    ENDPOINT_KEY,
    RATE_ENV,
    RATE_KEY,
    TOKEN_KEY,
    ProviderSettings,
)
from pulumi_tiktok_audiences.throttle import TokenBucket, shared_bucket


class FakeTime:
    """A clock that only moves when someone sleeps (or the test moves it)."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_a_bucket_lets_its_burst_through_then_paces() -> None:
    time = FakeTime()
    bucket = TokenBucket(4, burst=2, clock=time.clock, sleep=time.sleep)
    start_times = []
    for _ in range(5):
        bucket.acquire()
        start_times.append(time.now)
    assert start_times == [0.0, 0.0, 0.25, 0.5, 0.75]


def test_an_idle_bucket_refills_up_to_its_burst_only() -> None:
    time = FakeTime()
    bucket = TokenBucket(10, burst=3, clock=time.clock, sleep=time.sleep)
    bucket.acquire()
    time.now += 60.0
    waits = [bucket.acquire() for _ in range(4)]
    assert waits == [0.0, 0.0, 0.0, pytest.approx(0.1)]


def test_callers_arriving_together_get_consecutive_slots() -> None:
    time = FakeTime()
    waits: list[float] = []
    bucket = TokenBucket(5, burst=1, clock=time.clock, sleep=lambda _s: None)  # the clock stands still
    threads = [threading.Thread(target=lambda: waits.append(bucket.acquire())) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(waits) == pytest.approx([i * 0.2 for i in range(10)])


def test_the_client_hook_takes_a_token_per_request() -> None:
    time = FakeTime()
    bucket = TokenBucket(2, clock=time.clock, sleep=time.sleep)
    bucket("rule/create")
    bucket("rule/create")
    assert time.now == pytest.approx(0.5)


@pytest.mark.parametrize(("per_second", "burst"), [(0, 1), (-1, 1), (float("inf"), 1), (1, 0)])
def test_a_bucket_refuses_nonsense(per_second: float, burst: int) -> None:
    with pytest.raises(ValueError, match=r"per_second|burst"):
        TokenBucket(per_second, burst)


def test_clients_of_one_endpoint_and_rate_share_a_bucket() -> None:
    one = shared_bucket("https://one.example", 7)
    assert shared_bucket("https://one.example", 7) is one
    assert shared_bucket("https://two.example", 7) is not one
    assert shared_bucket("https://one.example", 8) is not one


# --- configuration --------------------------------------------------------------------------------


def resolve(config: dict[str, str], environ: dict[str, str] | None = None) -> ProviderSettings:
    return ProviderSettings.resolve(config.get, environ or {})


@pytest.mark.parametrize("endpoint", ["production", "sandbox", constants.PRODUCTION_URL])
def test_tiktok_hosts_are_paced_by_default(endpoint: str) -> None:
    assert resolve({ENDPOINT_KEY: endpoint}).rate_limit == DEFAULT_REQUESTS_PER_SECOND


@pytest.mark.parametrize("endpoint", ["http://127.0.0.1:8080", "local"])
def test_an_emulator_is_not_paced_unless_asked(endpoint: str) -> None:
    assert resolve({ENDPOINT_KEY: endpoint}).rate_limit is None
    assert resolve({ENDPOINT_KEY: endpoint, RATE_KEY: "50"}).rate_limit == 50


def test_the_rate_comes_from_stack_config_then_the_environment() -> None:
    assert resolve({RATE_KEY: "2.5"}, {RATE_ENV: "4"}).rate_limit == 2.5
    assert resolve({}, {RATE_ENV: "4"}).rate_limit == 4


@pytest.mark.parametrize("value", ["0", "-3", "fast", "nan", "inf"])
def test_a_bad_rate_names_the_key(value: str) -> None:
    with pytest.raises(ConfigurationError, match=RATE_KEY):
        resolve({RATE_KEY: value})


def test_the_client_is_paced_by_the_shared_bucket() -> None:
    settings = resolve({TOKEN_KEY: "t", ENDPOINT_KEY: "sandbox", RATE_KEY: "3"})
    with settings.make_client() as client:
        assert client._limiter is shared_bucket(constants.SANDBOX_URL, 3)
