"""Concurrency: the host's parallel calls, and several deployments against one emulator at once,
keep the database consistent: no lost update, no duplicate id, no orphan."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import Emulator, RunningServer
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from tests.contract.helpers import BLOB
from tests.harness.host import ProviderHost, secret
from tests.reliability.helpers import (
    PROJECT,
    SECRET_TOKEN,
    assert_secret_free,
    audiences,
    consistency_problems,
    deploy_in_own_process,
    write_project,
)

T = TypeVar("T")
IN_FLIGHT = 8  # more than the host's four workers, so that calls queue up in it as under the engine


def parallel(work: Callable[[int], T], count: int) -> list[T]:
    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        return list(pool.map(work, range(count)))


def urn(resource: str) -> str:
    return f"urn:pulumi:dev::{PROJECT}::pulumi-python:dynamic:Resource::{resource}"


def test_the_hosts_parallel_calls_lose_no_update_and_duplicate_nothing(
    emulator: Emulator, server: RunningServer, db_path: Path
) -> None:
    declared = audiences(24)
    # Lost answers to committed creates, so that lookups run while other creates land.
    emulator.inject_fault(constants.PATH_RULE_CREATE, drop=True, probability=0.25, seed=3)
    with ProviderHost(project=PROJECT) as host:
        host.configure({TOKEN_KEY: secret(SECRET_TOKEN), ENDPOINT_KEY: server.url})

        def create(i: int) -> tuple[str, dict[str, Any]]:
            checked = host.check(urn(declared[i].resource), {}, {**declared[i].inputs(), "__provider": BLOB})
            assert checked.failures == []
            return host.create(urn(declared[i].resource), checked.inputs)

        created = parallel(create, len(declared))
        emulator.clear_faults()

        def rename(i: int) -> dict[str, Any]:
            news = {**created[i][1], "name": f"{declared[i].name} renamed"}
            return host.update(urn(declared[i].resource), created[i][0], created[i][1], news)

        renamed = parallel(rename, len(declared))
        parallel(lambda i: host.delete(urn(declared[i].resource), *created[i]), len(declared) // 2)
        stderr = host.close()

    ids = [audience_id for audience_id, _ in created]
    assert len(set(ids)) == len(ids)
    kept = {ids[i]: renamed[i]["name"] for i in range(len(declared) // 2, len(declared))}
    assert {a["audience_id"]: a["name"] for a in emulator.audiences()} == kept
    assert consistency_problems(db_path, emulator) == []
    assert_secret_free([stderr], db_path)


def test_several_deployments_at_once_keep_the_database_consistent(
    tmp_path: Path, emulator: Emulator, server: RunningServer, db_path: Path
) -> None:
    """Three stacks of one advertiser deploy at the same time, each in its own process."""
    stacks = [f"stack{n}" for n in range(3)]
    declared = {stack: audiences(8, prefix=stack) for stack in stacks}
    for stack in stacks:
        write_project(tmp_path / stack, declared[stack])
    emulator.set_rate_limit(None, per_second=100, burst=4)  # contention answered with 40100

    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(len(stacks), mp_context=spawn) as pool:
        results = dict(
            zip(
                stacks,
                pool.map(deploy_in_own_process, [tmp_path / s for s in stacks], [server.url] * len(stacks)),
                strict=True,
            )
        )

    live = {a["audience_id"]: a["name"] for a in emulator.audiences()}
    assert len(live) == sum(len(d) for d in declared.values())
    for stack, (runs, ids, texts) in results.items():
        assert runs == 1
        assert sorted(live[i] for i in ids) == sorted(d.name for d in declared[stack])
        assert_secret_free(texts)
    assert consistency_problems(db_path, emulator) == []
    assert_secret_free([], db_path)
