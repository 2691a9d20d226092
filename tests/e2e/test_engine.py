"""The test engine behaves like Pulumi's (see tests/harness/engine.py for the engine code each
behaviour imitates), checked with a stand-in provider that records every request it gets."""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.harness.checkpoint import validate_deployment
from tests.harness.engine import (
    Crash,
    Engine,
    EngineError,
    InterruptedDeploymentError,
    Registration,
    is_secret,
)
from tests.harness.host import REPO_ROOT, HostError, secret

STAND_IN = REPO_ROOT / "tests" / "e2e" / "stand_in"


class StandIn:
    """A copy of the stand-in project, what it declares, and what its provider was asked."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path / "stand-in"
        self.dir.mkdir(parents=True)
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
    stand_in.declare({f"r{i}": {"props": {"value": i, "sleep": 0.3, "rendezvous": 2}} for i in range(8)})

    stand_in.engine.up(skip_preview=True)

    spans = [(c["start"], c["end"]) for c in stand_in.calls("create")]
    overlap = max(sum(1 for s, e in spans if s <= start < e) for start, _ in spans)
    assert 1 < overlap <= 4


RECORDED = "pulumi-python:dynamic/test:Recorded"


def creates_and_deletes(stand_in: StandIn) -> list[tuple[str, str]]:
    return [(c["method"], c["name"]) for c in stand_in.calls() if c["method"] in ("create", "delete")]


# -- stack export / stack import (issue 17, point 1) ----------------------------------------------


def test_stack_export_passes_what_stack_import_checks_and_reads_back(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": "s3cr3t"}}, "b": {"source": "a"}})
    stand_in.engine.edit = lambda reg: (
        dataclasses.replace(reg, inputs={**reg.inputs, "value": secret("s3cr3t")}) if reg.name == "a" else reg
    )
    stand_in.engine.up(skip_preview=True)
    exported = stand_in.engine.stack_export()

    validate_deployment(exported, stack="dev")
    (a,) = [r for r in exported["deployment"]["resources"] if r["urn"].endswith("::a")]
    assert "ciphertext" in a["inputs"]["value"]
    assert "ciphertext" in a["outputs"]["value"]
    assert "s3cr3t" not in json.dumps([a["inputs"]["value"], a["outputs"]["value"]])
    elsewhere = Engine(stand_in.dir, edit=stand_in.engine.edit)
    assert elsewhere.stack_import(json.loads(json.dumps(exported))) == []
    assert elsewhere.state == stand_in.engine.state
    stand_in.forget_calls()
    assert set(elsewhere.up(skip_preview=True).steps.values()) == {"same"}
    assert creates_and_deletes(stand_in) == []


def test_stack_import_refuses_what_the_cli_refuses_and_keeps_the_checkpoint(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"source": "a"}})
    stand_in.engine.up(skip_preview=True)
    before = stand_in.engine.stack_export()
    resources = before["deployment"]["resources"]
    a, b = resources[-2:]
    swapped = {**before, "deployment": {**before["deployment"], "resources": [*resources[:-2], b, a]}}
    other_stack = json.loads(json.dumps(before).replace("urn:pulumi:dev::", "urn:pulumi:prod::"))

    with pytest.raises(EngineError, match=r"state file contains errors(.|\n)*rerun with --force"):
        stand_in.engine.stack_import(swapped)
    with pytest.raises(EngineError, match=r"is from a different stack \(prod != dev\)"):
        stand_in.engine.stack_import(other_stack)
    with pytest.raises(EngineError, match="could not deserialize deployment"):
        stand_in.engine.stack_import({**before, "version": 5})
    assert stand_in.engine.stack_export() == before

    warnings = stand_in.engine.stack_import(swapped, force=True)
    assert [w.split(":")[0] for w in warnings] == ["state file contains errors"]


def test_stack_import_drops_pending_operations_and_keeps_replaced_resources_for_their_delete(
    stand_in: StandIn,
) -> None:
    """The repair of a replacement's pending create (`tiktok-audiences pending --repair-to`): the
    new resource with the id it got, the old one marked ``delete``; the next up deletes only it."""
    stand_in.declare({"a": {"props": {"value": 1}}})
    stand_in.engine.up(skip_preview=True)
    old = stand_in.engine.resource("a")
    stand_in.declare({"a": {"props": {"value": 2}}})
    with pytest.raises(InterruptedDeploymentError):
        stand_in.engine.up(skip_preview=True, crash=Crash("create", "a"))
    (created,) = [c for c in stand_in.calls("create") if c["props"]["value"] == 2]
    exported = stand_in.engine.stack_export()
    (op,) = exported["deployment"].pop("pending_operations")
    made = {
        **op["resource"],
        "id": "a-made",
        "outputs": {**op["resource"]["inputs"], "derived": "made from 2"},
    }
    old_entry = next(r for r in exported["deployment"]["resources"] if r.get("id") == old.id)
    old_entry["delete"] = True
    exported["deployment"]["resources"].insert(-1, made)
    exported["deployment"]["pending_operations"] = [op]

    warnings = stand_in.engine.stack_import(exported)
    stand_in.forget_calls()
    stand_in.engine.up(skip_preview=True)

    assert warnings == [f"removing pending operation 'creating' on '{old.urn}' from snapshot"]
    assert created["props"]["value"] == 2
    assert creates_and_deletes(stand_in) == [("delete", "a")]
    assert stand_in.engine.ops("delete")[-1].id == old.id
    assert (stand_in.engine.resource("a").id, stand_in.engine.pending_deletes) == ("a-made", [])


# -- refresh --import-pending-creates as the engine source does it (issue 17, point 1) ------------


def test_import_pending_creates_drops_the_operation_and_the_next_up_creates_again(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}})
    with pytest.raises(InterruptedDeploymentError):
        stand_in.engine.up(skip_preview=True, crash=Crash("create", "a"))
    urn = stand_in.engine.urn("a", RECORDED)

    result = stand_in.engine.refresh(import_pending_creates=[(urn, "a-made"), ("urn:other", "x")])

    assert result.warnings == [
        'warning: the following urns did not correspond to a pending create\n- ""\n- "urn:other"'
    ]
    assert (stand_in.engine.state, stand_in.engine.pending_operations) == ({}, [])
    assert "pending_operations" not in stand_in.engine.stack_export()["deployment"]
    stand_in.forget_calls()
    stand_in.engine.up(skip_preview=True)
    assert creates_and_deletes(stand_in) == [("create", "a")], "the audience is made a second time"


def test_clear_pending_creates_drops_them_and_keeps_the_state(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}})
    stand_in.engine.up(skip_preview=True)
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"props": {"value": 1}}})
    with pytest.raises(InterruptedDeploymentError):
        stand_in.engine.up(skip_preview=True, crash=Crash("create", "b"))
    stand_in.engine.refresh()
    assert [op.type for op in stand_in.engine.pending_operations] == ["creating"], "creates survive"

    stand_in.engine.refresh(clear_pending_creates=True)

    assert stand_in.engine.pending_operations == []
    assert [s.name for s in stand_in.engine.state.values()] == ["a"]


def test_pending_updates_and_deletes_are_dropped_at_the_next_snapshot_write(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"props": {"value": 1}}})
    stand_in.engine.up(skip_preview=True)
    stand_in.declare({"a": {"props": {"value": 1, "label": "x"}}})
    with pytest.raises(InterruptedDeploymentError):
        stand_in.engine.up(skip_preview=True, crash=Crash("update", "a"))
    assert [op.type for op in stand_in.engine.pending_operations] == ["updating"]

    with pytest.raises(InterruptedDeploymentError):
        stand_in.engine.up(skip_preview=True, crash=Crash("delete", "b"))
    assert [op.type for op in stand_in.engine.pending_operations] == ["deleting"]
    stand_in.engine.refresh()
    assert stand_in.engine.pending_operations == []


# -- where dependents and config meet recovery (issue 17, point 3) ----------------------------------


def test_delete_before_replace_deletes_dependents_first_and_recreates_them(stand_in: StandIn) -> None:
    declared: dict[str, dict[str, Any]] = {
        "a": {"props": {"value": 1}, "delete_before_replace": True},
        "b": {"source": "a"},
        "c": {"props": {"value": 1}},
    }
    stand_in.declare(declared)
    stand_in.engine.up(skip_preview=True)
    declared["a"]["props"]["value"] = 2
    stand_in.declare(declared)
    stand_in.forget_calls()

    result = stand_in.engine.up(skip_preview=True)

    assert creates_and_deletes(stand_in) == [
        ("delete", "b"),
        ("delete", "a"),
        ("create", "a"),
        ("create", "b"),
    ]
    (asked,) = [c for c in stand_in.calls("diff") if c["name"] == "b"]
    assert asked["props"]["source"] == "<unknown>", "b's Diff saw a's output as unknown"
    b_checks = [c for c in stand_in.engine.calls if c.op == "check" and c.urn.endswith("::b")]
    assert [c.olds for c in b_checks[-1:]] == [False], "recreated: Check without olds"
    assert result.steps[stand_in.engine.resource("b").urn] == "replace"
    assert result.steps[stand_in.engine.resource("c").urn] == "same"


def test_a_deleted_old_resource_stays_pending_replacement_until_its_replacement_exists(
    stand_in: StandIn,
) -> None:
    declared: dict[str, dict[str, Any]] = {"a": {"props": {"value": 1}, "delete_before_replace": True}}
    stand_in.declare(declared)
    stand_in.engine.up(skip_preview=True)
    old = stand_in.engine.resource("a")
    declared["a"]["props"]["value"] = 2
    stand_in.declare(declared)

    with pytest.raises(InterruptedDeploymentError):
        stand_in.engine.up(skip_preview=True, crash=Crash("create", "a", after=False))

    assert (stand_in.engine.resource("a").id, stand_in.engine.resource("a").pending_replacement) == (
        old.id,
        True,
    )
    (entry,) = [r for r in stand_in.engine.stack_export()["deployment"]["resources"] if r.get("id") == old.id]
    assert entry["pendingReplacement"] is True
    stand_in.forget_calls()
    stand_in.engine.up(skip_preview=True)
    assert creates_and_deletes(stand_in) == [("create", "a")], "not deleted twice"
    assert not stand_in.engine.resource("a").pending_replacement


def test_refresh_and_destroy_use_the_config_saved_at_the_last_update(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}})
    stand_in.engine.config = {"engine-stand-in:token": "old-token"}
    stand_in.engine.up(skip_preview=True)
    stand_in.engine.config = {"engine-stand-in:token": "rotated-token"}
    stand_in.forget_calls()

    stand_in.engine.refresh()
    stand_in.engine.destroy()

    assert [c["props"]["token"] for c in stand_in.calls("configure")] == ["old-token", "old-token"]


def test_no_step_starts_after_a_failed_one(stand_in: StandIn) -> None:
    """(--continue-on-error: test_destroy_stops_after_a_failed_delete_unless_continue_on_error; in an
    up the Python SDK ends the program at its first failed registration anyway.)"""
    stand_in.engine.parallel = 1  # one registration at a time: "bad" is the first step
    stand_in.declare({"bad": {"props": {"value": 1, "fail": True}}, "b": {"props": {"value": 1}}})

    with pytest.raises(HostError, match="bad: refused"):
        stand_in.engine.up(skip_preview=True)

    assert [c["name"] for c in stand_in.calls("create")] == ["bad"]
    assert stand_in.engine.state == {}


def test_refresh_diffs_the_refreshed_state_against_the_old_inputs(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}})
    stand_in.engine.up(skip_preview=True)
    (stand_in.dir / "drift-a").write_text("2", encoding="utf-8")
    stand_in.forget_calls()

    stand_in.engine.refresh()

    (diff,) = stand_in.calls("diff")
    assert diff["props"]["value"] == 1, "news: the inputs before the refresh"
    assert stand_in.engine.resource("a").inputs["value"] == 2


def test_targeted_replace_checks_the_programs_values_despite_ignore_changes(stand_in: StandIn) -> None:
    stand_in.engine.edit = lambda reg: dataclasses.replace(reg, ignore_changes=("label",))
    stand_in.declare({"a": {"props": {"value": 1, "label": "x"}}})
    stand_in.engine.up(skip_preview=True)
    stand_in.declare({"a": {"props": {"value": 1, "label": "y"}}})
    stand_in.forget_calls()

    stand_in.engine.up(skip_preview=True)
    assert [c["props"]["label"] for c in stand_in.calls("check")] == ["x"], "ignored: the old value"
    stand_in.forget_calls()
    stand_in.engine.up(replace=["a"], skip_preview=True)
    assert [c["props"]["label"] for c in stand_in.calls("check")] == ["y"], "goal.Properties"


def test_parallelism_is_four_per_cpu_and_check_runs_one_at_a_time(
    stand_in: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert stand_in.engine.parallel == (os.cpu_count() or 1) * 4
    monkeypatch.setenv("PULUMI_PARALLEL", "3")
    assert Engine(stand_in.dir).parallel == 3
    stand_in.declare({f"r{i}": {"props": {"value": i, "check_sleep": 0.05}} for i in range(6)})

    stand_in.engine.up(skip_preview=True)

    spans = sorted((c["start"], c["end"]) for c in stand_in.calls("check"))
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))


# -- operations and options modelled (issue 17, point 4) --------------------------------------------


def test_target_leaves_untargeted_dependents_on_the_replaced_resource_which_is_deleted(
    stand_in: StandIn,
) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"source": "a"}})
    stand_in.engine.up(skip_preview=True)
    old_a, old_b = stand_in.engine.resource("a"), stand_in.engine.resource("b")
    stand_in.declare({"a": {"props": {"value": 2}}, "b": {"source": "a"}, "c": {"props": {"value": 1}}})
    stand_in.forget_calls()

    result = stand_in.engine.up(targets=["a"], skip_preview=True)

    steps = {urn.rsplit("::", 1)[1]: step for urn, step in result.steps.items()}
    assert steps == {"a": "replace", "b": "same", "c": "skip"}
    assert creates_and_deletes(stand_in) == [("create", "a"), ("delete", "a")]
    assert stand_in.engine.ops("delete")[0].id == old_a.id
    assert stand_in.engine.resource("b") == old_b, "b still names the deleted audience"
    assert old_b.inputs["source_id"] == old_a.id != stand_in.engine.resource("a").id

    stand_in.forget_calls()
    stand_in.engine.up(targets=["a"], target_dependents=True, skip_preview=True)
    assert creates_and_deletes(stand_in) == [("create", "b"), ("delete", "b")]
    with pytest.raises(EngineError, match="could not be found in the stack"):
        stand_in.engine.up(targets=["urn:pulumi:dev::engine-stand-in::x::missing"], skip_preview=True)


def test_up_refresh_reads_in_the_hosts_that_serves_the_update(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}})
    stand_in.engine.up(skip_preview=True)
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"props": {"value": 1}}})
    (stand_in.dir / "gone-a").touch()

    result = stand_in.engine.up(refresh=True, skip_preview=True)

    hosts = {(c.op, c.operation): c.host for c in stand_in.engine.calls if c.operation == "update"}
    assert hosts[("read", "update")] == hosts[("create", "update")]
    assert sorted(result.steps.values()) == ["create", "create"], "a was gone: created again"


def test_destroy_stops_after_a_failed_delete_unless_continue_on_error(tmp_path: Path) -> None:
    """b's delete fails in the first antichain: without --continue-on-error the second one (a, c)
    never starts; with it, c goes, and a stays because b depends on it."""
    declared = {
        "a": {"props": {"value": 1}},
        "b": {"source": "a", "props": {"fail_delete": True}},
        "c": {"props": {"value": 1}},
        "d": {"source": "c"},
    }
    for continue_on_error, second in ((False, set()), (True, {"c"})):
        stand_in = StandIn(tmp_path / str(continue_on_error))
        stand_in.declare(declared)
        stand_in.engine.up(skip_preview=True)
        stand_in.forget_calls()

        with pytest.raises(EngineError, match="b: delete refused"):
            stand_in.engine.destroy(continue_on_error=continue_on_error)

        deleted = {c["name"] for c in stand_in.calls("delete")}
        assert deleted & {"a", "c"} == second


def test_cancel_leaves_what_was_saved_and_starts_nothing_more(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"source": "a"}})
    engine = stand_in.engine

    def cancel_at_b(reg: Registration) -> Registration:
        if reg.name == "b":
            engine.cancel()  # `pulumi cancel` from another terminal, once a was created
        return reg

    engine.edit = cancel_at_b
    with pytest.raises(InterruptedDeploymentError, match="canceled"):
        engine.up(skip_preview=True)

    assert [s.name for s in engine.state.values()] == ["a"]
    assert (engine.pending_operations, [c["name"] for c in stand_in.calls("create")]) == ([], ["a"])
    engine.edit = None
    assert engine.up(skip_preview=True).urns("create") == [engine.urn("b", RECORDED)]


def test_state_delete_taint_and_unprotect(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}, "protect": True}, "b": {"source": "a"}})
    stand_in.engine.up(skip_preview=True)
    a, b = stand_in.engine.resource("a"), stand_in.engine.resource("b")

    with pytest.raises(EngineError, match="can't be safely deleted because it is protected"):
        stand_in.engine.state_delete(a.urn)
    with pytest.raises(EngineError, match='depend on it:\n \\* "b"'):
        stand_in.engine.state_delete(a.urn, force=True)
    stand_in.engine.state_delete(b.urn)
    stand_in.engine.state_taint(a.urn)
    stand_in.engine.state_unprotect(a.urn)
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"source": "a"}})
    stand_in.forget_calls()

    stand_in.engine.up(skip_preview=True)

    assert creates_and_deletes(stand_in) == [("create", "a"), ("create", "b"), ("delete", "a")]
    assert stand_in.engine.ops("delete")[0].id == a.id, "only the tainted a is deleted, not b"
    assert not stand_in.engine.resource("a").taint


def test_deleted_with_skips_the_delete_call_when_its_owner_goes_too(stand_in: StandIn) -> None:
    stand_in.declare({"a": {"props": {"value": 1}}, "b": {"props": {"value": 1}, "deleted_with": "a"}})
    stand_in.engine.up(skip_preview=True)
    assert stand_in.engine.resource("b").deleted_with == stand_in.engine.resource("a").urn
    stand_in.forget_calls()

    stand_in.engine.destroy()

    assert (creates_and_deletes(stand_in), stand_in.engine.state) == ([("delete", "a")], {})
