"""``tiktok-audiences pending``: record the audiences of an interrupted ``pulumi up`` in the stack."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from pulumi_tiktok_audiences.cli.common import api_options, command, examples, require_token

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.pending import Finding


@command(
    epilog=examples(
        "pulumi stack export --file stack.json",
        "tiktok-audiences pending --stack-file stack.json --repair-to repaired.json --stack dev",
        "tiktok-audiences pending --stack-file stack.json --repair-to repaired.json --stack dev --run",
    )
)
@click.option(
    "--stack-file",
    type=click.File("r"),
    default="-",
    show_default=True,
    help="The output of `pulumi stack export` (default: read from stdin).",
)
@click.option(
    "--repair-to",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE",
    help="Write the repaired deployment to FILE for `pulumi stack import --file FILE` (never the "
    "--stack-file itself). Without it, the command prints the unverified "
    "`pulumi refresh --import-pending-creates` instead.",
)
@api_options()
@click.option("--stack", metavar="NAME", help="Pass --stack NAME to the printed `pulumi` commands.")
@click.option("--run", is_flag=True, help="Run the printed `pulumi` commands instead of printing them.")
@click.pass_context
def pending(
    ctx: click.Context,
    stack_file: Any,
    repair_to: Path | None,
    endpoint: str,
    token: str | None,
    stack: str | None,
    run: bool,
) -> None:
    """Find the audiences of an interrupted `pulumi up` and record them in the stack.

    Reads `pulumi stack export`, finds each pending create of an audience on TikTok (same
    advertiser, name and rules, not already in the stack; reads only) and, with --repair-to,
    writes the deployment in which each one found is a resource of the stack, then prints the
    `pulumi stack import` and `pulumi refresh` that load it. Run them before the next `pulumi up`,
    which would otherwise create the audience again. Exit status 1 when a pending create has no
    single match (each is named, with what to do).
    """
    import json

    from pulumi_tiktok_audiences import pending as pending_creates
    from pulumi_tiktok_audiences.settings import ProviderSettings

    if repair_to is not None and _same_file(stack_file, repair_to):
        raise click.UsageError("--repair-to must name a new file: the export is never overwritten")
    try:
        export = json.load(stack_file)
    except json.JSONDecodeError as exc:
        raise click.UsageError(
            f"--stack-file is not JSON ({exc}): pass `pulumi stack export` output"
        ) from None
    if repair_to is not None and pending_creates.holds_plaintext_secret(export):
        raise click.UsageError(
            "the export holds decrypted secrets (`--show-secrets`), which --repair-to would write in plain "
            "text: export again with `pulumi stack export --file FILE`"
        )
    found, held = pending_creates.pending_creates(export)
    if not found:
        click.echo("No pending creates of audiences in this stack: nothing to recover.", err=True)
        return
    token = require_token(token, endpoint)
    with ProviderSettings.for_command(token, endpoint).make_client() as client:
        findings = [pending_creates.find(client, p, held) for p in found]
    if repair_to is not None:
        _repair(ctx, export, findings, repair_to, stack, run)
    else:
        _import_pending_creates(ctx, findings, stack, run)


def _same_file(stack_file: Any, repair_to: Path) -> bool:
    name = getattr(stack_file, "name", "")
    if not isinstance(name, str) or name in ("-", "<stdin>") or not os.path.exists(name):
        return False
    return Path(name).resolve() == repair_to.resolve()


def _repair(
    ctx: click.Context, export: Any, findings: list[Finding], target: Path, stack: str | None, run: bool
) -> None:
    import json
    import shlex
    import subprocess

    from pulumi_tiktok_audiences import repair

    result = repair.repair(export, findings)
    target.write_text(json.dumps(result.document, indent=4) + "\n", encoding="utf-8")
    for line in result.report():
        click.echo(line, err=True)
    commands = repair.commands(str(target), stack)
    if not result.settled:
        click.echo(
            f"Wrote {target}. Settle the pending creates above, run this command again, then import.",
            err=True,
        )
    elif run:
        for argv in commands:
            subprocess.run(argv, check=True)  # noqa: S603 - fixed programs and the file just written
    else:
        click.echo(f"Wrote {target}; load it and read the recorded audiences back:", err=True)
    if not run or not result.settled:
        for argv in commands:
            click.echo(shlex.join(argv))
    if not result.settled:
        ctx.exit(1)


def _import_pending_creates(
    ctx: click.Context, findings: list[Finding], stack: str | None, run: bool
) -> None:
    """The older path, kept as an alternative: the engine source suggests it records nothing."""
    import subprocess

    from pulumi_tiktok_audiences import pending as pending_creates

    for finding in findings:
        if finding.audience_id is not None:
            click.echo(f"{finding.pending.urn}: audience {finding.audience_id}", err=True)
        else:
            click.echo(f"{finding.pending.urn}: {finding.problem}", err=True)
    refresh = pending_creates.refresh_command(findings, stack)
    if refresh is not None:
        click.echo(
            "Not verified: the engine source suggests `--import-pending-creates` drops the pending create "
            "instead of recording it; prefer --repair-to (docs: Operations, recovery).",
            err=True,
        )
        if run:
            subprocess.run(refresh, check=True)  # noqa: S603 - a fixed program, ids read from TikTok
        else:
            click.echo(pending_creates.shell_text(refresh))
    if any(f.audience_id is None for f in findings):
        ctx.exit(1)
