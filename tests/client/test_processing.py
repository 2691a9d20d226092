"""40002 "being updated or under processing": waited out within a bound; any other 40002 is not."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import (
    AudienceBusyError,
    InvalidRequestError,
    ProcessingWait,
    StillProcessingError,
    TikTokClient,
)
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, IN_PROCESS_BASE_URL, Clock, Emulator
from tests.client.helpers import (
    ADVERTISER,
    TOKEN,
    FakeClock,
    Recorder,
    api_error,
    envelope,
    fast_policy,
    minimal_app_payload,
)

# TikTok's wording (reference §7.3: AE's copy of the Return Codes page), and the unconfirmed variant.
BUSY = "The audience is currently being updated or under processing."
NOT_EDITABLE = "Audience is not editable, please check audience status"


def busy_client(recorder: Recorder, clock: FakeClock, notes: list[str], **wait: float) -> TikTokClient:
    return TikTokClient(
        TOKEN,
        base_url=constants.PRODUCTION_URL,
        transport=httpx.MockTransport(recorder),
        retry=fast_policy(clock),
        processing=ProcessingWait(notify=notes.append, sleep=clock.sleep, clock=clock.clock, **wait),
    )


@pytest.mark.parametrize("message", [BUSY, NOT_EDITABLE])
@pytest.mark.parametrize(
    "call",
    [
        lambda c: c.rename_audience(ADVERTISER, "55", "renamed"),
        lambda c: c.update_audience_sub_type(ADVERTISER, "55", "REACH_FREQUENCY", "buyers"),
        lambda c: c.delete_audiences(ADVERTISER, ["55"]),
    ],
    ids=["rename", "sub-type", "delete"],
)
def test_a_write_refused_while_tiktok_processes_is_tried_again_and_said_on_stderr(
    call: object, message: str
) -> None:
    clock, notes = FakeClock(), []
    recorder = Recorder([api_error(constants.CODE_PARAM_ERROR, message)] * 4 + [envelope({})])
    with busy_client(recorder, clock, notes) as client:
        call(client)  # type: ignore[operator]
    assert len(recorder.requests) == 5
    assert len(clock.sleeps) == 4
    assert clock.sleeps == sorted(clock.sleeps)  # growing pauses
    assert notes, "the wait was not announced"
    assert "TikTok is still processing audience 55" in notes[0]
    assert "giving up after 600 s" in notes[0]


def test_a_busy_audience_past_the_bound_is_a_clear_error_naming_it() -> None:
    clock, notes = FakeClock(), []
    recorder = Recorder([api_error(constants.CODE_PARAM_ERROR, BUSY)])
    with (
        busy_client(recorder, clock, notes, max_seconds=120) as client,
        pytest.raises(StillProcessingError) as caught,
    ):
        client.rename_audience(ADVERTISER, "55", "renamed")
    error = caught.value
    assert sum(clock.sleeps) <= 120
    assert sum(clock.sleeps) > 60  # it did wait, with pauses up to 30 s
    assert max(clock.sleeps) <= 30
    assert isinstance(error.last_error, AudienceBusyError)
    text = str(error)
    assert "audience 55 ('renamed')" in text
    assert "being updated or processed" in text
    assert "run the operation again" in text
    assert "tiktok:processingWaitSeconds" in text
    assert error.code == constants.CODE_PARAM_ERROR


@pytest.mark.parametrize("message", ["custom_audience_name: too long", "Invalid parameter", ""])
def test_a_real_parameter_error_is_raised_at_once(message: str) -> None:
    clock, notes = FakeClock(), []
    recorder = Recorder([api_error(constants.CODE_PARAM_ERROR, message)])
    with busy_client(recorder, clock, notes) as client, pytest.raises(InvalidRequestError) as caught:
        client.rename_audience(ADVERTISER, "55", "renamed")
    assert not isinstance(caught.value, AudienceBusyError)
    assert (len(recorder.requests), clock.sleeps, notes) == (1, [], [])


def test_a_create_is_never_repeated_for_a_busy_answer() -> None:
    clock, notes = FakeClock(), []
    recorder = Recorder([api_error(constants.CODE_PARAM_ERROR, BUSY)])
    with busy_client(recorder, clock, notes) as client, pytest.raises(AudienceBusyError):
        client.create_rule_audience(minimal_app_payload())
    assert len(recorder.requests) == 1


def test_no_wait_when_the_bound_is_zero() -> None:
    clock, notes = FakeClock(), []
    recorder = Recorder([api_error(constants.CODE_PARAM_ERROR, BUSY)])
    with busy_client(recorder, clock, notes, max_seconds=0) as client, pytest.raises(StillProcessingError):
        client.delete_audiences(ADVERTISER, ["55"])
    assert (len(recorder.requests), clock.sleeps) == (1, [])


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    """The emulator's default window (2 s) on a frozen clock that moves only when the client sleeps."""
    start = datetime(2026, 3, 1, tzinfo=UTC).timestamp()
    with Emulator(clock=Clock(start, frozen=True), processing_seconds=2.0) as instance:
        yield instance


def test_rename_and_delete_right_after_a_create_succeed_against_the_emulator(emulator: Emulator) -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        emulator.clock.advance(seconds)

    wait = ProcessingWait(sleep=sleep, clock=emulator.clock.time)
    with TikTokClient(
        "emulator-token", base_url=IN_PROCESS_BASE_URL, transport=emulator.transport(), processing=wait
    ) as client:
        payload = {**minimal_app_payload("fresh"), "advertiser_id": DEFAULT_ADVERTISER_ID}
        audience_id = client.create_rule_audience(payload)
        client.rename_audience(DEFAULT_ADVERTISER_ID, audience_id, "fresh, renamed")
        assert 2.0 <= sum(slept) < 4.0  # the window, and at most one pause more
        emulator.processing_seconds = 2.0
        second = client.create_rule_audience({**payload, "custom_audience_name": "second"})
        client.delete_audiences(DEFAULT_ADVERTISER_ID, [second])
    assert [a["name"] for a in emulator.audiences(DEFAULT_ADVERTISER_ID)] == ["fresh, renamed"]
