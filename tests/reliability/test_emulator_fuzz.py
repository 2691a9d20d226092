"""The emulator under hostile HTTP: always a TikTok envelope, never a 500 or a traceback, and a
database that stays consistent.

Requests are generated from TikTok's own request schemas (the vendored OpenAPI files, through
``tests.openapi_schema``): mostly near-valid, so that they reach the business rules and write, with
mutations at every level (wrong types, values out of range, unknown or missing fields, unicode,
huge strings and lists). A schema-driven generator of our own rather than schemathesis: the
schemas use a handful of keywords, and schemathesis (twenty-odd dependencies) would cost more
start-up and per-request time than this suite's budget allows. Malformed HTTP that no schema
describes (bodies that are no JSON, too large, deeply nested, wrongly encoded; wrong methods and
content types; truncated bodies) is sent over a raw socket to the real server.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    IN_PROCESS_BASE_URL,
    SECOND_ADVERTISER_ID,
    SECOND_APP_ID,
    Emulator,
    RunningServer,
)
from pulumi_tiktok_audiences.provider import spec_from_props
from tests.openapi_schema import Operation, load_operation
from tests.reliability.helpers import (
    SECRET_TOKEN,
    Declared,
    audiences,
    consistency_problems,
    create_directly,
    raw_http,
)

OPERATIONS = [
    load_operation(f"dmp_custom_audience_{name}")
    for name in (
        "rule_create",
        "update",
        "delete",
        "get",
        "list",
        "share",
        "share_cancel",
        "share_log",
        "lookalike_create",
        "lookalike_update",
    )
]
JSON = {"Content-Type": "application/json"}
HTTP_LAYER_REFUSALS = (400, 414, 431)  # refused before the app: bad syntax, line or headers too long
MUTATION_ODDS = 40
# What the reference documents beyond the schemas (§2.1): a client always sends these, and a
# rule's filter set holds one filter.
ALWAYS_SENT = frozenset({"event_source_ids", "filter_set"})
DOCUMENTED_MAX_ITEMS = {"filters": 1}
# Optional fields that App Activity audiences must not carry (other audience types' settings):
# sent only among the unknown fields of a mutation, so that most requests are processed.
RARE_FIELDS = frozenset({"identity_id", "identity_type", "identity_authorized_bc_id", "parameter_filters"})
ENVELOPE_KEYS = {"code", "message", "request_id", "data"}
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Values that reach past validation: real advertisers, apps, events and (after a few creates) ids.
ADVERTISERS = st.sampled_from([DEFAULT_ADVERTISER_ID, DEFAULT_ADVERTISER_ID, SECOND_ADVERTISER_ID, "1"])
APPS = st.sampled_from([DEFAULT_APP_ID, SECOND_APP_ID, "1"])
AUDIENCE_IDS = st.integers(1, 12).map(lambda n: str(7300000000000000000 + n))
HINTS: dict[str, st.SearchStrategy[Any]] = {
    "advertiser_id": ADVERTISERS,
    "shared_advertiser_id": ADVERTISERS,
    "custom_audience_id": AUDIENCE_IDS,
    "source_audience_id": AUDIENCE_IDS,
    "value": st.sampled_from(constants.APP_EVENTS),
    "field": st.just("EVENT"),
    "audience_type": st.just("APP"),
    "retention_days": st.integers(1, 180),
}
ITEM_HINTS: dict[str, st.SearchStrategy[Any]] = {
    "event_source_ids": APPS,
    "custom_audience_ids": AUDIENCE_IDS,
    "shared_advertiser_ids": ADVERTISERS,
}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
HUGE = st.sampled_from(["x" * 5000, "€" * 200, "\x00\ud7ff\U0010ffff", "9" * 400]) | st.integers(
    -(2**70), 2**70
)


def from_schema(schema: dict[str, Any], name: str = "", item_of: str = "") -> st.SearchStrategy[Any]:
    """Values for ``schema``: mostly valid (guided by HINTS), sometimes anything at all."""
    hint = ITEM_HINTS.get(item_of) if item_of else HINTS.get(name)
    kind = schema.get("type")
    if hint is not None:
        valid: st.SearchStrategy[Any] = hint
    elif "enum" in schema:
        valid = st.sampled_from(schema["enum"])
    elif kind == "object":
        valid = _objects(schema)
    elif kind == "array":
        items = from_schema(schema.get("items", {}), item_of=name)
        low = schema.get("minItems", 0)
        high = schema.get("maxItems", DOCUMENTED_MAX_ITEMS.get(name, 3))
        valid = st.lists(items, min_size=max(low, 1), max_size=max(low, 1, min(high, 3)))
    elif kind == "integer":
        valid = st.integers(schema.get("minimum", -(2**31)), schema.get("maximum", 2**31))
    elif kind == "boolean":
        valid = st.booleans()
    else:
        valid = st.text(max_size=schema.get("maxLength", 40))
    return _rarely(JSON_VALUES | HUGE, valid)


def _objects(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = [k for k in properties if k in schema.get("required", []) or k in ALWAYS_SENT]
    optional = [k for k in properties if k not in required]
    present = st.fixed_dictionaries(
        {k: from_schema(properties[k], k) for k in required},
        optional={k: from_schema(properties[k], k) for k in optional if k not in RARE_FIELDS},
    )
    keys = st.text(max_size=12) | st.sampled_from(sorted(RARE_FIELDS))
    unknown = _rarely(st.dictionaries(keys, JSON_VALUES, min_size=1, max_size=2), st.just({}))
    dropped = _rarely(st.sampled_from(required), st.none()) if required else st.none()
    return st.builds(_mutated, present, unknown, dropped)


def _rarely(mutation: st.SearchStrategy[Any], usual: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``mutation`` once in MUTATION_ODDS draws: most requests stay valid enough to be processed."""
    return st.integers(1, MUTATION_ODDS).flatmap(lambda n: mutation if n == 1 else usual)


