"""Request validation written from TikTok's docs, as its gateway applies it: 40002 naming the field.

The emulator checks requests with its own small schema language instead of loading TikTok's OpenAPI
files, so that it shares nothing with the client but constants.py and can catch the client's
mistakes. Each request schema below mirrors one ``dmp_custom_audience_*.yml`` request (types, strict
enums, maxLength, minimum/maximum, min/maxItems, required fields) plus the limits TikTok states only
in prose (1-5 rules per rule set, 1 filter per rule, names up to 128 characters, the rules of an APP
audience). Deliberate extras, all 40002: ID fields must be numeric strings (the gateway casts them to
int64), names must not be blank, unknown body fields are refused (so a client sending ``rule_spec``
to update hears about it), and a query parameter may appear only once. Only APP audiences are
implemented: other ``audience_type`` values are 40002; the ``identity_*`` fields (for video
engagement audiences) are type-checked and ignored; ``parameter_filters`` (Pixel) are refused.
"""

from __future__ import annotations

import json
import math
import re
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator.errors import param_error

_NUMERIC_ID = re.compile(r"[0-9]{1,19}")
_INTEGER_TEXT = re.compile(r"-?[0-9]+")
_INT64_MAX = 2**63 - 1


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class Spec(ABC):
    """One node of a request schema."""

    @abstractmethod
    def check(self, value: Any, path: str) -> Any:
        """Return ``value`` (normalised) or raise 40002 with a message starting with ``path``."""


@dataclass(frozen=True)
class Str(Spec):
    max_len: int | None = None
    enum: tuple[str, ...] | None = None
    numeric_id: bool = False
    non_blank: bool = False

    def check(self, value: Any, path: str) -> str:
        if not isinstance(value, str):
            raise param_error(f"{path}: must be a string")
        if self.enum is not None and value not in self.enum:
            raise param_error(f"{path}: must be one of {', '.join(self.enum)}; got {value[:64]!r}")
        if self.max_len is not None and len(value) > self.max_len:
            raise param_error(f"{path}: length must be <= {self.max_len}")
        if self.non_blank and not value.strip():
            raise param_error(f"{path}: must not be empty")
        if self.numeric_id and not (_NUMERIC_ID.fullmatch(value) and int(value) <= _INT64_MAX):
            raise param_error(f'{path}: must be a numeric ID string (int64), e.g. "7000000000000000001"')
        return value


