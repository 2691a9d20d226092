"""``tiktok-audiences doctor``: check that a deployment can work, before ``pulumi up``."""

from __future__ import annotations

import click

from pulumi_tiktok_audiences.cli.common import api_options, check_id, command, examples


def _check_ids(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(check_id(ctx, param, item) for item in value)


@command(
    epilog=examples(
        "tiktok-audiences doctor --advertiser-id 7000000000000000001",
        "tiktok-audiences doctor --endpoint local --format json",
    )
)
@api_options(note="without one, only the settings are checked")
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
    endpoint: str,
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
