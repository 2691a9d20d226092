"""The root program (the flagship audiences): its outputs, its dev stack, and how it is packaged."""

from __future__ import annotations

import runpy
from pathlib import Path

import yaml

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, DEFAULT_APP_ID, Emulator
from pulumi_tiktok_audiences.provider import spec_from_props
from pulumi_tiktok_audiences.settings import LOCAL_DB
from tests.e2e.conftest import EngineFor
from tests.e2e.programs import NO_WRITES, ROOT, Edit, apply, live, writes
from tests.harness.engine import Engine, project_name
from tests.harness.host import REPO_ROOT


def test_stack_outputs_list_each_audience_with_id_size_and_targetable(
    tmp_path: Path, engine_for: EngineFor, emulator: Emulator
) -> None:
    engine = engine_for(ROOT, ROOT.copy_to(tmp_path / "root"))

    first = engine.up().outputs["audiences"]

    assert set(first) == set(ROOT.audiences)
    for name, shown in first.items():
        state = engine.resource(name)
        assert shown == {
            "id": state.id,
            "size": "calculating",  # TikTok has not matched anyone yet
            "targetable": False,
            "summary": spec_from_props(state.inputs).summary(),
        }

    emulator.clock.advance(3600)  # the emulator's audiences finish calculating
    engine.refresh()
    emulator.reset_request_counts()
    later = engine.up().outputs["audiences"]

    assert writes(emulator) == NO_WRITES
    for name, shown in later.items():
        size = next(a["cover_num"] for a in emulator.audiences() if a["audience_id"] == shown["id"])
        assert shown["size"] == size
        assert shown["targetable"] is (size >= constants.TARGETABLE_MIN_SIZE), name


def test_dev_stack_as_committed_runs_on_the_embedded_emulator(tmp_path: Path) -> None:
    """`pulumi up` on a fresh clone: Pulumi.dev.yaml unchanged, no token, no server."""
    workdir = ROOT.copy_to(tmp_path / "root")
    engine = Engine(workdir, stack="dev")  # config exactly as in Pulumi.dev.yaml
    engine.up()
    with Emulator(db_path=workdir / LOCAL_DB) as embedded:
        names = {a["name"] for a in embedded.audiences(DEFAULT_ADVERTISER_ID)}
        assert names == {engine.resource(n).outputs["name"] for n in ROOT.audiences}

        engine.destroy()

        assert embedded.audiences() == []


def test_dev_stack_config_points_at_the_emulator_seed() -> None:
    config = yaml.safe_load((REPO_ROOT / "Pulumi.dev.yaml").read_text(encoding="utf-8"))["config"]
    project = project_name(REPO_ROOT)
    assert config == {
        "tiktok:endpoint": "local",
        "tiktok:advertiserId": DEFAULT_ADVERTISER_ID,
        f"{project}:appId": DEFAULT_APP_ID,
    }


def test_project_uses_the_repository_virtualenv() -> None:
    project = yaml.safe_load((REPO_ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}


def test_program_is_import_safe() -> None:
    """Importing the program (tools, the provider host) declares nothing; only running it does."""
    namespace = runpy.run_path(str(REPO_ROOT / "__main__.py"), run_name="tiktok_audiences_program")
    assert callable(namespace["main"])


def test_a_segment_dropped_from_the_program_is_deleted(
    tmp_path: Path, engine_for: EngineFor, emulator: Emulator
) -> None:
    workdir = ROOT.copy_to(tmp_path / "root")
    engine = engine_for(ROOT, workdir)
    engine.up()
    dropped = engine.resource("cart-abandoners")
    apply(Edit("cart-abandoners", '"cart-abandoners": presets.cart_abandoners_args(app_id),', ""), workdir)
    emulator.reset_request_counts()

    result = engine.up()

    assert result.steps[dropped.urn] == "delete"
    assert dropped.urn not in engine.state
    assert dropped.id not in live(emulator)
    assert set(live(emulator)) == {engine.resource(n).id for n in ROOT.audiences if n != "cart-abandoners"}
    assert "cart-abandoners" not in result.outputs["audiences"]
    assert writes(emulator) == {**NO_WRITES, constants.PATH_DELETE: 1}
