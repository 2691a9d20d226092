"""The live target: from the environment (skipped, saying what to set, when it is incomplete; the run
stopped at once, saying why, on TikTok's sandbox). Swept at the start and at the end of the run."""

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
            f"live tests need {', '.join(REQUIRED_ENV)} (a production ad account set aside for tests; "
            f"TIKTOK_ENDPOINT for an emulator URL); not set: {', '.join(missing)}"
        )
    record = request.config.getoption("record")
    budget = request.config.getoption("live_budget")
    target = LiveTarget.from_environment(Path(record) if record else None, budget=budget)
    target.start()
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
