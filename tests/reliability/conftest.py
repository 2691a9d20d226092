"""Per test: an emulator whose database is a file (scanned for the token, checked for consistency),
served over HTTP on 127.0.0.1, the way the provider host reaches TikTok."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pulumi_tiktok_audiences.emulator import Emulator, RunningServer
from tests.reliability.helpers import reliability_seed


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "emulator.db"


@pytest.fixture
def emulator(db_path: Path) -> Iterator[Emulator]:
    with Emulator(db_path=db_path, seed=reliability_seed()) as instance:
        yield instance


@pytest.fixture
def server(emulator: Emulator) -> Iterator[RunningServer]:
    with emulator.serve("127.0.0.1", 0) as running:
        yield running
