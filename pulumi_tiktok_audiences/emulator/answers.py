"""The shape in which the emulator answers get: by default the least convenient one TikTok may use.

TikTok returns get's ``rule`` and ``lookalike_spec`` from its backend (reference §6.1, §6.4): the
official example's rule text has top-level ``inclusions``/``exclusions`` (null when empty), the
likeliest inner naming is the ad-group ``audience_rule`` one (SDK-adgroup: ``event_sources[{type,
id}]``, ``filter``, ``retention`` as a string), enums may stay the gateway's integers (the
x-open-enum values of Y:rule_create), and lookalike fields keep their backend names
(``lookalike_num``, ``platform``, ``is_contain_seed``, ``country_ids``, ``app_names``, ``seed_id``,
the x-open-source paths of Y:lookalike_create). An emulator echoing our own request back would
hide every one of those differences, so the default is the hardest combination:

* ``backend`` (default): ``inclusions``/``exclusions``, ad-group naming, integer enums (rule,
  ``audience_sub_type``, ``lookalike_num``), backend lookalike names, ids as numbers there.
* ``adgroup``: the same naming with string enums, as SDK-adgroup documents it.
* ``request``: the request's own ``rule_spec`` and the documented lookalike names.

Choose with ``Emulator(answer_shape=...)``, ``tiktok-audiences emulator serve --answer-shape`` or
the environment variable ``TIKTOK_EMULATOR_ANSWER_SHAPE`` (read when no shape is given).
"""

from __future__ import annotations

import json
import os
from enum import StrEnum
from typing import Any, Final

from pulumi_tiktok_audiences import constants

ANSWER_SHAPE_ENV: Final = "TIKTOK_EMULATOR_ANSWER_SHAPE"


class AnswerShape(StrEnum):
    BACKEND = "backend"
    ADGROUP = "adgroup"
    REQUEST = "request"

    @classmethod
    def resolve(cls, value: str | None) -> AnswerShape:
        """``value``, else the environment variable, else ``backend``; ValueError lists the choices."""
        chosen = value if value is not None else os.environ.get(ANSWER_SHAPE_ENV) or cls.BACKEND
        try:
            return cls(str(chosen).strip().lower())
        except ValueError:
            choices = ", ".join(shape.value for shape in cls)
            where = f"{chosen!r}" if value is not None else f"{chosen!r} ({ANSWER_SHAPE_ENV})"
            raise ValueError(f"Unknown emulator answer shape {where}: use one of {choices}") from None


def _code(value: str, codes: dict[str, int], shape: AnswerShape) -> str | int:
    return codes[value] if shape is AnswerShape.BACKEND else value


def render_rule(rule_spec_text: str, shape: AnswerShape) -> str:
    """Get's ``rule`` text for a stored request ``rule_spec``."""
    if shape is AnswerShape.REQUEST:
        return rule_spec_text
    rule_spec = json.loads(rule_spec_text)

    def rule(item: dict[str, Any]) -> dict[str, Any]:
        filter_set = item.get("filter_set") or {"operator": "OR", "filters": []}
        return {
            "event_sources": [
                {"type": _code(constants.AUDIENCE_TYPE_APP, constants.AUDIENCE_TYPE_CODES, shape), "id": app}
                for app in item.get("event_source_ids", [])
            ],
            "filter": {
                "operator": _code(filter_set["operator"], constants.FILTER_SET_OPERATOR_CODES, shape),
                "filters": [
                    {
                        "field": f["field"],
                        "operator": _code(f["operator"], constants.FILTER_OPERATOR_CODES, shape),
                        "value": f["value"],
                    }
                    for f in filter_set["filters"]
                ],
            },
            "retention": str(item["retention_days"]),
        }

    def rule_set(key: str) -> dict[str, Any] | None:
        found = rule_spec.get(key)
        if not found:
            return None
        return {
            "operator": _code(found["operator"], constants.RULE_SET_OPERATOR_CODES, shape),
            "rules": [rule(item) for item in found["rules"]],
        }

    return json.dumps(
        {"inclusions": rule_set("inclusion_rule_set"), "exclusions": rule_set("exclusion_rule_set")},
        ensure_ascii=False,
    )


def render_sub_type(sub_type: str, shape: AnswerShape) -> str | int:
    return _code(sub_type, constants.AUDIENCE_SUB_TYPE_CODES, shape)


def render_lookalike(spec_text: str, shape: AnswerShape) -> dict[str, Any]:
    """Get's ``lookalike_spec`` entry for a stored lookalike/create ``lookalike_spec``."""
    spec = json.loads(spec_text)
    if shape is AnswerShape.REQUEST:
        return dict(spec)
    numbers = shape is AnswerShape.BACKEND
    return {
        "seed_id": int(spec["source_audience_id"]) if numbers else spec["source_audience_id"],
        "is_contain_seed": spec["include_source"],
        "platform": spec["mobile_os"],
        "app_names": spec["placements"],
        "country_ids": spec["location_ids"],
        "lookalike_num": _code(spec["audience_size"], constants.LOOKALIKE_SIZE_CODES, shape),
    }
