"""The ``tiktok-audiences`` command line: one click group, one command per task.

* ``validate FILE`` and ``explain FILE`` check and describe an audience catalog offline;
  ``schema`` prints the catalog's JSON Schema (for editors);
* ``import --advertiser-id ID`` writes a catalog that adopts an ad account's existing audiences;
* ``pending`` finds the audiences of an interrupted ``pulumi up`` and prints the refresh that records them;
* ``doctor`` checks the endpoint, token, advertisers, apps, audience room and rate limit;
* ``emulator serve`` runs the local TikTok audience API emulator until SIGINT/SIGTERM.

Exit status: 0 success, 1 problems found or the operation failed, 2 usage error. Errors print one
line; ``--debug`` adds the traceback (and the API client's debug log, which never holds the token).
Results go to stdout; progress and summaries to stderr.
"""

from __future__ import annotations

import logging
import re
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.settings import TOKEN_ENV

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.catalog import Problem

_F = TypeVar("_F", bound=Callable[..., Any])


class _Main(click.Group):
    """Turns any failure into one line on stderr and exit status 1, unless ``--debug``."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.params.get("debug"):
                raise
            raise click.ClickException(_one_line(exc)) from None


def _one_line(exc: Exception) -> str:
    from pulumi_tiktok_audiences.errors import TikTokAudiencesError

    if isinstance(exc, TikTokAudiencesError | OSError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"
    return " ".join(text.split())


@click.group(cls=_Main)
@click.option("--debug", is_flag=True, help="On errors, show the traceback; log API calls to stderr.")
@click.version_option(package_name="pulumi-tiktok-audiences")
def main(debug: bool) -> None:
    """Manage TikTok App Activity audiences as code."""
    if debug:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        package_log = logging.getLogger("pulumi_tiktok_audiences")
        package_log.addHandler(handler)
        package_log.setLevel(logging.DEBUG)
        click.get_current_context().call_on_close(lambda: package_log.removeHandler(handler))


# --- Catalogs ---------------------------------------------------------------------------------

_CATALOG = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


def _check_stack(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from pulumi_tiktok_audiences.catalog import KEY_PATTERN

    if value is not None and not re.fullmatch(KEY_PATTERN, value):
        raise click.BadParameter(f"a stack name holds letters, digits, '-', '_' and '.'; got {value!r}")
    return value


def _stack_option(help_text: str) -> Callable[[_F], _F]:
    return click.option("--stack", metavar="NAME", callback=_check_stack, help=help_text)


def _github_escape(text: str, *, property_value: bool = False) -> str:
    """GitHub workflow-command escaping (properties also escape ':' and ',')."""
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if property_value else text


def _github_line(problem: Problem) -> str:
    file = _github_escape(problem.file, property_value=True)
    title = _github_escape(problem.path or "catalog", property_value=True)
    return f"::error file={file},line={problem.line},title={title}::{_github_escape(problem.message)}"


@main.command()
@_CATALOG
@_stack_option("Check this stack only (default: every stack the catalog declares).")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "github"]),
    default="text",
    show_default=True,
    help="github: workflow commands that annotate the lines of a pull request.",
)
@click.pass_context
def validate(ctx: click.Context, file: Path, stack: str | None, output_format: str) -> None:
    """Check an audience catalog offline, as `pulumi preview` would.

    Prints one line per problem, FILE:LINE: property.path: what is wrong and what is allowed,
    and exits with status 1 if there is any.
    """
    from pulumi_tiktok_audiences.catalog import resolve_catalog

    resolved = resolve_catalog(file, stack)
    for problem in resolved.problems:
        click.echo(_github_line(problem) if output_format == "github" else str(problem))
    if resolved.problems:
        count = len(resolved.problems)
        click.echo(f"{file}: {count} problem{'s' if count > 1 else ''}", err=True)
        ctx.exit(1)
    count = len({key for audiences in resolved.audiences.values() for key in audiences})
    stacks = ", ".join(s for s in resolved.stacks if s is not None)
    noun = "audience" if count == 1 else "audiences"
    click.echo(f"{file}: {count} {noun}{f' (stacks {stacks})' if stacks else ''}, no problems")


@main.command()
@_CATALOG
@_stack_option("Explain this stack only (default: every stack the catalog declares).")
@click.pass_context
def explain(ctx: click.Context, file: Path, stack: str | None) -> None:
    """Print each audience of a catalog in plain English, per stack.

    Problems, if any, go to stderr (exit status 1); the valid audiences are still explained.
    """
    from pulumi_tiktok_audiences.catalog import resolve_catalog

    resolved = resolve_catalog(file, stack)
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
    for problem in resolved.problems:
        click.echo(str(problem), err=True)
    if resolved.problems:
        ctx.exit(1)


@main.command()
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


@main.command("import")
@click.option(
    "--advertiser-id", required=True, metavar="ID", callback=_check_id, help="The ad account to read."
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
    help="TikTok access token. Prefer the environment variable (flags show in process lists); "
    "asked for, hidden, when missing.",
)
@_stack_option(
    "Write the account and the adoptions under stacks.NAME, for a catalog that serves several stacks."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the catalog to this file (default: stdout).",
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
    from pulumi_tiktok_audiences.settings import LOCAL, ProviderSettings

    if output is not None and output.exists() and not force:
        raise click.UsageError(f"{output} exists; pass --force to overwrite it")
    if not token and endpoint != LOCAL:
        if not sys.stdin.isatty():
            raise click.UsageError(f"no access token: set {TOKEN_ENV} or pass --token")
        token = click.prompt("TikTok access token", hide_input=True)
    with ProviderSettings.for_command(token, endpoint).make_client() as client:
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
    if written.problems:  # a bug, not the account's fault: say so rather than write a broken file
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


# --- Pending creates ---------------------------------------------------------------------------


@main.command()
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


@main.command()
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


@main.group()
def emulator() -> None:
    """The local TikTok custom-audience API emulator."""


@emulator.command()
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
