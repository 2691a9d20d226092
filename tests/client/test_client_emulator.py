"""The client against the real emulator, through both front doors: in-process transport and HTTP.

These show that the client and the emulator agree on the wire (the emulator validates every
request against TikTok's rules independently), and that the retry semantics hold against the
emulator's injected faults: a lost create is reported, not repeated.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import (
    AuthenticationError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RetriesExhaustedError,
    TikTokClient,
    TransportError,
)
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    IN_PROCESS_BASE_URL,
    OTHER_BC_ADVERTISER_ID,
    SECOND_ADVERTISER_ID,
    Emulator,
)
from tests.client.helpers import FakeClock, fast_policy, lookalike_payload, minimal_app_payload
from tests.harness.waiting import wait_until

ADVERTISER = DEFAULT_ADVERTISER_ID


@dataclass
class Setup:
    emulator: Emulator
    client: TikTokClient
    base_url: str
    door: str
    clock: FakeClock  # the client's retry clock; the emulator keeps its own

    def other_client(self, token: str, base_url: str | None = None) -> TikTokClient:
        transport = self.emulator.transport() if self.door == "in-process" else None
        return TikTokClient(
            token, base_url=base_url or self.base_url, transport=transport, retry=fast_policy(FakeClock())
        )


@pytest.fixture(params=["in-process", "http"])
def setup(request: pytest.FixtureRequest) -> Iterator[Setup]:
    emulator = Emulator(db_path=":memory:")
    clock = FakeClock()
    if request.param == "in-process":
        client = TikTokClient(
            DEFAULT_TOKEN,
            base_url=IN_PROCESS_BASE_URL,
            transport=emulator.transport(),
            retry=fast_policy(clock),
        )
        with emulator, client:
            yield Setup(emulator, client, IN_PROCESS_BASE_URL, request.param, clock)
    else:
        with emulator, emulator.serve(host="127.0.0.1", port=0) as server:
            client = TikTokClient(DEFAULT_TOKEN, base_url=server.url, retry=fast_policy(clock))
            with client:
                yield Setup(emulator, client, server.url, request.param, clock)


def _live_ids(emulator: Emulator) -> list[str]:
    return [str(a["audience_id"]) for a in emulator.audiences(ADVERTISER)]


def test_full_life_cycle(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client = setup.client

    audience_id = client.create_rule_audience(minimal_app_payload("cart-30d"))
    (detail,) = client.get_audiences(ADVERTISER, [audience_id])
    assert (detail.audience_id, detail.name, detail.type) == (
        audience_id,
        "cart-30d",
        constants.APP_ACTIVITY_TYPE_NAME,
    )
    assert (detail.is_creator, detail.owner_id, detail.is_auto_refresh) == (True, ADVERTISER, True)
    assert [h.action for h in detail.history] == ["create"]
    assert [a.audience_id for a in client.list_audiences(ADVERTISER)] == [audience_id]

    client.rename_audience(ADVERTISER, audience_id, "cart-30d-renamed")
    (renamed,) = client.get_audiences(ADVERTISER, [audience_id], history_size=1)
    assert renamed.name == "cart-30d-renamed"
    assert len(renamed.history) == 1

    client.share_audiences(ADVERTISER, [audience_id], [SECOND_ADVERTISER_ID])
    assert [(s.shared_advertiser_id, s.status) for s in client.share_log(ADVERTISER, audience_id)] == [
        (SECOND_ADVERTISER_ID, "SHARED")
    ]
    (seen_by_partner,) = client.get_audiences(SECOND_ADVERTISER_ID, [audience_id])
    assert (seen_by_partner.is_creator, seen_by_partner.owner_id) == (False, ADVERTISER)
    client.cancel_share(ADVERTISER, audience_id, SECOND_ADVERTISER_ID)
    assert [s.status for s in client.share_log(ADVERTISER, audience_id)] == ["CANCELLED"]

    client.update_audience_sub_type(ADVERTISER, audience_id, "REACH_FREQUENCY", "cart-30d-renamed")
    (sub_typed,) = client.get_audiences(ADVERTISER, [audience_id])
    assert sub_typed.audience_sub_type == "REACH_FREQUENCY"

    client.delete_audiences(ADVERTISER, [audience_id])
    assert client.list_audiences(ADVERTISER) == []
    assert client.get_audiences(ADVERTISER, [audience_id], missing_ok=True) == []
    with pytest.raises(NotFoundError, match=audience_id):
        client.get_audiences(ADVERTISER, [audience_id])

    assert DEFAULT_TOKEN not in caplog.text
    assert "request_id" in caplog.text


def test_lookalikes(setup: Setup) -> None:
    source = setup.client.create_rule_audience(minimal_app_payload("source"))
    setup.emulator.clock.advance(3600)  # let the source audience reach its size
    lookalike = setup.client.create_lookalike(lookalike_payload(source))
    setup.client.refresh_lookalikes(ADVERTISER, [lookalike])
    (detail,) = setup.client.get_audiences(ADVERTISER, [lookalike])
    assert detail.type == constants.LOOKALIKE_TYPE_NAME
    assert [spec.source_audience_id for spec in detail.lookalike_spec] == [source]


def test_paging_and_batching(setup: Setup) -> None:
    created = [setup.client.create_rule_audience(minimal_app_payload(f"a{n}")) for n in range(105)]
    setup.emulator.reset_request_counts()

    listed = setup.client.list_audiences(ADVERTISER, page_size=50)
    assert sorted(a.audience_id for a in listed) == sorted(created)
    assert setup.emulator.request_counts()[constants.PATH_LIST] == 3

    details = setup.client.get_audiences(ADVERTISER, list(reversed(created)))
    assert [d.audience_id for d in details] == list(reversed(created))
    assert setup.emulator.request_counts()[constants.PATH_GET] == 2

    setup.client.delete_audiences(ADVERTISER, created)
    assert setup.emulator.request_counts()[constants.PATH_DELETE] == 2
    assert _live_ids(setup.emulator) == []


def test_errors_the_emulator_answers(setup: Setup) -> None:
    with setup.other_client("not-a-real-token") as stranger, pytest.raises(AuthenticationError) as auth:
        stranger.list_audiences(ADVERTISER)
    assert auth.value.code == constants.CODE_INVALID_ACCESS_TOKEN
    assert auth.value.request_id

    with pytest.raises(PermissionDeniedError):
        setup.client.list_audiences("7000000000000000077")

    bad = minimal_app_payload()
    bad["rule_spec"]["inclusion_rule_set"]["operator"] = "AND"
    with pytest.raises(InvalidRequestError) as invalid:
        setup.client.create_rule_audience(bad)
    assert invalid.value.code == constants.CODE_PARAM_ERROR

    audience_id = setup.client.create_rule_audience(minimal_app_payload())
    with pytest.raises(InvalidRequestError, match="Business Center"):
        setup.client.share_audiences(ADVERTISER, [audience_id], [OTHER_BC_ADVERTISER_ID])
    assert setup.clock.sleeps == []  # none of these was retried


def test_a_wrong_base_url_path_is_reported_as_such(setup: Setup) -> None:
    client = setup.other_client(DEFAULT_TOKEN, setup.base_url + "/wrong")
    with client, pytest.raises(TransportError, match="HTTP 404") as caught:
        client.list_audiences(ADVERTISER)
    assert caught.value.transient is False


def test_a_rate_limited_create_is_retried_and_creates_once(setup: Setup) -> None:
    setup.emulator.inject_fault(constants.PATH_RULE_CREATE, code=constants.CODE_REQUEST_TOO_FREQUENT, count=2)
    audience_id = setup.client.create_rule_audience(minimal_app_payload())
    assert _live_ids(setup.emulator) == [audience_id]
    assert setup.emulator.request_counts()[constants.PATH_RULE_CREATE] == 3
    assert len(setup.clock.sleeps) == 2


def test_a_dropped_create_is_not_resent(setup: Setup) -> None:
    setup.emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, count=1)
    with pytest.raises(OutcomeUnknownError, match="first look for the audience"):
        setup.client.create_rule_audience(minimal_app_payload("lost"))
    # The emulator did create it: resending would have made a duplicate.
    assert [a["name"] for a in setup.emulator.audiences(ADVERTISER)] == ["lost"]
    assert setup.emulator.request_counts()[constants.PATH_RULE_CREATE] == 1


@pytest.mark.parametrize("fault", [{"http_status": 503}, {"code": constants.CODE_DMP_ERROR}])
def test_a_create_failing_inside_tiktok_is_reported_not_resent(setup: Setup, fault: dict[str, int]) -> None:
    setup.emulator.inject_fault(constants.PATH_RULE_CREATE, count=1, **fault)  # type: ignore[arg-type]
    with pytest.raises(OutcomeUnknownError):
        setup.client.create_rule_audience(minimal_app_payload())
    assert setup.emulator.request_counts()[constants.PATH_RULE_CREATE] == 1


@pytest.mark.parametrize(
    "fault", [{"http_status": 503}, {"code": constants.CODE_SYS_ERROR}, {"drop": True}], ids=str
)
def test_reads_and_deletes_ride_out_transient_faults(setup: Setup, fault: dict[str, object]) -> None:
    audience_id = setup.client.create_rule_audience(minimal_app_payload())
    setup.emulator.inject_fault(constants.PATH_GET, count=2, **fault)  # type: ignore[arg-type]
    assert [d.audience_id for d in setup.client.get_audiences(ADVERTISER, [audience_id])] == [audience_id]
    setup.emulator.inject_fault(constants.PATH_DELETE, count=1, **fault)  # type: ignore[arg-type]
    if fault.get("drop"):
        # The dropped delete was carried out; repeating it is refused with 40007, TikTok's not-found.
        with pytest.raises(NotFoundError):
            setup.client.delete_audiences(ADVERTISER, [audience_id])
    else:
        setup.client.delete_audiences(ADVERTISER, [audience_id])
    assert _live_ids(setup.emulator) == []


def test_a_persistent_rate_limit_exhausts_the_retries(setup: Setup) -> None:
    setup.emulator.clock.freeze()
    setup.emulator.set_rate_limit(DEFAULT_TOKEN, per_second=0.0, burst=1)
    setup.client.list_audiences(ADVERTISER)
    with pytest.raises(RetriesExhaustedError) as caught:
        setup.client.list_audiences(ADVERTISER)
    assert isinstance(caught.value.last_error, RateLimitedError)
    assert caught.value.attempts == 4  # fast_policy's max_attempts
    assert "re-running is safe" in str(caught.value)
    assert DEFAULT_TOKEN not in str(caught.value)


def test_a_slow_answer_times_out_and_a_create_is_then_not_resent() -> None:
    """Held answers: the emulator keeps each slow request until the client has given up on it, so the
    order (timeout first, TikTok's processing after) is forced, whatever the machine's load. The
    timeout only has to outlast the answers that are not held, hence a generous one."""
    slow_list, slow_create = threading.Event(), threading.Event()
    with Emulator() as emulator, emulator.serve() as server:
        client = TikTokClient(DEFAULT_TOKEN, base_url=server.url, retry=fast_policy(FakeClock()), timeout=2.0)
        try:
            with client:
                emulator.inject_fault(constants.PATH_LIST, hold=slow_list, count=1)
                assert client.list_audiences(ADVERTISER) == []  # the read timed out once, then succeeded
                assert emulator.request_counts()[constants.PATH_LIST] == 2
                emulator.inject_fault(constants.PATH_RULE_CREATE, hold=slow_create, count=1)
                with pytest.raises(OutcomeUnknownError, match="ReadTimeout"):
                    client.create_rule_audience(minimal_app_payload("slow"))
                assert emulator.audiences(ADVERTISER) == []  # still held: not processed yet
        finally:
            slow_list.set()
            slow_create.set()
        # The server went on to create it: resending would have made a duplicate.
        wait_until(lambda: bool(emulator.audiences(ADVERTISER)), "the held create was processed")
        assert [a["name"] for a in emulator.audiences(ADVERTISER)] == ["slow"]
        assert emulator.request_counts()[constants.PATH_RULE_CREATE] == 1
