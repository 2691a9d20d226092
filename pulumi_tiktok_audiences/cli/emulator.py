"""``tiktok-audiences emulator serve``: the local TikTok audience API emulator over HTTP."""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.cli.common import Group, examples


@click.group(cls=Group, epilog=examples("tiktok-audiences emulator serve --port 0"))
def emulator() -> None:
    """The local TikTok custom-audience API emulator."""


@emulator.command(
    epilog=examples(
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
@click.option(
    "--sandbox",
    is_flag=True,
    default=None,
    help="Answer as TikTok's sandbox: every audience endpoint and app/list refused with 40014 "
    "(the sandbox serves none of them). Default: $TIKTOK_EMULATOR_SANDBOX, else off.",
)
@click.option(
    "--processing-seconds",
    type=click.FloatRange(min=0),
    help="How long update and delete are refused as 'being processed' after a create or a "
    "recalculation, as TikTok does. Default: $TIKTOK_EMULATOR_PROCESSING_SECONDS, else 2; 0: never.",
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
    sandbox: bool | None,
    processing_seconds: float | None,
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
    from pulumi_tiktok_audiences.spec import error_paths

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
    except ValidationError as error:  # field by field: pydantic's own text repeats values, tokens too
        fields = "; ".join(f"{path or 'the seed'}: {message}" for path, message in error_paths(error))
        raise click.BadParameter(f"{seed_file}: {fields}", param_hint="--seed") from None
    except yaml.YAMLError as error:
        raise click.BadParameter(str(error), param_hint="--seed") from None

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    try:
        instance = Emulator(
            db,
            seed=seed,
            answer_shape=answer_shape,
            rate_tier=rate_tier,
            sandbox=sandbox,
            processing_seconds=processing_seconds,
        )
    except ValueError as error:  # a setting the flags' types cannot check: the message names it
        raise click.UsageError(str(error)) from None
    with instance, instance.serve(host, port) as server:
        click.echo(server.url)
        sys.stdout.flush()
        names = ", ".join(a.advertiser_id for a in seed.advertisers)
        click.echo(
            f"TikTok audience API emulator: {len(seed.tokens)} token(s), advertisers {names}", err=True
        )
        stop.wait()
