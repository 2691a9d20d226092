"""Fixtures shared by the client tests (helpers live in ``helpers.py``)."""

from __future__ import annotations

import pytest

from tests.client.helpers import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
