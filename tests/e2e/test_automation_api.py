"""The scenarios of test_scenarios.py through the Automation API and the real Pulumi CLI.

Here the real engine plans the steps and starts the provider host itself; state goes to a local
file backend in the test's temporary directory. Needs the ``pulumi`` CLI on PATH (it cannot be
installed on every machine, so the module is skipped without it).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import pulumi.automation as auto
import pytest
import yaml

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Emulator, RunningServer
from tests.e2e.programs import (
    ENDPOINT_KEY,
    NO_WRITES,
    PROGRAMS,
    TOKEN_KEY,
    Program,
    apply,
    live,
    writes,
)

pytestmark = [
    pytest.mark.cli,
    pytest.mark.skipif(
        shutil.which("pulumi") is None,
        reason="the Pulumi CLI is not on PATH; install it from https://www.pulumi.com/docs/install/ "
        "(curl -fsSL https://get.pulumi.com | sh) to run these",
    ),
]

AUDIENCE_TYPE = "pulumi-python:dynamic/tiktok:AppActivityAudience"


class Deployment:
    """A stack of a working copy of ``program``, on a file backend, pointed at the emulator."""

    def __init__(self, program: Program, workdir: Path, state_dir: Path, endpoint: str) -> None:
        self.program, self.workdir = program, workdir
        project_file = workdir / "Pulumi.yaml"
        project = yaml.safe_load(project_file.read_text(encoding="utf-8"))
        project["runtime"]["options"]["virtualenv"] = sys.prefix  # this interpreter's venv
        project_file.write_text(yaml.safe_dump(project), encoding="utf-8")
        env = {
            "PULUMI_BACKEND_URL": state_dir.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": "e2e",
            "PULUMI_SKIP_UPDATE_CHECK": "true",
        }
        self.stack = auto.create_or_select_stack(
            stack_name=program.stack,
            work_dir=str(workdir),
            opts=auto.LocalWorkspaceOptions(env_vars=env),
        )
        self.stack.set_config(ENDPOINT_KEY, auto.ConfigValue(endpoint))
        self.stack.set_config(TOKEN_KEY, auto.ConfigValue(DEFAULT_TOKEN, secret=True))

    def up(self) -> tuple[dict[str, int], list[tuple[str, str]]]:
        """Run ``pulumi up``; return its change summary and the (op, name) of each finished step."""
        steps: list[tuple[str, str]] = []

        def on_event(event: Any) -> None:
            done = event.res_outputs_event
            if done is not None:
                steps.append((str(done.metadata.op.value), done.metadata.urn.split("::")[-1]))

        result = self.stack.up(on_event=on_event)
        return {str(k): v for k, v in (result.summary.resource_changes or {}).items()}, steps

    def resources(self) -> dict[str, dict[str, Any]]:
        """The audiences in the stack's state by resource name: id and outputs."""
        deployment = self.stack.export_stack().deployment or {}
        return {
            r["urn"].split("::")[-1]: {"id": r["id"], **r.get("outputs", {})}
            for r in deployment.get("resources", [])
            if r["type"] == AUDIENCE_TYPE
        }


@pytest.fixture(params=PROGRAMS, ids=lambda p: p.key)
def deployment(request: pytest.FixtureRequest, tmp_path: Path, server: RunningServer) -> Deployment:
    program: Program = request.param
    return Deployment(program, program.copy_to(tmp_path / program.key), tmp_path / "state", server.url)


def test_first_up_creates_all_and_second_up_writes_nothing(
    deployment: Deployment, emulator: Emulator
) -> None:
    changes, _ = deployment.up()
    count = len(deployment.program.audiences)
    assert changes["create"] == count + len(deployment.program.others) + 1  # + the stack
    assert set(live(emulator)) == {r["id"] for r in deployment.resources().values()}
    assert writes(emulator) == {**NO_WRITES, constants.PATH_RULE_CREATE: count}
    emulator.reset_request_counts()

    changes, _ = deployment.up()

    assert set(changes) == {"same"}
    assert writes(emulator) == NO_WRITES


def test_rename_updates_in_place(deployment: Deployment, emulator: Emulator) -> None:
    deployment.up()
    before = deployment.resources()
    apply(deployment.program.rename, deployment.workdir)
    emulator.reset_request_counts()

    changes, _ = deployment.up()

    after = deployment.resources()
    name = deployment.program.rename.audience
    assert changes.get("update") == 1
    assert {k: v["id"] for k, v in after.items()} == {k: v["id"] for k, v in before.items()}
    assert live(emulator)[after[name]["id"]]["name"] == after[name]["name"] != before[name]["name"]
    assert writes(emulator) == {**NO_WRITES, constants.PATH_UPDATE: 1}


def test_rule_change_replaces_new_before_old(deployment: Deployment, emulator: Emulator) -> None:
    deployment.up()
    name = deployment.program.rule_change.audience
    old_id = deployment.resources()[name]["id"]
    apply(deployment.program.rule_change, deployment.workdir)
    emulator.reset_request_counts()

    changes, steps = deployment.up()

    new_id = deployment.resources()[name]["id"]
    assert changes.get("replace") == 1
    assert new_id != old_id
    assert new_id in live(emulator)
    assert old_id not in live(emulator)
    ops = [op for op, resource in steps if resource == name]
    assert ops.index("create-replacement") < ops.index("delete-replaced")
    assert writes(emulator) == {**NO_WRITES, constants.PATH_RULE_CREATE: 1, constants.PATH_DELETE: 1}


def test_deleted_audience_is_recreated_after_refresh(deployment: Deployment, emulator: Emulator) -> None:
    deployment.up()
    name = deployment.program.audiences[0]
    victim = deployment.resources()[name]
    with emulator.client() as client:
        body = {"advertiser_id": victim["advertiser_id"], "custom_audience_ids": [victim["id"]]}
        assert client.post(constants.PATH_DELETE, json=body).json()["code"] == 0

    deployment.stack.refresh()

    assert name not in deployment.resources()
    emulator.reset_request_counts()
    changes, _ = deployment.up()
    assert changes.get("create") == 1
    assert deployment.resources()[name]["id"] in live(emulator)
    assert writes(emulator) == {**NO_WRITES, constants.PATH_RULE_CREATE: 1}


def test_destroy_leaves_nothing_behind(deployment: Deployment, emulator: Emulator) -> None:
    deployment.up()
    emulator.reset_request_counts()

    deployment.stack.destroy()

    assert deployment.resources() == {}
    assert live(emulator) == {}
    assert writes(emulator) == {**NO_WRITES, constants.PATH_DELETE: len(deployment.program.audiences)}
