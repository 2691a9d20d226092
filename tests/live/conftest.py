"""The live target: from the environment (skipped, saying what to set, when it is incomplete)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live.harness import REQUIRED_ENV, LiveTarget, missing_environment


@pytest.fixture(scope="session")
def live_target(request: pytest.FixtureRequest) -> Iterator[LiveTarget]:
    missing = missing_environment()
    if missing:
        pytest.skip(
            f"live tests need {', '.join(REQUIRED_ENV)} (and TIKTOK_ENDPOINT for the sandbox or an emulator "
            f"URL); not set: {', '.join(missing)}"
        )
    record = request.config.getoption("record")
    target = LiveTarget.from_environment(Path(record) if record else None)
    try:
        yield target
    finally:
        target.cleanup()


@pytest.fixture
def target(live_target: LiveTarget) -> Iterator[LiveTarget]:
    """The session's target, cleaned after each test too, so a failed step leaves nothing behind."""
    try:
        yield live_target
    finally:
        live_target.cleanup()
