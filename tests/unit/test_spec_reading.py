"""Reading get's ``rule`` text (reading.py): every plausible shape of a spec reads back to that spec.

The shapes are written here from the reference, not from the emulator's renderer: section 6.1 (top
keys ``inclusions``/``exclusions`` with null sets, the ad-group inner naming of SDK-adgroup with
``retention`` as a string, the gateway's integer enums from Y:rule_create's x-open-enum), the
request's own naming (§2.1), and mixtures of them, down to single fields.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_tiktok_audiences import constants, reading
from pulumi_tiktok_audiences.client.models import AudienceDetail
from pulumi_tiktok_audiences.emulator.answers import AnswerShape, render_rule
from pulumi_tiktok_audiences.spec import AudienceSpec
from tests.unit.test_spec_properties import SPECS

PROPERTY = settings(max_examples=100, deadline=None)
# Y:rule_create x-open-enum values, typed out here so that a wrong table in constants.py fails.
CODES = {"APP": 3, "OR": 2, "AND": 1, "EQ": 1, "NORMAL": 0, "REACH_FREQUENCY": 1}


def enum(draw: st.DrawFn, name: str) -> object:
    """An enum as TikTok may send it: its name (any case), its integer, or that integer as text."""
    return draw(st.sampled_from([name, name.lower(), CODES[name], str(CODES[name])]))


def number(draw: st.DrawFn, value: int) -> object:
    return draw(st.sampled_from([value, str(value), float(value)]))


@st.composite
def rule_texts(draw: st.DrawFn, spec: AudienceSpec) -> str:
    """One of the many texts TikTok might send for ``spec``."""
    top = draw(st.sampled_from(["request", "backend"]))

    def one_rule(rule: Any) -> dict[str, Any]:
        apps = spec.app_ids_for(rule)
        adgroup = draw(st.booleans())
        filters = [{"field": "EVENT", "operator": enum(draw, "EQ"), "value": rule.event.value}]
        if draw(st.booleans()):
            filters[0]["parameter_filters"] = draw(st.sampled_from([None, []]))  # empty: no meaning
        out: dict[str, Any] = {
            ("filter" if draw(st.booleans()) else "filter_set"): {
                "operator": enum(draw, draw(st.sampled_from(["OR", "AND"]))),  # one filter: alike
                "filters": filters,
            },
            ("retention" if adgroup else "retention_days"): number(draw, rule.lookback_days),
        }
        if adgroup:
            out["event_sources"] = [
                {"type": enum(draw, "APP"), "id": draw(st.sampled_from([a, int(a)]))} for a in apps
            ]
        else:
            out["event_source_ids"] = [draw(st.sampled_from([a, int(a)])) for a in apps]
        return out

    def rule_set(rules: list[Any]) -> object:
        items = [one_rule(r) for r in rules]
        if not items:
            return draw(st.sampled_from([None, [], {"operator": "OR", "rules": []}, {"rules": None}]))
        if draw(st.integers(0, 4)) == 0:
            return items  # the rules alone
        return {"operator": enum(draw, "OR"), "rules": items}

    keys = ("inclusion_rule_set", "exclusion_rule_set") if top == "request" else ("inclusions", "exclusions")
    body: dict[str, Any] = {keys[0]: rule_set(spec.include)}
    exclude = rule_set(spec.exclude)
    if exclude is not None or draw(st.booleans()):  # a missing set and a null one mean the same
        body[keys[1]] = exclude
    text = json.dumps(body)
    return json.dumps(text) if draw(st.integers(0, 9)) == 0 else text  # sometimes encoded twice


@st.composite
def specs_and_texts(draw: st.DrawFn) -> tuple[AudienceSpec, str]:
    spec = draw(SPECS)
    return spec, draw(rule_texts(spec))


def read(spec: AudienceSpec, text: str) -> AudienceSpec:
    return reading.spec_from_rule_text(
        spec.advertiser_id,
        spec.name,
        text,
        auto_refresh=spec.auto_refresh,
        retention_in_days=spec.retention_in_days,
        audience_sub_type=spec.audience_sub_type,
    )


@PROPERTY
@given(specs_and_texts())
def test_every_shape_of_a_spec_reads_back_to_that_spec(case: tuple[AudienceSpec, str]) -> None:
    spec, text = case
    assert read(spec, text) == spec


@PROPERTY
@given(SPECS, st.sampled_from(list(AnswerShape)))
def test_every_emulator_answer_shape_reads_back_to_the_spec(spec: AudienceSpec, shape: AnswerShape) -> None:
    assert read(spec, render_rule(json.dumps(spec.to_rule_spec()), shape)) == spec


def detail(rule: str | None, **fields: Any) -> AudienceDetail:
    return AudienceDetail.model_validate(
        {
            "audience_id": "42",
            "name": "Buyers",
            "type": "App Activity Audience",
            "is_auto_refresh": True,
            "rule": rule,
            **fields,
        }
    )


@PROPERTY
@given(
    specs_and_texts(), st.sampled_from(["App Activity Audience", "APP", "3", 3]), st.sampled_from([0, "1"])
)
def test_a_live_audience_matches_its_spec_whatever_its_type_and_sub_type_spelling(
    case: tuple[AudienceSpec, str], audience_type: object, sub_type: object
) -> None:
    spec, text = case
    spec = spec.model_copy(update={"audience_sub_type": constants.AUDIENCE_SUB_TYPES[int(sub_type)]})
    live = detail(
        text, type=audience_type, audience_sub_type=sub_type, is_auto_refresh=int(spec.auto_refresh)
    )
    assert reading.mismatches(live, spec) == []


GOOD = {
    "operator": 2,
    "rules": [
        {
            "event_sources": [{"type": 3, "id": "6400000001"}],
            "filter": {"operator": 2, "filters": [{"field": "EVENT", "operator": 1, "value": "PURCHASE"}]},
            "retention": "30",
        }
    ],
}


def changed(path: tuple[Any, ...], value: Any) -> str:
    body: Any = json.loads(json.dumps({"inclusions": GOOD, "exclusions": None}))
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(body)


RULE = ("inclusions", "rules", 0)
FILTER = (*RULE, "filter", "filters", 0)


@pytest.mark.parametrize(
    ("text", "what"),
    [
        ("{not json", "not JSON text"),
        ("[1]", "not an object"),
        (changed(("inclusions", "operator"), 1), "rule.inclusions.operator is 1, not one of OR (2)"),
        (changed((*RULE, "retention"), "thirty"), "not a whole number"),
        (changed((*RULE, "event_sources", 0, "type"), 4), "type is PIXEL, not an app"),
        (changed((*RULE, "event_sources", 0, "id"), "app-1"), "not an app id"),
        (changed((*FILTER, "field"), "URL"), "field is 'URL', not EVENT"),
        (changed((*FILTER, "operator"), "CONTAINS"), "operator is 'CONTAINS'"),
        (changed((*FILTER, "value"), "PAGE VIEW"), "'PAGE VIEW' is not an App Activity event"),
        (changed((*FILTER, "parameter_filters"), [{"field": "URL"}]), "parameter_filters"),
        (changed((*RULE, "filter", "filters"), []), "exactly one filter"),
        (changed((*RULE, "audience_rule"), {"x": 1}), "fields this package does not know: audience_rule"),
        (changed(("inclusion_rule_set",), GOOD), "has both inclusion_rule_set and inclusions"),
        (changed(("inclusions",), None), "no inclusion rules"),
        (changed((*RULE, "retention"), None), "no lookback"),
    ],
)
def test_what_cannot_be_read_is_named_never_guessed(text: str, what: str) -> None:
    with pytest.raises(reading.UnreadableAnswerError, match=None) as caught:
        reading.read_rule_text(text)
    assert what in str(caught.value)


def test_an_unverifiable_audience_error_names_it_says_why_and_what_to_do() -> None:
    spec = read(
        AudienceSpec.model_validate(
            {
                "advertiser_id": "1",
                "name": "Buyers",
                "app_ids": ["6400000001"],
                "include": [{"event": "PURCHASE", "lookback_days": 30}],
            }
        ),
        json.dumps({"inclusions": GOOD}),
    )
    unreadable = changed((*FILTER, "field"), "URL")
    with pytest.raises(reading.UnverifiableAudienceError) as caught:
        reading.mismatches(detail(unreadable), spec)
    message = str(caught.value)
    for fragment in ("Audience 42 ('Buyers')", "field is 'URL'", "Ads Manager", 'adopt_audience_id to "42"'):
        assert fragment in message
    assert unreadable[:100] in message  # the answer to report
    with pytest.raises(reading.UnverifiableAudienceError, match="does not say what type"):
        reading.mismatches(detail(json.dumps({"inclusions": GOOD}), type=None), spec)
    assert reading.mismatches(detail(json.dumps({"inclusions": GOOD}), type="Lookalike Audience"), spec) == [
        "it is a 'Lookalike Audience', not an App Activity audience"
    ]
    assert reading.mismatches(detail(json.dumps({"inclusions": GOOD})), spec) == []
    with pytest.raises(reading.UnverifiableAudienceError, match="does not report is_auto_refresh"):
        reading.mismatches(detail(json.dumps({"inclusions": GOOD}), is_auto_refresh=None), spec)


def test_the_gateway_codes_are_the_yml_ones() -> None:
    assert constants.AUDIENCE_TYPE_CODES["APP"] == CODES["APP"]
    assert {"OR": CODES["OR"]} == constants.RULE_SET_OPERATOR_CODES
    assert {"AND": CODES["AND"], "OR": CODES["OR"]} == constants.FILTER_SET_OPERATOR_CODES
    assert {"EQ": CODES["EQ"]} == constants.FILTER_OPERATOR_CODES
    assert constants.AUDIENCE_SUB_TYPE_CODES == {"NORMAL": 0, "REACH_FREQUENCY": 1}
