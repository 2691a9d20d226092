"""Properties of the spec: lossless payload mapping, schema-valid bodies, one canonical form."""

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.changes import classify
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, Purpose
from tests.openapi_schema import load_operation

PROPERTY = settings(max_examples=200, deadline=None)
RULE_CREATE = load_operation("dmp_custom_audience_rule_create")

DAYS = st.integers(constants.LOOKBACK_DAYS_MIN, constants.LOOKBACK_DAYS_MAX)
# A few ids recur so that rules often share apps; the rest span the int64 range TikTok casts to.
APP_NUMBERS = st.one_of(st.sampled_from([1, 9, 10, 123, 456, 7000000000000000001]), st.integers(1, 2**63 - 1))
APP_ID_LISTS = st.lists(APP_NUMBERS, min_size=1, max_size=4).map(lambda ns: [str(n) for n in ns])
NAMES = st.text(min_size=1, max_size=constants.AUDIENCE_NAME_MAX_LEN).filter(str.strip)
RETENTION = st.none() | st.integers(constants.RETENTION_IN_DAYS_MIN, constants.RETENTION_IN_DAYS_MAX)


@st.composite
def spec_inputs(draw: st.DrawFn) -> dict[str, Any]:
    """Input for a valid spec: app ids on the audience, on the rules, or both."""
    default = draw(st.none() | APP_ID_LISTS)

    def rules(low: int) -> list[dict[str, Any]]:
        count = draw(st.integers(low, constants.RULES_PER_SET_MAX))
        out = []
        for _ in range(count):
            own = draw(APP_ID_LISTS if default is None else st.none() | APP_ID_LISTS)
            out.append(
                {"event": draw(st.sampled_from(AppEvent)), "lookback_days": draw(DAYS), "app_ids": own}
            )
        return out

    include = rules(constants.RULES_PER_SET_MIN)
    return {
        "advertiser_id": str(draw(st.integers(1, 2**63 - 1))),
        "name": draw(NAMES),
        "app_ids": default,
        "include": include,
        "exclude": rules(0),
        "auto_refresh": draw(st.booleans()),
        "retention_in_days": draw(RETENTION),
        "audience_sub_type": draw(st.sampled_from(constants.AUDIENCE_SUB_TYPES)),
        "match": draw(st.sampled_from(["any", "all"])) if len(include) == 1 else "any",
    }


SPECS = spec_inputs().map(AudienceSpec.model_validate)


@st.composite
def wire_payloads(draw: st.DrawFn) -> dict[str, Any]:
    """rule/create bodies written from the reference, not from the spec: ids sorted and unique."""
    shared = draw(st.booleans())
    common = draw(APP_ID_LISTS)

    def wire_rule() -> dict[str, Any]:
        numbers = sorted({int(i) for i in (common if shared else draw(APP_ID_LISTS))})
        event = draw(st.sampled_from(constants.APP_EVENTS))
        return {
            "event_source_ids": [str(n) for n in numbers],
            "retention_days": draw(DAYS),
            "filter_set": {
                "operator": "OR",
                "filters": [{"field": "EVENT", "operator": "EQ", "value": event}],
            },
        }

    def rule_set(low: int) -> list[dict[str, Any]]:
        return [wire_rule() for _ in range(draw(st.integers(low, constants.RULES_PER_SET_MAX)))]

    rule_spec: dict[str, Any] = {"inclusion_rule_set": {"operator": "OR", "rules": rule_set(1)}}
    if exclusions := rule_set(0):
        rule_spec["exclusion_rule_set"] = {"operator": "OR", "rules": exclusions}
    payload: dict[str, Any] = {
        "advertiser_id": str(draw(st.integers(1, 2**63 - 1))),
        "custom_audience_name": draw(NAMES),
        "audience_type": "APP",
        "audience_sub_type": draw(st.sampled_from(constants.AUDIENCE_SUB_TYPES)),
        "is_auto_refresh": draw(st.booleans()),
    }
    if (retention := draw(RETENTION)) is not None:
        payload["retention_in_days"] = retention
    payload["rule_spec"] = rule_spec
    return payload


@PROPERTY
@given(SPECS)
def test_spec_to_payload_to_spec_is_exact(spec: AudienceSpec) -> None:
    assert AudienceSpec.from_create_payload(spec.to_create_payload()) == spec


@PROPERTY
@given(wire_payloads())
def test_payload_to_spec_to_payload_is_exact(payload: dict[str, Any]) -> None:
    assert RULE_CREATE.body_errors(payload) == []  # the generator itself writes valid bodies
    assert AudienceSpec.from_create_payload(payload).to_create_payload() == payload


@PROPERTY
@given(SPECS)
def test_every_payload_satisfies_tiktoks_schema(spec: AudienceSpec) -> None:
    payload = spec.to_create_payload()
    assert RULE_CREATE.body_errors(payload) == []
    rules = [
        *payload["rule_spec"]["inclusion_rule_set"]["rules"],
        *payload["rule_spec"].get("exclusion_rule_set", {"rules": []})["rules"],
    ]
    assert 1 <= len(payload["rule_spec"]["inclusion_rule_set"]["rules"]) <= constants.RULES_PER_SET_MAX
    assert all(r["event_source_ids"] for r in rules)  # APP rules always name their apps


