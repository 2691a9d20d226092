"""Which failures are retried, create versus read semantics, and the bounds of the retry loop."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import (
    BlocklistedError,
    CreatedWithoutIdError,
    DailyQuotaExhaustedError,
    OutcomeUnknownError,
    Restriction,
    RetriesExhaustedError,
    RetryPolicy,
    ServerError,
    TikTokApiError,
    TikTokClient,
    TransportError,
)
from tests.client.helpers import (
    ADVERTISER,
    TOKEN,
    Answer,
    FakeClock,
    Recorder,
    api_error,
    envelope,
    fake_api,
    fast_policy,
    make_client,
    minimal_app_payload,
)

CREATED = envelope({"custom_audience_id": "1800000000000000009"})
LISTED = envelope(
    {"list": [], "page_info": {"page": 1, "page_size": 100, "total_number": 0, "total_page": 1}}
)
_REQUEST = httpx.Request("POST", "https://business-api.tiktok.com/")

# Failures after which TikTok certainly did not act: safe to retry, even for a create.
NOT_ACTED: dict[str, Answer] = {
    **{
        f"code {code}": api_error(code)
        for code in sorted(constants.RATE_LIMIT_CODES - {constants.CODE_TOO_MANY_REQUESTS_BL})
    },
    "connect error": httpx.ConnectError("connection refused", request=_REQUEST),
    "connect timeout": httpx.ConnectTimeout("timed out connecting", request=_REQUEST),
    "pool timeout": httpx.PoolTimeout("no free connection", request=_REQUEST),
    "HTTP 429": httpx.Response(429, text="slow down"),
}
# Transient failures after which TikTok may have acted: retried for reads and idempotent
# writes, an OutcomeUnknownError for a create.
AMBIGUOUS: dict[str, Answer] = {
    "code 50000": api_error(constants.CODE_SYS_ERROR),
    "code 50002": api_error(constants.CODE_SYS_TIMEOUT),
    "code 51003": api_error(constants.CODE_DMP_ERROR),
    "code 51042": api_error(51042),
    "code 40202": api_error(constants.CODE_WRITE_CONFLICT),
    "code 60001": api_error(constants.CODE_MAINTENANCE),
    "code 61000": api_error(
        constants.CODE_TOO_MANY_REQUESTS_BL
    ),  # the backend's limit: no source says unacted
    "code 52001": api_error(52001),  # any 5xxxx is a server failure
    "read timeout": httpx.ReadTimeout("timed out reading", request=_REQUEST),
    "write timeout": httpx.WriteTimeout("timed out writing", request=_REQUEST),
    "read error": httpx.ReadError("connection reset", request=_REQUEST),
    "remote protocol error": httpx.RemoteProtocolError("server disconnected", request=_REQUEST),
    "HTTP 500": httpx.Response(500, text="internal"),
    "HTTP 502": httpx.Response(502, text="bad gateway"),
    "HTTP 503": httpx.Response(503, text="unavailable"),
    "not JSON": httpx.Response(200, text="<html>oops</html>"),
}
# Errors that will not go away by themselves: never retried, whatever the call.
PERMANENT: dict[str, Answer] = {
    f"code {code}": api_error(code)
    for code in (40000, 40001, 40002, 40007, 40011, 40102, 40104, 40105, 40300, 41000)
}

READS_AND_IDEMPOTENT_WRITES: dict[str, tuple[Callable[[TikTokClient], object], httpx.Response]] = {
    "get": (lambda c: c.get_audiences(ADVERTISER, ["1"]), envelope({"list": []})),
    "list": (lambda c: c.list_audiences(ADVERTISER), LISTED),
    "share_log": (lambda c: c.share_log(ADVERTISER, "1"), envelope({"list": []})),
    "rename": (lambda c: c.rename_audience(ADVERTISER, "1", "n"), envelope()),
    "delete": (lambda c: c.delete_audiences(ADVERTISER, ["1"]), envelope()),
    "share": (lambda c: c.share_audiences(ADVERTISER, ["1"], ["2"]), envelope()),
    "cancel_share": (lambda c: c.cancel_share(ADVERTISER, "1", "2"), envelope()),
    "refresh_lookalikes": (lambda c: c.refresh_lookalikes(ADVERTISER, ["1"]), envelope()),
}


@pytest.mark.parametrize("call_name", sorted(READS_AND_IDEMPOTENT_WRITES))
@pytest.mark.parametrize("failure", sorted({**NOT_ACTED, **AMBIGUOUS}))
def test_reads_and_idempotent_writes_retry_transient_failures(
    call_name: str, failure: str, clock: FakeClock
) -> None:
    call, success = READS_AND_IDEMPOTENT_WRITES[call_name]
    answers = {**NOT_ACTED, **AMBIGUOUS}
    recorder = Recorder([answers[failure], answers[failure], success])
    with make_client(recorder, clock) as client:
        call(client)
    assert len(recorder.requests) == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("call_name", sorted(READS_AND_IDEMPOTENT_WRITES))
@pytest.mark.parametrize("failure", sorted(PERMANENT))
def test_permanent_errors_are_never_retried(call_name: str, failure: str, clock: FakeClock) -> None:
    call, _ = READS_AND_IDEMPOTENT_WRITES[call_name]
    recorder = Recorder([PERMANENT[failure]])
    with make_client(recorder, clock) as client, pytest.raises(TikTokApiError):
        call(client)
    assert len(recorder.requests) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize("failure", sorted(NOT_ACTED))
def test_a_create_is_retried_when_tiktok_certainly_did_not_act(failure: str, clock: FakeClock) -> None:
    recorder = Recorder([NOT_ACTED[failure], CREATED])
    with make_client(recorder, clock) as client:
        assert client.create_rule_audience(minimal_app_payload()) == "1800000000000000009"
    assert len(recorder.requests) == 2


@pytest.mark.parametrize("failure", sorted(AMBIGUOUS))
def test_a_create_whose_outcome_is_unknown_is_never_resent(failure: str, clock: FakeClock) -> None:
    recorder = Recorder([AMBIGUOUS[failure], CREATED])
    with make_client(recorder, clock) as client, pytest.raises(OutcomeUnknownError) as caught:
        client.create_rule_audience(minimal_app_payload("cart-30d"))
    assert len(recorder.requests) == 1
    error = caught.value
    assert isinstance(error.cause, ServerError | TransportError | BlocklistedError)
    assert error.audience_name == "cart-30d"
    assert error.endpoint == "rule/create"
    assert "may or may not have created the audience named 'cart-30d'" in str(error)
    assert "first look for the audience" in str(error)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"custom_audience_id": None},
        None,
        {"custom_audience": {"id": "7"}},
        {"custom_audience_id": "x"},
        [7],
    ],
)
def test_a_create_answered_with_code_0_but_no_readable_id_is_created_and_never_resent(data: object) -> None:
    recorder = Recorder([envelope(data), CREATED, CREATED])
    with make_client(recorder) as client, pytest.raises(CreatedWithoutIdError) as caught:
        client.create_rule_audience(minimal_app_payload())
    assert not isinstance(caught.value, OutcomeUnknownError)  # nothing treats it as "maybe lost"
    assert len(recorder.requests) == 1
    assert caught.value.audience_name == "cart-30d"
    assert caught.value.request_id is not None
    assert caught.value.request_id in str(caught.value)
    assert "must not be created again" in str(caught.value)


@pytest.mark.parametrize(
    "data", [{"custom_audience_id": 7300000000000000001}, {"audience_id": "7300000000000000001"}]
)
def test_a_create_answer_names_its_id_as_a_number_or_as_audience_id(data: object) -> None:
    with make_client(Recorder([envelope(data)])) as client:
        assert client.create_rule_audience(minimal_app_payload()) == "7300000000000000001"


def test_lookalike_create_has_create_semantics(clock: FakeClock) -> None:
    recorder = Recorder([api_error(constants.CODE_SYS_ERROR)])
    with make_client(recorder, clock) as client, pytest.raises(OutcomeUnknownError):
        client.create_lookalike({"advertiser_id": ADVERTISER, "custom_audience_name": "lal"})
    assert len(recorder.requests) == 1


def test_a_create_retried_after_a_rate_limit_can_still_be_lost(clock: FakeClock) -> None:
    rate_limited = api_error(constants.CODE_REQUEST_TOO_FREQUENT)
    lost = httpx.ReadTimeout("timed out reading", request=_REQUEST)
    recorder = Recorder([rate_limited, lost, CREATED])
    with make_client(recorder, clock) as client, pytest.raises(OutcomeUnknownError):
        client.create_rule_audience(minimal_app_payload())
    assert len(recorder.requests) == 2


def test_attempts_are_bounded(clock: FakeClock) -> None:
    recorder = Recorder([api_error(constants.CODE_REQUEST_TOO_FREQUENT)])
    with (
        make_client(recorder, clock, max_attempts=4) as client,
        pytest.raises(RetriesExhaustedError) as caught,
    ):
        client.list_audiences(ADVERTISER)
    assert len(recorder.requests) == 4
    assert len(clock.sleeps) == 3
    error = caught.value
    assert error.attempts == 4
    assert error.elapsed_seconds == pytest.approx(sum(clock.sleeps))
    assert error.code == constants.CODE_REQUEST_TOO_FREQUENT
    assert error.request_id == error.last_error.request_id
    assert "TikTok list still failing after 4 attempts" in str(error)
    assert "[40100]" in str(error)
    assert "re-running is safe" in str(error)


def test_total_time_is_bounded_and_never_slept_past(clock: FakeClock) -> None:
    def slow_failure(request: httpx.Request) -> httpx.Response:
        clock.now += 10.0  # each attempt takes 10 s on the fake clock
        return api_error(constants.CODE_SYS_ERROR)

    recorder = Recorder(slow_failure)
    client = make_client(
        recorder, clock, max_attempts=100, max_elapsed_seconds=25.0, initial_backoff=0.5, max_backoff=1.0
    )
    start = clock.now
    with client, pytest.raises(RetriesExhaustedError) as caught:
        client.get_audiences(ADVERTISER, ["1"])
    # Attempts end near 10, 21 and 32 s: a third sleep would have ended past the 25 s budget.
    assert len(recorder.requests) == 3
    assert caught.value.attempts == 3
    assert caught.value.elapsed_seconds == pytest.approx(clock.now - start)
    assert all(sleep <= 1.0 for sleep in clock.sleeps)


def test_no_sleep_would_end_past_the_budget(clock: FakeClock) -> None:
    recorder = Recorder([api_error(constants.CODE_SYS_ERROR)])
    client = make_client(
        recorder, clock, max_attempts=1000, max_elapsed_seconds=30.0, initial_backoff=1.0, max_backoff=8.0
    )
    start = clock.now
    with client, pytest.raises(RetriesExhaustedError):
        client.list_audiences(ADVERTISER)
    assert clock.now - start <= 30.0
    assert len(recorder.requests) < 1000


def test_backoff_is_exponential_with_full_jitter_and_capped(clock: FakeClock) -> None:
    recorder = Recorder([api_error(constants.CODE_REQUEST_TOO_FREQUENT)])
    client = make_client(
        recorder, clock, max_attempts=9, max_elapsed_seconds=1e6, initial_backoff=0.5, max_backoff=4.0
    )
    with client, pytest.raises(RetriesExhaustedError):
        client.list_audiences(ADVERTISER)
    assert len(clock.sleeps) == 8
    for n, sleep in enumerate(clock.sleeps, start=1):
        assert 0.0 <= sleep <= min(4.0, 0.5 * 2 ** (n - 1))


def test_the_limiter_is_consulted_before_every_attempt(clock: FakeClock) -> None:
    seen: list[str] = []
    recorder = Recorder([api_error(constants.CODE_REQUEST_TOO_FREQUENT), CREATED])
    client = TikTokClient(
        "token",
        transport=httpx.MockTransport(recorder),
        retry=RetryPolicy(sleep=clock.sleep, clock=clock.clock),
        limiter=seen.append,
    )
    with client:
        client.create_rule_audience(minimal_app_payload())
    assert seen == ["rule/create", "rule/create"]


def test_a_limiter_that_refuses_stops_the_call_before_sending() -> None:
    class RefusedError(Exception):
        pass

    def refuse(endpoint: str) -> None:
        raise RefusedError(endpoint)

    recorder = Recorder(fake_api)
    client = TikTokClient("token", transport=httpx.MockTransport(recorder), limiter=refuse)
    with client, pytest.raises(RefusedError):
        client.list_audiences(ADVERTISER)
    assert recorder.requests == []


@pytest.mark.parametrize(
    "settings",
    [{"max_attempts": 0}, {"max_elapsed_seconds": -1.0}, {"initial_backoff": -0.1}, {"max_backoff": -2.0}],
)
def test_a_policy_rejects_impossible_bounds(settings: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**settings)  # type: ignore[arg-type]


def test_one_attempt_means_no_retry(clock: FakeClock) -> None:
    recorder = Recorder([api_error(constants.CODE_SYS_ERROR), LISTED])
    with (
        make_client(recorder, clock, max_attempts=1) as client,
        pytest.raises(RetriesExhaustedError) as caught,
    ):
        client.list_audiences(ADVERTISER)
    assert len(recorder.requests) == 1
    assert "after 1 attempt over" in str(caught.value)


# --- rate limits: TikTok's suspensions are waited out (reference §6.3) ----------------------------

# TikTok's real text (reference §7.2): it names no window.
SUSPENDED = api_error(
    constants.CODE_REQUEST_TOO_FREQUENT,
    "Due to too many requests, requests from App 7000000000000000001 are temporarily restricted.",
)


def waiting_client(recorder: Recorder, clock: FakeClock, notes: list[str], **policy: Any) -> TikTokClient:
    """A client whose policy waits out rate limits for up to 6 minutes, as the provider's does."""
    settings: dict[str, Any] = {"rate_limit_wait_seconds": 360.0, "notify": notes.append} | policy
    return make_client(recorder, clock, **settings)


