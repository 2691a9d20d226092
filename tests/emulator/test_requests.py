"""Envelope, routing, authentication and request validation: what TikTok's gateway does first."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_TOKEN,
    OTHER_BC_ADVERTISER_ID,
    OTHER_BC_APP_ID,
    SECOND_APP_ID,
    AdvertiserSeed,
    Emulator,
    Seed,
    TokenSeed,
)
from tests.emulator.conftest import in_process_client
from tests.emulator.helpers import Api, create_body, rule

A1 = DEFAULT_ADVERTISER_ID
POST_PATHS = [
    c.PATH_RULE_CREATE,
    c.PATH_UPDATE,
    c.PATH_DELETE,
    c.PATH_SHARE,
    c.PATH_SHARE_CANCEL,
    c.PATH_LOOKALIKE_CREATE,
    c.PATH_LOOKALIKE_UPDATE,
]
GET_PATHS = [c.PATH_GET, c.PATH_LIST, c.PATH_SHARE_LOG]


def envelope(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    assert set(body) == {"code", "message", "request_id", "data"}
    return body


# --- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/dmp/custom_audience/nope/", "/dmp/custom_audience/rule/create", "/"])
def test_unknown_path_is_404_with_envelope(door: Api, path: str) -> None:
    response = door.client.post(path, json={})
    assert response.status_code == 404
    assert envelope(response)["code"] == c.CODE_ROUTE_NOT_FOUND


def test_wrong_method_is_405_with_envelope(door: Api) -> None:
    response = door.client.get(c.PATH_RULE_CREATE)
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert envelope(response)["code"] == c.CODE_ROUTE_NOT_FOUND


# --- authentication -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, c.CODE_EMPTY_ACCESS_TOKEN),
        ({c.ACCESS_TOKEN_HEADER: ""}, c.CODE_EMPTY_ACCESS_TOKEN),
        ({c.ACCESS_TOKEN_HEADER: "not-a-token"}, c.CODE_INVALID_ACCESS_TOKEN),
        ({c.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN + "x"}, c.CODE_INVALID_ACCESS_TOKEN),
    ],
    ids=["missing", "empty", "unknown", "near-miss"],
)
def test_token_errors(emulator: Emulator, headers: dict[str, str], code: int) -> None:
    with in_process_client(emulator, token=None) as client:
        response = client.post(c.PATH_RULE_CREATE, json=create_body(), headers=headers)
    assert response.status_code == 200
    assert envelope(response)["code"] == code
    assert emulator.audiences() == []


def test_token_may_come_as_query_parameter(emulator: Emulator) -> None:
    with in_process_client(emulator, token=None) as client:
        response = client.get(c.PATH_LIST, params={"advertiser_id": A1, c.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN})
    assert envelope(response)["code"] == 0


def test_token_may_only_act_for_its_advertisers() -> None:
    seed = Seed(
        tokens=(
            TokenSeed(token="token-one", advertiser_ids=("1001",)),
            TokenSeed(token="token-two", advertiser_ids=("1002",)),
        ),
        advertisers=(
            AdvertiserSeed(advertiser_id="1001", business_center_id="1", app_ids=("501",)),
            AdvertiserSeed(advertiser_id="1002", business_center_id="1", app_ids=("502",)),
        ),
    )
    with Emulator(seed=seed) as emulator, in_process_client(emulator, "token-two") as client:
        api = Api(client)
        answer = api.post(c.PATH_RULE_CREATE, create_body(advertiser_id="1001", include=[rule(apps=["501"])]))
        assert answer["code"] == c.CODE_PERMISSION_ERROR
        assert "1001" in answer["message"]
        assert api.create(advertiser_id="1002", include=[rule(apps=["502"])])
        foreign_app = api.post(
            c.PATH_RULE_CREATE, create_body(advertiser_id="1002", include=[rule(apps=["501"])])
        )
        assert foreign_app["code"] == c.CODE_PERMISSION_ERROR
        assert "501" in foreign_app["message"]


def test_app_of_another_advertiser_is_a_permission_error(api: Api) -> None:
    answer = api.post(c.PATH_RULE_CREATE, create_body(include=[rule(apps=[SECOND_APP_ID, OTHER_BC_APP_ID])]))
    assert answer["code"] == c.CODE_PERMISSION_ERROR
    assert OTHER_BC_APP_ID in answer["message"]
    assert api.post(c.PATH_RULE_CREATE, create_body(advertiser_id=OTHER_BC_ADVERTISER_ID))["code"] == (
        c.CODE_PERMISSION_ERROR
    )


def test_token_never_reaches_logs_or_the_database(tmp_path: Any, caplog: pytest.LogCaptureFixture) -> None:
    secret = "s3cret-token-value-4711"
    seed = Seed.from_flags([secret], [A1], ["6400000001"])
    caplog.set_level(logging.DEBUG)
    with Emulator(tmp_path / "state.db", seed=seed) as emulator:
        with emulator.serve() as server:
            url = server.url + c.API_PREFIX
            headers = {c.ACCESS_TOKEN_HEADER: secret}
            httpx.post(url + c.PATH_RULE_CREATE, json=create_body(), headers=headers)
            httpx.get(url + c.PATH_LIST, params={"advertiser_id": A1, c.ACCESS_TOKEN_HEADER: secret})
            httpx.get(url + "/no/such/path/", params={c.ACCESS_TOKEN_HEADER: secret})
        emulator.set_rate_limit(secret, 1, 1)
        dumped = json.dumps([emulator.audiences(), emulator.faults(), emulator.request_counts()])
        assert len(emulator.audiences()) == 1
        server_logs = "\n".join(
            r.getMessage()
            for r in caplog.records
            if r.name.startswith(("pulumi_tiktok_audiences", "werkzeug"))
        )
        assert "rule/create" in server_logs  # requests are logged, without their token
        for text in (dumped, repr(emulator.seed), str(emulator.seed), server_logs):
            assert secret not in text
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in stored


# --- malformed requests -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b'"just a string"', "application/json"),
        (b"\xff\xfe\x00garbage", "application/json"),
        (b"[" * 100_000, "application/json"),
        (json.dumps(create_body()).encode(), "text/plain"),
        (json.dumps(create_body()).encode(), "application/x-www-form-urlencoded"),
        (b"", "application/json"),
        (json.dumps(create_body(retention_in_days=30)).replace("30", "NaN").encode(), "application/json"),
        (json.dumps(create_body(name="x" * (2 << 20))).encode(), "application/json"),
    ],
    ids=[
        "text",
        "array",
        "string",
        "bad-utf8",
        "deep-nesting",
        "text-plain",
        "form",
        "empty",
        "nan",
        "too-large",
    ],
)
def test_malformed_bodies_get_a_40002_envelope(door: Api, content: bytes, content_type: str) -> None:
    response = door.client.post(c.PATH_RULE_CREATE, content=content, headers={"Content-Type": content_type})
    assert response.status_code == 200
    assert envelope(response)["code"] == c.CODE_PARAM_ERROR


def test_huge_field_values_are_refused_by_field(api: Api) -> None:
    answer = api.post(c.PATH_RULE_CREATE, create_body(name="n" * 500_000))
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert answer["message"] == f"custom_audience_name: length must be <= {c.AUDIENCE_NAME_MAX_LEN}"


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
FIELD_NAMES = st.sampled_from(
    [
        "advertiser_id",
        "custom_audience_name",
        "custom_audience_id",
        "custom_audience_ids",
        "shared_advertiser_ids",
        "shared_advertiser_id",
        "audience_type",
        "rule_spec",
        "lookalike_spec",
        "retention_in_days",
        "audience_sub_type",
        "unknown",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(POST_PATHS),
    body=JSON_VALUES | st.dictionaries(FIELD_NAMES, JSON_VALUES, max_size=6),
)
def test_arbitrary_bodies_always_get_an_envelope(api: Api, path: str, body: Any) -> None:
    answer = api.post(path, body)
    assert answer["code"] in {0, c.CODE_PARAM_ERROR, c.CODE_PERMISSION_ERROR}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    path=st.sampled_from(GET_PATHS),
    params=st.dictionaries(
        st.sampled_from(
            [
                "advertiser_id",
                "custom_audience_ids",
                "custom_audience_id",
                "page",
                "page_size",
                "history_size",
            ]
        ),
        st.text(max_size=30) | st.integers().map(str) | st.lists(st.text(max_size=5)).map(json.dumps),
    ),
)
def test_arbitrary_queries_always_get_an_envelope(api: Api, path: str, params: dict[str, str]) -> None:
    response = api.client.get(path, params=params)
    assert response.status_code == 200
    assert envelope(response)["code"] in {0, c.CODE_PARAM_ERROR, c.CODE_PERMISSION_ERROR}


# --- documented limits beyond the schema --------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (create_body(include=[rule()] * (c.RULES_PER_SET_MAX + 1)), "rule_spec.inclusion_rule_set.rules"),
        (
            {**create_body(), "rule_spec": {"inclusion_rule_set": {"operator": "OR", "rules": []}}},
            "rule_spec.inclusion_rule_set.rules",
        ),
        (create_body(exclude=[rule()] * (c.RULES_PER_SET_MAX + 1)), "rule_spec.exclusion_rule_set.rules"),
        (
            create_body(
                include=[
                    {
                        **rule(),
                        "filter_set": {"operator": "OR", "filters": [rule()["filter_set"]["filters"][0]] * 2},
                    }
                ]
            ),
            "rule_spec.inclusion_rule_set.rules[0].filter_set.filters",
        ),
        (
            create_body(include=[{**rule(), "filter_set": {"operator": "OR", "filters": []}}]),
            "rule_spec.inclusion_rule_set.rules[0].filter_set.filters",
        ),
        (
            {**create_body(), "rule_spec": {"inclusion_rule_set": {"operator": "AND", "rules": [rule()]}}},
            "rule_spec.inclusion_rule_set.operator",
        ),
        (create_body(include=[rule(apps=[])]), "rule_spec.inclusion_rule_set.rules[0].event_source_ids"),
        (create_body(exclude=[rule(apps=[])]), "rule_spec.exclusion_rule_set.rules[0].event_source_ids"),
        (
            create_body(include=[{k: v for k, v in rule().items() if k != "filter_set"}]),
            "rule_spec.inclusion_rule_set.rules[0].filter_set",
        ),
        (
            create_body(include=[rule("PIXEL SEARCH")]),
            "rule_spec.inclusion_rule_set.rules[0].filter_set.filters[0].value",
        ),
        (
            create_body(include=[rule("purchase")]),
            "rule_spec.inclusion_rule_set.rules[0].filter_set.filters[0].value",
        ),
        (
            create_body(include=[rule(days=c.LOOKBACK_DAYS_MIN - 1)]),
            "rule_spec.inclusion_rule_set.rules[0].retention_days",
        ),
        (
            create_body(include=[rule(days=c.LOOKBACK_DAYS_MAX + 1)]),
            "rule_spec.inclusion_rule_set.rules[0].retention_days",
        ),
        (
            create_body(
                include=[
                    {
                        **rule(),
                        "filter_set": {
                            "operator": "OR",
                            "filters": [{"field": "URL", "operator": "EQ", "value": "PURCHASE"}],
                        },
                    }
                ]
            ),
            "rule_spec.inclusion_rule_set.rules[0].filter_set.filters[0].field",
        ),
        (
            create_body(
                include=[
                    {
                        **rule(),
                        "filter_set": {
                            "operator": "OR",
                            "filters": [
                                {
                                    **rule()["filter_set"]["filters"][0],
                                    "parameter_filters": [
                                        {"field": "URL", "operator": "CONTAINS", "values": ["x"]}
                                    ],
                                }
                            ],
                        },
                    }
                ]
            ),
            "rule_spec.inclusion_rule_set.rules[0].filter_set.filters[0].parameter_filters",
        ),
        ({**create_body(), "audience_type": "PIXEL"}, "audience_type"),
        (create_body(advertiser_id="adv-1"), "advertiser_id"),
        (create_body(advertiser_id="99999999999999999999"), "advertiser_id"),
        (create_body(name="   "), "custom_audience_name"),
        ({**create_body(), "bogus": 1}, "bogus"),
    ],
    ids=[
        "6-rules",
        "0-rules",
        "6-exclusions",
        "2-filters",
        "0-filters",
        "and-operator",
        "no-apps",
        "no-apps-exclusion",
        "no-filter-set",
        "pixel-event",
        "lowercase-event",
        "lookback-low",
        "lookback-high",
        "field-not-event",
        "parameter-filters",
        "non-app-type",
        "non-numeric-id",
        "id-over-int64",
        "blank-name",
        "unknown-field",
    ],
)
def test_documented_limits_are_40002_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    answer = api.post(c.PATH_RULE_CREATE, body)
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert answer["message"].startswith(field + ":"), answer["message"]


def test_every_app_event_and_lookback_bound_is_accepted(api: Api) -> None:
    for index in range(0, len(c.APP_EVENTS), c.RULES_PER_SET_MAX):
        events = c.APP_EVENTS[index : index + c.RULES_PER_SET_MAX]
        days = [c.LOOKBACK_DAYS_MIN, c.LOOKBACK_DAYS_MAX]
        assert api.create(include=[rule(e, days[i % 2]) for i, e in enumerate(events)])


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"custom_audience_ids": "7300000000000000001,7300000000000000002"}, "custom_audience_ids"),
        ({"custom_audience_ids": "[7300000000000000001]"}, "custom_audience_ids[0]"),
        ({"custom_audience_ids": "[]"}, "custom_audience_ids"),
        ({"custom_audience_ids": json.dumps(["7300000000000000001"] * 101)}, "custom_audience_ids"),
        ({"custom_audience_ids": '["1"]', "history_size": "0"}, "history_size"),
        ({"custom_audience_ids": '["1"]', "history_size": "101"}, "history_size"),
        ({"custom_audience_ids": '["1"]', "history_size": "ten"}, "history_size"),
        ({}, "custom_audience_ids"),
    ],
    ids=["comma-list", "numbers", "empty", "101-ids", "history-0", "history-101", "history-text", "missing"],
)
def test_get_query_validation(api: Api, params: dict[str, str], field: str) -> None:
    response = api.client.get(c.PATH_GET, params={"advertiser_id": A1, **params})
    answer = envelope(response)
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert answer["message"].startswith(field + ":"), answer["message"]


def test_repeated_query_keys_are_refused(api: Api) -> None:
    response = api.client.get(
        c.PATH_GET, params=[("advertiser_id", A1), ("custom_audience_ids", "1"), ("custom_audience_ids", "2")]
    )
    answer = envelope(response)
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert answer["message"].startswith("custom_audience_ids:")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"page": "0"}, "page"), ({"page_size": "101"}, "page_size"), ({"page_size": "0"}, "page_size")],
)
def test_list_query_validation(api: Api, params: dict[str, str], field: str) -> None:
    answer = envelope(api.client.get(c.PATH_LIST, params={"advertiser_id": A1, **params}))
    assert answer["code"] == c.CODE_PARAM_ERROR
    assert answer["message"].startswith(field + ":")
