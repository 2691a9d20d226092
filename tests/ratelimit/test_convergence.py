"""The client, as the provider and the CLI build it, against the emulator's rate tiers on its clock.

The client's pacing and retries sleep by moving the emulator's (frozen) clock, so minutes of waiting
take milliseconds. TikTok's 40100 text names no window (reference §7.2, the emulator's default), so
every scenario here also checks that the pacer inferred the window from its counts and from how long
the refusals lasted: a suspension per second, per minute (5 minutes) and per day (until 00:00 UTC),
tripped by another tool of the same developer app or by the app's own count; and the adaptive pacing,
alone or beside another tool using 30% of the quota, never trips a minute or day suspension.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import DailyQuotaExhaustedError, TikTokClient
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, DEFAULT_TOKEN, Emulator
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TIER_KEY, TOKEN_KEY, ProviderSettings
from pulumi_tiktok_audiences.throttle import RECOVERY_SECONDS, Announcer
from tests.ratelimit.helpers import SAME_APP_TOKEN, START, codes, emulator, messages

ADVERTISER = DEFAULT_ADVERTISER_ID
OK, LIMITED = constants.CODE_OK, constants.CODE_REQUEST_TOO_FREQUENT
REAL_TEXT = "Due to too many requests, requests from App emulator-app are temporarily restricted."


def make_client(
    instance: Emulator,
    notes: list[str],
    monkeypatch: pytest.MonkeyPatch,
    sleep: Callable[[float], None] | None = None,
    **config: str,
) -> TikTokClient:
    """The client ProviderSettings.make_client builds for TikTok's production host (or ``config``),
    its requests served by ``instance``, its waits moving ``instance``'s clock, its announcements
    in ``notes``."""
    announcer = Announcer(notes.append, clock=instance.clock.time)
    monkeypatch.setattr("pulumi_tiktok_audiences.throttle.STDERR_ANNOUNCER", announcer)
    settings = ProviderSettings.resolve(
        {TOKEN_KEY: DEFAULT_TOKEN, ENDPOINT_KEY: "production", **config}.get, {}
    )
    return settings.make_client(
        transport=instance.transport(), clock=instance.clock.time, sleep=sleep or instance.clock.advance
    )


class OtherTool:
    """Another tool of the same developer app, sending evenly at ``per_second`` while we sleep: a
    ``sleep`` for our client that moves the emulator's clock to each of its sends on the way. A hair
    slower than asked, so that two sends a whole second apart never meet the edge of the emulator's
    rolling second in floating point (where 3 a second would sometimes count as 4)."""

    def __init__(self, instance: Emulator, per_second: float) -> None:
        self._instance = instance
        self._interval = 1.0 / per_second + 1e-4
        self._next = instance.clock.time() + self._interval / 3  # out of phase with us
        self.refused = 0

    def sleep(self, seconds: float) -> None:
        clock = self._instance.clock
        end = clock.time() + seconds
        while self._next <= end:
            clock.set(self._next)
            self.refused += codes(self._instance, 1, SAME_APP_TOKEN) != [OK]
            self._next += self._interval
        clock.set(end)


def windows(instance: Emulator) -> list[str]:
    return [suspension["window"] for suspension in instance.suspensions()]


@pytest.mark.parametrize("tier", list(constants.RATE_TIERS))
def test_the_adaptive_pacing_alone_trips_nothing_and_nears_the_tier(
    tier: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    notes: list[str] = []
    with emulator(tier) as instance:
        requests = 300
        with make_client(instance, notes, monkeypatch, **{TIER_KEY: tier}) as client:
            start = instance.clock.time()
            for index in range(requests):  # both endpoints, for the sandbox's per-endpoint quota
                if index % 2:
                    client.list_audiences(ADVERTISER)
                else:
                    client.get_audiences(ADVERTISER, ["1"], missing_ok=True)
            elapsed = instance.clock.time() - start
        assert instance.suspensions() == []
        assert notes == []
        limits = constants.RATE_TIERS[tier]
        counts = instance.request_counts()  # a get of a missing id also lists
        busiest = max(counts.values()) if limits.per_endpoint else sum(counts.values())
        allowed = min(limits.per_second, limits.per_minute / 60)
        assert busiest / elapsed >= 0.9 * allowed  # from half the tier, up to all of it


def test_beside_a_tool_using_30_percent_it_takes_the_rest_without_a_minute_suspension(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notes: list[str] = []
    with emulator("basic") as instance:
        other = OtherTool(instance, per_second=3)  # 30% of Basic's 10 a second (180 of 600 a minute)
        with make_client(instance, notes, monkeypatch, sleep=other.sleep) as client:
            start = instance.clock.time()
            for _ in range(1200):  # about 3 minutes
                client.list_audiences(ADVERTISER)
            elapsed = instance.clock.time() - start
        assert set(windows(instance)) <= {"second"}
        # A per-second refusal now and then, as the pace probes: a few while it first finds the rest of
        # the tier, then about one per recovery period; they cost at most 3% of the time.
        assert len(instance.suspensions()) <= 3 + elapsed / (RECOVERY_SECONDS * 0.6)
        assert sum(s["seconds"] for s in instance.suspensions()) <= 0.03 * elapsed
        assert notes == []
        assert 1200 / elapsed >= 7 / 1.15  # within 1.15 x the least time the 7 a second left allow


def test_a_per_second_suspension_costs_about_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    notes: list[str] = []
    with emulator("basic") as instance, make_client(instance, notes, monkeypatch) as client:
        assert codes(instance, 11, SAME_APP_TOKEN)[-1] == LIMITED  # another tool bursts
        assert messages(instance, SAME_APP_TOKEN) == REAL_TEXT
        start = instance.clock.time()
        assert client.list_audiences(ADVERTISER) == []
        assert instance.clock.time() - start == pytest.approx(1.0, abs=0.01)
        assert windows(instance) == ["second"]
        assert notes == []  # a second is not worth a line


def test_a_per_minute_suspension_is_inferred_from_its_length_waited_out_and_announced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notes: list[str] = []
    with emulator(constants.RateTier(per_second=10, per_minute=60, per_day=10_000)) as instance:
        for _ in range(7):  # another tool: 10 a second until it trips the per-minute limit
            codes(instance, 10, SAME_APP_TOKEN)
            instance.clock.advance(1.0)
        assert windows(instance) == ["minute"]
        with make_client(instance, notes, monkeypatch) as client:
            instance.reset_request_counts()
            start = instance.clock.time()
            assert client.list_audiences(ADVERTISER) == []
            waited = instance.clock.time() - start
        assert 300 - 6.5 <= waited <= 300 - 6.5 + 35  # the rest of the 5 minutes, then one probe interval
        assert windows(instance) == ["minute"]  # the probes never tripped another
        assert instance.request_counts()[constants.PATH_LIST] <= 15
        assert notes, "the wait must be announced"
        assert "taken as its 5-minute suspension after the per-minute limit" in notes[0]
        assert "(list: code 40100)" in notes[0]
        assert "giving up after 6 min" in notes[0]


def test_a_spent_day_by_our_own_count_fails_at_once_and_the_quota_returns_at_midnight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notes: list[str] = []
    tier = constants.RateTier(per_second=100, per_minute=6000, per_day=25)
    monkeypatch.setitem(constants.RATE_TIERS, "basic", tier)  # a tier whose day ends soon
    with emulator(tier) as instance, make_client(instance, notes, monkeypatch) as client:
        for _ in range(25):
            client.list_audiences(ADVERTISER)
        instance.reset_request_counts()
        with pytest.raises(DailyQuotaExhaustedError) as caught:
            client.list_audiences(ADVERTISER)
        assert instance.request_counts()[constants.PATH_LIST] == 1
        assert notes == []
        assert "2026-11-30 00:00 UTC" in str(caught.value)
        assert DEFAULT_TOKEN not in str(caught.value)
        instance.clock.set(caught.value.resets_at)
        assert client.list_audiences(ADVERTISER) == []
    assert START.date() < caught.value.resets_at.date()


def test_a_day_spent_by_another_tool_is_inferred_when_the_refusals_outlast_five_minutes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notes: list[str] = []
    with emulator(constants.RateTier(per_second=100, per_minute=6000, per_day=25)) as instance:
        assert codes(instance, 26, SAME_APP_TOKEN)[-1] == LIMITED  # another tool spent the day's quota
        with make_client(instance, notes, monkeypatch) as client:
            instance.reset_request_counts()
            start = instance.clock.time()
            with pytest.raises(DailyQuotaExhaustedError) as caught:
                client.list_audiences(ADVERTISER)
            assert 300 < instance.clock.time() - start < 320
            assert instance.request_counts()[constants.PATH_LIST] <= 16
        assert "longer than its 5-minute suspension" in str(caught.value)
        assert "2026-11-30 00:00 UTC" in str(caught.value)
        assert notes  # the wait before it was announced
