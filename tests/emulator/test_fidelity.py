"""Fidelity against TikTok's own OpenAPI files (tests/fixtures/tiktok-openapi).

(a) Hand-built requests that TikTok's schema accepts are accepted by the emulator (code 0).
(b) Requests derived from them by systematically breaking the schema (drop each required field, wrong
type or null for each field, a value outside each enum, one over each maxLength/maxItems/maximum,
one under each minimum/minItems) are invalid per the yml AND refused by the emulator with 40002.
Each case runs on a fresh emulator holding audience <A> (ready, shared with a second advertiser)
and lookalike <L> of it. Not covered: update's ``file_paths``/``action`` (Customer File audiences
only, which the emulator does not implement) and rule ``parameter_filters`` (refused for APP).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    SECOND_ADVERTISER_ID,
    THIRD_ADVERTISER_ID,
    Emulator,
)
from tests.emulator.helpers import Api, encode_query, lookalike_body, rule
from tests.openapi_schema import Operation, load_operation

A1 = DEFAULT_ADVERTISER_ID
CONTEXT = {
    "app_id": 1,
    "core_user_id": 2,
    "developer_id": 3,
    "x_forwarded_for": "10.0.0.1",
    "x_real_ip": "10.0.0.2",
}


@dataclass(frozen=True)
class Case:
    operation: str  # tests/fixtures/tiktok-openapi/dmp_custom_audience_<operation>.yml
    path: str
    variant: str
    template: dict[str, Any]  # "<A>" and "<L>" stand for the IDs of the world's audiences

    @property
    def op(self) -> Operation:
        return load_operation(f"dmp_custom_audience_{self.operation}")

    def __str__(self) -> str:
        return f"{self.operation}-{self.variant}"


CASES = [
    Case(
        "rule_create",
        c.PATH_RULE_CREATE,
        "required",
        {
            "advertiser_id": A1,
            "custom_audience_name": "cart",
            "audience_type": "APP",
            "rule_spec": {"inclusion_rule_set": {"operator": "OR", "rules": [rule()]}},
        },
    ),
    Case(
        "rule_create",
        c.PATH_RULE_CREATE,
        "all-fields",
        {
            "advertiser_id": A1,
            "custom_audience_name": "cart, no purchase",
            "audience_type": "APP",
            "audience_sub_type": "REACH_FREQUENCY",
            "retention_in_days": 90,
            "is_auto_refresh": False,
            "audience_enhancement": False,
            "identity_id": "1234",
            "identity_type": "BC_AUTH_TT",
            "identity_authorized_bc_id": "7100000000000000001",
            "rule_spec": {
                "inclusion_rule_set": {
                    "operator": "OR",
                    "rules": [rule("APP ADD TO CART", 30), rule("VIEW CONTENT", 7)],
                },
                "exclusion_rule_set": {"operator": "OR", "rules": [rule("PURCHASE", 30)]},
            },
        },
    ),
    Case(
        "update",
        c.PATH_UPDATE,
        "rename",
        {"advertiser_id": A1, "custom_audience_id": "<A>", "custom_audience_name": "x"},
    ),
    Case(
        "update",
        c.PATH_UPDATE,
        "all-fields",
        {
            "advertiser_id": A1,
            "custom_audience_id": "<A>",
            "custom_audience_name": "renamed",
            "audience_enhancement": True,
            "context_info": {"core_user_id": 7},
        },
    ),
    Case(
        "update",
        c.PATH_UPDATE,
        "sub-type",  # with the name: update needs one (reference §7.4)
        {
            "advertiser_id": A1,
            "custom_audience_id": "<A>",
            "custom_audience_name": "kept",
            "audience_sub_type": "REACH_FREQUENCY",
        },
    ),
    Case("get", c.PATH_GET, "required", {"advertiser_id": A1, "custom_audience_ids": ["<A>"]}),
    Case(
        "get",
        c.PATH_GET,
        "all-fields",
        {"advertiser_id": A1, "custom_audience_ids": ["<A>", "<L>"], "history_size": 5},
    ),
    Case("list", c.PATH_LIST, "required", {"advertiser_id": A1}),
    Case(
        "list",
        c.PATH_LIST,
        "all-fields",
        {"advertiser_id": A1, "custom_audience_ids": ["<A>"], "page": 1, "page_size": 50},
    ),
    Case("delete", c.PATH_DELETE, "required", {"advertiser_id": A1, "custom_audience_ids": ["<A>", "<L>"]}),
    Case(
        "share",
        c.PATH_SHARE,
        "required",
        {"advertiser_id": A1, "custom_audience_ids": ["<A>"], "shared_advertiser_ids": [THIRD_ADVERTISER_ID]},
    ),
    Case(
        "share",
        c.PATH_SHARE,
        "all-fields",
        {
            "advertiser_id": A1,
            "custom_audience_ids": ["<A>", "<L>"],
            "shared_advertiser_ids": [SECOND_ADVERTISER_ID, THIRD_ADVERTISER_ID],
            "context_info": CONTEXT,
        },
    ),
    Case(
        "share_cancel",
        c.PATH_SHARE_CANCEL,
        "required",
        {"advertiser_id": A1, "custom_audience_id": "<A>", "shared_advertiser_id": SECOND_ADVERTISER_ID},
    ),
    Case("share_log", c.PATH_SHARE_LOG, "required", {"advertiser_id": A1, "custom_audience_id": "<A>"}),
    Case("lookalike_create", c.PATH_LOOKALIKE_CREATE, "required", lookalike_body("<A>")),
    Case(
        "lookalike_create",
        c.PATH_LOOKALIKE_CREATE,
        "all-fields",
        lookalike_body(
            "<A>",
            include_source=True,
            mobile_os="IOS",
            placements=list(c.LOOKALIKE_PLACEMENTS),
            location_ids=["6252001", "2635167"],
            audience_size="NARROW",
        ),
    ),
    Case(
        "lookalike_update",
        c.PATH_LOOKALIKE_UPDATE,
        "required",
        {"advertiser_id": A1, "custom_audience_ids": ["<L>"]},
    ),
]


# --- the world each case runs in -----------------------------------------------------------


def build_world(api: Api, emulator: Emulator) -> dict[str, str]:
    source = api.create(name="source")
    timing = emulator.seed.population
    emulator.clock.advance(timing.calculating_seconds + timing.growth_seconds)
    share = {
        "advertiser_id": A1,
        "custom_audience_ids": [source],
        "shared_advertiser_ids": [SECOND_ADVERTISER_ID],
    }
    api.ok("POST", c.PATH_SHARE, share)
    lookalike = api.ok("POST", c.PATH_LOOKALIKE_CREATE, lookalike_body(source))["custom_audience_id"]
    return {"<A>": source, "<L>": lookalike}


def fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: fill(v, ids) for k, v in value.items()}
    return value


def send(api: Api, case: Case, request: dict[str, Any]) -> dict[str, Any]:
    if case.op.method == "GET":
        return api.get(case.path, **request)
    return api.post(case.path, request)


def yml_errors(case: Case, request: dict[str, Any]) -> list[str]:
    if case.op.method == "GET":
        return case.op.query_errors(encode_query(request))
    return case.op.body_errors(request)


# --- (a) valid requests are accepted ------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=str)
def test_schema_valid_requests_are_accepted(api: Api, emulator: Emulator, case: Case) -> None:
    assert case.op.path == case.path  # the method is the yml's too: send() uses it, a mismatch is HTTP 405
    request = fill(case.template, build_world(api, emulator))
    assert yml_errors(case, request) == []
    answer = send(api, case, request)
    assert answer["code"] == 0, answer


# --- (b) schema violations are refused ----------------------------------------------------

_DROP = object()
_WRONG_TYPE = {
    "string": 12345,
    "integer": "12",
    "number": "1.5",
    "boolean": "true",
    "array": "not-an-array",
    "object": ["not-an-object"],
}


@dataclass(frozen=True)
class Mutation:
    where: tuple[str | int, ...]
    kind: str
    value: Any

    def apply(self, request: dict[str, Any]) -> dict[str, Any]:
        mutated = copy.deepcopy(request)
        parent: Any = mutated
        for step in self.where[:-1]:
            parent = parent[step]
        if self.value is _DROP:
            del parent[self.where[-1]]
        else:
            parent[self.where[-1]] = self.value
        return mutated


def mutations(
    schema: dict[str, Any], value: Any, where: tuple[str | int, ...], query: bool
) -> Iterator[Mutation]:
    """Every single-point schema violation reachable from ``value`` (which satisfies ``schema``)."""
    kind = schema.get("type")
    top_level_query = query and len(where) == 1
    if where and not (top_level_query and kind != "array"):  # query scalars are strings on the wire
        yield Mutation(where, "wrong-type", _WRONG_TYPE[str(kind)])
        yield Mutation(where, "null", None)
    if top_level_query and kind == "integer":
        yield Mutation(where, "wrong-type", "twelve")
    if "enum" in schema:
        yield Mutation(where, "not-in-enum", "NOT_IN_ENUM")
    if "maxLength" in schema:
        yield Mutation(where, "too-long", "x" * (schema["maxLength"] + 1))
    if "maximum" in schema:
        yield Mutation(where, "above-maximum", schema["maximum"] + 1)
    if "minimum" in schema:
        yield Mutation(where, "below-minimum", schema["minimum"] - 1)
    if kind == "array":
        if schema.get("minItems", 0) >= 1:
            yield Mutation(where, "too-few-items", [])
        if "maxItems" in schema:
            yield Mutation(where, "too-many-items", [value[0]] * (schema["maxItems"] + 1))
        if value:
            yield from mutations(schema["items"], value[0], (*where, 0), query)
    if kind == "object":
        for name in schema.get("required", []):
            yield Mutation((*where, name), "missing", _DROP)
        for name, item in value.items():
            if name in schema.get("properties", {}):
                yield from mutations(schema["properties"][name], item, (*where, name), query)


def _mutation_cases() -> Iterator[Any]:
    for case in CASES:
        op = case.op
        query = op.method == "GET"
        schema = op.query_schema if query else op.body_schema
        assert schema is not None
        for mutation in mutations(schema, case.template, (), query):
            label = ".".join(str(step) for step in mutation.where) or "<body>"
            yield pytest.param(case, mutation, id=f"{case}:{label}:{mutation.kind}")


@pytest.mark.parametrize(("case", "mutation"), list(_mutation_cases()))
def test_schema_violations_are_refused_with_40002(
    api: Api, emulator: Emulator, case: Case, mutation: Mutation
) -> None:
    ids = build_world(api, emulator)
    request = fill(mutation.apply(case.template), ids)
    assert yml_errors(case, request), f"the yml accepts {mutation}: generator bug"
    answer = send(api, case, request)
    assert answer["code"] == c.CODE_PARAM_ERROR, answer
    assert emulator.audiences(include_deleted=True)[0]["name"] == "source"  # nothing changed


def test_every_endpoint_is_covered() -> None:
    assert {case.path for case in CASES} == {
        c.PATH_RULE_CREATE,
        c.PATH_UPDATE,
        c.PATH_GET,
        c.PATH_LIST,
        c.PATH_DELETE,
        c.PATH_SHARE,
        c.PATH_SHARE_CANCEL,
        c.PATH_SHARE_LOG,
        c.PATH_LOOKALIKE_CREATE,
        c.PATH_LOOKALIKE_UPDATE,
    }
