"""The agency example end to end: every ad account of accounts.yaml deployed as its own stack.

On the test engine (always): through deploy.py's ``run_all`` with a runner that drives the engine,
one stack at a time (the engine runs programs in this process; K at a time is tested with the
CLI below and without it in tests/agency/test_deploy.py). With the Pulumi CLI: deploy.py itself.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pulumi.automation as auto
import pytest
import yaml
from rich.console import Console
from rich.progress import Progress

from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, Emulator, RunningServer
from tests.agency.example import AGENCY_DIR, agency, deploy
from tests.e2e.programs import ENDPOINT_KEY, NO_WRITES, TOKEN_KEY, live, writes
from tests.harness.engine import Engine

ACCOUNTS = agency.load_accounts(AGENCY_DIR / "accounts.yaml")


def copy_project(target: Path) -> Path:
    """The example's project as a user has it: Pulumi.yaml, its Python files and accounts.yaml."""
    target.mkdir(parents=True)
    for path in [AGENCY_DIR / "Pulumi.yaml", AGENCY_DIR / "accounts.yaml", *AGENCY_DIR.glob("*.py")]:
        shutil.copy2(path, target / path.name)
    return target


def expected_names(account: agency.Account) -> set[str]:
    return {agency.PRESETS[key](account.app_ids).name for key in account.audiences}


def assert_each_account_holds_its_own_audiences(emulator: Emulator, ids: dict[str, set[str]]) -> None:
    """Each account's audiences, and only those, on its ad account, ruled by its own apps."""
    for account in ACCOUNTS:
        remote = live(emulator, account.advertiser_id)
        assert set(remote) == ids[account.name], account.name
        assert {a["name"] for a in remote.values()} == expected_names(account)
        for audience in remote.values():
            rules = audience["rule_spec"]["inclusion_rule_set"]["rules"]
            assert {app for rule in rules for app in rule["event_source_ids"]} == set(account.app_ids)
    assert len(live(emulator)) == sum(len(account.audiences) for account in ACCOUNTS)  # nowhere else


def test_each_account_deploys_to_its_own_ad_account_on_the_test_engine(
    tmp_path: Path, server: RunningServer, emulator: Emulator
) -> None:
    workdir = copy_project(tmp_path / "agency")
    engines: dict[str, Engine] = {}
    outputs: dict[str, dict[str, object]] = {}

    def runner(account: agency.Account, stack: str, report: deploy.Report) -> deploy.StackResult:
        config = {**agency.stack_config(account), ENDPOINT_KEY: server.url, TOKEN_KEY: DEFAULT_TOKEN}
        engine = engines[account.name] = Engine(workdir, stack=stack, config=config, secret_keys={TOKEN_KEY})
        report("up")
        result = engine.up()
        outputs[account.name] = result.outputs
        changes = Counter(step for urn, step in result.steps.items() if "pulumi:pulumi:Stack" not in urn)
        return deploy.StackResult(account, stack, ok=True, changes=dict(changes))

    jobs = [(account, agency.stack_name("agency-", account)) for account in ACCOUNTS]
    results = deploy.run_all(jobs, 1, runner, Progress(console=Console(file=io.StringIO())))

    assert deploy.exit_status(results) == 0
    assert [r.changes for r in results] == [{"create": len(a.audiences)} for a in ACCOUNTS]
    for account in ACCOUNTS:
        engine = engines[account.name]
        assert engine.stack == f"agency-{account.name}"
        assert outputs[account.name]["account"] == account.name
        assert outputs[account.name]["advertiser_id"] == account.advertiser_id
        audiences = {s.urn.rsplit("::", 1)[-1]: s for s in engine.state.values() if s.dynamic}
        assert outputs[account.name]["audience_ids"] == {key: s.id for key, s in audiences.items()}
        assert {s.outputs["advertiser_id"] for s in audiences.values()} == {account.advertiser_id}
        assert not any(DEFAULT_TOKEN in log for log in engine.host_logs)
    assert_each_account_holds_its_own_audiences(
        emulator,
        {name: {s.id for s in e.state.values() if s.dynamic} for name, e in engines.items()},
    )


@pytest.mark.cli
@pytest.mark.skipif(
    shutil.which("pulumi") is None,
    reason="deploy.py drives the Pulumi CLI (Automation API), which is not on PATH; install it from "
    "https://www.pulumi.com/docs/install/ to run this test",
)
def test_deploy_py_runs_every_accounts_stack_with_the_pulumi_cli(
    tmp_path: Path, server: RunningServer, emulator: Emulator
) -> None:
    workdir = copy_project(tmp_path / "agency")
    (tmp_path / "state").mkdir()
    env = {
        **os.environ,
        "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "e2e",
        "PULUMI_SKIP_UPDATE_CHECK": "true",
        "TIKTOK_ENDPOINT": server.url,
        "TIKTOK_ACCESS_TOKEN": DEFAULT_TOKEN,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }

    def run(accounts: Path, *flags: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, str(workdir / "deploy.py"), "--accounts", str(accounts), "-k", "3", *flags]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, check=False)

    preview = run(workdir / "accounts.yaml", "--stack-prefix", "cli-", "--preview-only")

    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "3 of 3 stacks ok" in preview.stdout
    assert writes(emulator) == NO_WRITES
    assert live(emulator) == {}

    up = run(workdir / "accounts.yaml", "--stack-prefix", "cli-")

    assert up.returncode == 0, up.stdout + up.stderr
    assert "3 of 3 stacks ok" in up.stdout
    assert DEFAULT_TOKEN not in up.stdout + up.stderr
    ids = {}
    for account in ACCOUNTS:
        stack = auto.select_stack(
            stack_name=f"cli-{account.name}",
            work_dir=str(workdir),
            opts=auto.LocalWorkspaceOptions(
                env_vars={k: env[k] for k in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE")}
            ),
        )
        ids[account.name] = set(stack.outputs()["audience_ids"].value.values())
        settings = yaml.safe_load((workdir / f"Pulumi.cli-{account.name}.yaml").read_text(encoding="utf-8"))
        assert settings["config"][agency.ADVERTISER_KEY] == account.advertiser_id
    assert_each_account_holds_its_own_audiences(emulator, ids)

    # An account the token does not reach fails alone: exit status 1, the table says which and why.
    broken = workdir / "broken.yaml"
    first = ACCOUNTS[0]
    stranger = {"name": "stranger", "advertiser_id": "7000000000000000077", "app_ids": ["6400000001"]}
    listed = {"name": first.name, "advertiser_id": first.advertiser_id, "app_ids": list(first.app_ids)}
    broken.write_text(yaml.safe_dump({"accounts": [listed, stranger]}), encoding="utf-8")

    again = run(broken, "--stack-prefix", "cli-")

    assert again.returncode == 1, again.stdout + again.stderr
    assert "1 of 2 stacks ok, 1 FAILED" in again.stdout
    (row,) = [line for line in again.stdout.splitlines() if "stranger" in line]
    assert "FAILED" in row
