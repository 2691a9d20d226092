"""Typed answers: documented fields parsed, extras and TikTok's inconsistencies tolerated."""

from __future__ import annotations

import json
from collections.abc import Mapping

import pytest
from pydantic import ValidationError

from pulumi_tiktok_audiences.client import AudienceDetail, AudienceSummary
from tests.client.helpers import ADVERTISER, Recorder, detail, envelope, make_client

# Shaped after the recorded-looking get answer in segmentio's tests (reference §2.3), plus
# fields TikTok may add.
SEG_LIKE = {
    "audience_details": {
        "audience_id": 1800000000000000001,
        "name": "Partner audience",
        "type": "Partner",
        "audience_sub_type": "NORMAL",
        "calculate_type": "MULTIPLE_TYPES",
        "cover_num": 0,
        "is_valid": False,
        "is_expiring": False,
        "expired_time": "2024-08-02 16:27:49",
        "create_time": "2023-08-03 16:27:49",
        "shared": False,
        "is_creator": True,
        "owner_id": 7000000000000000001,
        "is_auto_refresh": False,
        "rule": '{"inclusions": null, "exclusions": null}',
        "msg": None,
        "error_msg": None,
        "enhancement_status": "NONE",
        "a_field_tiktok_adds_later": {"nested": True},
    },
    "audience_history": [
        {
            "action": "create",
            "action_detail": "0",
            "editor": "open_api",
            "msg": None,
            "opt_time": "2023-08-03 16:27:49",
        }
    ],
}


def _get_one(item: Mapping[str, object]) -> AudienceDetail:
    recorder = Recorder([envelope({"list": [item]})])
    with make_client(recorder) as client:
        (found,) = client.get_audiences(ADVERTISER, ["1800000000000000001"])
    return found


def test_get_parses_documented_fields_and_ignores_extras() -> None:
    found = _get_one(SEG_LIKE)
    assert found.audience_id == "1800000000000000001"
    assert found.owner_id == ADVERTISER
    assert (found.name, found.type, found.calculate_type) == ("Partner audience", "Partner", "MULTIPLE_TYPES")
    assert (found.cover_num, found.is_valid, found.is_creator, found.is_auto_refresh) == (
        0,
        False,
        True,
        False,
    )
    assert found.expired_time == "2024-08-02 16:27:49"
    assert json.loads(found.rule or "") == {"inclusions": None, "exclusions": None}
    assert found.lookalike_spec == []
    assert [(h.action, h.editor, h.opt_time) for h in found.history] == [
        ("create", "open_api", "2023-08-03 16:27:49")
    ]
    assert "a_field_tiktok_adds_later" not in found.model_dump()


def test_get_accepts_lookalike_spec_as_object_or_list() -> None:
    spec = {
        "source_audience_id": "1",
        "include_source": True,
        "mobile_os": "ALL",
        "placements": "TikTok",
        "location_ids": ["6252001"],
        "audience_size": "NARROW",
    }
    as_object = _get_one(detail("1800000000000000001", lookalike_spec=spec))
    as_list = _get_one(detail("1800000000000000001", lookalike_spec=[spec]))
    assert as_object.lookalike_spec == as_list.lookalike_spec
    assert as_object.lookalike_spec[0].source_audience_id == "1"


def test_get_reads_backend_lookalike_names_and_integer_codes() -> None:
    """Y:get's response_rule maps these from backend fields, which may come back as they are (§6.4)."""
    backend = {
        "seed_id": 1800000000000000002,
        "is_contain_seed": 1,
        "platform": "IOS",
        "app_names": "TikTok, Pangle",
        "country_ids": [6252001],
        "lookalike_num": 10,
    }
    found = _get_one(detail("1800000000000000001", lookalike_spec=backend, audience_sub_type=1))
    (spec,) = found.lookalike_spec
    assert (spec.source_audience_id, spec.include_source, spec.mobile_os) == (
        "1800000000000000002",
        True,
        "IOS",
    )
    assert (spec.placements, spec.location_ids, spec.audience_size) == (
        ["TikTok", "Pangle"],
        ["6252001"],
        "NARROW",
    )
    assert found.audience_sub_type == "REACH_FREQUENCY"


def test_get_keeps_rule_as_json_text_even_if_sent_as_an_object() -> None:
    rule = {"inclusion_rule_set": {"operator": "OR", "rules": []}}
    found = _get_one(detail("1800000000000000001", rule=rule))
    assert json.loads(found.rule or "") == rule


def test_get_tolerates_null_history() -> None:
    item = detail("1800000000000000001")
    item["audience_history"] = None
    assert _get_one(item).history == []


def test_models_are_immutable_and_require_an_id() -> None:
    summary = AudienceSummary.model_validate({"audience_id": "1", "name": "x", "audience_type": "App"})
    with pytest.raises(ValidationError):
        summary.name = "changed"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="audience_id"):
        AudienceSummary.model_validate({"name": "no id"})


def test_expiry_and_creation_times_parse_tiktok_format() -> None:
    from datetime import UTC, datetime

    from pulumi_tiktok_audiences.client import AudienceSummary

    audience = AudienceSummary(
        audience_id="1", create_time="2026-01-02 03:04:05", expired_time="2027-01-02 03:04:05"
    )
    assert audience.created_at() == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert not audience.is_expired(datetime(2027, 1, 2, 3, 4, 4, tzinfo=UTC))
    assert audience.is_expired(datetime(2027, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert not AudienceSummary(audience_id="2", expired_time="soon").is_expired(datetime.now(UTC))
