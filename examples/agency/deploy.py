"""Deploy every ad account's stack from one machine, K at a time (Pulumi's Automation API).

    python deploy.py --accounts accounts.yaml -k 3 --stack-prefix agency- [--preview-only]

Each account of accounts.yaml is one stack of this project (named --stack-prefix + its name); a
pool of K threads runs ``pulumi up`` (or ``pulumi preview``) on K stacks at a time, each through
``pulumi.automation`` and so the Pulumi CLI, which must be on PATH. A progress bar shows each running
stack's steps; a table sums every stack up at the end; the exit status is 1 when a stack failed
(the table says which and why), 0 when all went through.

The K stacks' provider hosts share TikTok's rate budget of the developer app with no set-up: the
provider's default store (``tiktok:rateLimitStore`` / TIKTOK_RATE_LIMIT_STORE ``local``) is a file in
this machine's cache folder that every host uses. The token comes from TIKTOK_ACCESS_TOKEN, never
from the command line; the backend is the one ``pulumi login`` chose (or PULUMI_BACKEND_URL).
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import agency
import click
import pulumi.automation as auto
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

HERE = Path(__file__).resolve().parent
STACK_TYPE = "pulumi:pulumi:Stack"
LOG_WIDTH = 200


@dataclass(frozen=True)
class StackResult:
    """How one account's stack went."""

    account: agency.Account
    stack: str
    ok: bool
    changes: Mapping[str, int] = field(default_factory=dict)
    """Resources per operation (create, update, same, delete, replace ...), the stack resource left out."""
    seconds: float = 0.0
    error: str = ""


Report = Callable[[str], None]
"""Says what a stack is doing now (one short line)."""
Runner = Callable[[agency.Account, str, Report], StackResult]
"""Deploys (or previews) one account's stack: ``runner(account, stack name, report)``."""


def run_all(
    jobs: Sequence[tuple[agency.Account, str]], k: int, runner: Runner, progress: Progress
) -> list[StackResult]:
    """Run ``runner`` on every (account, stack) pair, at most ``k`` at once; results in ``jobs`` order.

    A stack that fails, even with an exception, fails alone: the others go on.
    """
    overall = progress.add_task("stacks", total=len(jobs))

    def one(account: agency.Account, stack: str) -> StackResult:
        task = progress.add_task(f"{stack}: starting", total=None)
        started = time.monotonic()
        try:
            return runner(account, stack, lambda text: progress.update(task, description=f"{stack}: {text}"))
        except Exception as exc:  # a bug or an unexpected CLI answer: this stack's failure only
            return StackResult(account, stack, ok=False, seconds=time.monotonic() - started, error=repr(exc))
        finally:
            progress.remove_task(task)
            progress.advance(overall)

    pool = ThreadPoolExecutor(max_workers=k, thread_name_prefix="stack")
    try:
        futures = [pool.submit(one, account, stack) for account, stack in jobs]
        return [future.result() for future in futures]
    finally:  # on Ctrl-C no further stack starts; the running ones end as the CLI ends them
        pool.shutdown(wait=True, cancel_futures=True)


def summary_table(results: Sequence[StackResult], *, preview_only: bool) -> Table:
    """One row per stack: account, stack, ad account, result, changes, time and why it failed."""
    table = Table(title="Preview (nothing changed)" if preview_only else "Deployment")
    for column in ("account", "stack", "ad account", "result", "planned" if preview_only else "changes"):
        table.add_column(column)
    table.add_column("time", justify="right")
    table.add_column("why it failed")
    for result in results:
        table.add_row(
            result.account.name,
            result.stack,
            result.account.advertiser_id,
            "ok" if result.ok else "[bold red]FAILED[/]",
            ", ".join(f"{count} {op}" for op, count in sorted(result.changes.items()) if count) or "-",
            f"{result.seconds:.1f} s",
            result.error,
        )
    failed = sum(not r.ok for r in results)
    table.caption = f"{len(results) - failed} of {len(results)} stacks ok" + (
        f", {failed} FAILED" if failed else ""
    )
    return table


def exit_status(results: Sequence[StackResult]) -> int:
    """0 when every stack went through, 1 when one failed."""
    return 0 if all(result.ok for result in results) else 1


def failure_reason(diagnostics: Sequence[str], output: str) -> str:
    """Why a stack failed, in one line: the engine's first error diagnostic (a resource's failure, a
    program's exception), else the CLI's last ``error:`` line, else its last line."""
    for message in diagnostics:
        lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
        if lines:
            return lines[-1] if lines[0].endswith(":") and len(lines) > 1 else lines[0]
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    return (errors or lines or ["the Pulumi CLI failed without saying why"])[-1]


def changes_of(summary: Mapping[Any, int] | None, stack_op: str | None = None) -> dict[str, int]:
    """An Automation API change summary as plain op -> count (its keys may be ``OpType`` members),
    without the stack resource itself (counted under ``stack_op``)."""
    changes = {str(getattr(op, "value", op)): count for op, count in (summary or {}).items()}
    if stack_op is not None and changes.get(stack_op, 0) > 0:
        changes[stack_op] -= 1
    return {op: count for op, count in changes.items() if count}


