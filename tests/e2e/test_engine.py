"""The test engine behaves like Pulumi's (see tests/harness/engine.py for the engine code each
behaviour imitates), checked with a stand-in provider that records every request it gets."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness.engine import (
    Crash,
    Engine,
    EngineError,
    InterruptedDeploymentError,
    Registration,
    is_secret,
)
from tests.harness.host import REPO_ROOT, secret

STAND_IN = REPO_ROOT / "tests" / "e2e" / "stand_in"


class StandIn:
    """A copy of the stand-in project, what it declares, and what its provider was asked."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "stand-in"
        self.dir.mkdir()
        for path in [*STAND_IN.glob("Pulumi*.yaml"), *STAND_IN.glob("*.py")]:
            (self.dir / path.name).write_bytes(path.read_bytes())
        self.engine = Engine(self.dir)

    def declare(self, resources: dict[str, dict[str, Any]]) -> None:
        (self.dir / "program.json").write_text(json.dumps(resources), encoding="utf-8")

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        path = self.dir / "calls.jsonl"
        lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
        return [c for c in map(json.loads, lines) if method in (None, c["method"])]

    def forget_calls(self) -> None:
        (self.dir / "calls.jsonl").unlink(missing_ok=True)


@pytest.fixture
def stand_in(tmp_path: Path) -> StandIn:
    return StandIn(tmp_path)


def test_each_operation_runs_in_a_fresh_host(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}})
    stand_in.engine.up()
    stand_in.engine.refresh()
    stand_in.engine.preview()
    stand_in.engine.destroy()

    operations = [(c.operation, c.host) for c in stand_in.engine.calls]
    hosts = {op: {h for o, h in operations if o == op} for op, _ in operations}
    assert {op: len(h) for op, h in hosts.items()} == {"preview": 2, "update": 1, "refresh": 1, "destroy": 1}
    assert len({c["pid"] for c in stand_in.calls()}) == 5, "a new provider process per operation"


def test_preview_answers_the_update_itself_and_dependents_see_unknowns(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1, "label": "x"}}, "b": {"source": "a"}})
    stand_in.engine.up()
    a_id = stand_in.engine.resource("a").id
    stand_in.declare({"a": {"props": {"value": 1, "label": "y"}}, "b": {"source": "a"}})
    stand_in.forget_calls()

    result = stand_in.engine.preview()

    # b's provider compares a known old value with an unknown new one: a (false) replacement.
    urn = stand_in.engine.resource
    assert (result.steps[urn("a").urn], result.steps[urn("b").urn]) == ("update", "replace")
    assert not stand_in.calls("update"), "no provider Update in preview"
    b_check, b_recheck = [c for c in stand_in.calls("check") if c["name"] == "b"]  # again to replace
    assert b_recheck["props"] == b_check["props"]
    assert b_check["props"]["source"] == "<unknown>", "an output that is not an input is unknown"
    assert b_check["props"]["source_id"] == a_id, "the id of an updated resource stays known"


def test_targeted_replace_skips_diff_and_deletes_the_old_one_last(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"source": "a"}})
    stand_in.engine.up()
    old = stand_in.engine.resource("a")
    calls = len(stand_in.engine.calls)

    stand_in.engine.up(replace=["a"], skip_preview=True)

    mine = [(c.op, c.olds) for c in stand_in.engine.calls[calls:] if c.urn == old.urn]
    assert mine == [("check", False), ("create", False), ("delete", False)]
    assert [c.op for c in stand_in.engine.calls[calls:]][-1] == "delete"


def test_replacement_creates_first_unless_delete_before_replace(stand_in: StandIn) -> None:
    declared: dict[str, dict[str, Any]] = {"a": {"props": {"value": 1, "provider_dbr": True}}}
    stand_in.declare(declared)
    stand_in.engine.up()
    for option, expected in ((None, ["delete", "create"]), (False, ["create", "delete"])):
        declared["a"]["props"]["value"] += 1
        if option is not None:
            declared["a"]["delete_before_replace"] = option  # the resource option wins
        stand_in.declare(declared)
        stand_in.forget_calls()

        stand_in.engine.up(skip_preview=True)

        assert [c["method"] for c in stand_in.calls() if c["method"] in ("create", "delete")] == expected


