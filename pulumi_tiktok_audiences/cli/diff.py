"""``tiktok-audiences diff BASE HEAD``: what deploying HEAD over BASE does to each audience."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from pulumi_tiktok_audiences.cli.common import (
    STDIN,
    audience_json,
    command,
    count,
    echo_json,
    examples,
    format_option,
    resolve,
    stack_option,
)

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.catalog import AudienceChange, CatalogAudience, ResolvedCatalog, StackDiff


def _git_catalog(revision: str, path: str, stack: str | None, cwd: Path | None = None) -> ResolvedCatalog:
    """The catalog at ``revision:path`` as git reads it (``./`` relative to ``cwd``, else to the
    repository's root); a path missing there (a new catalog) reads as an empty catalog."""
    from pulumi_tiktok_audiences.catalog import MAX_CATALOG_BYTES, ResolvedCatalog, resolve_bytes

    name = f"{revision}:{path}"
    try:
        shown = subprocess.run(  # noqa: S603 - fixed program, no shell
            ["git", "show", name],  # noqa: S607 - git from PATH, as the user runs it
            cwd=cwd,
            capture_output=True,
            check=False,
        )
    except FileNotFoundError:
        raise click.UsageError("reading a catalog from git needs git on PATH; give a file instead") from None
    if shown.returncode != 0:
        reason = shown.stderr.decode(errors="replace").strip().splitlines() or ["git failed"]
        if "does not exist" in reason[0] or "exists on disk, but not in" in reason[0]:
            click.echo(
                f"{revision} has no {path}: every audience of it counts as added (a new catalog)", err=True
            )
            return ResolvedCatalog(name, (), {}, ())
        raise click.UsageError(f"cannot read {name} from git: {reason[0].removeprefix('fatal: ')}")
    return resolve_bytes(shown.stdout[: MAX_CATALOG_BYTES + 1], name, stack)


def _read_side(value: str, stack: str | None) -> ResolvedCatalog:
    """BASE or HEAD: a file, ``-`` (standard input), or REV:PATH (a file in a git revision)."""
    if value == STDIN or Path(value).is_file():
        return resolve(value, stack)
    revision, colon, path = value.partition(":")
    if colon and revision and path:
        return _git_catalog(revision, path, stack)
    raise click.BadParameter(f"{value!r} is no file, and not REV:PATH (such as origin/main:audiences.yaml)")


def _one_side_only(
    base: ResolvedCatalog, head: ResolvedCatalog, stack: str
) -> tuple[ResolvedCatalog, ResolvedCatalog]:
    """A stack only one side declares is added or gone (as in the diff of every stack), not a problem
    of the other side; declared by neither, the problem stands."""
    from pulumi_tiktok_audiences.catalog import ResolvedCatalog, lacks_stack

    base_lacks, head_lacks = lacks_stack(base, stack), lacks_stack(head, stack)
    if base_lacks == head_lacks:
        return base, head
    if base_lacks:
        return ResolvedCatalog(base.file, (), {}, ()), head
    return base, ResolvedCatalog(head.file, (), {}, ())


def _diff_text(diffs: list[StackDiff]) -> list[str]:
    from pulumi_tiktok_audiences.catalog.diff import CHANGE_WORDS

    lines = []
    for diff in diffs:
        lines.append(diff.headline())
        for change in diff.changes if not diff.removed else ():
            mark, word = CHANGE_WORDS[change.kind]
            first, *rest = change.lines()
            lines.append(f"  {mark} {change.key} ({word}): {first}")
            lines += [f"      {line}" for line in rest]
    return lines


def _diff_markdown(diffs: list[StackDiff]) -> list[str]:
    from pulumi_tiktok_audiences.catalog.diff import CHANGE_WORDS

    lines = ["### Audience changes", ""]
    for diff in diffs:
        lines += [f"**{diff.headline()}**", ""]
        for change in diff.changes if not diff.removed else ():
            word = CHANGE_WORDS[change.kind][1]
            first, *rest = change.lines()
            lines.append(f"- `{change.key}` **{word}**: {first}")
            lines += [f"  - {line}" for line in rest]
        lines.append("")
    return lines


def _diff_json(base: ResolvedCatalog, head: ResolvedCatalog, diffs: list[StackDiff]) -> dict[str, Any]:
    def side(audience: CatalogAudience | None) -> dict[str, Any] | None:
        return None if audience is None else audience_json(audience)

    def entry(change: AudienceChange) -> dict[str, Any]:
        renamed = change.change.name if change.change is not None else None
        return {
            "key": change.key,
            "change": change.kind,
            "previous_key": change.previous_key,
            "fields": list(change.change.fields) if change.change is not None else [],
            "reasons": list(change.reasons),
            "name": {"before": renamed[0], "after": renamed[1]} if renamed else None,
            "suggested_previous_keys": [change.same_as] if change.same_as else [],
            "explanation": change.lines(),
            "before": side(change.before),
            "after": side(change.after),
        }

    return {
        "base": base.file,
        "head": head.file,
        "stacks": [
            {
                "stack": diff.stack,
                "removed": diff.removed,
                "changes": [entry(change) for change in diff.changes],
                "unchanged": list(diff.unchanged),
            }
            for diff in diffs
        ],
    }


GATE_EXIT: Final = 3
"""The exit status when --fail-on-replace or --fail-on-delete finds what it guards against."""


def _gates(diffs: list[StackDiff], on_replace: bool, on_delete: bool) -> list[str]:
    """One line per refused change: what a CI gate stops, and how to let it through."""
    refused = [
        (diff.stack, change)
        for diff in diffs
        if not diff.removed
        for change in diff.changes
        if (on_replace and change.kind == "replace") or (on_delete and change.kind == "delete")
    ]
    return [
        f"{'stack ' + stack + ': ' if stack else ''}audiences.{change.key} is "
        f"{'replaced' if change.kind == 'replace' else 'deleted'} (--fail-on-{change.kind})"
        for stack, change in refused
    ]


@command(
    epilog=examples(
        "tiktok-audiences diff old.yaml audiences.yaml",
        "tiktok-audiences diff origin/main:audiences.yaml audiences.yaml --format markdown",
        "tiktok-audiences diff --base-ref origin/main audiences.yaml --stack prod --format json",
    )
)
@click.argument("catalogs", nargs=-1, metavar="[BASE] HEAD")
@click.option(
    "--base-ref",
    metavar="REV",
    help="Take BASE from this git revision, at HEAD's path (e.g. origin/main); then give HEAD only.",
)
@stack_option("Compare this stack only (default: every stack of either catalog).")
@format_option("markdown", help_text="markdown: for a pull request's job summary; json: for programs.")
@click.option(
    "--fail-on-replace",
    is_flag=True,
    help=f"Exit with status {GATE_EXIT} if an audience would be replaced (the diff is still printed).",
)
@click.option(
    "--fail-on-delete",
    is_flag=True,
    help=f"Exit with status {GATE_EXIT} if an audience would be deleted (the diff is still printed).",
)
@click.pass_context
def diff(
    ctx: click.Context,
    catalogs: tuple[str, ...],
    base_ref: str | None,
    stack: str | None,
    output_format: str,
    fail_on_replace: bool,
    fail_on_delete: bool,
) -> None:
    """Say what deploying HEAD over BASE does to each audience, per stack, in plain English.

    BASE and HEAD are catalog files, `-` (standard input) or REV:PATH (a file in a git revision).
    Each audience is added, adopted, updated in place (same id), REPLACED (a new audience is
    created, starts empty and is calculated again; the reason is given) or deleted, as the
    provider decides at `pulumi up`. A key renamed through previous_keys keeps its audience.
    Exit status 1 if either catalog has problems; 3 with --fail-on-replace or --fail-on-delete
    when the diff holds what they guard against.
    """
    from pulumi_tiktok_audiences.catalog import diff_catalogs

    if len(catalogs) != (1 if base_ref else 2):
        wanted = "HEAD only with --base-ref" if base_ref else "BASE and HEAD"
        raise click.UsageError(f"give {wanted}; got {len(catalogs)} catalog argument(s)")
    if catalogs.count(STDIN) > 1:  # the second read would find standard input used up: an empty catalog
        raise click.UsageError("standard input (-) holds one catalog: give the other as a file or REV:PATH")
    head_arg = catalogs[-1]
    if base_ref and (head_arg == STDIN or not Path(head_arg).is_file()):
        raise click.BadParameter(f"with --base-ref, HEAD must be a file; got {head_arg!r}")
    if base_ref:
        where = Path(head_arg).resolve()
        base = _git_catalog(base_ref, f"./{where.name}", stack, cwd=where.parent)
    else:
        base = _read_side(catalogs[0], stack)
    head = _read_side(head_arg, stack)
    if stack is not None:
        base, head = _one_side_only(base, head, stack)
    problems = (*base.problems, *head.problems)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"fix {count(len(problems), 'problem')} first: the diff would be wrong", err=True)
        ctx.exit(1)
    diffs = diff_catalogs(base, head)
    if output_format == "json":
        echo_json(_diff_json(base, head, diffs))
    else:
        for line in _diff_markdown(diffs) if output_format == "markdown" else _diff_text(diffs):
            click.echo(line)
    refused = _gates(diffs, fail_on_replace, fail_on_delete)
    for line in refused:
        click.echo(f"refused: {line}", err=True)
    if refused:
        ctx.exit(GATE_EXIT)
