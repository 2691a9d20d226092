"""``tiktok-audiences schema``: the catalog's JSON Schema, for editors."""

from __future__ import annotations

import click

from pulumi_tiktok_audiences.cli.common import command, examples


@command(
    epilog=examples(
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
