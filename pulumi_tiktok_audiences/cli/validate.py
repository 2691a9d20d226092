"""``tiktok-audiences validate FILE``: check a catalog offline, as ``pulumi preview`` would."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pulumi_tiktok_audiences.cli.common import (
    CATALOG,
    STDIN_NAME,
    command,
    count,
    echo_json,
    examples,
    format_option,
    problems_json,
    resolve,
    stack_option,
)

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.catalog import Problem


def _github_escape(text: str, *, property_value: bool = False) -> str:
    """GitHub workflow-command escaping (properties also escape ':' and ',')."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def _github_path(file: str) -> str:
    """The file as GitHub names it in a pull request: relative to the repository (GITHUB_WORKSPACE).

    So annotations land on the changed lines when the project sits in a subfolder and the command
    runs there.
    """
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and file != STDIN_NAME:
        try:
            return Path(file).resolve().relative_to(Path(workspace).resolve()).as_posix()
        except ValueError:
            pass
    return file


def _github_line(problem: Problem) -> str:
    file = _github_escape(_github_path(problem.file), property_value=True)
    title = _github_escape(problem.path or "catalog", property_value=True)
    message = _github_escape(problem.message)
    return f"::{problem.severity} file={file},line={problem.line},title={title}::{message}"


@command(
    epilog=examples(
        "tiktok-audiences validate audiences.yaml",
        "tiktok-audiences validate audiences.yaml --stack prod --format github",
        "cat audiences.yaml | tiktok-audiences validate - --format json",
    )
)
@CATALOG
@stack_option("Check this stack only (default: every stack the catalog declares).")
@format_option(
    "github", help_text="github: annotations on the pull request's lines; json: one object for programs."
)
@click.option(
    "--strict",
    is_flag=True,
    help="Warnings fail too (exit status 1): for a CI gate that keeps the catalog free of them.",
)
@click.pass_context
def validate(ctx: click.Context, file: str, stack: str | None, output_format: str, strict: bool) -> None:
    """Check an audience catalog offline, as `pulumi preview` would.

    Prints one line per problem, in file order, FILE:LINE: property.path: what is wrong and what
    to do, and exits with status 1 if there is any. Warnings (almost surely a mistake, but
    deployable) are printed too and do not change the exit status, unless --strict.
    """
    resolved = resolve(file, stack)
    report = resolved.report()
    audience_count = len({key for audiences in resolved.audiences.values() for key in audiences})
    stacks = [s for s in resolved.stacks if s is not None]
    failing = resolved.problems + (resolved.warnings if strict else ())
    if output_format == "json":
        echo_json(
            {
                "file": resolved.file,
                "stacks": stacks,
                "audiences": audience_count,
                "ok": not failing,
                "problems": problems_json(report),
            }
        )
    else:
        for problem in report:
            click.echo(_github_line(problem) if output_format == "github" else str(problem))
    if failing:
        found = [count(len(resolved.problems), "problem")] if resolved.problems else []
        if strict and resolved.warnings:
            found.append(f"{count(len(resolved.warnings), 'warning')} (--strict: warnings fail)")
        click.echo(f"{resolved.file}: {', '.join(found)}", err=True)
        ctx.exit(1)
    if output_format != "json":
        where = f" (stacks {', '.join(stacks)})" if stacks else ""
        warned = f", {count(len(resolved.warnings), 'warning')}" if resolved.warnings else ""
        click.echo(f"{resolved.file}: {count(audience_count, 'audience')}{where}, no problems{warned}")