def test_a_suspension_is_waited_out_with_growing_probes_announced(clock: FakeClock) -> None:
    notes: list[str] = []
    recorder = Recorder([*[SUSPENDED] * 10, LISTED])
    with waiting_client(recorder, clock, notes) as client:
        assert client.list_audiences(ADVERTISER) == []
    assert clock.sleeps == [1, 2, 4, 8, 16, 30, 30, 30, 30, 30]  # 181 s in all
    assert len(recorder.requests) == 11  # fault attempts (max_attempts 4) are not spent on it
    assert len(notes) == 9  # every wait but the first second
    assert "too frequent (list: code 40100)" in notes[0]
    assert "Trying again in 2 s (waited 1 s; giving up after 6 min)" in notes[0]
    assert "Trying again in 30 s (waited 2 min 31 s" in notes[-1]


def test_a_suspension_longer_than_the_bound_fails_saying_what_to_do(clock: FakeClock) -> None:
    recorder = Recorder([SUSPENDED])
    with waiting_client(recorder, clock, []) as client, pytest.raises(RetriesExhaustedError) as caught:
        client.list_audiences(ADVERTISER)
    assert sum(clock.sleeps) <= 360
    assert sum(clock.sleeps) + 30 > 360  # the next probe would start past the bound
    assert len(recorder.requests) == 16
    for part in ("[40100]", "per minute (for up to 5 minutes)", "per day (until 00:00 UTC)", "re-running"):
        assert part in str(caught.value)


