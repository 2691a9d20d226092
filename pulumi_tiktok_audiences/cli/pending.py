"""``tiktok-audiences pending``: record the audiences of an interrupted ``pulumi up`` in the stack."""

from __future__ import annotations

from typing import Any

import click

from pulumi_tiktok_audiences.cli.common import api_options, command, examples, require_token


@command(
    epilog=examples(
        "pulumi stack export --show-secrets | tiktok-audiences pending",
        "tiktok-audiences pending --stack-file stack.json --stack dev --run",
    )
)
@click.option(
    "--stack-file",
    type=click.File("r"),
    default="-",
    show_default=True,
    help="The output of `pulumi stack export --show-secrets` (default: read from stdin).",
)
@api_options()
@click.option("--stack", metavar="NAME", help="Pass --stack NAME to the printed `pulumi refresh`.")
@click.option("--run", is_flag=True, help="Run the `pulumi refresh` command instead of printing it.")
@click.pass_context
def pending(
    ctx: click.Context, stack_file: Any, endpoint: str, token: str | None, stack: str | None, run: bool
) -> None:
    """Find the audiences of an interrupted `pulumi up` and record them in the stack.

    Reads `pulumi stack export`, finds each pending create of an audience on TikTok (same
    advertiser, name and rules, not already in the stack) and prints the exact
    `pulumi refresh --import-pending-creates` command that records it. Run it before the next
    `pulumi up`, which would otherwise create the audience again. Exit status 1 when a pending
    create has no single match (each is named, with what to do).
    """
    import json
    import subprocess

    from pulumi_tiktok_audiences import pending as pending_creates
    from pulumi_tiktok_audiences.settings import ProviderSettings

    try:
        export = json.load(stack_file)
    except json.JSONDecodeError as exc:
        raise click.UsageError(
            f"--stack-file is not JSON ({exc}): pass `pulumi stack export` output"
        ) from None
    found, held = pending_creates.pending_creates(export)
    if not found:
        click.echo("No pending creates of audiences in this stack: nothing to recover.", err=True)
        return
    token = require_token(token, endpoint)
    with ProviderSettings.for_command(token, endpoint).make_client() as client:
        findings = [pending_creates.find(client, p, held) for p in found]
    for finding in findings:
        if finding.audience_id is not None:
            click.echo(f"{finding.pending.urn}: audience {finding.audience_id}", err=True)
        else:
            click.echo(f"{finding.pending.urn}: {finding.problem}", err=True)
    refresh = pending_creates.refresh_command(findings, stack)
    if refresh is not None:
        if run:
            subprocess.run(refresh, check=True)  # noqa: S603 - a fixed program, ids read from TikTok
        else:
            click.echo(pending_creates.shell_text(refresh))
    if any(f.audience_id is None for f in findings):
        ctx.exit(1)
