"""Reading what TikTok really returns about an audience, whatever shape it comes in.

Get's ``rule`` is JSON text whose shape TikTok does not document for App Activity audiences
(reference §6.1): its official example uses top-level ``inclusions``/``exclusions`` (values may be
null), the likeliest inner naming is the ad-group ``audience_rule`` one (``event_sources[{type,
id}]``, ``filter{operator, filters}``, ``retention`` as a string), and the backend may return enums
as the gateway's integers (APP -> 3, OR -> 2, EQ -> 1). Our own request's naming
(``inclusion_rule_set``, ``rules[{event_source_ids, filter_set, retention_days}]``) is plausible too.
Every one of these, in any mix, reads to the same rules here. Get names the type ``type``, list
``audience_type`` (§6.2).

What cannot be read is never guessed: :class:`UnreadableAnswerError` says what was not understood, and
:func:`mismatches` turns it into :class:`UnverifiableAudienceError`, which names the audience and
says what to do, so that adoption, recovery and lost-create lookups stop instead of matching wrongly
or skipping in silence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from pydantic import ValidationError

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.errors import AdoptionError
from pulumi_tiktok_audiences.spec import AudienceSpec, error_paths

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client.models import AudienceDetail

__all__ = [
    "UnreadableAnswerError",
    "UnverifiableAudienceError",
    "is_app_activity",
    "is_lookalike",
    "live_spec",
    "mismatches",
    "read_rule_text",
]

_ANSWER_CHARS = 300  # how much of an unreadable answer an error quotes

# Each part of a rule under every name TikTok may give it: the request's, then the backend's.
_SETS: Final = (("inclusion_rule_set", "inclusions"), ("exclusion_rule_set", "exclusions"))
_SOURCES: Final = ("event_source_ids", "event_sources")
_LOOKBACK: Final = ("retention_days", "retention")
_FILTER: Final = ("filter_set", "filter")

# Audience types as get/list may spell them: the documented display name, the request enum, its code.
_APP_TYPES: Final = frozenset(
    t.casefold() for t in (c.APP_ACTIVITY_TYPE_NAME, c.AUDIENCE_TYPE_APP, str(c.AUDIENCE_TYPE_CODES["APP"]))
)
_LOOKALIKE_TYPES: Final = frozenset(t.casefold() for t in (c.LOOKALIKE_TYPE_NAME, "LOOKALIKE"))


class UnreadableAnswerError(ValueError):
    """A part of TikTok's answer that this package cannot read; the text says which and why."""


class UnverifiableAudienceError(AdoptionError):
    """An audience that may be the declared one, but whose details could not be read.

    Raised instead of matching by guess (a duplicate or a wrong takeover) or skipping in silence.
    """

    def __init__(self, detail: AudienceDetail, reason: str, *, lookalike: bool = False) -> None:
        self.audience_id = detail.audience_id
        self.audience_name = detail.name or ""
        self.reason = reason
        if lookalike:  # a lookalike cannot be adopted
            step = "if it is the declared lookalike, delete it there or leave it outside the stack"
            answer = json.dumps([s.model_dump(exclude_none=True) for s in detail.lookalike_spec])
        else:
            step = (
                f'if it is the declared audience, set adopt_audience_id to "{detail.audience_id}" on the '
                "resource to take it over as it is"
            )
            answer = detail.rule or ""
        super().__init__(
            f"Audience {detail.audience_id} ({self.audience_name!r}) could not be verified: {reason}. "
            "It was not taken over and no other audience was created, so that nothing is matched by "
            f"guess. Check it in TikTok Ads Manager: {step}; if it is another one, rename or delete it; "
            "then run `pulumi up` again. Please report TikTok's answer so that it can be read in future: "
            f"{answer[:_ANSWER_CHARS]!r}"
        )


def _enum_name(value: object, codes: Mapping[str, int], where: str) -> str:
    """The name of an enum TikTok may send as its name (any case) or as the gateway's integer."""
    if isinstance(value, str) and value.strip().upper() in codes:
        return value.strip().upper()
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    for name, code in codes.items():
        if number == code:
            return name
    allowed = ", ".join(f"{name} ({code})" for name, code in codes.items())
    raise UnreadableAnswerError(f"{where} is {value!r}, not one of {allowed}")


