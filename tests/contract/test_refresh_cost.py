"""What a preview and a refresh cost in API calls through the real host, and that reads stay fresh.

The engine reads one resource per request, several at a time; the provider coalesces them into
paged listings (cache.py). Each test uses its own advertiser, so counts do not mix.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest
from pulumi.runtime.proto import provider_pb2

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    SECOND_ADVERTISER_ID,
    THIRD_ADVERTISER_ID,
    Emulator,
    RunningServer,
)
from pulumi_tiktok_audiences.provider import props_from_spec
from pulumi_tiktok_audiences.spec import AudienceSpec
from tests.contract.helpers import BLOB, PROVIDER_KEY, Engine, declared, urn
from tests.harness.bulk import add_audiences, stack_outputs

IN_FLIGHT = 8  # reads the engine keeps in flight; the host serves 4 at a time


@dataclass
class Stack:
    """Audiences as a stack's state holds them: per resource, id, inputs and outputs."""

    ids: list[str]
    names: list[str]
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]


def stack_of(emulator: Emulator, advertiser_id: str, count: int) -> Stack:
    names = [f"audience {advertiser_id[-1]}-{i}" for i in range(count)]
    spec = AudienceSpec.model_validate(
        {k: v for k, v in declared(advertiser_id=advertiser_id).items() if v is not None}
    )
    ids = add_audiences(emulator, spec, names)
    inputs = [{**props_from_spec(spec.model_copy(update={"name": n})), PROVIDER_KEY: BLOB} for n in names]
    outputs = [{**o, PROVIDER_KEY: BLOB} for o in stack_outputs(spec, ids, names)]
    emulator.reset_request_counts()
    return Stack(ids, names, inputs, outputs)


def refresh(engine: Engine, stack: Stack, which: list[int] | None = None) -> list[tuple[str, str | None]]:
    """Read resources as ``pulumi refresh`` does, several at once; (id, name) per resource."""

    def read(i: int) -> tuple[str, str | None]:
        read_id, props, _ = engine.read(stack.ids[i], stack.outputs[i], stack.inputs[i])
        return read_id, props.get("name")

    with ThreadPoolExecutor(IN_FLIGHT) as pool:
        return list(pool.map(read, which if which is not None else range(len(stack.ids))))


@pytest.fixture(scope="module")
def big_stack(emulator: Emulator) -> Stack:
    return stack_of(emulator, SECOND_ADVERTISER_ID, 250)


@pytest.fixture(scope="module")
def tiktok(server: RunningServer) -> Iterator[TikTokClient]:
    """Another process: Ads Manager, or another stack."""
    with TikTokClient(DEFAULT_TOKEN, base_url=server.url) as client:
        yield client


def test_preview_and_an_unchanged_up_make_no_api_calls(
    engine: Engine, emulator: Emulator, big_stack: Stack
) -> None:
    emulator.reset_request_counts()
    for i in range(len(big_stack.ids)):
        checked = engine.host.check(urn(big_stack.names[i]), big_stack.inputs[i], big_stack.inputs[i])
        assert checked.failures == []
        diff = engine.host.diff(
            urn(big_stack.names[i]), big_stack.ids[i], big_stack.outputs[i], checked.inputs
        )
        assert diff.changes == provider_pb2.DiffResponse.DIFF_NONE
    assert emulator.request_counts() == {}


def test_refresh_of_250_audiences_costs_a_paged_listing(
    engine: Engine, emulator: Emulator, big_stack: Stack
) -> None:
    emulator.reset_request_counts()

    results = refresh(engine, big_stack)

    assert results == list(zip(big_stack.ids, big_stack.names, strict=True))
    counts = emulator.request_counts()
    assert set(counts) == {constants.PATH_LIST}
    assert counts[constants.PATH_LIST] <= math.ceil(250 / 100) + 1


def test_a_rename_or_delete_by_this_process_is_read_back(engine: Engine, emulator: Emulator) -> None:
    stack = stack_of(emulator, THIRD_ADVERTISER_ID, 3)
    assert refresh(engine, stack, [0]) == [(stack.ids[0], stack.names[0])]  # listed all three

    engine.update(
        stack.ids[1], stack.outputs[1], declared(advertiser_id=THIRD_ADVERTISER_ID, name="renamed by us")
    )
    engine.delete(stack.ids[2], stack.outputs[2])

    assert refresh(engine, stack, [1, 2]) == [(stack.ids[1], "renamed by us"), ("", None)]


def test_a_rename_by_another_process_is_seen_by_the_next_refresh(
    engine: Engine, emulator: Emulator, tiktok: TikTokClient
) -> None:
    stack = stack_of(emulator, DEFAULT_ADVERTISER_ID, 3)
    assert [name for _, name in refresh(engine, stack)] == stack.names

    tiktok.rename_audience(DEFAULT_ADVERTISER_ID, stack.ids[1], "renamed elsewhere")

    assert [name for _, name in refresh(engine, stack)] == [
        stack.names[0],
        "renamed elsewhere",
        stack.names[2],
    ]
