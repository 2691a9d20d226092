"""examples/pr-workflow: its catalog, its GitHub workflow, and its program under the mini engine."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.catalog import resolve_catalog, resolve_text
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Emulator, RunningServer
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from tests.harness.engine import Engine
from tests.harness.host import REPO_ROOT

EXAMPLE = REPO_ROOT / "examples" / "pr-workflow"
WORKFLOW = EXAMPLE / ".github" / "workflows" / "audiences.yml"
WRITES = (constants.PATH_RULE_CREATE, constants.PATH_UPDATE, constants.PATH_DELETE)


def test_the_catalog_is_valid_for_every_stack() -> None:
    resolved = resolve_catalog(EXAMPLE / "audiences.yaml")
    assert resolved.problems == ()
    assert resolved.stacks == ("dev", "prod")
    advertisers = {
        stack: {a.spec.advertiser_id for a in aud.values()} for stack, aud in resolved.audiences.items()
    }
    assert advertisers["dev"].isdisjoint(advertisers["prod"])


def test_the_marketer_guide_catalog_is_valid() -> None:
    guide = (REPO_ROOT / "docs" / "guides" / "marketer.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", guide, re.DOTALL)
    assert block is not None
    resolved = resolve_text(block.group(1), "marketer.md")
    assert resolved.problems == ()
    assert resolved.audiences["prod"]["lapsed-purchasers"].adopt_audience_id is not None


def _steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def _pulumi(job: dict[str, Any]) -> dict[str, Any]:
    (step,) = [s for s in _steps(job) if str(s.get("uses", "")).startswith("pulumi/actions@")]
    return step


def test_the_workflow_validates_previews_every_stack_deploys_and_promotes() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request", "push"}
    jobs = workflow["jobs"]
    validate = " ".join(str(s.get("run", "")) for s in _steps(jobs["validate"]))
    assert "tiktok-audiences validate" in validate
    assert "tiktok-audiences explain" in validate
    assert "tiktok-audiences diff --base-ref" in validate  # what the change does, in the job summary

    gate = jobs["gate"]  # replacements and deletions fail the check until a reviewer labels the PR
    assert "pull_request" in gate["if"]
    (refuse,) = [s for s in _steps(gate) if "--fail-on-replace --fail-on-delete" in str(s.get("run", ""))]
    assert "audiences-replace-ok" in refuse["if"]
    assert set(triggers["pull_request"]["types"]) >= {"labeled", "unlabeled", "synchronize"}

    preview = jobs["preview"]
    assert preview["needs"] == "validate"
    assert "pull_request" in preview["if"]
    assert preview["strategy"]["matrix"]["stack"] == list(resolve_catalog(EXAMPLE / "audiences.yaml").stacks)
    assert preview["permissions"]["pull-requests"] == "write"
    assert {k: _pulumi(preview)["with"][k] for k in ("command", "comment-on-pr")} == {
        "command": "preview",
        "comment-on-pr": True,
    }

    dev, prod = jobs["deploy-dev"], jobs["promote-prod"]
    assert "push" in dev["if"]
    assert (_pulumi(dev)["with"]["command"], _pulumi(prod)["with"]["command"]) == ("up", "up")
    assert _pulumi(dev)["with"]["stack-name"].endswith("/dev")
    assert _pulumi(prod)["with"]["stack-name"].endswith("/prod")
    assert prod["needs"] == "deploy-dev"
    assert prod["environment"] == "prod"  # required reviewers on this environment are the approval
    assert "TIKTOK_ACCESS_TOKEN" in _pulumi(prod)["env"]


def engine(project: Path, server: RunningServer, stack: str) -> Engine:
    config = {ENDPOINT_KEY: server.url, TOKEN_KEY: DEFAULT_TOKEN}
    return Engine(project, stack=stack, config=config, secret_keys={TOKEN_KEY})


def writes(emulator: Emulator) -> dict[str, int]:
    counts = emulator.request_counts()
    return {path: counts.get(path, 0) for path in WRITES}


def test_each_stack_deploys_the_catalog_and_a_catalog_edit_is_an_update(
    tmp_path: Path, server: RunningServer, emulator: Emulator
) -> None:
    project = Path(shutil.copytree(EXAMPLE, tmp_path / "project"))
    stacks = {name: engine(project, server, name) for name in ("dev", "prod")}
    for name, stack in stacks.items():
        result = stack.up()
        expected = resolve_catalog(project / "audiences.yaml", name).audiences[name]
        assert sorted(urn.rsplit("::", 1)[1] for urn in result.urns("create")) == sorted(expected)
        for key, audience in expected.items():
            remote = {a["audience_id"]: a for a in emulator.audiences()}[stack.resource(key).id]
            assert (remote["advertiser_id"], remote["name"]) == (
                audience.spec.advertiser_id,
                audience.spec.name,
            )
            assert remote["rule_spec"] == audience.spec.to_rule_spec()
        assert set(result.outputs["audiences"]) == set(expected)

    emulator.reset_request_counts()
    assert set(stacks["prod"].up().steps.values()) == {"same"}
    assert writes(emulator) == dict.fromkeys(WRITES, 0)

    catalog = project / "audiences.yaml"
    catalog.write_text(catalog.read_text().replace("name: Cart abandoners", "name: Cart abandoners (14d)"))
    preview = stacks["prod"].preview()
    assert [urn.rsplit("::", 1)[1] for urn in preview.urns("update")] == ["cart-abandoners"]
    assert set(preview.urns("same")) == set(preview.steps) - set(preview.urns("update"))
    stacks["prod"].up()
    renamed = {a["audience_id"]: a["name"] for a in emulator.audiences()}[
        stacks["prod"].resource("cart-abandoners").id
    ]
    assert renamed == "Cart abandoners (14d)"
    assert writes(emulator) == {**dict.fromkeys(WRITES, 0), constants.PATH_UPDATE: 1}


def test_the_readme_s_example_problem_is_what_validate_says_for_that_line(tmp_path: Path) -> None:
    """The README quotes `validate` for a lookback out of range; its line number and property path
    must be where that rule is in the example's audiences.yaml."""
    readme = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"`audiences\.yaml:(\d+): (\S+): (must be a whole number from 1 to 180 days)", readme)
    assert quoted is not None
    line_number, path, message = int(quoted.group(1)), quoted.group(2), quoted.group(3)
    lines = (EXAMPLE / "audiences.yaml").read_text(encoding="utf-8").splitlines(keepends=True)
    assert "lookback_days:" in lines[line_number - 1], f"line {line_number} holds no lookback"
    lines[line_number - 1] = re.sub(r"lookback_days: \d+", "lookback_days: 181", lines[line_number - 1])
    (tmp_path / "audiences.yaml").write_text("".join(lines), encoding="utf-8")

    result = CliRunner().invoke(main, ["validate", str(tmp_path / "audiences.yaml")])

    assert result.exit_code == 1, result.output
    assert f"audiences.yaml:{line_number}: {path}: {message}" in result.output, result.output
