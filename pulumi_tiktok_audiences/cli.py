"""The ``tiktok-audiences`` command line: one click group, one command per task.

* ``validate FILE``, ``explain FILE`` and ``diff BASE HEAD`` check, describe and compare audience
  catalogs offline (FILE ``-`` reads standard input); ``schema`` prints the catalog's JSON Schema;
* ``import --advertiser-id ID`` writes a catalog that adopts an ad account's existing audiences;
* ``pending`` finds the audiences of an interrupted ``pulumi up`` and prints the refresh that records them;
* ``doctor`` checks the endpoint, token, advertisers, apps, audience room and rate limit;
* ``emulator serve`` runs the local TikTok audience API emulator until SIGINT/SIGTERM.

Exit status: 0 success, 1 problems found or the operation failed, 2 usage error, 141 the reader
of the output went away (``| head``), silently, as git does. Errors print one line; ``--debug``
(before or after the command) adds the traceback and the API client's debug log, which never
holds the token. Results go to stdout; progress and summaries to stderr. New commands join with
``@main.command()`` and get ``--debug`` and the error handling without further code.
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.settings import ENDPOINT_ENV, TOKEN_ENV

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.catalog import (
        AudienceChange,
        CatalogAudience,
        Problem,
        ResolvedCatalog,
        StackDiff,
    )

_F = TypeVar("_F", bound=Callable[..., Any])

_SIGPIPE_EXIT = 141
"""128 + SIGPIPE: what a shell reports for a writer whose reader closed the pipe."""


def _enable_debug(ctx: click.Context, param: click.Parameter, value: bool) -> None:
    """``--debug`` anywhere: tracebacks on errors, the package's log on stderr."""
    root = ctx.find_root()
    if not value or root.meta.get("debug"):
        return
    root.meta["debug"] = True
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    package_log = logging.getLogger("pulumi_tiktok_audiences")
    package_log.addHandler(handler)
    package_log.setLevel(logging.DEBUG)
    root.call_on_close(lambda: package_log.removeHandler(handler))


def _debug_option() -> click.Option:
    return click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_enable_debug,
        help="On errors, show the traceback; log API calls to stderr.",
    )


class _Command(click.Command):
    """A subcommand: accepts ``--debug`` after its name too (where CI scripts tend to add it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(_debug_option())


class _Main(click.Group):
    """Turns any failure into one line on stderr and exit status 1, unless ``--debug``."""

    command_class = _Command
    group_class = type  # subgroups are _Main too, so their commands get --debug

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, and keep Python's final flush of
            # stdout from failing again (the recipe of the signal module's documentation).
            with suppress(OSError, ValueError):  # no file descriptor: not a real pipe
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(_SIGPIPE_EXIT)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.find_root().meta.get("debug"):
                raise
            raise click.ClickException(_one_line(exc)) from None


def _one_line(exc: Exception) -> str:
    from pulumi_tiktok_audiences.errors import TikTokAudiencesError

    if isinstance(exc, TikTokAudiencesError | OSError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"
    return " ".join(text.split())


def _examples(*lines: str) -> str:
    """A help epilog; click keeps the lines of a paragraph that starts with \\b as written."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


@click.group(
    cls=_Main,
    epilog=_examples(
        "tiktok-audiences validate audiences.yaml",
        "tiktok-audiences diff --base-ref origin/main audiences.yaml",
        "tiktok-audiences --debug import --advertiser-id 7000000000000000001 -o audiences.yaml",
    ),
)
@click.option(
    "--debug",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_enable_debug,
    help="On errors, show the traceback; log API calls to stderr (also accepted after the command).",
)
@click.version_option(package_name="pulumi-tiktok-audiences")
def main() -> None:
    """Manage TikTok App Activity audiences as code."""


# --- Catalogs ---------------------------------------------------------------------------------

_STDIN = "-"
_STDIN_NAME = "<stdin>"
_CATALOG = click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))


def _resolve(file: str, stack: str | None) -> ResolvedCatalog:
    """A catalog file, or standard input for ``-``, resolved (within the same size limit)."""
    from pulumi_tiktok_audiences.catalog import MAX_CATALOG_BYTES, resolve_bytes, resolve_catalog

    if file == _STDIN:
        return resolve_bytes(sys.stdin.buffer.read(MAX_CATALOG_BYTES + 1), _STDIN_NAME, stack)
    return resolve_catalog(file, stack)


