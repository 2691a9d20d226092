"""deploy.py without the Pulumi CLI: K stacks at a time, the summary table, the exit status, the
reason a stack failed, and its progress line from engine events. (With the CLI: tests/e2e/test_agency.py.)"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import ClassVar

import pulumi.automation as auto
import pytest
from click.testing import CliRunner
from rich.console import Console
from rich.progress import Progress

from tests.agency.example import AGENCY_DIR, agency, deploy

ACCOUNTS = agency.load_accounts(AGENCY_DIR / "accounts.yaml")
JOBS = [(account, agency.stack_name("t-", account)) for account in ACCOUNTS]
WAIT = 60.0  # seconds: generous, for a busy machine; never reached when the code is right


def quiet_progress() -> Progress:
    return Progress(console=Console(file=io.StringIO(), force_terminal=False))


def render(results: list[deploy.StackResult], *, preview_only: bool = False) -> str:
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(deploy.summary_table(results, preview_only=preview_only))
    return console.file.getvalue()  # type: ignore[attr-defined]


@pytest.mark.parametrize("k", [1, 2, 3])
def test_runs_every_stack_k_at_a_time_and_keeps_the_accounts_order(k: int) -> None:
    jobs = [(a, f"{stack}-{n}") for n in range(2) for a, stack in JOBS]  # 6 stacks
    lock, running, most = threading.Lock(), [0], [0]
    first_k = threading.Barrier(k, timeout=WAIT)  # the first K must be running at the same time
    started: list[str] = []

    def runner(account: agency.Account, stack: str, report: deploy.Report) -> deploy.StackResult:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            started.append(stack)
            wait = len(started) <= k
        report("working")
        if wait:
            first_k.wait()
        with lock:
            running[0] -= 1
        return deploy.StackResult(account, stack, ok=True, changes={"create": 3})

    results = deploy.run_all(jobs, k, runner, quiet_progress())

    assert [r.stack for r in results] == [stack for _, stack in jobs]
    assert most[0] == k
    assert not first_k.broken


def test_a_stack_that_raises_fails_alone() -> None:
    def runner(account: agency.Account, stack: str, report: deploy.Report) -> deploy.StackResult:
        if account.name == "globex-games":
            raise RuntimeError("the CLI answered something unexpected")
        return deploy.StackResult(account, stack, ok=True)

    progress = quiet_progress()
    results = deploy.run_all(JOBS, 3, runner, progress)

    assert [r.ok for r in results] == [True, False, True]
    assert "the CLI answered something unexpected" in results[1].error
    assert deploy.exit_status(results) == 1
    (overall,) = progress.tasks  # every stack's own line was removed once it ended
    assert (overall.completed, overall.total) == (3, 3)


def test_the_progress_shows_what_each_stack_is_doing() -> None:
    progress = quiet_progress()
    seen: list[str] = []

    def runner(account: agency.Account, stack: str, report: deploy.Report) -> deploy.StackResult:
        report("2 done, create cart-abandoners")
        seen.extend(task.description for task in progress.tasks if task.description.startswith(stack))
        return deploy.StackResult(account, stack, ok=True)

    deploy.run_all(JOBS[:1], 1, runner, progress)

    assert seen == ["t-acme-shoes: 2 done, create cart-abandoners"]


def test_exit_status_is_zero_only_when_every_stack_went_through() -> None:
    ok = [deploy.StackResult(a, s, ok=True) for a, s in JOBS]
    assert deploy.exit_status(ok) == 0
    assert deploy.exit_status([*ok[:2], deploy.StackResult(*JOBS[2], ok=False, error="x")]) == 1


def test_the_summary_table_has_a_row_per_stack_and_says_which_failed_and_why() -> None:
    results = [
        deploy.StackResult(*JOBS[0], ok=True, changes={"create": 3, "same": 0}, seconds=12.34),
        deploy.StackResult(*JOBS[1], ok=True, changes={"same": 2}, seconds=3.0),
        deploy.StackResult(
            *JOBS[2], ok=False, changes={}, seconds=61.0, error="rate limit: TikTok suspended the app"
        ),
    ]

    text = render(results)

    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 3}
    assert set(rows) == {"acme-shoes", "globex-games", "initech-fitness"}
    assert "t-acme-shoes" in rows["acme-shoes"]
    assert "7000000000000000001" in rows["acme-shoes"]
    assert "3 create" in rows["acme-shoes"]
    assert "0 same" not in rows["acme-shoes"]
    assert "12.3 s" in rows["acme-shoes"]
    assert " ok " in rows["globex-games"]
    assert "2 same" in rows["globex-games"]
    assert "FAILED" in rows["initech-fitness"]
    assert "TikTok suspended the app" in rows["initech-fitness"]
    assert "2 of 3 stacks ok, 1 FAILED" in text
    assert "Deployment" in text


def test_a_preview_summary_says_nothing_changed() -> None:
    text = render([deploy.StackResult(*JOBS[0], ok=True, changes={"create": 3})], preview_only=True)

    assert "Preview (nothing changed)" in text
    assert "planned" in text
    assert "1 of 1 stacks ok" in text
    assert "FAILED" not in text


@pytest.mark.parametrize(
    ("diagnostics", "output", "reason"),
    [
        (
            ["  TikTok refused: advertiser 7 has no app 64\n"],
            "error: update failed",
            "TikTok refused: advertiser 7 has no app 64",
        ),
        (
            [
                "Program failed with an unhandled exception:\nTraceback (most recent call last):\n"
                '  File "__main__.py", line 21, in main\n'
                "agency.AccountsError: this stack has no tiktok:advertiserId\n"
            ],
            "",
            "agency.AccountsError: this stack has no tiktok:advertiserId",
        ),
        (
            ["error: an unhandled error occurred:\n    this stack has no tiktok:advertiserId\n"],
            "",
            "this stack has no tiktok:advertiserId",
        ),
        (
            [],
            "\n code: 255\n stdout: ...\n stderr: warning: x\n"
            "error: the stack is currently locked by 1 lock(s)\n",
            "error: the stack is currently locked by 1 lock(s)",
        ),
        ([], "\n code: 1\n stdout: \n stderr: killed\n", "stderr: killed"),
        (["   "], "", "the Pulumi CLI failed without saying why"),
    ],
)
def test_the_failure_reason_is_one_line_a_person_can_act_on(
    diagnostics: list[str], output: str, reason: str
) -> None:
    assert deploy.failure_reason(diagnostics, output) == reason


def test_change_summaries_become_plain_counts_without_the_stack_resource() -> None:
    first_up = {auto.OpType.CREATE: 4}  # three audiences and the stack
    again = {auto.OpType.SAME: 3, "update": 1}

    assert deploy.changes_of(first_up, "create") == {"create": 3}
    assert deploy.changes_of(again, "same") == {"same": 2, "update": 1}
    assert deploy.changes_of({"same": 1}, "same") == {}
    assert deploy.changes_of({"create": 2}) == {"create": 2}
    assert deploy.changes_of(None, "create") == {}


def _event(**fields: object) -> auto.EngineEvent:
    base: dict[str, object] = {"sequence": 1, "timestamp": 0}
    return auto.EngineEvent.from_json({**base, **fields})


def _meta(
    op: str, name: str, type_: str = "pulumi-python:dynamic/tiktok:AppActivityAudience"
) -> dict[str, object]:
    return {"op": op, "urn": f"urn:pulumi:s::tiktok-agency::{type_}::{name}", "type": type_, "provider": ""}


def test_steps_report_the_current_step_and_collect_error_diagnostics() -> None:
    lines: list[str] = []
    steps = deploy.Steps(lines.append)

    steps(_event(resourcePreEvent={"metadata": _meta("create", "pulumi-stack", deploy.STACK_TYPE)}))
    steps(_event(resourcePreEvent={"metadata": _meta("create", "lapsed-purchasers")}))
    steps(_event(resOutputsEvent={"metadata": _meta("create", "lapsed-purchasers")}))
    steps(_event(resourcePreEvent={"metadata": _meta("same", "cart-abandoners")}))
    steps(_event(diagnosticEvent={"message": "no such app", "color": "never", "severity": "error"}))
    steps(_event(diagnosticEvent={"message": "just saying", "color": "never", "severity": "warning"}))

    assert lines == ["0 done, create lapsed-purchasers", "1 done, same cart-abandoners"]
    assert steps.errors == ["no such app"]
    assert steps.stack_op == "create"


class FakeRunner:
    """Stands in for the Automation API runner: ``globex-games`` fails, the others create."""

    calls: ClassVar[list[tuple[str, bool]]] = []

    def __init__(self, work_dir: object, preview_only: bool) -> None:
        self.preview_only = preview_only

    def __call__(self, account: agency.Account, stack: str, report: deploy.Report) -> deploy.StackResult:
        FakeRunner.calls.append((stack, self.preview_only))
        if account.name == "globex-games":
            return deploy.StackResult(account, stack, ok=False, error="TikTok refused it")
        return deploy.StackResult(account, stack, ok=True, changes={"create": len(account.audiences)})


@pytest.fixture
def fake_runner(monkeypatch: pytest.MonkeyPatch) -> type[FakeRunner]:
    FakeRunner.calls = []
    monkeypatch.setattr(deploy, "AutomationRunner", FakeRunner)
    return FakeRunner


def test_the_command_runs_every_account_prints_the_table_and_fails_when_one_failed(
    fake_runner: type[FakeRunner],
) -> None:
    result = CliRunner().invoke(deploy.main, ["-k", "2", "--stack-prefix", "ag-", "--preview-only"])

    assert result.exit_code == 1, result.output
    assert sorted(fake_runner.calls) == [
        ("ag-acme-shoes", True),
        ("ag-globex-games", True),
        ("ag-initech-fitness", True),
    ]
    assert "Preview (nothing changed)" in result.stdout
    assert "2 of 3 stacks ok, 1 FAILED" in result.stdout
    (row,) = [line for line in result.stdout.splitlines() if "globex-games" in line]
    assert "FAILED" in row
    assert "TikTok refused it" in row  # a log keeps each stack on one line


def test_the_command_exits_zero_when_every_stack_went_through(
    fake_runner: type[FakeRunner], tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text("accounts:\n  - {name: one, advertiser_id: 5, app_ids: [6]}\n", encoding="utf-8")

    result = CliRunner().invoke(deploy.main, ["--accounts", str(accounts)])

    assert result.exit_code == 0, result.output
    assert fake_runner.calls == [("one", False)]
    assert "1 of 1 stacks ok" in result.stdout


@pytest.mark.parametrize(
    ("args", "status", "says"),
    [
        (["--stack-prefix", "a b-"], 1, "change --stack-prefix"),
        (["-k", "0"], 2, "Invalid value for '-k'"),
    ],
)
def test_the_command_refuses_bad_options_before_running_anything(
    fake_runner: type[FakeRunner], args: list[str], status: int, says: str
) -> None:
    result = CliRunner().invoke(deploy.main, args)

    assert result.exit_code == status
    assert says in result.output
    assert fake_runner.calls == []


def test_the_command_refuses_an_accounts_file_with_problems(
    fake_runner: type[FakeRunner], tmp_path: Path
) -> None:
    accounts = tmp_path / "accounts.yaml"
    accounts.write_text("accounts:\n  - {name: one, advertiser_id: x, app_ids: [6]}\n", encoding="utf-8")

    result = CliRunner().invoke(deploy.main, ["--accounts", str(accounts)])

    assert result.exit_code == 1
    assert f"{accounts}: accounts[0].advertiser_id: an advertiser id must be" in result.output
    assert fake_runner.calls == []


def test_without_the_pulumi_cli_it_says_what_to_install_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty folder: no `pulumi` on PATH

    result = CliRunner().invoke(deploy.main, ["-k", "2", "--preview-only"])

    assert result.exit_code == 1
    assert "no `pulumi` on PATH" in result.output
    assert "https://www.pulumi.com/docs/install/" in result.output
    assert "Error" not in result.output.replace("Error: ", "", 1)  # one line, no per-stack exceptions
    assert "stacks ok" not in result.output


def test_the_help_says_what_deploy_needs_and_what_its_exit_status_means() -> None:
    result = CliRunner().invoke(deploy.main, ["--help"])

    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for needed in ("Pulumi CLI on PATH", "TIKTOK_ACCESS_TOKEN", "pulumi login", "PULUMI_BACKEND_URL"):
        assert needed in text
    assert "TIKTOK_RATE_LIMIT_STORE" in text  # how the K stacks share the budget
    assert "Exit status: 0 when every stack went through, 1 when one failed" in text
