"""Audience catalogs: App Activity audiences as a reviewed YAML file, one file for every stack.

Marketers propose audiences in ``audiences.yaml`` without writing Python; reviewers read the diff,
``tiktok-audiences validate`` and ``explain`` check and describe it offline, and a Pulumi program
declares everything in it with :func:`load_catalog`::

    advertiser_id: "7000000000000000001"      # defaults for every audience and stack
    app_ids: ["6400000001"]
    stacks:                                   # every stack; each may override the defaults
      dev: {}
      prod: {advertiser_id: "7000000000000000002", app_ids: ["6400000002"]}
    audiences:                                # key: the Pulumi resource name (and default name)
      lapsed-purchasers:
        name: Lapsed purchasers
        include: [{event: PURCHASE, lookback_days: 30}]
        exclude: [{event: PURCHASE, lookback_days: 7}]
        stacks:
          prod: {adopt_audience_id: "7300000000000000042"}

An audience takes :class:`~pulumi_tiktok_audiences.spec.AudienceSpec`'s fields plus
``adopt_audience_id`` and ``stacks`` (see :mod:`.validation` for how a stack resolves them).

The package's modules, one concern each: :mod:`.loading` (bytes to YAML data with the line of
every key, for ``file:line: property.path: message`` problems), :mod:`.validation` (models,
schema, resolution per stack, problems), :mod:`.diff` (a reviewer's diff) and :mod:`.program`
(:func:`load_catalog` in a Pulumi program). The public names are re-exported here.
"""

from pulumi_tiktok_audiences.catalog.diff import AudienceChange, StackDiff, diff_catalogs
from pulumi_tiktok_audiences.catalog.loading import MAX_CATALOG_BYTES, Problem, decode
from pulumi_tiktok_audiences.catalog.program import load_catalog
from pulumi_tiktok_audiences.catalog.validation import (
    KEY_PATTERN,
    Catalog,
    CatalogAudience,
    CatalogError,
    ResolvedCatalog,
    json_schema,
    lacks_stack,
    resolve_bytes,
    resolve_catalog,
    resolve_text,
    schema_text,
)

__all__ = [
    "KEY_PATTERN",
    "MAX_CATALOG_BYTES",
    "AudienceChange",
    "Catalog",
    "CatalogAudience",
    "CatalogError",
    "Problem",
    "ResolvedCatalog",
    "StackDiff",
    "decode",
    "diff_catalogs",
    "json_schema",
    "lacks_stack",
    "load_catalog",
    "resolve_bytes",
    "resolve_catalog",
    "resolve_text",
    "schema_text",
]