def test_the_bound_follows_the_clock_when_probes_take_time(clock: FakeClock) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        clock.now += 20.0  # TikTok takes 20 s to refuse
        return SUSPENDED

    recorder = Recorder(slow)
    client = waiting_client(recorder, clock, [], rate_limit_wait_seconds=100.0)
    with client, pytest.raises(RetriesExhaustedError):
        client.list_audiences(ADVERTISER)
    # Refusals end at 20, 41, 63, 87 and 115 s; measured from the first: 95 s waited + 16 > 100.
    assert clock.sleeps == [1, 2, 4, 8]


def test_faults_keep_their_own_bounds_while_rate_limits_are_waited_out(clock: FakeClock) -> None:
    fault = api_error(constants.CODE_SYS_ERROR)
    recorder = Recorder([SUSPENDED, fault, SUSPENDED, SUSPENDED, fault, fault, fault, LISTED])
    with waiting_client(recorder, clock, []) as client, pytest.raises(RetriesExhaustedError) as caught:
        client.list_audiences(ADVERTISER)
    assert len(recorder.requests) == 7  # the 4th fault ends it: max_attempts counts faults only
    assert caught.value.code == constants.CODE_SYS_ERROR


def test_without_a_wait_bound_a_rate_limit_counts_as_a_fault(clock: FakeClock) -> None:
    recorder = Recorder([SUSPENDED])
    with make_client(recorder, clock, max_attempts=3) as client, pytest.raises(RetriesExhaustedError):
        client.list_audiences(ADVERTISER)
    assert len(recorder.requests) == 3