def _check_stack(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from pulumi_tiktok_audiences.catalog import KEY_PATTERN

    if value is not None and not re.fullmatch(KEY_PATTERN, value):
        raise click.BadParameter(f"a stack name holds letters, digits, '-', '_' and '.'; got {value!r}")
    return value


def _stack_option(help_text: str) -> Callable[[_F], _F]:
    return click.option("--stack", metavar="NAME", callback=_check_stack, help=help_text)


def _format_option(*choices: str, help_text: str) -> Callable[[_F], _F]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", *choices, "json"]),
        default="text",
        show_default=True,
        help=help_text,
    )


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


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
    if workspace and file != _STDIN_NAME:
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


def _problems_json(problems: tuple[Problem, ...]) -> list[dict[str, Any]]:
    return [asdict(problem) for problem in problems]


def _audience_json(audience: CatalogAudience) -> dict[str, Any]:
    return {
        "key": audience.key,
        "name": audience.spec.name,
        "advertiser_id": audience.spec.advertiser_id,
        "summary": audience.spec.summary(),
        "adopt_audience_id": audience.adopt_audience_id,
        "spec": audience.spec.model_dump(mode="json", exclude_none=True),
    }


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


@main.command(
    epilog=_examples(
        "tiktok-audiences validate audiences.yaml",
        "tiktok-audiences validate audiences.yaml --stack prod --format github",
        "cat audiences.yaml | tiktok-audiences validate - --format json",
    )
)
@_CATALOG
@_stack_option("Check this stack only (default: every stack the catalog declares).")
@_format_option(
    "github", help_text="github: annotations on the pull request's lines; json: one object for programs."
)
@click.pass_context
def validate(ctx: click.Context, file: str, stack: str | None, output_format: str) -> None:
    """Check an audience catalog offline, as `pulumi preview` would.

    Prints one line per problem, in file order, FILE:LINE: property.path: what is wrong and what
    to do, and exits with status 1 if there is any. Warnings (almost surely a mistake, but
    deployable) are printed too and do not change the exit status.
    """
    resolved = _resolve(file, stack)
    report = resolved.report()
    count = len({key for audiences in resolved.audiences.values() for key in audiences})
    stacks = [s for s in resolved.stacks if s is not None]
    if output_format == "json":
        _echo_json(
            {
                "file": resolved.file,
                "stacks": stacks,
                "audiences": count,
                "ok": not resolved.problems,
                "problems": _problems_json(report),
            }
        )
    else:
        for problem in report:
            click.echo(_github_line(problem) if output_format == "github" else str(problem))
    if resolved.problems:
        click.echo(f"{resolved.file}: {_count(len(resolved.problems), 'problem')}", err=True)
        ctx.exit(1)
    if output_format != "json":
        where = f" (stacks {', '.join(stacks)})" if stacks else ""
        warned = f", {_count(len(resolved.warnings), 'warning')}" if resolved.warnings else ""
        click.echo(f"{resolved.file}: {_count(count, 'audience')}{where}, no problems{warned}")


