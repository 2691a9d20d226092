"""Bounded polling for tests that must wait for another thread or process.

A test that waits for something to happen elsewhere polls for it with a generous bound and fails
with a message naming what never happened. The bound is far above what any run needs, so a busy
machine only makes the wait longer; it must never be the thing a test measures.
"""

from __future__ import annotations

import time
from collections.abc import Callable

GENEROUS_SECONDS = 60.0
"""Long enough for a loaded 2-core machine; only reached when the awaited thing never happens."""


def wait_until(condition: Callable[[], bool], what: str, *, timeout: float = GENEROUS_SECONDS) -> None:
    """Return once ``condition()`` holds; AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:g} s, but never: {what}")
        time.sleep(0.02)
