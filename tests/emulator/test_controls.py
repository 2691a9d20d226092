"""Test controls: request counts, faults of every kind, rate limits, the clock, dump and reset."""

from __future__ import annotations

import threading
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    AdvertiserSeed,
    Clock,
    Emulator,
    Seed,
    TokenSeed,
)
from pulumi_tiktok_audiences.emulator import app as app_module
from tests.emulator.conftest import START, in_process_client
from tests.emulator.helpers import Api, create_body
from tests.harness.waiting import wait_until

A1 = DEFAULT_ADVERTISER_ID
LIST = {"advertiser_id": A1}


def control(api: Api, method: str, path: str, body: Any = None, expect: int = 200) -> dict[str, Any]:
    """Call ``/_emulator{path}`` beside the API prefix; controls need no token."""
    url = api.client.base_url.copy_with(path="/_emulator" + path)
    response = api.client.request(method, url, json=body, headers={c.ACCESS_TOKEN_HEADER: ""})
    assert response.status_code == expect, response.text
    answer: dict[str, Any] = response.json()
    assert set(answer) == {"code", "message", "request_id", "data"}
    return answer


# --- request counts -----------------------------------------------------------------------


def test_request_counts_per_endpoint(door: Api, emulator: Emulator) -> None:
    door.create()
    door.create()
    door.listing()
    door.client.get("/dmp/custom_audience/unknown/")
    counts = control(door, "GET", "/requests")["data"]["counts"]
    assert counts == {c.PATH_RULE_CREATE: 2, c.PATH_LIST: 1}
    assert emulator.request_counts() == counts  # the control call itself was not counted
    control(door, "POST", "/requests/reset")
    assert emulator.request_counts() == {}
    door.listing()
    emulator.reset_request_counts()
    assert emulator.request_counts() == {}


# --- faults -------------------------------------------------------------------------------


def test_code_fault_answers_the_code_without_processing(door: Api, emulator: Emulator) -> None:
    fault = {"path": c.PATH_RULE_CREATE, "code": c.CODE_SYS_TIMEOUT, "count": 2}
    assert control(door, "POST", "/faults", fault)["data"]["fault_id"] >= 1
    codes = [door.post(c.PATH_RULE_CREATE, create_body())["code"] for _ in range(3)]
    assert codes == [c.CODE_SYS_TIMEOUT, c.CODE_SYS_TIMEOUT, 0]
    assert len(emulator.audiences()) == 1
    assert door.listing()["page_info"]["total_number"] == 1  # other paths unaffected
    assert emulator.request_counts()[c.PATH_RULE_CREATE] == 3  # faulted requests still count


def test_http_status_fault_on_all_paths(door: Api, emulator: Emulator) -> None:
    emulator.inject_fault(http_status=503, count=1)
    response = door.client.get(c.PATH_LIST, params=LIST)
    assert response.status_code == 503
    assert response.json()["code"] == c.CODE_SYS_ERROR
    assert door.listing()["list"] == []
    assert emulator.faults() == []  # used up


