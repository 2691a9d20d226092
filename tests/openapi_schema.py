"""TikTok's own OpenAPI files turned into JSON Schema validators for requests.

The files are vendored in ``tests/fixtures/tiktok-openapi`` (MIT, from TikTok's official
SDK; ``test_openapi_fixtures`` checks the copy against ``../shared/tiktok-openapi`` when that
folder is present). TikTok encodes enumerations as ``x-open-enum`` (with ``strict``) instead of
JSON Schema ``enum``; this module translates them so that ``jsonschema`` enforces them.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

FIXTURES = Path(__file__).parent / "fixtures" / "tiktok-openapi"
AUTH_PARAM = "Access-Token"


def _translate(node: Any) -> Any:
    """Return a JSON Schema equivalent of an OpenAPI 3.0 schema node."""
    if isinstance(node, list):
        return [_translate(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "x-open-enum":
            if isinstance(value, dict) and value.get("strict") and value.get("enums"):
                out["enum"] = [e["key"] for e in value["enums"] if e.get("is_valid", True)]
        elif key.startswith("x-") or key in {"description", "nullable", "example", "default"}:
            continue
        elif key == "properties":
            out[key] = {name: _translate(sub) for name, sub in value.items()}
        else:
            out[key] = _translate(value)
    if node.get("nullable") is True and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


@dataclass(frozen=True)
class Operation:
    """One endpoint of TikTok's OpenAPI files: its path, method and request schemas."""

    name: str
    path: str
    method: str
    body_schema: dict[str, Any] | None
    query_schema: dict[str, Any] | None
    json_query_params: frozenset[str]  # query params TikTok sends as one JSON array string

    def body_errors(self, body: Any) -> list[str]:
        """Every way ``body`` violates the request-body schema (empty when it is valid)."""
        assert self.body_schema is not None, f"{self.name} takes no JSON body"
        return _errors(self.body_schema, body)

    def query_errors(self, params: dict[str, str]) -> list[str]:
        """Every way the query parameters (as sent on the wire) violate the schema."""
        assert self.query_schema is not None, f"{self.name} takes no query parameters"
        decoded: dict[str, Any] = {}
        for key, raw in params.items():
            if key in self.json_query_params:
                try:
                    decoded[key] = json.loads(raw)
                except ValueError:
                    decoded[key] = raw
            elif _is_integer_param(self.query_schema, key):
                decoded[key] = int(raw) if raw.lstrip("-").isdigit() else raw
            else:
                decoded[key] = raw
        return _errors(self.query_schema, decoded)


def _is_integer_param(schema: dict[str, Any], key: str) -> bool:
    return schema.get("properties", {}).get(key, {}).get("type") == "integer"


def _errors(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = jsonschema.Draft7Validator(schema)
    return sorted(
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in validator.iter_errors(instance)
    )


@cache
def load_operation(name: str) -> Operation:
    """Load ``<name>.yml`` (for example ``dmp_custom_audience_rule_create``)."""
    doc = yaml.safe_load((FIXTURES / f"{name}.yml").read_text(encoding="utf-8"))
    ((path, methods),) = doc["paths"].items()
    ((method, spec),) = methods.items()
    body_schema = None
    if "requestBody" in spec:
        body_schema = _translate(spec["requestBody"]["content"]["application/json"]["schema"])
    properties: dict[str, Any] = {}
    required: list[str] = []
    json_params: set[str] = set()
    for param in spec.get("parameters", []):
        if param["in"] != "query" or param["name"] == AUTH_PARAM:
            continue
        if "content" in param:
            raw_schema = param["content"]["application/json"]["schema"]
            json_params.add(param["name"])
        else:
            raw_schema = param["schema"]
        properties[param["name"]] = _translate(copy.deepcopy(raw_schema))
        if param.get("required"):
            required.append(param["name"])
    query_schema = None
    if properties:
        query_schema = {"type": "object", "properties": properties, "required": required}
    return Operation(
        name=name,
        path=path,
        method=method.upper(),
        body_schema=body_schema,
        query_schema=query_schema,
        json_query_params=frozenset(json_params),
    )
