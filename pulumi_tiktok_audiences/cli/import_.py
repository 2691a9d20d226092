"""``tiktok-audiences import``: a catalog that adopts an ad account's existing audiences."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from pulumi_tiktok_audiences.cli.common import (
    api_options,
    check_id,
    command,
    examples,
    require_token,
    stack_option,
)


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


@command(
    "import",
    epilog=examples(
        "export TIKTOK_ACCESS_TOKEN=...",
        "tiktok-audiences import --advertiser-id 7000000000000000001 -o audiences.yaml",
        "tiktok-audiences import --advertiser-id 7000000000000000002 --stack prod -o prod.yaml",
        "TIKTOK_ENDPOINT=local tiktok-audiences import --advertiser-id 7000000000000000001",
    ),
)
@click.option(
    "--advertiser-id", required=True, metavar="ID", callback=check_id, help="The ad account to read."
)
@api_options(note="asked for, hidden, when missing")
@stack_option(
    "Write the account and the adoptions under stacks.NAME, for a catalog that serves several stacks."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, allow_dash=True),
    help="Write the catalog to this file (default, or -: stdout); checked before the account is read.",
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

    if output == Path("-"):  # the usual spelling of stdout, never a file named "-"
        output = None
    if output is not None:
        _check_writable(output, force)
    token = require_token(token, endpoint, ask=True)
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