@pytest.mark.parametrize("code", [constants.CODE_TOO_FREQUENT, constants.CODE_ADVERTISER_QPS_LIMIT])
def test_the_other_throttling_codes_are_waited_out_too(code: int, clock: FakeClock) -> None:
    recorder = Recorder([api_error(code), api_error(code), CREATED])
    with waiting_client(recorder, clock, []) as client:
        assert client.create_rule_audience(minimal_app_payload()) == "1800000000000000009"
    assert clock.sleeps == [1, 2]


class Judge:
    """A limiter that judges every refusal as ``restrictions`` says, in turn (throttle.Budget's role)."""

    def __init__(self, *restrictions: Restriction) -> None:
        self.restrictions = list(restrictions)
        self.accepted_count = 0

    def __call__(self, endpoint: str) -> None:
        pass

    def accepted(self, endpoint: str) -> None:
        self.accepted_count += 1

    def refused(self, endpoint: str, code: int) -> Restriction:
        return self.restrictions.pop(0)


def judged_client(recorder: Recorder, clock: FakeClock, notes: list[str], judge: Judge) -> TikTokClient:
    policy = fast_policy(clock, rate_limit_wait_seconds=360.0, notify=notes.append)
    return TikTokClient(
        TOKEN,
        base_url=constants.PRODUCTION_URL,
        transport=httpx.MockTransport(recorder),
        retry=policy,
        limiter=judge,
    )


