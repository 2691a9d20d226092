"""MkDocs hook: reference tables generated from the code that is their source, at every build.

A page asks for a table with a marker line; the hook replaces it, so the reference can never
drift from the code (the build is strict and runs in scripts/check):

* ``<!-- reference: catalog-schema -->``: every object of the catalog's JSON Schema
  (``pulumi_tiktok_audiences.catalog.json_schema``), field by field;
* ``<!-- reference: audience-fields -->``: the fields of ``AudienceSpec`` and ``EventRule``;
* ``<!-- reference: policies -->``: each guardrail of the policy pack, its default level and settings.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from mkdocs.exceptions import PluginError

_TITLES = {
    "CatalogAudienceEntry": "An audience (`audiences.<key>`)",
    "EventRule": "A rule (`include[]`, `exclude[]`)",
    "Placement": "A stack's settings (`stacks.<stack>`)",
    "StackOverride": "An audience's settings for one stack (`audiences.<key>.stacks.<stack>`)",
}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _type(schema: Mapping[str, Any]) -> str:
    """A JSON Schema type in a reader's words: `string`, `list of rule`, `one of: A, B`."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return {"AppEvent": "event"}.get(name, _TITLES.get(name, name).split(" (")[0].lower())
    if "enum" in schema:
        return "one of: " + ", ".join(f"`{value}`" for value in schema["enum"])
    if "anyOf" in schema:
        kinds = [_type(option) for option in schema["anyOf"] if option.get("type") != "null"]
        return " or ".join(dict.fromkeys(kinds))
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "object" and "patternProperties" in schema:
        (value,) = schema["patternProperties"].values()
        return f"map of {_type(value)}"
    return str(kind)


def _table(properties: Mapping[str, Any], required: list[str]) -> str:
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for name, prop in properties.items():
        default = prop.get("default")
        note = ""
        if name in required:
            note = " (required)"
        elif default not in (None, []):
            note = f" (default `{default}`)"
        rows.append(f"| `{name}` | {_cell(_type(prop))} | {_cell(prop.get('description', ''))}{note} |")
    return "\n".join(rows)


def catalog_schema() -> str:
    from pulumi_tiktok_audiences.catalog import json_schema

    schema = json_schema()
    parts = ["### The catalog (top level)", "", _table(schema["properties"], schema.get("required", []))]
    for name, definition in schema.get("$defs", {}).items():
        if "properties" in definition:
            table = _table(definition["properties"], definition.get("required", []))
            parts += ["", f"### {_TITLES.get(name, name)}", "", table]
    events = schema.get("$defs", {}).get("AppEvent")
    if events:
        parts += ["", "### Events", "", _cell(events.get("description", "")), ""]
    return "\n".join(parts)


def audience_fields() -> str:
    from pulumi_tiktok_audiences.spec import AudienceSpec, EventRule

    parts = []
    for title, model in (("`AudienceSpec`: an audience", AudienceSpec), ("`EventRule`: a rule", EventRule)):
        schema = model.model_json_schema()
        parts += [f"### {title}", "", _table(schema["properties"], schema.get("required", [])), ""]
    return "\n".join(parts)


def policies() -> str:
    from pulumi_tiktok_audiences.policies import policies as pack

    parts = []
    for policy in pack():
        level = getattr(policy.enforcement_level, "value", policy.enforcement_level)
        parts += [f"### `{policy.name}`", "", f"Default level: **{level}**. {_cell(policy.description)}", ""]
        schema = policy.config_schema
        properties = getattr(schema, "properties", None) or {}
        if properties:
            parts += [_table(properties, list(getattr(schema, "required", None) or [])), ""]
        else:
            parts += ["No settings.", ""]
    return "\n".join(parts)


_GENERATORS: Mapping[str, Callable[[], str]] = {
    "catalog-schema": catalog_schema,
    "audience-fields": audience_fields,
    "policies": policies,
}


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """Replace each ``<!-- reference: NAME -->`` line by the table NAME's generator writes; a NAME
    without one fails the build (an HTML comment left in place would publish an empty reference)."""
    for name, generate in _GENERATORS.items():
        marker = f"<!-- reference: {name} -->"
        if marker in markdown:
            markdown = markdown.replace(marker, generate())
    unknown = re.findall(r"<!-- reference: ([^ ]*) -->", markdown)
    if unknown:
        raise PluginError(
            f"{page.file.src_path}: no reference table named {', '.join(map(repr, unknown))}; "
            f"use one of {', '.join(_GENERATORS)} (scripts/mkdocs_reference.py)"
        )
    return markdown
