"""``tiktok-audiences explain FILE``: each audience of a catalog in plain English, per stack."""

from __future__ import annotations

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
                if audience.adopt_audience_id is not None:
                    click.echo(
                        f"{indent}  Takes over the existing audience {audience.adopt_audience_id} "
                        "(no new audience is created)."
                    )
        for problem in resolved.report():
            click.echo(str(problem), err=True)
    if resolved.problems:
        ctx.exit(1)
