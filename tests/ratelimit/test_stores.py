"""One budget per developer app, shared by processes: the SQLite file of one machine and a real Redis.

The multi-process tests start separate Python processes that pace against the same store in real time
and record when each request left. What they assert does not depend on the machine's speed: no two
requests of the app, whichever process sent them, left closer together than the per-second ceiling
allows, and the day's count holds every request.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from pulumi_tiktok_audiences import ratestore
from pulumi_tiktok_audiences.ratestore import (
    LaneState,
    RateStore,
    RedisStore,
    SQLiteStore,
    StoreError,
    open_store,
)
from tests.harness.redis_server import MISSING, redis_server

REPO = Path(__file__).resolve().parents[2]
PROCESSES, REQUESTS, CEILING = 3, 12, 20.0  # 36 requests at 20 a second at most
RUNS = 5
"""At most this many runs, until one where the processes' requests interleave (see the test)."""

# A process of its own: a budget on the store, `REQUESTS` paced requests once the gate file exists.
WORKER = """
import json, os, sys, time
from pulumi_tiktok_audiences.ratestore import open_store
from pulumi_tiktok_audiences.throttle import Budget, Pacing
store_spec, gate, app = sys.argv[1], sys.argv[2], sys.argv[5]
count, ceiling = int(sys.argv[3]), float(sys.argv[4])
budget = Budget(open_store(store_spec), app, Pacing(per_second=ceiling))
print("ready", flush=True)
deadline = time.monotonic() + 120
while not os.path.exists(gate) and time.monotonic() < deadline:
    time.sleep(0.01)
sent = []
for _ in range(count):
    sent.append(budget.acquire("rule/create"))  # the time of the slot it took
    budget.accepted("rule/create")
print(json.dumps(sent), flush=True)
"""


@pytest.fixture(params=["local", "redis"])
def store_spec(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """``local`` (the default: a SQLite file under ``$XDG_CACHE_HOME``) or a real Redis, emptied."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if request.param == "local":
        return ratestore.LOCAL
    url: str = request.getfixturevalue("redis_url")
    from redis import Redis

    with Redis.from_url(url) as client:
        client.flushdb()
    return url


def run_processes(store_spec: str, gate: Path, app: str) -> list[list[float]]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [store_spec, str(gate), str(REQUESTS), str(CEILING), app]
    workers = [
        subprocess.Popen([sys.executable, "-c", WORKER, *args], stdout=subprocess.PIPE, text=True, env=env)
        for _ in range(PROCESSES)
    ]
    try:
        for worker in workers:
            assert worker.stdout is not None
            assert worker.stdout.readline().strip() == "ready"
        gate.touch()  # all of them are ready: they start together
        results = []
        for worker in workers:
            out, _ = worker.communicate(timeout=120)
            assert worker.returncode == 0
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()


def test_processes_on_one_store_share_one_budget(store_spec: str, tmp_path: Path) -> None:
    """Every run must keep the spacing and count every request. The spacing proves sharing only in a run
    where the processes competed (their slots interleave); a busy machine may start one so late that the
    others are done first, so such a run is repeated, a bounded number of times, with a new app."""
    competed = []
    for run in range(RUNS):
        app = f"agency-app-{run}"
        sent = run_processes(store_spec, tmp_path / f"go-{run}", app)
        everything = sorted(itertools.chain.from_iterable(sent))
        assert len(everything) == PROCESSES * REQUESTS
        # Never two requests of the app within 1/ceiling.
        assert min(b - a for a, b in itertools.pairwise(everything)) >= 1 / CEILING - 1e-6
        assert open_store(store_spec).read(f"|{app}").day_count == PROCESSES * REQUESTS
        owner = sorted((at, index) for index, times in enumerate(sent) for at in times)
        competed.append(sum(a[1] != b[1] for a, b in itertools.pairwise(owner)) > PROCESSES - 1)
        if competed[-1]:
            break
    assert any(competed), f"in {RUNS} runs the processes never sent at the same time"


def stores(spec: str) -> Iterator[RateStore]:
    """Two store objects on the same backend, as two processes would open it."""
    for _ in range(2):
        yield SQLiteStore(ratestore.local_store_path()) if spec == ratestore.LOCAL else RedisStore(spec)


def test_state_changes_are_atomic_across_connections(store_spec: str) -> None:
    one, two = stores(store_spec)

    def bump(store: RateStore) -> None:
        for _ in range(50):
            store.update("lane", lambda s: replace(s, day_count=s.day_count + 1))

    threads = [threading.Thread(target=bump, args=(store,)) for store in (one, two, one, two)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert one.read("lane").day_count == two.read("lane").day_count == 200
    one.close()
    two.close()


def test_a_slot_taken_through_one_connection_is_taken_for_the_other(store_spec: str) -> None:
    one, two = stores(store_spec)
    now = time.time()
    assert one.take_slot("lane", now, 0.5) == 0
    assert 0.45 <= two.take_slot("lane", now + 0.05, 0.5) <= 0.5
    assert two.take_slot("lane", now + 0.6, 0.5) == 0
    assert one.take_slot("other lane", now + 0.6, 0.5) == 0
    one.close()
    two.close()


def test_a_state_written_by_another_version_starts_afresh() -> None:
    assert LaneState.from_json('{"day_count": 3, "unknown": 1}') == LaneState(day_count=3)
    assert LaneState.from_json("not json") == LaneState()
    assert LaneState.from_json(None) == LaneState()


def test_a_redis_that_stops_answering_mid_run_is_named_with_what_to_do(tmp_path: Path) -> None:
    """A raw redis ConnectionError ("Error 111 connecting to host:port") says nothing of the budget or
    the setting: the store's own error does, without the password."""
    if shutil.which("redis-server") is None:
        pytest.skip(MISSING)
    with redis_server(tmp_path) as url:
        store = RedisStore(url.replace("redis://", "redis://:hunter2@"))
        store.update("|agency-app", lambda state: state)
    with pytest.raises(StoreError) as caught:  # the server is gone
        store.read("|agency-app")
    text = str(caught.value)
    assert url.replace("redis://", "redis://:***@") in text
    assert "tiktok:rateLimitStore" in text
    assert "hunter2" not in text
    with pytest.raises(StoreError):
        store.take_slot("|agency-app", time.time(), 0.1)
    store.close()


def test_the_local_send_log_is_cleaned_up_as_slots_are_taken(tmp_path: Path) -> None:
    """Every slot is a row of the lane's log in the SQLite file: slots older than the spacing are
    deleted every so often, so a machine deploying for months keeps a small file."""
    store = SQLiteStore(tmp_path / "budget.sqlite")
    try:
        start, taken = 1_800_000_000.0, 2 * ratestore._LEAK_EVERY + 50
        for index in range(taken):
            assert store.take_slot("lane", start + index, 0.5) == 0
        with store._db_lock:
            (rows,) = store._db.execute(f"SELECT COUNT(*) FROM {ratestore._table('lane')}").fetchone()
    finally:
        store.close()
    assert rows <= ratestore._LEAK_EVERY  # not `taken`: the log does not keep every slot