class Steps:
    """A stack's engine events as its progress line, the error diagnostics it reported, and the
    operation on the stack resource itself (Pulumi's change summary counts it with the audiences)."""

    def __init__(self, report: Report) -> None:
        self.report = report
        self.done = 0
        self.errors: list[str] = []
        self.stack_op: str | None = None

    def __call__(self, event: auto.EngineEvent) -> None:
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            if meta.type == STACK_TYPE:
                self.stack_op = str(meta.op.value)
            else:
                self.report(f"{self.done} done, {meta.op.value} {meta.urn.rsplit('::', 1)[-1]}")
        elif event.res_outputs_event is not None:
            self.done += 1
        elif event.diagnostic_event is not None and event.diagnostic_event.severity == "error":
            self.errors.append(event.diagnostic_event.message)


class NoPulumiCLIError(Exception):
    """The Automation API runs the ``pulumi`` program, and there is none on PATH."""


@dataclass(frozen=True)
class AutomationRunner:
    """Runs one account's stack of the project in ``work_dir`` with the Pulumi CLI."""

    work_dir: Path
    preview_only: bool

    def __post_init__(self) -> None:
        # Checked once here: without it every stack would fail alone with a bare FileNotFoundError.
        if shutil.which("pulumi") is None:
            raise NoPulumiCLIError(
                "deploy.py runs each stack with the Pulumi CLI (through the Automation API), and there is "
                "no `pulumi` on PATH: install it (https://www.pulumi.com/docs/install/), or put the folder "
                "holding it on PATH, then run deploy.py again"
            )

    def __call__(self, account: agency.Account, stack: str, report: Report) -> StackResult:
        started = time.monotonic()
        steps = Steps(report)
        try:
            report("selecting the stack")
            # The program and the provider run on this interpreter (its venv has the package),
            # unless PULUMI_PYTHON_CMD says otherwise.
            env = {"PULUMI_PYTHON_CMD": os.environ.get("PULUMI_PYTHON_CMD") or sys.executable}
            workspace = auto.LocalWorkspaceOptions(env_vars=env)
            target = auto.create_or_select_stack(
                stack_name=stack, work_dir=str(self.work_dir), opts=workspace
            )
            target.set_all_config(
                {key: auto.ConfigValue(v) for key, v in agency.stack_config(account).items()}
            )
            summary: Mapping[Any, int] | None
            if self.preview_only:
                summary = target.preview(on_event=steps, color="never").change_summary
            else:
                summary = target.up(on_event=steps, color="never").summary.resource_changes
        except auto.CommandError as exc:
            seconds = time.monotonic() - started
            return StackResult(
                account, stack, ok=False, seconds=seconds, error=failure_reason(steps.errors, str(exc))
            )
        changes = changes_of(summary, steps.stack_op)
        return StackResult(account, stack, ok=True, changes=changes, seconds=time.monotonic() - started)


@click.command(
    epilog="Needs: the Pulumi CLI on PATH; TIKTOK_ACCESS_TOKEN, a token that reaches every account (never "
    "on the command line); a backend: `pulumi login`, or PULUMI_BACKEND_URL (and PULUMI_CONFIG_PASSPHRASE "
    "for a file backend).\n\nThe K stacks share the developer app's rate budget: TIKTOK_RATE_LIMIT_STORE, "
    "default local (a file in this machine's cache folder).\n\nExit status: 0 when every stack went through, "
    "1 when one failed (the table says why) or nothing could run, 2 for a wrong option."
)
@click.option(
    "--accounts",
    "accounts_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=HERE / "accounts.yaml",
    show_default="accounts.yaml beside deploy.py",
    help="The ad accounts, one stack each (format: agency.py).",
)
@click.option("-k", "k", type=click.IntRange(min=1), default=3, show_default=True, help="Stacks at once.")
@click.option(
    "--stack-prefix", default="", help="Put before each account's name, e.g. 'agency-' or 'my-org/'."
)
@click.option("--preview-only", is_flag=True, help="pulumi preview each stack; change nothing.")
def main(accounts_file: Path, k: int, stack_prefix: str, preview_only: bool) -> None:
    """Deploy (or preview) every ad account's stack, K at a time."""
    try:
        accounts = agency.load_accounts(accounts_file)
        jobs = [(account, agency.stack_name(stack_prefix, account)) for account in accounts]
        runner = AutomationRunner(HERE, preview_only)
    except (agency.AccountsError, NoPulumiCLIError) as exc:
        raise click.ClickException(str(exc)) from None
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=Console(stderr=True)) as progress:
        results = run_all(jobs, k, runner, progress)
    # Not a terminal (a CI log, a file): wide enough for one line per stack, the reason included.
    Console(width=None if sys.stdout.isatty() else LOG_WIDTH).print(
        summary_table(results, preview_only=preview_only)
    )
    sys.exit(exit_status(results))


if __name__ == "__main__":
    main()
