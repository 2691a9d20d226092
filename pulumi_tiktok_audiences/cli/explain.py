"""``tiktok-audiences explain FILE``: each audience of a catalog in plain English, per stack."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pulumi_tiktok_audiences.cli.common import (
    CATALOG,
    audience_json,
    command,
    echo_json,
    examples,
    format_option,
    problems_json,
    resolve,
    stack_option,
)

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.catalog import CatalogAudience


@command(
    epilog=examples(
        "tiktok-audiences explain audiences.yaml",
        "tiktok-audiences explain audiences.yaml --stack prod --format json",
    )
)
@CATALOG
@stack_option("Explain this stack only (default: every stack the catalog declares).")
@format_option(help_text="json: every audience with its spec and summary, and the problems.")
@click.pass_context
def explain(ctx: click.Context, file: str, stack: str | None, output_format: str) -> None:
    """Print each audience of a catalog in plain English, per stack.

    Problems, if any, go to stderr (exit status 1); the valid audiences are still explained.
    """
    resolved = resolve(file, stack)
    if output_format == "json":
        echo_json(
            {
                "file": resolved.file,
                "stacks": [
                    {
                        "stack": name,
                        "audiences": [audience_json(a) for a in resolved.audiences[name].values()],
                    }
                    for name in resolved.stacks
                    if name in resolved.audiences
                ],
                "problems": problems_json(resolved.report()),
            }
        )
    else:
        for name in resolved.stacks:
            indent = ""
            if name is not None:
                click.echo(f"Stack {name}:")
                indent = "  "
            for key, audience in resolved.audiences.get(name, {}).items():
                spec = audience.spec
                click.echo(f"{indent}{key}: {spec.name!r}, advertiser {spec.advertiser_id}")
                click.echo(f"{indent}  {spec.summary()}")
                for line in _options(audience):
                    click.echo(f"{indent}  {line}")
        for problem in resolved.report():
            click.echo(str(problem), err=True)
    if resolved.problems:
        ctx.exit(1)


def _options(audience: CatalogAudience) -> list[str]:
    """What the catalog says beyond the rules, one sentence each."""
    lines = []
    spec = audience.spec
    if spec.purpose is not None:
        lines.append(f"Purpose: {spec.purpose}.")
    for app, events in spec.tracked_events or ():
        lines.append(f"App {app} posts back (tracked_events): {', '.join(event.name for event in events)}.")
    if audience.adopt_audience_id is not None:
        lines.append(
            f"Takes over the existing audience {audience.adopt_audience_id} (no new audience is created)."
        )
    if audience.previous_keys:
        lines.append(f"Formerly {', '.join(audience.previous_keys)} (previous_keys): the same audience.")
    if audience.protect:
        lines.append("Protected: `pulumi up` refuses to delete or replace it.")
    if audience.wait_until_targetable:
        lines.append("When created, `pulumi up` waits until TikTok has calculated it and it can be targeted.")
    return lines