def test_latency_fault_sleeps_then_answers(
    api: Api, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    slept: list[float] = []
    monkeypatch.setattr(app_module, "time", SimpleNamespace(sleep=slept.append))
    emulator.inject_fault(c.PATH_LIST, latency=2.5, count=1)
    emulator.inject_fault(c.PATH_GET, latency=0.5, code=c.CODE_DMP_ERROR, count=1)
    assert api.listing()["list"] == []
    answer = api.get(c.PATH_GET, advertiser_id=A1, custom_audience_ids=["7300000000000000001"])
    assert answer["code"] == c.CODE_DMP_ERROR
    assert slept == [2.5, 0.5]


def test_hold_fault_keeps_the_request_until_its_event_is_set(api: Api, emulator: Emulator) -> None:
    held = threading.Event()
    emulator.inject_fault(c.PATH_RULE_CREATE, hold=held, count=1)
    assert emulator.faults()[0]["held"] is True
    answers: list[dict[str, Any]] = []
    caller = threading.Thread(target=lambda: answers.append(api.post(c.PATH_RULE_CREATE, create_body())))
    caller.start()
    wait_until(lambda: emulator.request_counts().get(c.PATH_RULE_CREATE) == 1, "the create arrived")
    assert emulator.audiences() == []  # counted, not processed while held
    assert answers == []
    held.set()
    caller.join(60)
    assert [a["code"] for a in answers] == [0]
    assert len(emulator.audiences()) == 1


def test_drop_fault_in_process_commits_the_write_then_drops(api: Api, emulator: Emulator) -> None:
    emulator.inject_fault(c.PATH_RULE_CREATE, drop=True, count=1)
    with pytest.raises(httpx.RemoteProtocolError):
        api.client.post(c.PATH_RULE_CREATE, json=create_body(name="dropped"))
    assert [a["name"] for a in emulator.audiences()] == ["dropped"]
    assert api.create(name="answered")


def test_drop_fault_over_http_closes_the_connection(emulator: Emulator) -> None:
    emulator.inject_fault(c.PATH_RULE_CREATE, drop=True, count=1)
    with (
        emulator.serve() as server,
        httpx.Client(
            base_url=server.url + c.API_PREFIX, headers={c.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN}
        ) as client,
    ):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post(c.PATH_RULE_CREATE, json=create_body(name="dropped"))
        assert [a["name"] for a in emulator.audiences()] == ["dropped"]
        assert client.post(c.PATH_RULE_CREATE, json=create_body()).json()["code"] == 0


def fault_pattern(seed: int) -> list[int]:
    with Emulator(clock=Clock(START, frozen=True)) as emulator, in_process_client(emulator) as client:
        emulator.inject_fault(c.PATH_LIST, code=c.CODE_SYS_ERROR, probability=0.5, seed=seed)
        return [Api(client).get(c.PATH_LIST, **LIST)["code"] for _ in range(40)]


def test_probability_faults_are_reproducible_with_a_seed() -> None:
    pattern = fault_pattern(seed=7)
    assert pattern == fault_pattern(seed=7)
    assert set(pattern) == {0, c.CODE_SYS_ERROR}
    assert pattern != fault_pattern(seed=8)


def test_count_caps_a_probability_fault(api: Api, emulator: Emulator) -> None:
    emulator.inject_fault(c.PATH_LIST, code=c.CODE_SYS_ERROR, probability=1.0, count=3, seed=1)
    codes = [api.get(c.PATH_LIST, **LIST)["code"] for _ in range(6)]
    assert codes == [c.CODE_SYS_ERROR] * 3 + [0] * 3


def test_faults_can_be_listed_and_cleared(api: Api, emulator: Emulator) -> None:
    emulator.inject_fault(c.API_PREFIX + c.PATH_LIST, code=c.CODE_SYS_ERROR)
    (listed,) = control(api, "GET", "/faults")["data"]["faults"]
    assert (listed["path"], listed["code"], listed["remaining"]) == (c.PATH_LIST, c.CODE_SYS_ERROR, None)
    control(api, "POST", "/faults/clear")
    assert api.get(c.PATH_LIST, **LIST)["code"] == 0


@pytest.mark.parametrize(
    "fault",
    [
        {"code": c.CODE_SYS_ERROR, "drop": True},
        {"code": 50000, "http_status": 503},
        {"http_status": 404},
        {"path": "/dmp/custom_audience/nope/", "code": 50000},
        {"code": 0},
        {},
        {"code": 50000, "probability": 1.5},
        {"code": 50000, "count": 0},
        {"code": "50000"},
    ],
)
def test_bad_fault_definitions_are_refused(api: Api, fault: dict[str, Any]) -> None:
    assert control(api, "POST", "/faults", fault, expect=400)["code"] == c.CODE_PARAM_ERROR


# --- rate limit ---------------------------------------------------------------------------


def two_token_emulator() -> Emulator:
    seed = Seed(
        tokens=(
            TokenSeed(token="t-one", advertiser_ids=(A1,)),
            TokenSeed(token="t-two", advertiser_ids=(A1,)),
        ),
        advertisers=(AdvertiserSeed(advertiser_id=A1, business_center_id="1"),),
    )
    return Emulator(seed=seed, clock=Clock(START, frozen=True))


def test_rate_limit_per_token_is_a_token_bucket() -> None:
    with (
        two_token_emulator() as emulator,
        in_process_client(emulator, "t-one") as one,
        in_process_client(emulator, "t-two") as two,
    ):
        emulator.set_rate_limit("t-one", per_second=1, burst=3)
        codes = [Api(one).get(c.PATH_LIST, **LIST)["code"] for _ in range(4)]
        assert codes == [0, 0, 0, c.CODE_REQUEST_TOO_FREQUENT]
        assert Api(two).get(c.PATH_LIST, **LIST)["code"] == 0  # other tokens are not limited
        emulator.clock.advance(1)
        assert [Api(one).get(c.PATH_LIST, **LIST)["code"] for _ in range(2)] == [
            0,
            c.CODE_REQUEST_TOO_FREQUENT,
        ]
        emulator.clear_rate_limits()
        assert Api(one).get(c.PATH_LIST, **LIST)["code"] == 0


def test_rate_limit_for_every_token_over_http_control(door: Api, emulator: Emulator) -> None:
    control(door, "POST", "/rate_limit", {"per_second": 0, "burst": 2})
    codes = [door.get(c.PATH_LIST, **LIST)["code"] for _ in range(3)]
    assert codes == [0, 0, c.CODE_REQUEST_TOO_FREQUENT]
    control(door, "POST", "/rate_limit/clear")
    assert door.get(c.PATH_LIST, **LIST)["code"] == 0
    control(door, "POST", "/rate_limit", {"token": DEFAULT_TOKEN, "per_second": 1, "burst": 0}, expect=400)


# --- clock --------------------------------------------------------------------------------


def test_clock_controls(api: Api, emulator: Emulator) -> None:
    state = control(api, "GET", "/clock")["data"]
    assert (state["now"], state["frozen"]) == ("2025-01-01 00:00:00", True)
    assert control(api, "POST", "/clock/advance", {"seconds": 90})["data"]["now"] == "2025-01-01 00:01:30"
    assert (
        control(api, "POST", "/clock/set", {"time": "2025-06-01 12:00:00"})["data"]["now"]
        == "2025-06-01 12:00:00"
    )
    assert emulator.clock.frozen
    unfrozen = control(api, "POST", "/clock/unfreeze")["data"]
    assert unfrozen["frozen"] is False
    refrozen = control(api, "POST", "/clock/freeze", {"time": 0})["data"]
    assert (refrozen["now"], refrozen["frozen"]) == ("1970-01-01 00:00:00", True)
    control(api, "POST", "/clock/set", {}, expect=400)
    control(api, "POST", "/clock/set", {"time": "yesterday"}, expect=400)
    control(api, "POST", "/clock/advance", {"seconds": "1"}, expect=400)


def test_running_clock_follows_set_and_advance() -> None:
    clock = Clock()
    clock.set(START)
    assert START <= clock.time() < START + 60
    clock.advance(3600)
    assert START + 3600 <= clock.time() < START + 3660
    clock.freeze()
    frozen_at = clock.time()
    assert clock.time() == frozen_at
    clock.unfreeze()
    assert clock.time() >= frozen_at


# --- dump and reset -----------------------------------------------------------------------


def test_dump_and_reset(door: Api, emulator: Emulator) -> None:
    kept, gone = door.create(name="kept"), door.create(name="gone")
    door.ok("POST", c.PATH_DELETE, {"advertiser_id": A1, "custom_audience_ids": [gone]})
    dumped = control(door, "GET", "/audiences")["data"]["audiences"]
    assert [a["audience_id"] for a in dumped] == [kept]
    assert dumped[0]["rule_spec"] == create_body()["rule_spec"]
    assert dumped[0]["advertiser_id"] == A1
    with_deleted = emulator.audiences(A1, include_deleted=True)
    assert {(a["audience_id"], a["deleted"]) for a in with_deleted} == {(kept, False), (gone, True)}
    assert DEFAULT_TOKEN not in str(with_deleted)
    emulator.inject_fault(c.PATH_LIST, code=c.CODE_SYS_ERROR)
    control(door, "POST", "/reset")
    assert emulator.audiences(include_deleted=True) == []
    assert emulator.faults() == []
    assert emulator.request_counts() == {}
    assert door.create() not in {kept, gone}  # IDs are never reused


def test_unknown_control_and_bad_bodies(api: Api) -> None:
    assert control(api, "GET", "/nope", expect=404)["code"] == c.CODE_ROUTE_NOT_FOUND
    url = api.client.base_url.copy_with(path="/_emulator/faults")
    response = api.client.post(url, content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_http_date_header_follows_the_emulator_clock() -> None:
    from email.utils import parsedate_to_datetime

    from pulumi_tiktok_audiences.emulator import Emulator

    emulator = Emulator()
    emulator.clock.freeze(1_900_000_000.0)
    with emulator.client() as http:
        response = http.get("/dmp/custom_audience/list/", params={"advertiser_id": "7000000000000000001"})
    assert parsedate_to_datetime(response.headers["Date"]).timestamp() == 1_900_000_000.0
