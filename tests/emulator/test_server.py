"""The threaded HTTP server: concurrency, persistence in a SQLite file, and its life cycle."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    SECOND_ADVERTISER_ID,
    Emulator,
)
from tests.emulator.conftest import in_process_client
from tests.emulator.helpers import Api, create_body

HEADERS = {c.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN}
THREADS = 8


def hammer(url: str, advertiser_id: str, per_thread: int) -> list[dict[str, object]]:
    """THREADS clients creating ``per_thread`` audiences each, all at once; every answer."""
    answers: list[dict[str, object]] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def work(worker: int) -> None:
        with httpx.Client(base_url=url + c.API_PREFIX, headers=HEADERS) as client:
            start.wait()
            for index in range(per_thread):
                body = create_body(name=f"w{worker}-{index}", advertiser_id=advertiser_id)
                answer = client.post(c.PATH_RULE_CREATE, json=body).json()
                with lock:
                    answers.append(answer)

    threads = [threading.Thread(target=work, args=(worker,)) for worker in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.parametrize("db", ["memory", "file"])
def test_concurrent_creates_get_unique_ids_and_exact_counts(tmp_path: Path, db: str) -> None:
    path = ":memory:" if db == "memory" else tmp_path / "state.db"
    with Emulator(path) as emulator, emulator.serve() as server:
        answers = hammer(server.url, DEFAULT_ADVERTISER_ID, per_thread=50)
        assert {a["code"] for a in answers} == {0}
        ids = [a["data"]["custom_audience_id"] for a in answers]  # type: ignore[index]
        assert len(set(ids)) == THREADS * 50
        assert emulator.request_counts() == {c.PATH_RULE_CREATE: THREADS * 50}
        assert {a["audience_id"] for a in emulator.audiences()} == set(ids)
        with httpx.Client(base_url=server.url + c.API_PREFIX, headers=HEADERS) as client:
            listed = Api(client).listing(page_size=100, page=4)
        assert listed["page_info"]["total_number"] == THREADS * 50


def test_concurrent_creates_never_overshoot_the_cap(emulator: Emulator) -> None:
    with in_process_client(emulator) as client:
        api = Api(client)
        for index in range(c.AUDIENCES_PER_ADVERTISER_MAX - 10):
            api.create(name=f"a{index}", advertiser_id=SECOND_ADVERTISER_ID)
    with emulator.serve() as server:
        answers = hammer(server.url, SECOND_ADVERTISER_ID, per_thread=5)
    codes = [a["code"] for a in answers]
    assert codes.count(0) == 10
    assert codes.count(c.CODE_PARAM_ERROR) == THREADS * 5 - 10
    assert len(emulator.audiences(SECOND_ADVERTISER_ID)) == c.AUDIENCES_PER_ADVERTISER_MAX


def test_state_survives_a_restart_on_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with Emulator(path) as first, in_process_client(first) as client:
        kept = Api(client).create(name="kept")
        first.count_request(c.PATH_LIST)
    with Emulator(path) as second, in_process_client(second) as client:
        api = Api(client)
        assert api.details(kept)["name"] == "kept"
        assert api.create() != kept
        assert second.request_counts()[c.PATH_LIST] == 1


def test_server_url_and_shutdown(emulator: Emulator) -> None:
    server = emulator.serve("127.0.0.1", 0)
    assert server.url == f"http://127.0.0.1:{server.port}"
    assert server.port > 0
    response = httpx.get(
        server.url + c.API_PREFIX + c.PATH_LIST,
        params={"advertiser_id": DEFAULT_ADVERTISER_ID},
        headers=HEADERS,
    )
    assert response.json()["code"] == 0
    server.shutdown()
    server.shutdown()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.get(server.url + c.API_PREFIX + c.PATH_LIST)


def test_emulator_client_helper_uses_the_in_process_transport(emulator: Emulator) -> None:
    with emulator.client() as client:
        assert client.get(c.PATH_LIST, params={"advertiser_id": DEFAULT_ADVERTISER_ID}).json()["code"] == 0
    with emulator.client(token=None) as client:
        assert client.get(c.PATH_LIST).json()["code"] == c.CODE_EMPTY_ACCESS_TOKEN


def test_two_emulators_sharing_one_file_never_duplicate_ids(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    with Emulator(path) as first, Emulator(path) as second:
        ids: list[str] = []
        lock = threading.Lock()

        def work(emulator: Emulator) -> None:
            with in_process_client(emulator) as client:
                created = [Api(client).create() for _ in range(40)]
            with lock:
                ids.extend(created)

        threads = [threading.Thread(target=work, args=(e,)) for e in (first, second, first, second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(set(ids)) == 160
        assert len(first.audiences()) == 160


def test_http_server_sends_one_date_header_from_the_emulator_clock() -> None:
    from email.utils import parsedate_to_datetime

    from pulumi_tiktok_audiences.emulator import Emulator

    emulator = Emulator()
    emulator.clock.freeze(1_900_000_000.0)
    with emulator.serve(port=0) as server:
        response = httpx.get(f"{server.url}/open_api/v1.3/dmp/custom_audience/list/")
    dates = response.headers.get_list("date")
    assert len(dates) == 1
    assert parsedate_to_datetime(dates[0]).timestamp() == 1_900_000_000.0