def _whole_number(value: object, where: str) -> int:
    """A count TikTok may send as 30, 30.0 or "30"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    raise UnreadableAnswerError(f"{where} is {value!r}, not a whole number of days")


def _empty(value: object) -> bool:
    return value is None or value == [] or value == {} or value == ""


def _pick(obj: Mapping[str, Any], names: tuple[str, ...], where: str) -> tuple[str | None, Any]:
    """The one field among ``names`` that has a value (a name and its value; (None, None) if none)."""
    given = [(name, obj[name]) for name in names if not _empty(obj.get(name))]
    if len(given) > 1:
        raise UnreadableAnswerError(f"{where} has both {given[0][0]} and {given[1][0]}")
    return given[0] if given else (None, None)


def _object(value: object, where: str, known: tuple[str, ...]) -> Mapping[str, Any]:
    """A JSON object whose fields beyond ``known`` are empty (a new, filled field could change meaning)."""
    if not isinstance(value, Mapping):
        raise UnreadableAnswerError(f"{where} is {type(value).__name__}, not an object")
    extra = sorted(str(key) for key, item in value.items() if key not in known and not _empty(item))
    if extra:
        raise UnreadableAnswerError(f"{where} has fields this package does not know: {', '.join(extra)}")
    return value


def read_rule_text(rule: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Include and exclude rules (``EventRule`` input) of get's ``rule`` text, in any known shape."""
    try:
        parsed: Any = json.loads(rule)
        if isinstance(parsed, str):  # JSON text inside a JSON string: a double encoding
            parsed = json.loads(parsed)
    except (json.JSONDecodeError, TypeError) as exc:
        raise UnreadableAnswerError(f"rule is not JSON text ({exc})") from None
    top = _object(parsed, "rule", tuple(name for names in _SETS for name in names))
    include, exclude = (_rule_set(top, names) for names in _SETS)
    if not include:  # every App Activity audience includes someone
        raise UnreadableAnswerError("rule holds no inclusion rules")
    return include, exclude


def _rule_set(top: Mapping[str, Any], names: tuple[str, ...]) -> list[dict[str, Any]]:
    key, rule_set = _pick(top, names, "rule")
    if key is None:
        return []  # absent or null: no rules of this kind
    where = f"rule.{key}"
    if isinstance(rule_set, list):  # the rules themselves, without operator
        rules: Any = rule_set
    else:
        fields = _object(rule_set, where, ("operator", "rules"))
        if not _empty(fields.get("operator")):
            _enum_name(fields["operator"], c.RULE_SET_OPERATOR_CODES, f"{where}.operator")
        rules = fields.get("rules") or []
    if not isinstance(rules, list):
        raise UnreadableAnswerError(f"{where}.rules is {type(rules).__name__}, not a list")
    return [_rule(item, f"{where}.rules[{index}]") for index, item in enumerate(rules)]


def _rule(value: object, where: str) -> dict[str, Any]:
    rule = _object(value, where, (*_SOURCES, *_LOOKBACK, *_FILTER))
    lookback_key, lookback = _pick(rule, _LOOKBACK, where)
    if lookback_key is None:
        raise UnreadableAnswerError(f"{where} has no lookback ({' or '.join(_LOOKBACK)})")
    filter_key, filter_set = _pick(rule, _FILTER, where)
    if filter_key is None:
        raise UnreadableAnswerError(f"{where} has no event filter ({' or '.join(_FILTER)})")
    out: dict[str, Any] = {
        "event": _event(filter_set, f"{where}.{filter_key}"),
        "lookback_days": _whole_number(lookback, f"{where}.{lookback_key}"),
    }
    sources_key, sources = _pick(rule, _SOURCES, where)
    if sources_key is not None:
        out["app_ids"] = _app_ids(sources, f"{where}.{sources_key}")
    return out


def _app_ids(sources: object, where: str) -> list[str]:
    """App ids from ``["1"]``, ``[1]`` or ``[{"type": "APP" | 3, "id": "1"}]``."""
    if not isinstance(sources, list):
        raise UnreadableAnswerError(f"{where} is {type(sources).__name__}, not a list")
    ids: list[str] = []
    for index, source in enumerate(sources):
        item = f"{where}[{index}]"
        if isinstance(source, Mapping):
            fields = _object(source, item, ("type", "id"))
            if not _empty(fields.get("type")):
                kind = _enum_name(fields["type"], c.AUDIENCE_TYPE_CODES, f"{item}.type")
                if kind != c.AUDIENCE_TYPE_APP:
                    raise UnreadableAnswerError(f"{item}.type is {kind}, not an app")
            source = fields.get("id")
        if isinstance(source, bool) or not isinstance(source, int | str) or not str(source).strip().isdigit():
            raise UnreadableAnswerError(f"{item} is {source!r}, not an app id")
        ids.append(str(source).strip())
    return ids