@PROPERTY
@given(SPECS)
def test_json_dump_round_trip_is_exact(spec: AudienceSpec) -> None:
    assert AudienceSpec.model_validate(spec.model_dump(mode="json")) == spec
    assert AudienceSpec.model_validate(spec.model_dump(mode="json", exclude_none=True)) == spec


@st.composite
def rewritten(draw: st.DrawFn, spec: AudienceSpec) -> dict[str, Any]:
    """The same audience written differently: event aliases, id spellings, app ids moved around."""

    def event_text(event: AppEvent) -> object:
        return draw(
            st.sampled_from(
                [
                    event,
                    event.name,
                    event.value.lower(),
                    event.name.lower().replace("_", " "),
                    event.name.title().replace("_", "-"),
                    f"  {event.value}  ",
                ]
            )
        )

    def ids_text(ids: list[str]) -> list[object]:
        spelled = [draw(st.sampled_from([i, int(i), "00" + i])) for i in ids]
        return draw(st.permutations(spelled + draw(st.lists(st.sampled_from(spelled), max_size=2))))

    rules = [*spec.include, *spec.exclude]
    effective = [spec.app_ids_for(r) for r in rules]
    # A default some rules share (or none, or one no rule uses); rules equal to it may omit ids.
    default = draw(st.sampled_from([None, *effective, ["999"]]))
    written = [
        {
            "event": event_text(r.event),
            "lookback_days": draw(st.sampled_from([r.lookback_days, float(r.lookback_days)])),
            **({} if ids == default and draw(st.booleans()) else {"app_ids": ids_text(ids)}),
        }
        for r, ids in zip(rules, effective, strict=True)
    ]
    return {
        "advertiser_id": draw(st.sampled_from([spec.advertiser_id, int(spec.advertiser_id)])),
        "name": spec.name,
        "app_ids": ids_text(default) if default is not None else None,
        "include": written[: len(spec.include)],
        "exclude": written[len(spec.include) :],
        "auto_refresh": spec.auto_refresh,
        "retention_in_days": spec.retention_in_days,
        "audience_sub_type": spec.audience_sub_type,
        "match": draw(st.sampled_from(["any", "all"])) if len(spec.include) == 1 else "any",
    }


@PROPERTY
@given(st.data(), SPECS)
def test_equivalent_specs_have_one_canonical_form_and_payload(
    data: st.DataObject, spec: AudienceSpec
) -> None:
    other = AudienceSpec.model_validate(data.draw(rewritten(spec)))
    assert other == spec
    assert other.to_create_payload() == spec.to_create_payload()
    assert other.summary() == spec.summary()


@PROPERTY
@given(st.data(), SPECS)
def test_replacement_key_ignores_rule_order_repeats_and_the_name(
    data: st.DataObject, spec: AudienceSpec
) -> None:
    def shuffled(rules: list[Any]) -> list[Any]:
        repeated = rules + data.draw(st.lists(st.sampled_from(rules), max_size=1)) if rules else rules
        return data.draw(st.permutations(repeated[: constants.RULES_PER_SET_MAX]))

    other = AudienceSpec.model_validate(
        {
            **spec.model_dump(),
            "name": data.draw(NAMES),
            "include": shuffled(spec.include),
            "exclude": shuffled(spec.exclude),
        }
    )
    assert other.replacement_key() == spec.replacement_key()


@PROPERTY
@given(SPECS, DAYS)
def test_replacement_key_sees_a_changed_lookback(spec: AudienceSpec, days: int) -> None:
    first = spec.include[0]
    changed = spec.model_dump()
    changed["include"] = [first.model_copy(update={"lookback_days": days})]
    same = {(first.event, days, tuple(spec.app_ids_for(first)))} == {
        (r.event, r.lookback_days, tuple(spec.app_ids_for(r))) for r in spec.include
    }
    assert (AudienceSpec.model_validate(changed).replacement_key() == spec.replacement_key()) == same


@PROPERTY
@given(
    SPECS,
    st.sampled_from(Purpose),
    st.dictionaries(APP_NUMBERS.map(str), st.lists(st.sampled_from(AppEvent), max_size=4), max_size=3),
)
def test_local_fields_change_neither_the_payload_nor_the_replacement_key(
    spec: AudienceSpec, purpose: Purpose, tracked: dict[str, list[AppEvent]]
) -> None:
    local = AudienceSpec.model_validate({**spec.model_dump(), "purpose": purpose, "tracked_events": tracked})
    assert local.to_create_payload() == spec.to_create_payload()
    assert classify(spec, local).replaces == () == classify(local, spec).replaces
    assert AudienceSpec.model_validate(local.model_dump(mode="json")) == local