def _mutated(body: dict[str, Any], extra: dict[str, Any], drop: str | None) -> dict[str, Any]:
    body = {**extra, **body}
    if drop is not None:
        body.pop(drop, None)
    return body


def _query(operation: Operation) -> st.SearchStrategy[dict[str, str]]:
    """Query parameters as sent on the wire: scalars as text, arrays as one JSON array string."""
    assert operation.query_schema is not None

    def encode(params: Any) -> dict[str, str]:
        if not isinstance(params, dict):
            return {"advertiser_id": json.dumps(params)}
        return {
            str(k): v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in params.items()
        }

    return from_schema(operation.query_schema).map(encode)


SCHEMA_REQUESTS = st.sampled_from(OPERATIONS).flatmap(
    lambda op: st.tuples(
        st.just(op), _query(op) if op.method.upper() == "GET" else from_schema(op.body_schema or {})
    )
)
# Creates that pass every rule, so that the database grows while the others hit it.
VALID_CREATES = st.builds(
    lambda name, event, days: Declared("r", name, event, days).inputs(),
    st.text(min_size=1, max_size=constants.AUDIENCE_NAME_MAX_LEN).filter(str.strip),
    st.sampled_from(constants.APP_EVENTS),
    st.integers(constants.LOOKBACK_DAYS_MIN, constants.LOOKBACK_DAYS_MAX),
).map(lambda inputs: (OPERATIONS[0], spec_from_props(inputs).to_create_payload()))
REQUESTS = SCHEMA_REQUESTS | VALID_CREATES