@main.command(
    epilog=_examples(
        "tiktok-audiences explain audiences.yaml",
        "tiktok-audiences explain audiences.yaml --stack prod --format json",
    )
)
@_CATALOG
@_stack_option("Explain this stack only (default: every stack the catalog declares).")
@_format_option(help_text="json: every audience with its spec and summary, and the problems.")
@click.pass_context
def explain(ctx: click.Context, file: str, stack: str | None, output_format: str) -> None:
    """Print each audience of a catalog in plain English, per stack.

    Problems, if any, go to stderr (exit status 1); the valid audiences are still explained.
    """
    resolved = _resolve(file, stack)
    if output_format == "json":
        _echo_json(
            {
                "file": resolved.file,
                "stacks": [
                    {
                        "stack": name,
                        "audiences": [_audience_json(a) for a in resolved.audiences[name].values()],
                    }
                    for name in resolved.stacks
                    if name in resolved.audiences
                ],
                "problems": _problems_json(resolved.report()),
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


# --- diff -------------------------------------------------------------------------------------


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
    if value == _STDIN or Path(value).is_file():
        return _resolve(value, stack)
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
        return None if audience is None else _audience_json(audience)

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


@main.command(
    epilog=_examples(
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
@_stack_option("Compare this stack only (default: every stack of either catalog).")
@_format_option("markdown", help_text="markdown: for a pull request's job summary; json: for programs.")
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
    if base_ref and (head_arg == _STDIN or not Path(head_arg).is_file()):
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
        click.echo(f"fix {_count(len(problems), 'problem')} first: the diff would be wrong", err=True)
        ctx.exit(1)
    diffs = diff_catalogs(base, head)
    if output_format == "json":
        _echo_json(_diff_json(base, head, diffs))
        return
    for line in _diff_markdown(diffs) if output_format == "markdown" else _diff_text(diffs):
        click.echo(line)


@main.command(
    epilog=_examples(
        "tiktok-audiences schema > audiences.schema.json",
    )
)
def schema() -> None:
    """Print the JSON Schema of audience catalogs, for editors to validate as you type.

    Save it next to the catalog and add the line
    `# yaml-language-server: $schema=audiences.schema.json` at the top of audiences.yaml.
    """
    from pulumi_tiktok_audiences.catalog import schema_text

    click.echo(schema_text(), nl=False)


# --- Import -----------------------------------------------------------------------------------


def _check_endpoint(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from pulumi_tiktok_audiences.client import resolve_base_url
    from pulumi_tiktok_audiences.settings import LOCAL

    if value == LOCAL:
        return value
    try:
        resolve_base_url(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}, or {LOCAL}") from None
    return value


def _check_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not (value.isascii() and value.isdigit()):
        raise click.BadParameter(f"an advertiser id is digits only, e.g. 7000000000000000001; got {value!r}")
    return value


def _check_writable(output: Path, force: bool) -> None:
    """Refuse an output that cannot be written before spending any API call on the account."""
    if output.exists() and not force:
        raise click.UsageError(f"{output} exists; pass --force to overwrite it")
    if output.is_dir():
        raise click.UsageError(f"{output} is a directory; give a file name")
    folder = output.parent
    if not folder.is_dir():
        raise click.UsageError(f"cannot write {output}: the folder {folder} does not exist")
    if not os.access(output if output.exists() else folder, os.W_OK):
        raise click.UsageError(f"cannot write {output}: permission denied")


@contextmanager
def _announced_retries() -> Iterator[None]:
    """Print each retry of the API client on stderr, so a slow or refused connection is not silent."""
    from pulumi_tiktok_audiences.client import retry

    class Echo(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            click.echo(f"  {record.getMessage()}", err=True)

    log = logging.getLogger(retry.__name__)
    handler, level = Echo(logging.DEBUG), log.level
    log.addHandler(handler)
    if log.getEffectiveLevel() > logging.DEBUG:
        log.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)


@main.command(
    "import",
    epilog=_examples(
        "export TIKTOK_ACCESS_TOKEN=...",
        "tiktok-audiences import --advertiser-id 7000000000000000001 -o audiences.yaml",
        "tiktok-audiences import --advertiser-id 7000000000000000002 --stack prod -o prod.yaml",
        "TIKTOK_ENDPOINT=local tiktok-audiences import --advertiser-id 7000000000000000001",
    ),
)
@click.option(
    "--advertiser-id", required=True, metavar="ID", callback=_check_id, help="The ad account to read."
)
@click.option(
    "--endpoint",
    default="production",
    envvar=ENDPOINT_ENV,
    show_envvar=True,
    show_default=True,
    callback=_check_endpoint,
    help="production, sandbox, local (the embedded emulator in .tiktok-emulator/) or an http(s) URL; "
    "the provider reads the same variable.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    metavar="TOKEN",
    help="TikTok access token. Prefer the environment variable (flags show in process lists); "
    "asked for, hidden, when missing.",
)
@_stack_option(
    "Write the account and the adoptions under stacks.NAME, for a catalog that serves several stacks."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    help="Write the catalog to this file (default: stdout); checked before the account is read.",
)
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
def import_(
    advertiser_id: str,
    endpoint: str,
    token: str | None,
    stack: str | None,
    output: Path | None,
    force: bool,
) -> None:
    """Write a catalog that adopts an ad account's existing audiences.

    Reads every audience of the advertiser. Rule-based App Activity audiences become catalog
    entries with adopt_audience_id, so the next `pulumi up` takes them over without creating
    anything; every other audience is listed as skipped, with the reason (on stderr and at the
    end of the file).
    """
    from pulumi_tiktok_audiences import importing
    from pulumi_tiktok_audiences.catalog import resolve_text
    from pulumi_tiktok_audiences.client import resolve_base_url
    from pulumi_tiktok_audiences.settings import LOCAL, LOCAL_DB, ProviderSettings

    if output is not None:
        _check_writable(output, force)
    if not token and endpoint != LOCAL:
        if not sys.stdin.isatty():
            raise click.UsageError(f"no access token: set {TOKEN_ENV} or pass --token")
        token = click.prompt("TikTok access token", hide_input=True)
    source = f"the local emulator ({LOCAL_DB})" if endpoint == LOCAL else resolve_base_url(endpoint)
    click.echo(f"Reading advertiser {advertiser_id} from {source}", err=True)
    with ProviderSettings.for_command(token, endpoint).make_client() as client, _announced_retries():
        with click.progressbar(
            client.iter_audiences(advertiser_id),
            label=f"Listing the audiences of advertiser {advertiser_id}",
            file=sys.stderr,
            show_pos=True,
        ) as listing:
            ids = [summary.audience_id for summary in listing]
        with click.progressbar(length=len(ids), label="Reading their details", file=sys.stderr) as bar:
            details = importing.fetch_details(client, advertiser_id, ids, on_batch=bar.update)
        result = importing.classify(advertiser_id, details, client.server_now())
    text = result.to_yaml(stack)
    written = resolve_text(text, str(output or "<stdout>"), stack)
    if {key for audiences in written.audiences.values() for key in audiences} != {
        adopted.key for adopted in result.adopted
    }:  # a bug, not the account's fault: say so rather than write a broken file
        raise RuntimeError("the written catalog does not validate: " + "; ".join(map(str, written.problems)))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
    where = f" into {output}" if output else ""
    click.echo(
        f"Adopting {len(result.adopted)} App Activity audiences of advertiser {advertiser_id}{where}; "
        f"skipped {len(result.skipped)}.",
        err=True,
    )
    for item in result.skipped:
        click.echo(f"  skipped {item}", err=True)
    click.echo("The next `pulumi up` takes the adopted audiences over; none is created.", err=True)
    if written.problems or written.warnings:  # the account's own mistakes, such as two equal audiences
        click.echo("Settle these before that `pulumi up` (the account holds them as they are):", err=True)
        for problem in written.report():
            click.echo(f"  {problem}", err=True)


# --- Pending creates ---------------------------------------------------------------------------


@main.command(
    epilog=_examples(
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
@click.option(
    "--endpoint",
    default="production",
    show_default=True,
    callback=_check_endpoint,
    help="production, sandbox, local (the embedded emulator in .tiktok-emulator/) or an http(s) URL.",
)
@click.option(
    "--token",
    envvar=TOKEN_ENV,
    show_envvar=True,
    metavar="TOKEN",
    help="TikTok access token. Prefer the environment variable (flags show in process lists).",
)
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
    from pulumi_tiktok_audiences.settings import LOCAL, ProviderSettings

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
    if not token and endpoint != LOCAL:
        raise click.UsageError(f"no access token: set {TOKEN_ENV} or pass --token")
    with ProviderSettings(access_token=token, endpoint=endpoint).make_client() as client:
        findings = [pending_creates.find(client, p, held) for p in found]
    for finding in findings:
        if finding.audience_id is not None:
            click.echo(f"{finding.pending.urn}: audience {finding.audience_id}", err=True)
        else:
            click.echo(f"{finding.pending.urn}: {finding.problem}", err=True)
    command = pending_creates.refresh_command(findings, stack)
    if command is not None:
        if run:
            subprocess.run(command, check=True)  # noqa: S603 - a fixed program, ids read from TikTok
        else:
            click.echo(pending_creates.shell_text(command))
    if any(f.audience_id is None for f in findings):
        ctx.exit(1)


# --- Doctor -----------------------------------------------------------------------------------


def _check_ids(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(_check_id(ctx, param, item) for item in value)


def _check_optional_endpoint(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    return None if value is None else _check_endpoint(ctx, param, value)


@main.command(
    epilog=_examples(
        "tiktok-audiences doctor --advertiser-id 7000000000000000001",
        "tiktok-audiences doctor --endpoint local --format json",
    )
)
@click.option(
    "--endpoint",
    callback=_check_optional_endpoint,
    help="production, sandbox, local or an http(s) URL (default: TIKTOK_ENDPOINT, else production).",
)
@click.option("--token", envvar=TOKEN_ENV, show_envvar=True, metavar="TOKEN", help="TikTok access token.")
@click.option(
    "--advertiser-id",
    "advertiser_ids",
    multiple=True,
    metavar="ID",
    callback=_check_ids,
    help="An advertiser to check (repeatable; default: TIKTOK_ADVERTISER_ID).",
)
@click.option(
    "--developer-app-id",
    envvar="TIKTOK_DEVELOPER_APP_ID",
    show_envvar=True,
    metavar="ID",
    help="Your developer app's id: with --app-secret, lists every advertiser the token may use.",
)
@click.option(
    "--app-secret",
    envvar="TIKTOK_APP_SECRET",
    show_envvar=True,
    metavar="SECRET",
    help="Your developer app's secret (prefer the environment variable).",
)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one object with every check, for scripts.",
)
@click.pass_context
def doctor(
    ctx: click.Context,
    endpoint: str | None,
    token: str | None,
    advertiser_ids: tuple[str, ...],
    developer_app_id: str | None,
    app_secret: str | None,
    output_format: str,
) -> None:
    """Check that a deployment can work: endpoint, token, advertisers, apps, audience room, rate limit.

    Each failed check says what to do; exit status 1 if any check fails. With --endpoint local it
    checks the embedded emulator the same way.
    """
    import json

    from pulumi_tiktok_audiences.doctor import DeveloperApp, check_setup
    from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY

    if (developer_app_id is None) != (app_secret is None):
        raise click.UsageError("--developer-app-id and --app-secret go together")
    app = DeveloperApp(developer_app_id, app_secret) if developer_app_id and app_secret else None
    report = check_setup(
        {TOKEN_KEY: token, ENDPOINT_KEY: endpoint}, advertiser_ids=advertiser_ids, developer_app=app
    )
    if output_format == "json":
        click.echo(json.dumps(report.to_dict(), indent=2, ensure_ascii=False))
    else:
        click.echo(report.to_text())
    if not report.ok:
        ctx.exit(1)


# --- Emulator ---------------------------------------------------------------------------------


@main.group(epilog=_examples("tiktok-audiences emulator serve --port 0"))
def emulator() -> None:
    """The local TikTok custom-audience API emulator."""


@emulator.command(
    epilog=_examples(
        "tiktok-audiences emulator serve --port 0",
        "tiktok-audiences emulator serve --port 8765 --db state.db --token my-token \\",
        "    --advertiser 7000000000000000001 --app 6400000001",
    )
)
@click.option(
    "--host", default="127.0.0.1", show_default=True, help="Interface to listen on (keep it local)."
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="0 picks a free port."
)
@click.option(
    "--db", default=":memory:", show_default=True, help="SQLite file keeping state across restarts."
)
@click.option(
    "--seed",
    "seed_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML seed: tokens, advertisers, Business Centers, apps, population timing.",
)
@click.option("--token", "tokens", multiple=True, help="An accepted access token (repeatable).")
@click.option(
    "--advertiser", "advertisers", multiple=True, help="An advertiser ID the tokens may use (repeatable)."
)
@click.option("--app", "apps", multiple=True, help="An app ID every advertiser owns (repeatable).")
@click.option(
    "--answer-shape",
    metavar="SHAPE",
    help="How get spells rules: backend (default: TikTok's backend shape), adgroup or request. "
    "Default: $TIKTOK_EMULATOR_ANSWER_SHAPE, else backend.",
)
@click.option(
    "--rate-tier",
    type=click.Choice(list(constants.RATE_TIERS), case_sensitive=False),
    help="Enforce TikTok's rate limits of this tier per developer app (default: none).",
)
def serve(
    host: str,
    port: int,
    db: str,
    seed_file: Path | None,
    tokens: tuple[str, ...],
    advertisers: tuple[str, ...],
    apps: tuple[str, ...],
    answer_shape: str | None,
    rate_tier: str | None,
) -> None:
    """Serve the emulator over HTTP; the first line of output is its URL.

    Without --seed or flags the default seed applies (token "emulator-token", advertisers
    7000000000000000001-3 and 7000000000000000009; see pulumi_tiktok_audiences.emulator.seed).
    With flags, every token may act for every advertiser and every app belongs to every advertiser,
    all in one Business Center.
    """
    import yaml
    from pydantic import ValidationError

    from pulumi_tiktok_audiences.emulator import DEFAULT_SEED, Emulator, Seed, load_seed

    if seed_file is not None and (tokens or advertisers or apps):
        raise click.UsageError("give either --seed or --token/--advertiser/--app, not both")
    if (tokens or apps) and not advertisers:
        raise click.UsageError("--token and --app need at least one --advertiser")
    try:
        if seed_file is not None:
            seed = load_seed(seed_file)
        elif advertisers:
            seed = Seed.from_flags(tokens, advertisers, apps)
        else:
            seed = DEFAULT_SEED
    except (ValidationError, yaml.YAMLError) as error:
        raise click.BadParameter(str(error), param_hint="seed") from None

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        instance = Emulator(db, seed=seed, answer_shape=answer_shape, rate_tier=rate_tier)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--answer-shape") from None
    with instance, instance.serve(host, port) as server:
        click.echo(server.url)
        sys.stdout.flush()
        names = ", ".join(a.advertiser_id for a in seed.advertisers)
        click.echo(
            f"TikTok audience API emulator: {len(seed.tokens)} token(s), advertisers {names}", err=True
        )
        stop.wait()


if __name__ == "__main__":
    main()