def test_logical_rename_with_an_alias_is_the_same_resource(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}})
    stand_in.engine.up()
    old = stand_in.engine.resource("a")
    stand_in.declare({"a2": {"props": {"name": "a", "value": 1}}})
    stand_in.forget_calls()

    stand_in.engine.edit = lambda reg: dataclasses.replace(reg, aliases=(old.urn,))
    stand_in.engine.up(skip_preview=True)
    assert (stand_in.engine.resource("a2").id, stand_in.calls("create")) == (old.id, [])

    stand_in.engine.edit = None
    stand_in.declare({"a3": {"props": {"name": "a", "value": 1}}})
    result = stand_in.engine.up(skip_preview=True)
    assert sorted(result.steps.values()) == ["create", "delete"], "without an alias: create, then delete"


def test_secrets_are_stripped_and_outputs_re_marked_by_name_only(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": "s3cr3t"}}})

    def hide(reg: Registration) -> Registration:
        return dataclasses.replace(reg, inputs={**reg.inputs, "value": secret(reg.inputs["value"])})

    stand_in.engine.edit = hide
    stand_in.engine.up(skip_preview=True)

    (create,) = stand_in.calls("create")
    assert create["props"]["value"] == "s3cr3t", "the provider sees plain values"
    outputs = stand_in.engine.resource("a").outputs
    assert is_secret(outputs["value"])
    assert outputs["derived"] == "made from s3cr3t", "another name is not re-marked (annotateSecrets)"


def test_protect_and_retain_on_delete(stand_in: StandIn) -> None:
    stand_in.declare({"kept": {"props": {"value": 1}}, "guarded": {"props": {"value": 1}, "protect": True}})
    stand_in.engine.edit = lambda reg: dataclasses.replace(reg, retain_on_delete=reg.name == "kept")
    stand_in.engine.up(skip_preview=True)
    stand_in.declare({"guarded": {"props": {"value": 2}, "protect": True}})

    with pytest.raises(EngineError, match="unable to replace resource"):
        stand_in.engine.preview()
    stand_in.declare({"guarded": {"props": {"value": 1}, "protect": True}})
    stand_in.engine.up(skip_preview=True)

    assert "kept" not in [s.name for s in stand_in.engine.state.values()]
    assert not stand_in.calls("delete"), "retain_on_delete: no Delete call"
    with pytest.raises(EngineError, match="because it is protected"):
        stand_in.engine.destroy()


def test_refresh_reads_then_diffs_and_drops_what_is_gone(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"props": {"value": 2}}})
    stand_in.engine.up(skip_preview=True)
    (stand_in.dir / "gone-b").touch()
    stand_in.forget_calls()

    result = stand_in.engine.refresh()

    assert [(c["method"], c["name"]) for c in stand_in.calls() if c["name"] == "a"] == [
        ("read", "a"),
        ("diff", "a"),
    ]
    assert result.steps[stand_in.engine.urn("b", "pulumi-python:dynamic/test:Recorded")] == "gone"
    assert [s.name for s in stand_in.engine.state.values()] == ["a"]


def test_steps_run_in_parallel_four_at_a_time_in_the_host(stand_in: StandIn) -> None:
    stand_in.declare({f"r{i}": {"props": {"value": i, "sleep": 0.3}} for i in range(8)})

    stand_in.engine.up(skip_preview=True)

    spans = [(c["start"], c["end"]) for c in stand_in.calls("create")]
    overlap = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert 1 < overlap <= 4


def test_an_imported_replacement_create_leaves_the_old_resource_marked_for_its_delete(
    stand_in: StandIn,
) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}})
    stand_in.engine.up(skip_preview=True)
    old = stand_in.engine.resource("a")
    stand_in.declare({"a": {"props": {"value": 2}}})
    with pytest.raises(InterruptedDeploymentError):
        stand_in.engine.up(skip_preview=True, crash=Crash("create", "a"))
    stand_in.engine.refresh(import_pending_creates=[(old.urn, "a-made")])
    stand_in.forget_calls()

    stand_in.engine.up(skip_preview=True)

    assert old.id in [c.id for c in stand_in.engine.ops("delete")]
    assert stand_in.engine.pending_deletes == [], "the old resource's delete cleared it"
