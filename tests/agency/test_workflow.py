"""The agency workflow's plan: one job per account, K deployments at once only with a shared budget.

Runs the `accounts` job's `plan` step as the runner would (bash, the step's env, $GITHUB_OUTPUT),
and checks that the matrix jobs use what it says. actionlint and zizmor: tests/catalog/test_workflow.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.agency.example import AGENCY_DIR, agency

WORKFLOW = AGENCY_DIR / ".github" / "workflows" / "agency.yml"
JOBS: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))["jobs"]


def plan(tmp_path: Path, *, shared_budget: bool, k: str = "3") -> tuple[dict[str, str], str]:
    """The plan step's outputs and its stdout (workflow commands such as ::warning)."""
    (step,) = [s for s in JOBS["accounts"]["steps"] if s.get("id") == "plan"]
    output = tmp_path / "github_output"
    output.touch()
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",  # `python`: this venv's
        "GITHUB_OUTPUT": str(output),
        "STACK_PREFIX": "acme/",
        "K": k,
        "SHARED_BUDGET": "true" if shared_budget else "false",
    }
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, "-e", "-c", step["run"]], cwd=AGENCY_DIR, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    lines = output.read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines), result.stdout


def assert_one_job_per_account(outputs: dict[str, str]) -> None:
    accounts = agency.load_accounts(AGENCY_DIR / "accounts.yaml")
    assert json.loads(outputs["matrix"]) == agency.github_matrix(accounts, "acme/")


def test_with_a_shared_budget_k_deployments_run_at_once(tmp_path: Path) -> None:
    outputs, stdout = plan(tmp_path, shared_budget=True, k="5")

    assert_one_job_per_account(outputs)
    assert outputs["previews-at-once"] == "5"
    assert outputs["deploys-at-once"] == "5"
    assert "::warning" not in stdout


def test_without_a_shared_budget_deployments_run_one_at_a_time_and_say_why(tmp_path: Path) -> None:
    outputs, stdout = plan(tmp_path, shared_budget=False)

    assert_one_job_per_account(outputs)
    assert outputs["previews-at-once"] == "3"  # previews send no request to TikTok
    assert outputs["deploys-at-once"] == "1"
    assert stdout.startswith(
        "::warning title=No shared rate budget::the TIKTOK_RATE_LIMIT_STORE secret is not set"
    )


def test_the_matrix_jobs_take_the_plan_and_the_deployments_share_the_budget() -> None:
    for job, at_once in (("preview", "previews-at-once"), ("deploy", "deploys-at-once")):
        strategy = JOBS[job]["strategy"]
        assert strategy["max-parallel"] == f"${{{{ fromJSON(needs.accounts.outputs.{at_once}) }}}}"
        assert strategy["matrix"] == "${{ fromJSON(needs.accounts.outputs.matrix) }}"
        assert strategy["fail-fast"] is False
        assert JOBS["accounts"]["outputs"][at_once] == f"${{{{ steps.plan.outputs.{at_once} }}}}"
    env = JOBS["deploy"]["env"]
    assert env["TIKTOK_RATE_LIMIT_STORE"] == "${{ secrets.TIKTOK_RATE_LIMIT_STORE }}"
    assert env["TIKTOK_DEVELOPER_APP"] == "${{ vars.TIKTOK_DEVELOPER_APP }}"
    (plan_step,) = [s for s in JOBS["accounts"]["steps"] if s.get("id") == "plan"]
    assert plan_step["env"]["SHARED_BUDGET"] == "${{ secrets.TIKTOK_RATE_LIMIT_STORE != '' }}"
    # The token only where TikTok is called: the deployments' pulumi up.
    tokens = [
        (job, step.get("with", {}).get("command"))
        for job, spec in JOBS.items()
        for step in spec["steps"]
        if "TIKTOK_ACCESS_TOKEN" in (step.get("env") or {})
    ]
    assert tokens == [("deploy", "up")]
