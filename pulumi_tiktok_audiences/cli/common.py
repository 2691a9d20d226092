"""What every command shares: ``--debug``, one-line errors, catalog reading, shared options.

Commands are declared with :func:`command` (or as commands of a :class:`Group`), which gives
them ``--debug`` after their name and the group's error handling without further code.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pulumi_tiktok_audiences.settings import ENDPOINT_ENV, TOKEN_ENV

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.catalog import CatalogAudience, Problem, ResolvedCatalog

F = TypeVar("F", bound=Callable[..., Any])

SIGPIPE_EXIT = 141
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


def debug_option(help_text: str = "On errors, show the traceback; log API calls to stderr.") -> click.Option:
    return click.Option(
        ["--debug"],
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=_enable_debug,
        help=help_text,
    )


class Command(click.Command):
    """A subcommand: accepts ``--debug`` after its name too (where CI scripts tend to add it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.params.append(debug_option())


class Group(click.Group):
    """Turns any failure into one line on stderr and exit status 1, unless ``--debug``."""

    command_class = Command
    group_class = type  # subgroups are Group too, so their commands get --debug

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BrokenPipeError:
            # The reader went away (`| head`): stop quietly, and keep Python's final flush of
            # stdout from failing again (the recipe of the signal module's documentation).
            with suppress(OSError, ValueError):  # no file descriptor: not a real pipe
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(SIGPIPE_EXIT)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if ctx.find_root().meta.get("debug"):
                raise
            raise click.ClickException(one_line(exc)) from None


def command(*args: Any, **kwargs: Any) -> Callable[[Callable[..., Any]], Command]:
    """``click.command`` for a subcommand of the main group: a :class:`Command`."""
    return click.command(*args, cls=Command, **kwargs)


def one_line(exc: Exception) -> str:
    from pulumi_tiktok_audiences.errors import TikTokAudiencesError

    if isinstance(exc, TikTokAudiencesError | OSError):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc} (run with --debug for the traceback)"
    return " ".join(text.split())


def examples(*lines: str) -> str:
    """A help epilog; click keeps the lines of a paragraph that starts with \\b as written."""
    return "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in lines)


# --- Catalogs ---------------------------------------------------------------------------------

STDIN = "-"
STDIN_NAME = "<stdin>"
CATALOG_PATH = click.Path(exists=True, dir_okay=False, allow_dash=True)
CATALOG = click.argument("file", type=CATALOG_PATH)


def resolve(file: str, stack: str | None) -> ResolvedCatalog:
    """A catalog file, or standard input for ``-``, resolved (within the same size limit)."""
    from pulumi_tiktok_audiences.catalog import MAX_CATALOG_BYTES, resolve_bytes, resolve_catalog

    if file == STDIN:
        return resolve_bytes(sys.stdin.buffer.read(MAX_CATALOG_BYTES + 1), STDIN_NAME, stack)
    return resolve_catalog(file, stack)


def _check_stack(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from pulumi_tiktok_audiences.catalog import KEY_PATTERN

    if value is not None and not re.fullmatch(KEY_PATTERN, value):
        raise click.BadParameter(f"a stack name holds letters, digits, '-', '_' and '.'; got {value!r}")
    return value


def stack_option(help_text: str) -> Callable[[F], F]:
    return click.option("--stack", metavar="NAME", callback=_check_stack, help=help_text)


def format_option(*choices: str, help_text: str) -> Callable[[F], F]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(["text", *choices, "json"]),
        default="text",
        show_default=True,
        help=help_text,
    )


def echo_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


def problems_json(problems: tuple[Problem, ...]) -> list[dict[str, Any]]:
    return [asdict(problem) for problem in problems]


def audience_json(audience: CatalogAudience) -> dict[str, Any]:
    return {
        "key": audience.key,
        "name": audience.spec.name,
        "advertiser_id": audience.spec.advertiser_id,
        "summary": audience.spec.summary(),
        "adopt_audience_id": audience.adopt_audience_id,
        "previous_keys": list(audience.previous_keys),
        "protect": bool(audience.protect),
        "wait_until_targetable": bool(audience.wait_until_targetable),
        "spec": audience.spec.model_dump(mode="json", exclude_none=True),
    }


def count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


# --- TikTok's API -----------------------------------------------------------------------------

DEFAULT_ENDPOINT = "production"


def check_endpoint(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from pulumi_tiktok_audiences.client import resolve_base_url
    from pulumi_tiktok_audiences.settings import LOCAL

    if value == LOCAL:
        return value
    try:
        resolve_base_url(value)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}, or {LOCAL}") from None
    return value


def api_options(note: str = "") -> Callable[[F], F]:
    """``--endpoint`` and ``--token`` of every command that talks to TikTok, resolved the same way:
    the flag, then TIKTOK_ENDPOINT / TIKTOK_ACCESS_TOKEN (as the provider reads them), then
    production (the token has no default)."""
    endpoint = click.option(
        "--endpoint",
        default=DEFAULT_ENDPOINT,
        envvar=ENDPOINT_ENV,
        show_envvar=True,
        show_default=True,
        callback=check_endpoint,
        help="production, sandbox, local (the embedded emulator in .tiktok-emulator/) or an http(s) URL; "
        "the provider reads the same variable.",
    )
    token = click.option(
        "--token",
        envvar=TOKEN_ENV,
        show_envvar=True,
        metavar="TOKEN",
        help="TikTok access token. Prefer the environment variable (flags show in process lists)"
        + (f"; {note}." if note else "."),
    )

    def decorate(function: F) -> F:
        return endpoint(token(function))

    return decorate


def require_token(token: str | None, endpoint: str, *, ask: bool = False) -> str | None:
    """The token a command needs: none for the embedded emulator; else asked for (hidden) when
    ``ask`` and on a terminal, or a usage error naming both ways to give it."""
    from pulumi_tiktok_audiences.settings import LOCAL

    if token or endpoint == LOCAL:
        return token
    if ask and sys.stdin.isatty():
        answer: str = click.prompt("TikTok access token", hide_input=True)
        return answer
    raise click.UsageError(f"no access token: set {TOKEN_ENV} or pass --token")


def check_id(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if not (value.isascii() and value.isdigit()):
        raise click.BadParameter(f"an advertiser id is digits only, e.g. 7000000000000000001; got {value!r}")
    return value
