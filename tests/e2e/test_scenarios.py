"""The life of every program (the root program and each example) under the mini engine.

Each scenario asserts three things: the engine's steps and state, the emulator's audiences, and
the requests the emulator counted (so "nothing changed" really means no write reached TikTok).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Emulator
from pulumi_tiktok_audiences.provider import spec_from_props
from tests.e2e.conftest import EngineFor
from tests.e2e.programs import NO_WRITES, PROGRAMS, Program, apply, live, writes
from tests.harness.engine import Engine, ResourceState


@pytest.fixture(params=PROGRAMS, ids=lambda p: p.key)
def program(request: pytest.FixtureRequest) -> Program:
    result: Program = request.param
    return result


@pytest.fixture
def workdir(program: Program, tmp_path: Path) -> Path:
    return program.copy_to(tmp_path / program.key)


@pytest.fixture
def engine(program: Program, workdir: Path, engine_for: EngineFor) -> Engine:
    return engine_for(program, workdir)


def audiences(engine: Engine, program: Program) -> dict[str, ResourceState]:
    return {name: engine.resource(name) for name in program.audiences}


def assert_matches_emulator(state: ResourceState, emulator: Emulator) -> None:
    """The emulator holds the audience the state describes: same id, name and rules."""
    remote = live(emulator)[state.id]
    declared = spec_from_props(state.inputs)
    assert remote["advertiser_id"] == declared.advertiser_id
    assert remote["name"] == declared.name == state.outputs["name"]
    assert remote["rule_spec"] == declared.to_rule_spec()


def test_first_up_creates_every_audience(program: Program, engine: Engine, emulator: Emulator) -> None:
    result = engine.up()

    created = audiences(engine, program)
    assert {engine.resource(n).urn: "create" for n in (*program.audiences, *program.others)} == result.steps
    assert set(live(emulator)) == {s.id for s in created.values()}
    for state in created.values():
        assert state.outputs["audience_id"] == state.id
        assert_matches_emulator(state, emulator)
    assert writes(emulator) == {**NO_WRITES, constants.PATH_RULE_CREATE: len(program.audiences)}
    assert DEFAULT_TOKEN not in repr(engine.state), "the access token must never be stored in state"


def test_second_up_makes_no_write_calls(program: Program, engine: Engine, emulator: Emulator) -> None:
    engine.up()
    before = {n: (s.id, s.outputs) for n, s in audiences(engine, program).items()}
    emulator.reset_request_counts()
    calls = len(engine.calls)

    result = engine.up()

    assert set(result.steps.values()) == {"same"}
    assert writes(emulator) == NO_WRITES
    assert not engine.ops("create", "update", "delete")[calls:]
    assert {n: (s.id, s.outputs) for n, s in audiences(engine, program).items()} == before


def test_rename_updates_in_place(program: Program, engine: Engine, workdir: Path, emulator: Emulator) -> None:
    engine.up()
    before = {n: s.id for n, s in audiences(engine, program).items()}
    old_name = engine.resource(program.rename.audience).outputs["name"]
    apply(program.rename, workdir)
    emulator.reset_request_counts()

    result = engine.up()

    renamed = engine.resource(program.rename.audience)
    assert result.steps[renamed.urn] == "update"
    assert [urn for urn, step in result.steps.items() if step != "same"] == [renamed.urn]
    assert {n: s.id for n, s in audiences(engine, program).items()} == before
    assert renamed.outputs["name"] != old_name
    assert_matches_emulator(renamed, emulator)
    assert writes(emulator) == {**NO_WRITES, constants.PATH_UPDATE: 1}


def test_rule_change_replaces_new_before_old(
    program: Program, engine: Engine, workdir: Path, emulator: Emulator
) -> None:
    engine.up()
    old_id = engine.resource(program.rule_change.audience).id
    apply(program.rule_change, workdir)
    emulator.reset_request_counts()
    calls = len(engine.calls)

    result = engine.up()

    new = engine.resource(program.rule_change.audience)
    assert result.steps[new.urn] == "replace"
    assert new.id != old_id
    assert old_id not in live(emulator)
    assert_matches_emulator(new, emulator)
    assert writes(emulator) == {**NO_WRITES, constants.PATH_RULE_CREATE: 1, constants.PATH_DELETE: 1}
    order = [(c.op, c.id) for c in engine.calls[calls:] if c.op in ("create", "delete")]
    assert order == [("create", new.id), ("delete", old_id)]


def test_audience_deleted_behind_pulumis_back_is_recreated_after_refresh(
    program: Program, engine: Engine, emulator: Emulator
) -> None:
    engine.up()
    victim = engine.resource(program.audiences[0])
    with emulator.client() as client:
        body = {"advertiser_id": victim.outputs["advertiser_id"], "custom_audience_ids": [victim.id]}
        assert client.post(constants.PATH_DELETE, json=body).json()["code"] == 0

    refreshed = engine.refresh()

    assert refreshed.steps[victim.urn] == "gone"
    assert victim.urn not in engine.state
    survivors = (*program.audiences[1:], *program.others)
    assert set(refreshed.urns("read")) == {engine.resource(n).urn for n in survivors}
    emulator.reset_request_counts()

    result = engine.up()

    back = engine.resource(program.audiences[0])
    assert result.steps[back.urn] == "create"
    assert back.id != victim.id
    assert_matches_emulator(back, emulator)
    assert writes(emulator) == {**NO_WRITES, constants.PATH_RULE_CREATE: 1}


def test_destroy_leaves_nothing_behind(program: Program, engine: Engine, emulator: Emulator) -> None:
    engine.up()
    emulator.reset_request_counts()

    result = engine.destroy()

    assert len(result.urns("delete")) == len(program.audiences) + len(program.others)
    assert engine.state == {}
    assert live(emulator) == {}
    assert writes(emulator) == {**NO_WRITES, constants.PATH_DELETE: len(program.audiences)}


def test_preview_plans_a_replacement_without_any_request(
    program: Program, engine: Engine, workdir: Path, emulator: Emulator
) -> None:
    engine.up()
    state_before = repr(engine.state)
    apply(program.rule_change, workdir)
    emulator.reset_request_counts()

    result = engine.preview()

    assert result.steps[engine.resource(program.rule_change.audience).urn] == "replace"
    assert emulator.request_counts() == {}
    assert repr(engine.state) == state_before
