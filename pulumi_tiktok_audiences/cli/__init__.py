"""The ``tiktok-audiences`` command line: one click group, one module per command.

* ``validate FILE``, ``explain FILE`` and ``diff BASE HEAD`` check, describe and compare audience
  catalogs offline (FILE ``-`` reads standard input); ``schema`` prints the catalog's JSON Schema;
* ``import --advertiser-id ID`` writes a catalog that adopts an ad account's existing audiences;
* ``pending`` finds the audiences of an interrupted ``pulumi up`` and prints the refresh that records them;
* ``doctor`` checks the endpoint, token, advertisers, apps, audience room and rate limit;
* ``emulator serve`` runs the local TikTok audience API emulator until SIGINT/SIGTERM.

Exit status: 0 success, 1 problems found or the operation failed, 2 usage error, 3 a gate of
``diff`` (``--fail-on-replace``, ``--fail-on-delete``) refused the change, 141 the reader of the
output went away (``| head``), silently, as git does. Errors print one line; ``--debug``
(before or after the command) adds the traceback and the API client's debug log, which never
holds the token. Results go to stdout; progress and summaries to stderr. A new command is a module
here declaring it with ``common.command`` (which gives it ``--debug`` and the error handling),
listed in ``main``'s commands below.
"""

from __future__ import annotations

import click

from pulumi_tiktok_audiences.cli.common import Group, debug_option, examples
from pulumi_tiktok_audiences.cli.diff import diff
from pulumi_tiktok_audiences.cli.doctor import doctor
from pulumi_tiktok_audiences.cli.emulator import emulator
from pulumi_tiktok_audiences.cli.explain import explain
from pulumi_tiktok_audiences.cli.import_ import import_
from pulumi_tiktok_audiences.cli.pending import pending
from pulumi_tiktok_audiences.cli.schema import schema
from pulumi_tiktok_audiences.cli.validate import validate


@click.group(
    cls=Group,
    epilog=examples(
        "tiktok-audiences validate audiences.yaml",
        "tiktok-audiences diff --base-ref origin/main audiences.yaml",
        "tiktok-audiences --debug import --advertiser-id 7000000000000000001 -o audiences.yaml",
    ),
    commands=[validate, explain, diff, schema, import_, pending, doctor, emulator],
    params=[
        debug_option(
            "On errors, show the traceback; log API calls to stderr (also accepted after the command)."
        )
    ],
)
@click.version_option(package_name="pulumi-tiktok-audiences")
def main() -> None:
    """Manage TikTok App Activity audiences as code."""


__all__ = ["main"]
