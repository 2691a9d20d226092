"""Fault injection: make chosen requests fail the ways TikTok's API can, to test a client's retries.

A fault applies to one endpoint path (or all) and does one of: answer a TikTok error ``code`` (HTTP
200 envelope, the request is not processed; with ``processed``, it is, and its write commits, as a
backend failing after it acted may answer 50002 or 51003: reference §4.1), answer an HTTP 5xx
``http_status`` (not processed), or ``drop`` the response after the request was processed and its
write committed (the client gets no answer). Any of these, or a fault on its own, may add ``latency``
seconds first, or ``hold`` the request until a ``threading.Event`` is set (Python API only: a test then
orders a slow answer against a client's timeout by events, not by guessing durations on a busy
machine). It fires on the next ``count`` matching requests, or with ``probability`` (drawn from a
``seed``ed generator, so runs repeat), or both (at most ``count`` times). Faults are checked in the
order they were added; the first that fires wins.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from pulumi_tiktok_audiences import constants


@dataclass(frozen=True)
class FaultAction:
    """What to do to one request."""

    code: int | None = None
    http_status: int | None = None
    latency: float = 0.0
    drop: bool = False
    hold: threading.Event | None = None
    processed: bool = False  # with ``code``: the request is carried out first


@dataclass
class _Fault:
    fault_id: int
    path: str | None
    action: FaultAction
    remaining: int | None
    probability: float | None
    rng: random.Random = field(repr=False)

    def describe(self) -> dict[str, Any]:
        return {
            "fault_id": self.fault_id,
            "path": self.path,
            "code": self.action.code,
            "http_status": self.action.http_status,
            "latency": self.action.latency,
            "drop": self.action.drop,
            "held": self.action.hold is not None,
            "processed": self.action.processed,
            "remaining": self.remaining,
            "probability": self.probability,
        }


def normalise_path(path: str) -> str:
    """Accept an endpoint path with or without constants.API_PREFIX."""
    return path.removeprefix(constants.API_PREFIX)


class FaultInjector:
    """The active faults; thread-safe."""

    def __init__(self, known_paths: Iterable[str]) -> None:
        self._known = frozenset(known_paths)
        self._lock = threading.Lock()
        self._faults: list[_Fault] = []
        self._next_id = 1

    def add(
        self,
        path: str | None = None,
        *,
        code: int | None = None,
        http_status: int | None = None,
        latency: float = 0.0,
        drop: bool = False,
        hold: threading.Event | None = None,
        count: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
        processed: bool = False,
    ) -> int:
        """Register a fault and return its ID; ValueError says what is wrong with the arguments."""
        outcomes = [code is not None, http_status is not None, drop]
        if sum(outcomes) > 1:
            raise ValueError("give at most one of code, http_status and drop")
        if processed and code is None:
            raise ValueError("processed goes with code (a code answered after the request was carried out)")
        if not any(outcomes) and latency <= 0 and hold is None:
            raise ValueError("give code, http_status, drop, hold or a positive latency")
        if code is not None and code == constants.CODE_OK:
            raise ValueError("code must be a TikTok error code, not 0")
        if http_status is not None and not 500 <= http_status <= 599:
            raise ValueError("http_status must be a 5xx status")
        if latency < 0:
            raise ValueError("latency must be >= 0 seconds")
        if count is not None and count < 1:
            raise ValueError("count must be >= 1")
        if probability is not None and not 0 < probability <= 1:
            raise ValueError("probability must be in (0, 1]")
        if path is not None:
            path = normalise_path(path)
            if path not in self._known:
                raise ValueError(f"unknown endpoint path {path!r}; use one of {sorted(self._known)}")
        with self._lock:
            fault = _Fault(
                fault_id=self._next_id,
                path=path,
                action=FaultAction(code, http_status, latency, drop, hold, processed),
                remaining=count,
                probability=probability,
                rng=random.Random(seed),  # noqa: S311 - reproducible test faults, not security
            )
            self._next_id += 1
            self._faults.append(fault)
            return fault.fault_id

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def draw(self, path: str) -> FaultAction | None:
        """The fault that fires for this request to ``path``, if any (consuming one of its count)."""
        with self._lock:
            for fault in self._faults:
                if fault.path is not None and fault.path != path:
                    continue
                if fault.probability is not None and fault.rng.random() >= fault.probability:
                    continue
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
                return fault.action
        return None