class _Errors(logging.Handler):
    """The emulator's logged internal errors (it logs one for every 500 it would send)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logged_errors() -> Iterator[_Errors]:
    handler = _Errors()
    logger = logging.getLogger("pulumi_tiktok_audiences.emulator")
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)


def assert_envelope(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 404, 405), response.text[:300]
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) == ENVELOPE_KEYS
    assert isinstance(body["code"], int)
    assert isinstance(body["message"], str)
    return dict(body)


@pytest.mark.slow
def test_schema_driven_requests_always_get_an_envelope_and_keep_the_database_consistent(
    emulator: Emulator, db_path: Path, logged_errors: _Errors
) -> None:
    for declared in audiences(8, prefix="target"):  # ids the fuzzer's updates, shares and deletes hit
        create_directly(emulator, declared)
    codes: dict[int, int] = {}
    with httpx.Client(
        transport=emulator.transport(),
        base_url=IN_PROCESS_BASE_URL + constants.API_PREFIX,
        headers={constants.ACCESS_TOKEN_HEADER: SECRET_TOKEN},
    ) as client:

        @FUZZ
        @given(request=REQUESTS)
        def fuzz(request: tuple[Operation, Any]) -> None:
            operation, payload = request
            if operation.method.upper() == "GET":
                response = client.get(operation.path, params=payload)
            else:
                # Serialized here: NaN and Infinity, which httpx refuses to send, are hostile too.
                body = json.dumps(payload, ensure_ascii=False).encode("utf-8", "surrogatepass")
                response = client.post(operation.path, content=body, headers=JSON)
            code = assert_envelope(response)["code"]
            codes[code] = codes.get(code, 0) + 1

        fuzz()
    assert logged_errors.records == []
    assert consistency_problems(db_path, emulator) == []
    assert codes.get(0, 0) > 10, f"too few requests got past validation to test the business rules: {codes}"
    assert len(emulator.audiences(include_deleted=True)) > 8, "no create got through"


def _post(path: str, body: bytes, content_type: str = "application/json", extra: str = "") -> bytes:
    head = (
        f"POST {constants.API_PREFIX}{path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"{constants.ACCESS_TOKEN_HEADER}: {SECRET_TOKEN}\r\nContent-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


MALFORMED = {
    "not-json": _post(constants.PATH_RULE_CREATE, b"{advertiser_id: 1"),
    "json-array": _post(constants.PATH_RULE_CREATE, b"[1, 2, 3]"),
    "invalid-utf8": _post(constants.PATH_RULE_CREATE, b'{"custom_audience_name": "\xff\xfe"}'),
    "deep-nesting": _post(constants.PATH_RULE_CREATE, b"[" * 100_000 + b"]" * 100_000),
    "huge-number": _post(constants.PATH_UPDATE, b'{"advertiser_id": 1e999, "custom_audience_id": -0}'),
    "nan": _post(constants.PATH_RULE_CREATE, b'{"retention_in_days": NaN, "advertiser_id": "1"}'),
    "duplicate-keys": _post(constants.PATH_DELETE, b'{"advertiser_id": "1", "advertiser_id": [[]]}'),
    "wrong-content-type": _post(constants.PATH_RULE_CREATE, b"advertiser_id=1", "text/plain"),
    "form-encoded": _post(constants.PATH_RULE_CREATE, b"a=1", "application/x-www-form-urlencoded"),
    "charset-latin1": _post(
        constants.PATH_UPDATE, '{"n": "é"}'.encode("latin-1"), "application/json; charset=latin-1"
    ),
    "empty-body": _post(constants.PATH_SHARE, b""),
    "wrong-method": _post(constants.PATH_LIST, b"{}"),
    "get-with-garbage-query": (
        f"GET {constants.API_PREFIX}{constants.PATH_GET}?advertiser_id=%FF%00&custom_audience_ids=%5B%5B%5D"
        f"&page=-1&page=99999999999999999999 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"{constants.ACCESS_TOKEN_HEADER}: {SECRET_TOKEN}\r\n\r\n"
    ).encode(),
    "huge-id-list": (
        f"GET {constants.API_PREFIX}{constants.PATH_LIST}?advertiser_id={DEFAULT_ADVERTISER_ID}"
        f"&custom_audience_ids={json.dumps([str(n) for n in range(1500)])} HTTP/1.1\r\nHost: x\r\n"
        f"Connection: close\r\n{constants.ACCESS_TOKEN_HEADER}: {SECRET_TOKEN}\r\n\r\n"
    ).encode(),
    "token-of-wrong-encoding": _post(
        constants.PATH_DELETE, b"{}", extra="Access-Token: \xe9\xff\r\n"
    ).replace(f"{constants.ACCESS_TOKEN_HEADER}: {SECRET_TOKEN}\r\n".encode(), b""),
    "chunked": (
        f"POST {constants.API_PREFIX}{constants.PATH_DELETE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        f"{constants.ACCESS_TOKEN_HEADER}: {SECRET_TOKEN}\r\nContent-Type: application/json\r\n"
        'Transfer-Encoding: chunked\r\n\r\n5\r\n{"a":\r\n2\r\n1}\r\n0\r\n\r\n'
    ).encode(),
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_http_gets_an_envelope(
    raw: bytes, emulator: Emulator, server: RunningServer, db_path: Path, logged_errors: _Errors
) -> None:
    answer = raw_http(server, raw)
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    assert status in (200, 405, *HTTP_LAYER_REFUSALS), answer[:300]
    assert b"Traceback" not in answer
    envelope = json.loads(body)
    assert set(envelope) == ENVELOPE_KEYS
    assert envelope["code"] != 0
    assert logged_errors.records == []
    assert consistency_problems(db_path, emulator) == []


def test_a_truncated_body_gets_an_envelope(
    emulator: Emulator, server: RunningServer, logged_errors: _Errors
) -> None:
    """The client announces more bytes than it sends, then stops sending."""
    raw = _post(constants.PATH_RULE_CREATE, b'{"advertiser_id": "1"}')
    raw = raw.replace(b"Content-Length: 22", b"Content-Length: 500")
    answer = raw_http(server, raw, shutdown_write=True)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert int(head.split(b" ", 2)[1]) == 200, answer[:300]
    assert set(json.loads(body)) == ENVELOPE_KEYS
    assert logged_errors.records == []


def test_a_huge_body_gets_an_envelope(emulator: Emulator, server: RunningServer) -> None:
    """Sent by a real client, which writes the whole body before it reads the answer."""
    body = b'{"advertiser_id": "' + b"9" * (2 << 20) + b'"}'
    response = httpx.post(
        server.url + constants.API_PREFIX + constants.PATH_RULE_CREATE,
        content=body,
        headers={**JSON, constants.ACCESS_TOKEN_HEADER: SECRET_TOKEN},
    )
    assert assert_envelope(response)["code"] == constants.CODE_PARAM_ERROR
    assert emulator.audiences() == []
