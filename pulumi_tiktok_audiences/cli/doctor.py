"""``tiktok-audiences doctor``: check that a deployment can work, before ``pulumi up``."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pulumi_tiktok_audiences.cli.common import (
    CATALOG_PATH,
    api_options,
    check_id,
    command,
    count,
    echo_json,
    examples,
    format_option,
    resolve,
    stack_option,
)

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.catalog import ResolvedCatalog
    from pulumi_tiktok_audiences.doctor import AppUse


def _app_uses(resolved: ResolvedCatalog) -> list[AppUse]:
    """Each app the catalog's audiences name, per advertiser, with the audiences and stacks."""
    from pulumi_tiktok_audiences.doctor import AppUse

    uses: dict[tuple[str, str], tuple[dict[str, None], dict[str, None]]] = {}
    for stack in resolved.stacks:
        for key, audience in resolved.audiences.get(stack, {}).items():
            spec = audience.spec
            for rule in (*spec.include, *spec.exclude):
                for app_id in spec.app_ids_for(rule):
                    keys, stacks = uses.setdefault((spec.advertiser_id, app_id), ({}, {}))
                    keys[key] = None
                    if stack is not None:
                        stacks[stack] = None
    return [
        AppUse(advertiser_id, app_id, tuple(keys), tuple(stacks))
        for (advertiser_id, app_id), (keys, stacks) in uses.items()
    ]


def _check_ids(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(check_id(ctx, param, item) for item in value)


@command(
    epilog=examples(
        "tiktok-audiences doctor --advertiser-id 7000000000000000001",
        "tiktok-audiences doctor --endpoint local --format json",
        "tiktok-audiences doctor audiences.yaml --stack prod",
    )
)
@click.argument("catalog", required=False, type=CATALOG_PATH)
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
@format_option(help_text="json: one object with every check, for scripts.")
@stack_option("With CATALOG: check this stack's apps only (default: every stack the catalog declares).")
@click.pass_context
def doctor(
    ctx: click.Context,
    catalog: str | None,
    endpoint: str,
    token: str | None,
    advertiser_ids: tuple[str, ...],
    developer_app_id: str | None,
    app_secret: str | None,
    output_format: str,
    stack: str | None,
) -> None:
    """Check that a deployment can work: endpoint, token, advertisers, apps, audience room, rate limit.

    Each failed check says what to do; exit status 1 if any check fails. With --endpoint local it
    checks the embedded emulator the same way. Given a CATALOG, it also checks that each app its
    audiences name is one of their advertiser's apps on TikTok (per stack: give the endpoint and
    token of the stacks checked).
    """
    from pulumi_tiktok_audiences.doctor import Check, DeveloperApp, Report, check_setup
    from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY

    if (developer_app_id is None) != (app_secret is None):
        raise click.UsageError("--developer-app-id and --app-secret go together")
    app = DeveloperApp(developer_app_id, app_secret) if developer_app_id and app_secret else None
    resolved = None if catalog is None else resolve(catalog, stack)
    report = check_setup(
        {TOKEN_KEY: token, ENDPOINT_KEY: endpoint},
        advertiser_ids=advertiser_ids,
        developer_app=app,
        app_uses=[] if resolved is None else _app_uses(resolved),
    )
    if resolved is not None and resolved.problems:
        problems = Check(
            "catalog",
            "fail",
            f"{resolved.file}: {count(len(resolved.problems), 'problem')}; "
            "the apps of the audiences that have one are not checked",
            f"run `tiktok-audiences validate {resolved.file}` and fix what it says",
        )
        report = Report(report.endpoint, [problems, *report.checks])
    if output_format == "json":
        echo_json(report.to_dict())
    else:
        click.echo(report.to_text())
    if not report.ok:
        ctx.exit(1)
