"""Which failures are retried, create versus read semantics, and the bounds of the retry loop."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import (
    CreatedWithoutIdError,
    OutcomeUnknownError,
    RetriesExhaustedError,
    RetryPolicy,
    ServerError,
    TikTokApiError,
    TikTokClient,
    TransportError,
)
from tests.client.helpers import (
    ADVERTISER,
    Answer,
    FakeClock,
    Recorder,
    api_error,
    envelope,
    fake_api,
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
    **{f"code {code}": api_error(code) for code in sorted(constants.RATE_LIMIT_CODES)},
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
    assert isinstance(error.cause, ServerError | TransportError)
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
