"""A stand-in dynamic provider that writes every request it gets to ``calls.jsonl`` in the project.

Each line: the method, the resource's ``name``, the host's pid, start and end times and the
properties as the provider saw them (unknowns as ``"<unknown>"``), so that tests can check what
the engine sent, from which process, and how many requests overlapped.
"""

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pulumi
import pulumi.dynamic
from pulumi.output import Unknown

_LOCK = threading.Lock()
_ARRIVALS = threading.Condition()
_arrived = 0
RENDEZVOUS_SECONDS = 30.0
"""How long a create with ``rendezvous: N`` waits for the N-th create to arrive, at most."""


def _meet(count: int) -> None:
    """Hold this create until ``count`` creates have reached this host (bounded), so they overlap.

    Lets a test prove that steps overlap without betting on a sleep outlasting scheduling delays:
    creates sent one at a time each wait out the bound and then do not overlap, so it still fails.
    """
    global _arrived
    with _ARRIVALS:
        _arrived += 1
        _ARRIVALS.notify_all()
        _ARRIVALS.wait_for(lambda: _arrived >= count, timeout=RENDEZVOUS_SECONDS)


def _plain(value: Any) -> Any:
    if isinstance(value, Unknown):
        return "<unknown>"
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items() if k != "__provider"}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _record(method: str, props: dict[str, Any], started: float) -> None:
    line = {
        "method": method,
        "name": _plain(props.get("name")),
        "pid": os.getpid(),
        "start": started,
        "end": time.monotonic(),
        "props": _plain(props),
    }
    with _LOCK, (Path.cwd() / "calls.jsonl").open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")


def _outputs(props: dict[str, Any]) -> dict[str, Any]:
    return {**props, "derived": f"made from {props.get('value')}"}


class RecorderProvider(pulumi.dynamic.ResourceProvider):
    serialize_as_secret_always = False

    def configure(self, req: pulumi.dynamic.ConfigureRequest) -> None:
        _record("configure", {"token": req.config.get("token")}, time.monotonic())

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.CheckResult:
        started = time.monotonic()
        time.sleep(float(news.get("check_sleep", 0)))
        _record("check", news, started)
        return pulumi.dynamic.CheckResult(news, [])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.DiffResult:
        _record("diff", news, time.monotonic())
        changed = [k for k in ("value", "label", "source") if olds.get(k) != news.get(k)]
        return pulumi.dynamic.DiffResult(
            changes=bool(changed),
            replaces=[k for k in changed if k in ("value", "source")],
            delete_before_replace=bool(news.get("provider_dbr")),
        )

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        started = time.monotonic()
        if props.get("rendezvous"):
            _meet(int(props["rendezvous"]))
        time.sleep(float(props.get("sleep", 0)))
        _record("create", props, started)
        if props.get("fail"):
            raise RuntimeError(f"{props['name']}: refused")
        return pulumi.dynamic.CreateResult(f"{props['name']}-{time.monotonic_ns()}", _outputs(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        _record("update", news, time.monotonic())
        return pulumi.dynamic.UpdateResult(_outputs(news))

    def read(self, id_: str, props: dict[str, Any]) -> pulumi.dynamic.ReadResult:
        """Gone when ``gone-<name>`` exists; ``drift-<name>`` holds a value changed outside."""
        _record("read", props, time.monotonic())
        gone = (Path.cwd() / f"gone-{props.get('name')}").exists()
        drift = Path.cwd() / f"drift-{props.get('name')}"
        if drift.exists():
            drifted = {**props, "value": json.loads(drift.read_text(encoding="utf-8"))}
            inputs = {k: v for k, v in drifted.items() if k != "derived"}
            return pulumi.dynamic.ReadResult(id_, _outputs(drifted), inputs)
        return pulumi.dynamic.ReadResult("" if gone else id_, props)

    def delete(self, _id: str, props: dict[str, Any]) -> None:
        _record("delete", props, time.monotonic())
        if props.get("fail_delete"):
            raise RuntimeError(f"{props['name']}: delete refused")


class Recorded(pulumi.dynamic.Resource, module="test", name="Recorded"):
    """A resource of the stand-in provider; ``derived`` is an output that is not an input."""

    derived: pulumi.Output[str]

    def __init__(self, name: str, props: dict[str, Any], opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(RecorderProvider(), name, {"name": name, "derived": None, **props}, opts)