@dataclass(frozen=True)
class Int(Spec):
    minimum: int | None = None
    maximum: int | None = None

    def check(self, value: Any, path: str) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)  # JSON Schema counts 30.0 as an integer, so does the gateway's cast
        if isinstance(value, bool) or not isinstance(value, int):
            raise param_error(f"{path}: must be an integer")
        if self.minimum is not None and value < self.minimum:
            raise param_error(f"{path}: must be >= {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise param_error(f"{path}: must be <= {self.maximum}")
        return value


@dataclass(frozen=True)
class Num(Spec):
    minimum: float | None = None

    def check(self, value: Any, path: str) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise param_error(f"{path}: must be a finite number")
        if self.minimum is not None and value < self.minimum:
            raise param_error(f"{path}: must be >= {self.minimum}")
        return float(value)


@dataclass(frozen=True)
class Bool(Spec):
    def check(self, value: Any, path: str) -> bool:
        if not isinstance(value, bool):
            raise param_error(f"{path}: must be a boolean")
        return value


@dataclass(frozen=True)
class Arr(Spec):
    item: Spec
    min_items: int | None = None
    max_items: int | None = None

    def check(self, value: Any, path: str) -> list[Any]:
        if not isinstance(value, list):
            raise param_error(f"{path}: must be an array")
        if self.min_items is not None and len(value) < self.min_items:
            raise param_error(f"{path}: must contain at least {self.min_items} item(s)")
        if self.max_items is not None and len(value) > self.max_items:
            raise param_error(f"{path}: must contain at most {self.max_items} item(s)")
        return [self.item.check(element, f"{path}[{index}]") for index, element in enumerate(value)]


@dataclass(frozen=True)
class Obj(Spec):
    fields: Mapping[str, Spec]
    required: frozenset[str] = field(default_factory=frozenset)

    def check(self, value: Any, path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise param_error(f"{path or 'request body'}: must be a JSON object")
        for name in self.fields:
            if name in self.required and name not in value:
                raise param_error(f"{_join(path, name)}: field is required")
        for name in value:
            if name not in self.fields:
                raise param_error(f"{_join(path, name)}: unknown field (accepted: {', '.join(self.fields)})")
        return {name: self.fields[name].check(item, _join(path, name)) for name, item in value.items()}


def _obj(fields: Mapping[str, Spec], *required: str) -> Obj:
    return Obj(fields, frozenset(required))


# --- building blocks ------------------------------------------------------------------------
ID = Str(numeric_id=True)
NAME = Str(max_len=constants.AUDIENCE_NAME_MAX_LEN, non_blank=True)
SUB_TYPE = Str(enum=constants.AUDIENCE_SUB_TYPES)
# Gateway-only context the SDKs may send (Y:share declares it; others list it in x-open-rules).
CONTEXT_INFO = _obj(
    {
        "app_id": Int(),
        "core_user_id": Int(),
        "developer_id": Int(),
        "x_forwarded_for": Str(),
        "x_real_ip": Str(),
    }
)

PARAMETER_FILTER = _obj(
    {
        "field": Str(enum=constants.PARAMETER_FILTER_FIELDS),
        "operator": Str(enum=constants.PARAMETER_FILTER_OPERATORS),
        "values": Arr(
            Str(max_len=constants.PARAMETER_FILTER_VALUE_MAX_LEN),
            max_items=constants.PARAMETER_FILTER_VALUES_MAX,
        ),
    },
    "field",
    "operator",
    "values",
)
FILTER = _obj(
    {
        "field": Str(enum=(constants.FILTER_FIELD,)),
        "operator": Str(enum=(constants.FILTER_OPERATOR,)),
        "value": Str(),
        "parameter_filters": Arr(PARAMETER_FILTER),
    },
    "field",
    "operator",
    "value",
)
FILTER_SET = _obj(
    {
        "operator": Str(enum=constants.FILTER_SET_OPERATORS),
        "filters": Arr(FILTER, max_items=constants.FILTERS_PER_RULE_MAX),
    },
    "operator",
    "filters",
)
RULE = _obj(
    {"event_source_ids": Arr(Str()), "retention_days": Int(), "filter_set": FILTER_SET},
    "retention_days",
)
RULE_SET = _obj(
    {
        "operator": Str(enum=constants.RULE_SET_OPERATORS),
        "rules": Arr(RULE, min_items=constants.RULES_PER_SET_MIN, max_items=constants.RULES_PER_SET_MAX),
    },
    "operator",
    "rules",
)
RULE_SPEC = _obj({"inclusion_rule_set": RULE_SET, "exclusion_rule_set": RULE_SET}, "inclusion_rule_set")
LOOKALIKE_SPEC = _obj(
    {
        "source_audience_id": ID,
        "include_source": Bool(),
        "mobile_os": Str(enum=constants.LOOKALIKE_MOBILE_OS),
        "placements": Arr(Str(enum=constants.LOOKALIKE_PLACEMENTS), min_items=1),
        "location_ids": Arr(Str(non_blank=True), min_items=1),
        "audience_size": Str(enum=constants.LOOKALIKE_SIZES),
    },
    "source_audience_id",
    "include_source",
    "mobile_os",
    "placements",
    "location_ids",
    "audience_size",
)

# --- one schema per endpoint ----------------------------------------------------------------
RULE_CREATE = _obj(
    {
        "advertiser_id": ID,
        "custom_audience_name": NAME,
        "audience_type": Str(enum=constants.RULE_AUDIENCE_TYPES),
        "audience_sub_type": SUB_TYPE,
        "retention_in_days": Int(constants.RETENTION_IN_DAYS_MIN, constants.RETENTION_IN_DAYS_MAX),
        "is_auto_refresh": Bool(),
        "identity_id": Str(),
        "identity_type": Str(enum=constants.IDENTITY_TYPES),
        "identity_authorized_bc_id": ID,
        "audience_enhancement": Bool(),
        "rule_spec": RULE_SPEC,
        "context_info": CONTEXT_INFO,
    },
    "advertiser_id",
    "custom_audience_name",
    "audience_type",
    "rule_spec",
)
UPDATE = _obj(
    {
        "advertiser_id": ID,
        "custom_audience_id": ID,
        "custom_audience_name": NAME,
        "file_paths": Arr(Str()),
        "action": Str(enum=constants.UPDATE_FILE_ACTIONS),
        "audience_sub_type": SUB_TYPE,
        "audience_enhancement": Bool(),
        "context_info": CONTEXT_INFO,
    },
    "advertiser_id",
    "custom_audience_id",
)
GET = _obj(
    {
        "advertiser_id": ID,
        "custom_audience_ids": Arr(ID, min_items=1, max_items=constants.IDS_PER_GET_MAX),
        "history_size": Int(1, constants.HISTORY_SIZE_MAX),
    },
    "advertiser_id",
    "custom_audience_ids",
)
LIST = _obj(
    {
        "advertiser_id": ID,
        "custom_audience_ids": Arr(ID, min_items=1, max_items=constants.IDS_PER_LIST_FILTER_MAX),
        "page": Int(1),
        "page_size": Int(1, constants.LIST_PAGE_SIZE_MAX),
    },
    "advertiser_id",
)
DELETE = _obj(
    {
        "advertiser_id": ID,
        "custom_audience_ids": Arr(ID, min_items=1, max_items=constants.IDS_PER_DELETE_MAX),
        "context_info": CONTEXT_INFO,
    },
    "advertiser_id",
    "custom_audience_ids",
)
SHARE = _obj(
    {
        "advertiser_id": ID,
        "custom_audience_ids": Arr(ID, min_items=1, max_items=constants.SHARE_AUDIENCES_MAX),
        "shared_advertiser_ids": Arr(ID, min_items=1, max_items=constants.SHARE_ADVERTISERS_MAX),
        "context_info": CONTEXT_INFO,
    },
    "advertiser_id",
    "custom_audience_ids",
    "shared_advertiser_ids",
)
SHARE_CANCEL = _obj(
    {"advertiser_id": ID, "custom_audience_id": ID, "shared_advertiser_id": ID, "context_info": CONTEXT_INFO},
    "advertiser_id",
    "custom_audience_id",
    "shared_advertiser_id",
)
SHARE_LOG = _obj({"advertiser_id": ID, "custom_audience_id": ID}, "advertiser_id", "custom_audience_id")
LOOKALIKE_CREATE = _obj(
    {
        "advertiser_id": ID,
        "custom_audience_name": NAME,
        "lookalike_spec": LOOKALIKE_SPEC,  # no audience_sub_type: not in the yml (reference §6.4)
        "context_info": CONTEXT_INFO,
    },
    "advertiser_id",
    "custom_audience_name",
    "lookalike_spec",
)
# No size limit is documented; the emulator applies the 100 of the other ID lists.
LOOKALIKE_UPDATE = _obj(
    {
        "advertiser_id": ID,
        "custom_audience_ids": Arr(ID, min_items=1, max_items=constants.IDS_PER_DELETE_MAX),
        "context_info": CONTEXT_INFO,
    },
    "advertiser_id",
    "custom_audience_ids",
)

JSON_QUERY_PARAMS = frozenset({"custom_audience_ids"})  # sent as ONE JSON array string (reference §1)


def parse_query(args: Mapping[str, list[str]], spec: Obj) -> dict[str, Any]:
    """Decode query parameters as TikTok's gateway does, then check them against ``spec``.

    Unknown parameters (``Access-Token`` among them) are ignored, as query strings often carry extras.
    """
    decoded: dict[str, Any] = {}
    for name, values in args.items():
        node = spec.fields.get(name)
        if node is None:
            continue
        if len(values) != 1:
            raise param_error(f"{name}: given {len(values)} times; send it once")
        text = values[0]
        if name in JSON_QUERY_PARAMS:
            decoded[name] = _json_array(name, text)
        elif isinstance(node, Int) and _INTEGER_TEXT.fullmatch(text):
            decoded[name] = int(text)
        else:
            decoded[name] = text
    return spec.check(decoded, "")


def _json_array(name: str, text: str) -> list[Any]:
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, list):
        raise param_error(f'{name}: must be one JSON array string, e.g. ["7300000000000000001"]')
    return value


def check_app_rules(body: Mapping[str, Any]) -> None:
    """The prose rules of an App Activity audience, applied after the schema check."""
    if body["audience_type"] != constants.AUDIENCE_TYPE_APP:
        raise param_error("audience_type: the emulator implements APP (App Activity) audiences only")
    spec = body["rule_spec"]
    for set_name in ("inclusion_rule_set", "exclusion_rule_set"):
        rule_set = spec.get(set_name)
        if rule_set is None:
            continue
        for index, rule in enumerate(rule_set["rules"]):
            _check_app_rule(rule, f"rule_spec.{set_name}.rules[{index}]")


def _check_app_rule(rule: Mapping[str, Any], path: str) -> None:
    if not rule.get("event_source_ids"):
        raise param_error(f"{path}.event_source_ids: required for APP audiences (the app IDs)")
    days = rule["retention_days"]
    if not constants.LOOKBACK_DAYS_MIN <= days <= constants.LOOKBACK_DAYS_MAX:
        raise param_error(
            f"{path}.retention_days: must be between {constants.LOOKBACK_DAYS_MIN} and "
            f"{constants.LOOKBACK_DAYS_MAX} for APP audiences"
        )
    filter_set = rule.get("filter_set")
    if filter_set is None:
        raise param_error(f"{path}.filter_set: required for APP audiences (it names the app event)")
    if len(filter_set["filters"]) != 1:
        raise param_error(f"{path}.filter_set.filters: must contain exactly 1 filter")
    event_filter = filter_set["filters"][0]
    filter_path = f"{path}.filter_set.filters[0]"
    if event_filter["value"] not in constants.APP_EVENTS:
        raise param_error(f"{filter_path}.value: not an App Activity event: {event_filter['value'][:64]!r}")
    if "parameter_filters" in event_filter:
        raise param_error(f"{filter_path}.parameter_filters: not supported for APP audiences")


def check_update(body: Mapping[str, Any]) -> None:
    """update needs ``custom_audience_name`` or ``file_paths``, a sub-type change too (reference §7.4:
    TikTok's update page, "You must pass in either this field or file_paths")."""
    if not {"custom_audience_name", "file_paths"} & body.keys():
        raise param_error("custom_audience_name: You must pass in either this field or file_paths.")