def test_a_judged_suspension_is_waited_as_long_as_judged_and_announced_with_its_note(
    clock: FakeClock,
) -> None:
    notes: list[str] = []
    judge = Judge(Restriction("second", 1.0), Restriction("minute", 30.0, "Taken as the 5-minute one."))
    recorder = Recorder([SUSPENDED, SUSPENDED, LISTED])
    with judged_client(recorder, clock, notes, judge) as client:
        assert client.list_audiences(ADVERTISER) == []
    assert clock.sleeps == [1.0, 30.0]
    assert judge.accepted_count == 1
    assert notes == ["Taken as the 5-minute one. Trying again in 30 s (waited 1 s; giving up after 6 min)."]


def test_a_refusal_judged_as_the_daily_quota_fails_at_once_saying_when_it_resets(clock: FakeClock) -> None:
    answer = api_error(constants.CODE_REQUEST_TOO_FREQUENT, SUSPENDED.json()["message"])
    answer.headers["Date"] = "Sun, 29 Nov 2026 21:30:00 GMT"  # TikTok's clock, not ours
    recorder = Recorder([answer, LISTED])
    notes: list[str] = []
    judge = Judge(Restriction("day", 0.0, "This app sent 1,001 requests today."))
    with (
        judged_client(recorder, clock, notes, judge) as client,
        pytest.raises(DailyQuotaExhaustedError) as caught,
    ):
        client.list_audiences(ADVERTISER)
    assert len(recorder.requests) == 1
    assert clock.sleeps == notes == []
    assert caught.value.resets_at == datetime(2026, 11, 30, tzinfo=UTC)
    for part in (
        "This app sent 1,001 requests today.",
        "daily request quota is spent",
        "2026-11-30 00:00 UTC (in 2 h 30 min)",
        "did not act",
    ):
        assert part in str(caught.value)


def test_a_message_naming_the_day_is_not_read_as_the_daily_quota(clock: FakeClock) -> None:
    """The window is inferred, never read from TikTok's text (issue 19): without a pacer to judge, any
    refusal is probed as before."""
    daily = api_error(constants.CODE_REQUEST_TOO_FREQUENT, "qpd: suspended until 00:00:00 UTC+0, daily quota")
    recorder = Recorder([daily, LISTED])
    with waiting_client(recorder, clock, []) as client:
        assert client.list_audiences(ADVERTISER) == []
    assert clock.sleeps == [1]


def test_a_fault_after_a_long_suspension_still_has_its_whole_fault_budget(clock: FakeClock) -> None:
    """Waiting out a suspension is not time spent on faults (issue 17's mutant: count it and this fails)."""
    fault = api_error(constants.CODE_SYS_ERROR)
    judge = Judge(*[Restriction("minute", 30.0, "Suspended.")] * 10)
    # 300 s of suspension, then faults: max_elapsed_seconds is 60, so counting the wait would stop at once.
    recorder = Recorder([*[SUSPENDED] * 10, fault, fault, LISTED])
    with judged_client(recorder, clock, [], judge) as client:
        assert client.list_audiences(ADVERTISER) == []
    assert len(recorder.requests) == 13
