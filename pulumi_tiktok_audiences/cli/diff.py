"""``tiktok-audiences diff BASE HEAD``: what deploying HEAD over BASE does to each audience."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

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


_CHANGE_WORDS = {
    "add": ("+", "added"),
    "adopt": ("+", "adopted"),
    "rename": ("~", "renamed in place"),
    "replace": ("!", "REPLACED"),
    "delete": ("-", "deleted"),
}


def _change_lines(change: AudienceChange) -> list[str]:
    """One change in plain English: the headline, then indented details."""
    before, after = change.before, change.after
    if change.kind == "add" and after is not None:
        return [f"creates {after.spec.name!r}: {after.spec.summary()}"]
    if change.kind == "adopt" and after is not None:
        return [
            f"takes over the existing audience {after.adopt_audience_id} as {after.spec.name!r} "
            f"(nothing is created): {after.spec.summary()}"
        ]
    if change.kind == "delete" and before is not None:
        return [
            f"deletes {before.spec.name!r} from TikTok (ad groups still using it make the delete fail): "
            f"{before.spec.summary()}"
        ]
    assert before is not None, "renames and replacements have both sides"
    assert after is not None
    if change.kind == "rename":
        words = []
        if before.spec.name != after.spec.name:
            words.append(f"{before.spec.name!r} becomes {after.spec.name!r}")
        if before.spec.audience_sub_type != after.spec.audience_sub_type:
            words.append(f"moves to {after.spec.audience_sub_type}")
        return [f"{'; '.join(words)}; same audience id, ad groups keep it"]
    return [
        "a new audience is created, ad groups move to its id, then the old one is deleted",
        *(f"why: {reason}" for reason in change.reasons),
        f"before: {before.spec.summary()}",
        f"after:  {after.spec.summary()}",
    ]


def _stack_headline(diff: StackDiff) -> str:
    name = f"Stack {diff.stack}" if diff.stack is not None else "All stacks"
    if diff.removed:
        return (
            f"{name}: no longer in the catalog. Its program will fail rather than delete anything; "
            "to delete its audiences, run `pulumi destroy` on it"
        )
    counts = [
        f"{sum(c.kind == kind for c in diff.changes)} {_CHANGE_WORDS[kind][1]}"
        for kind in _CHANGE_WORDS
        if any(c.kind == kind for c in diff.changes)
    ]
    return f"{name}: {', '.join([*counts, f'{len(diff.unchanged)} unchanged'])}"


def _diff_text(diffs: list[StackDiff]) -> list[str]:
    lines = []
    for diff in diffs:
        lines.append(_stack_headline(diff))
        for change in diff.changes if not diff.removed else ():
            mark, word = _CHANGE_WORDS[change.kind]
            first, *rest = _change_lines(change)
            lines.append(f"  {mark} {change.key} ({word}): {first}")
            lines += [f"      {line}" for line in rest]
    return lines


def _diff_markdown(diffs: list[StackDiff]) -> list[str]:
    lines = ["### Audience changes", ""]
    for diff in diffs:
        lines += [f"**{_stack_headline(diff)}**", ""]
        for change in diff.changes if not diff.removed else ():
            word = _CHANGE_WORDS[change.kind][1]
            first, *rest = _change_lines(change)
            lines.append(f"- `{change.key}` **{word}**: {first}")
            lines += [f"  - {line}" for line in rest]
        lines.append("")
    return lines


def _diff_json(base: ResolvedCatalog, head: ResolvedCatalog, diffs: list[StackDiff]) -> dict[str, Any]:
    def side(audience: CatalogAudience | None) -> dict[str, Any] | None:
        return None if audience is None else audience_json(audience)

    return {
        "base": base.file,
        "head": head.file,
        "stacks": [
            {
                "stack": diff.stack,
                "removed": diff.removed,
                "changes": [
                    {
                        "key": change.key,
                        "change": change.kind,
                        "reasons": list(change.reasons),
                        "before": side(change.before),
                        "after": side(change.after),
                    }
                    for change in diff.changes
                ],
                "unchanged": list(diff.unchanged),
            }
            for diff in diffs
        ],
    }


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
@click.pass_context
def diff(
    ctx: click.Context, catalogs: tuple[str, ...], base_ref: str | None, stack: str | None, output_format: str
) -> None:
    """Say what deploying HEAD over BASE does to each audience, per stack, in plain English.

    BASE and HEAD are catalog files, `-` (standard input) or REV:PATH (a file in a git revision).
    Each audience is added, adopted, renamed in place (same id), REPLACED (a new audience is
    created, ad groups move to its id, then the old one is deleted; the reason is given) or
    deleted, as the provider decides at `pulumi up`. Exit status 1 if either catalog has problems.
    """
    from pulumi_tiktok_audiences.catalog import diff_catalogs

    if len(catalogs) != (1 if base_ref else 2):
        wanted = "HEAD only with --base-ref" if base_ref else "BASE and HEAD"
        raise click.UsageError(f"give {wanted}; got {len(catalogs)} catalog argument(s)")
    head_arg = catalogs[-1]
    if base_ref and (head_arg == STDIN or not Path(head_arg).is_file()):
        raise click.BadParameter(f"with --base-ref, HEAD must be a file; got {head_arg!r}")
    if base_ref:
        where = Path(head_arg).resolve()
        base = _git_catalog(base_ref, f"./{where.name}", stack, cwd=where.parent)
    else:
        base = _read_side(catalogs[0], stack)
    head = _read_side(head_arg, stack)
    problems = (*base.problems, *head.problems)
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"fix {count(len(problems), 'problem')} first: the diff would be wrong", err=True)
        ctx.exit(1)
    diffs = diff_catalogs(base, head)
    if output_format == "json":
        echo_json(_diff_json(base, head, diffs))
        return
    for line in _diff_markdown(diffs) if output_format == "markdown" else _diff_text(diffs):
        click.echo(line)