def _event(filter_set: object, where: str) -> str:
    """The one App Activity event of a rule's filter (operator AND or OR: with one filter, alike)."""
    fields = _object(filter_set, where, ("operator", "filters"))
    if not _empty(fields.get("operator")):
        _enum_name(fields["operator"], c.FILTER_SET_OPERATOR_CODES, f"{where}.operator")
    filters = fields.get("filters")
    if not isinstance(filters, list) or len(filters) != c.FILTERS_PER_RULE_MAX:
        raise UnreadableAnswerError(f"{where}.filters is {filters!r}, not a list of exactly one filter")
    where = f"{where}.filters[0]"
    event = _object(filters[0], where, ("field", "operator", "value", "parameter_filters"))
    if str(event.get("field", "")).strip().upper() != c.FILTER_FIELD:
        raise UnreadableAnswerError(f"{where}.field is {event.get('field')!r}, not {c.FILTER_FIELD}")
    _enum_name(event.get("operator"), c.FILTER_OPERATOR_CODES, f"{where}.operator")
    if not _empty(event.get("parameter_filters")):
        raise UnreadableAnswerError(f"{where} has parameter_filters, which an App Activity spec lacks")
    value = event.get("value")
    if value not in c.APP_EVENTS:
        raise UnreadableAnswerError(f"{where}.value {value!r} is not an App Activity event")
    return str(value)


# --- Audiences -------------------------------------------------------------------------------


def is_app_activity(audience_type: str | None) -> bool | None:
    """Whether get's ``type`` / list's ``audience_type`` is App Activity; None when TikTok sent none."""
    return None if not audience_type else audience_type.strip().casefold() in _APP_TYPES


def is_lookalike(audience_type: str | None) -> bool | None:
    """Whether the type is Lookalike; None when TikTok sent none."""
    return None if not audience_type else audience_type.strip().casefold() in _LOOKALIKE_TYPES


def spec_from_rule_text(
    advertiser_id: str,
    name: str,
    rule: str,
    *,
    auto_refresh: bool = True,
    retention_in_days: int | None = None,
    audience_sub_type: str = "NORMAL",
) -> AudienceSpec:
    """The spec of the JSON text TikTok's ``get`` returns as ``rule``, in any shape it may take.

    Raises UnreadableAnswerError (a ValueError) for what cannot be read.
    """
    include, exclude = read_rule_text(rule)
    return AudienceSpec.model_validate(
        {
            "advertiser_id": advertiser_id,
            "name": name,
            "include": include,
            "exclude": exclude,
            "auto_refresh": auto_refresh,
            "retention_in_days": retention_in_days,
            "audience_sub_type": audience_sub_type,
        }
    )


def live_spec(detail: AudienceDetail, advertiser_id: str, retention_in_days: int | None) -> AudienceSpec:
    """The spec of a live App Activity audience; UnreadableAnswerError (or ValidationError) if it has none.

    ``retention_in_days`` is the declared one: TikTok does not report it.
    """
    if not detail.rule:
        raise UnreadableAnswerError("TikTok reported no rule for it")
    if detail.is_auto_refresh is None:  # fixed at creation and part of the spec: never assumed
        raise UnreadableAnswerError("TikTok's answer does not report is_auto_refresh")
    return spec_from_rule_text(
        advertiser_id,
        detail.name or "",
        detail.rule,
        auto_refresh=detail.is_auto_refresh,
        retention_in_days=retention_in_days,
        audience_sub_type=detail.audience_sub_type or "NORMAL",  # the model reads integer codes
    )


def mismatches(detail: AudienceDetail, spec: AudienceSpec) -> list[str]:
    """Why a live audience is not the declared one (empty when it is; names may differ).

    Raises UnverifiableAudienceError when TikTok's answer cannot tell.
    """
    kind = is_app_activity(detail.type)
    if kind is False:
        return [f"it is a {detail.type!r}, not an App Activity audience"]
    try:
        live = live_spec(detail, spec.advertiser_id, spec.retention_in_days)
    except ValidationError as exc:  # read, but not a spec this package can manage
        problems = "; ".join(f"{path}: {message}" for path, message in error_paths(exc))
        raise UnverifiableAudienceError(
            detail, f"its rules as read are not a valid spec ({problems})"
        ) from None
    except UnreadableAnswerError as exc:
        raise UnverifiableAudienceError(
            detail, f"its rules could not be read from TikTok's answer ({exc})"
        ) from None
    if kind is None:
        raise UnverifiableAudienceError(detail, "TikTok's answer does not say what type of audience it is")
    aligned = live.model_copy(update={"name": spec.name})
    if aligned.replacement_key() != spec.replacement_key():
        return [f"TikTok has: {live.summary()} Declared: {spec.summary()}"]
    return []
