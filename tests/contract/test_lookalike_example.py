"""examples/lookalike-and-share run end to end: the program, the real provider host, the emulator.

The emulator calculates audiences as TikTok does, in seconds instead of hours (its default seed:
one second calculating, then growing to full size over two), so the waits are real and short.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    SECOND_ADVERTISER_ID,
    Emulator,
    RunningServer,
)
from tests.harness.engine import Engine, stack_config
from tests.harness.host import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "lookalike-and-share"
TOKEN_KEY, ENDPOINT_KEY = "tiktok:accessToken", "tiktok:endpoint"
WRITES = (
    constants.PATH_RULE_CREATE,
    constants.PATH_LOOKALIKE_CREATE,
    constants.PATH_UPDATE,
    constants.PATH_DELETE,
    constants.PATH_SHARE,
    constants.PATH_SHARE_CANCEL,
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as instance:  # the default seed and a real-time clock
        yield instance


@pytest.fixture
def engine(tmp_path: Path, server: RunningServer) -> Iterator[Engine]:
    workdir = tmp_path / "project"
    workdir.mkdir()
    for path in [*EXAMPLE.glob("Pulumi*.yaml"), *EXAMPLE.glob("*.py")]:
        shutil.copy2(path, workdir / path.name)
    config = {**stack_config(workdir, "dev"), ENDPOINT_KEY: server.url, TOKEN_KEY: DEFAULT_TOKEN}
    engine = Engine(workdir, config=config, secret_keys={TOKEN_KEY})
    yield engine
    assert not [log for log in engine.host_logs if DEFAULT_TOKEN in log], (
        "the token appeared in a host's output"
    )


@pytest.fixture
def tiktok(server: RunningServer) -> Iterator[TikTokClient]:
    with TikTokClient(DEFAULT_TOKEN, base_url=server.url) as client:
        yield client


def writes(emulator: Emulator) -> dict[str, int]:
    counts = emulator.request_counts()
    return {path: counts.get(path, 0) for path in WRITES}


def shared_with(tiktok: TikTokClient, audience_id: str) -> list[str]:
    log = tiktok.share_log(DEFAULT_ADVERTISER_ID, audience_id)
    return [str(e.shared_advertiser_id) for e in log if e.status == "SHARED"]


def test_up_creates_waits_and_shares_then_converges_and_destroys(
    engine: Engine, emulator: Emulator, tiktok: TikTokClient
) -> None:
    outputs: dict[str, Any] = engine.up().outputs

    buyers_id, lookalike_id = outputs["targetable_audience_ids"]
    assert outputs["buyers_size"] >= constants.TARGETABLE_MIN_SIZE
    assert outputs["lookalike_size"] >= constants.TARGETABLE_MIN_SIZE
    audiences = {a["audience_id"]: a for a in emulator.audiences(DEFAULT_ADVERTISER_ID)}
    assert audiences[lookalike_id]["lookalike_spec"]["source_audience_id"] == buyers_id
    assert outputs["shared_with"] == [SECOND_ADVERTISER_ID]
    assert shared_with(tiktok, lookalike_id) == [SECOND_ADVERTISER_ID]

    before = writes(emulator)
    engine.up()
    assert writes(emulator) == before  # nothing changed: no write

    requests = sum(emulator.request_counts().values())
    engine.preview()
    assert sum(emulator.request_counts().values()) == requests  # a preview calls no API at all

    # Drift: the share is cancelled in Ads Manager; refresh notices, the next up shares again.
    share_urn = engine.resource("buyers-lookalike-share").urn
    tiktok.cancel_share(DEFAULT_ADVERTISER_ID, lookalike_id, SECOND_ADVERTISER_ID)
    assert engine.refresh().steps[share_urn] == "gone"
    engine.up()
    assert shared_with(tiktok, lookalike_id) == [SECOND_ADVERTISER_ID]

    engine.destroy()
    assert emulator.audiences(DEFAULT_ADVERTISER_ID) == []
