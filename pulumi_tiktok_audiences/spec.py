"""The audience spec: the single source of truth for what an App Activity audience is.

Validation, the canonical form (so that one audience written two ways compares equal), the
lossless mapping to and from TikTok's ``rule/create`` body, what TikTok fixes at creation
(:meth:`AudienceSpec.replacement_key`, which changes.py turns into "replace or update") and the
plain-English summary all live here, once. The module knows nothing of Pulumi or HTTP, so the
provider, the CLI and the catalog share it and importing it stays cheap.
"""

import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum, auto
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Self, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    ModelWrapValidatorHandler,
    ValidationError,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError, core_schema

from pulumi_tiktok_audiences import constants as c

__all__ = [
    "LOCAL_FIELDS",
    "LOOKBACK_DAYS_ALLOWED",
    "REPLACE_FIELDS",
    "AppEvent",
    "AudienceSpec",
    "EventRule",
    "Purpose",
    "TrackedEventPairs",
    "TrackedEvents",
    "covered_includes",
    "error_paths",
    "property_path",
]

# --- App events -----------------------------------------------------------------------------


def _member_name(wire: str) -> str:
    """Python name of a wire event: "APP ADD TO CART" -> ADD_TO_CART, "IN-APP AD CLICK" -> IN_APP_AD_CLICK."""
    return re.sub(r"[ -]", "_", wire.removeprefix("APP "))


_WIRE_BY_NAME: Final = {_member_name(wire): wire for wire in c.APP_EVENTS}


def _normalise(text: str) -> str:
    """Upper case with "_", "-" and runs of spaces folded to one space, for lenient lookups."""
    return " ".join(re.sub(r"[\s_-]+", " ", text).split()).upper()


class AppEvent(StrEnum):
    """An App Activity event; the value is TikTok's exact wire string (from constants.APP_EVENTS)."""

    @staticmethod
    def _generate_next_value_(name: str, start: int, count: int, last_values: list[str]) -> str:
        # Values come from the constants table, never re-typed; a name missing there fails import.
        return _WIRE_BY_NAME[name]

    INSTALL = auto()
    DAY_2_RETENTION = auto()
    LAUNCH_APP = auto()
    LOGIN = auto()
    REGISTRATION = auto()
    COMPLETE_TUTORIAL = auto()
    VIEW_CONTENT = auto()
    ADD_TO_CART = auto()
    ADD_TO_WISHLIST = auto()
    ADD_PAYMENT_INFO = auto()
    CHECKOUT = auto()
    PURCHASE = auto()
    SUBSCRIBE = auto()
    START_TRIAL = auto()
    SEARCH = auto()
    RATE = auto()
    ACHIEVE_LEVEL = auto()
    UNLOCK_ACHIEVEMENT = auto()
    SPEND_CREDITS = auto()
    CREATE_GROUP = auto()
    JOIN_GROUP = auto()
    CREATE_ROLE = auto()
    GENERATE_LEAD = auto()
    IN_APP_AD_CLICK = auto()
    IN_APP_AD_IMPRESSION = auto()
    LOAN_APPLY = auto()
    LOAN_APPROVAL = auto()
    LOAN_DISBURSAL = auto()

    @classmethod
    def parse(cls, value: object) -> "AppEvent":
        """A member from itself, its name or its wire string, in any case, with _/-/space variants.

        Raises ValueError naming the close matches and listing every event.
        """
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and (found := _EVENT_LOOKUP.get(_normalise(value))) is not None:
            return found
        raise _unknown_event(value)


_EVENT_LOOKUP: Final = {_normalise(key): event for event in AppEvent for key in (event.name, event.value)}


_EVENT_SPELLINGS: Final = "e.g. PURCHASE, ADD_TO_CART or add-to-cart, in any case"
"""How users write events (catalogs and programs alike), for messages: never TikTok's wire strings."""


def _unknown_event(value: object) -> PydanticCustomError:
    """Short, naming the closest event as users write it; the catalog schema lists all of them."""
    if not isinstance(value, str):
        return PydanticCustomError(
            "app_event", f"an app event is written by name ({_EVENT_SPELLINGS}); got {value!r}"
        )
    close = difflib.get_close_matches(_normalise(value), list(_EVENT_LOOKUP), n=1, cutoff=0.6)
    hint = f"did you mean {_EVENT_LOOKUP[close[0]].name}?" if close else "no event is named like it."
    return PydanticCustomError(
        "app_event", f"unknown app event {value!r}: {hint} Write events by name ({_EVENT_SPELLINGS})."
    )


# --- Field types ------------------------------------------------------------------------------

LOOKBACK_DAYS_ALLOWED: Final = (
    f"{c.LOOKBACK_DAYS_MIN} to {c.LOOKBACK_DAYS_MAX} days, the {c.LOOKBACK_DAYS_SOURCE}"
)
"""The allowed lookbacks in words, for messages and docs; it follows the constants table."""
_RETENTION_ALLOWED: Final = (
    f"{c.RETENTION_IN_DAYS_MIN} to {c.RETENTION_IN_DAYS_MAX} days (TikTok's audience expiry range)"
)
_RULES_LIMIT: Final = "rules (TikTok's limit per rule set)"
_INT64_MAX: Final = 2**63 - 1  # TikTok's gateway casts every id to int64
# TikTok's only rule-set operator; filter sets hold one filter and TikTok documents OR for them too.
_OR: Final = c.RULE_SET_OPERATORS[0]


def _whole_days(allowed: str, low: int, high: int) -> Callable[[object], int]:
    """Accept whole numbers in [low, high], including 30.0 (protobuf sends every number as a float)."""

    def check(value: object) -> int:
        days = None
        if isinstance(value, int) and not isinstance(value, bool):
            days = value
        elif isinstance(value, float) and value.is_integer():
            days = int(value)
        if days is None or not low <= days <= high:
            raise PydanticCustomError("days", f"must be a whole number from {allowed}; got {value!r}")
        return days

    return check


def numeric_id(kind: str) -> Callable[[object], str]:
    """Ids are int64 numbers written as strings; ints are accepted, floats are not (they lose digits)."""

    def check(value: object) -> str:
        number = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value.lstrip("0")) < 20:
            number = int(value)
        if number is None or not 1 <= number <= _INT64_MAX:
            raise PydanticCustomError(
                "numeric_id",
                f"{kind} must be a positive whole number written as a string, e.g. '7123456789'; "
                f"got {value!r}",
            )
        return str(number)  # "0123" and 123 name the same id as "123" once TikTok casts them

    return check


def item_count(low: int, high: int | None, what: str) -> Callable[[object], object]:
    """Check a list's length up front, so the message can say which limit applies and why."""
    allowed = f"at least {low}" if high is None else (f"at most {high}" if low == 0 else f"{low} to {high}")

    def check(value: object) -> object:
        if isinstance(value, str):  # pydantic would only say "a valid list"; say what belongs in it
            raise PydanticCustomError(
                "count", f"must be a list of {allowed} {what}; got the string {value!r}"
            )
        if isinstance(value, list | tuple) and (len(value) < low or (high is not None and len(value) > high)):
            raise PydanticCustomError("count", f"must hold {allowed} {what}; got {len(value)}")
        return value

    return check


def canonical_ids(ids: list[str]) -> list[str]:
    """Deduplicated and in numeric order, so that id order and repeats never make a difference."""
    return sorted(set(ids), key=int)


def check_name(value: object) -> object:
    if isinstance(value, str) and (not value.strip() or len(value) > c.AUDIENCE_NAME_MAX_LEN):
        got = "a blank name" if not value.strip() else f"{len(value)} characters"
        raise PydanticCustomError(
            "name", f"must be 1 to {c.AUDIENCE_NAME_MAX_LEN} characters and not blank; got {got}"
        )
    return value


def id_schema(kind: str) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": "^0*[1-9][0-9]*$"},
                {"type": "integer", "minimum": 1, "maximum": _INT64_MAX},
            ],
            "description": f"{kind} (digits; integers are accepted and stored as strings)",
        }
    )


AdvertiserId = Annotated[
    str, BeforeValidator(numeric_id("an advertiser id")), id_schema("TikTok advertiser id")
]
AudienceName = Annotated[
    str, Field(min_length=1, max_length=c.AUDIENCE_NAME_MAX_LEN, pattern=r"\S"), BeforeValidator(check_name)
]
"""Field types that every audience kind shares (lookalike.py uses them too)."""

_Event = Annotated[AppEvent, BeforeValidator(AppEvent.parse)]
_AppId = Annotated[str, BeforeValidator(numeric_id("an app id")), id_schema("TikTok app id")]
_AppIds = Annotated[
    list[_AppId],
    Field(min_length=1),
    BeforeValidator(item_count(1, None, "app id (or leave app_ids out to use the audience's)")),
    AfterValidator(canonical_ids),
]


class Purpose(StrEnum):
    """What an audience is for. The guardrails decide by it, never by words in the audience's name."""

    ACQUISITION = "acquisition"
    """Ads that win new buyers: they must leave out people who purchased recently."""
    RETARGETING = "retargeting"
    """Ads that bring back people who already used the app."""
    EXCLUSION = "exclusion"
    """An audience ad groups leave out (recent purchasers, for instance)."""


def _lower(value: object) -> object:
    """Purposes in any case, as events are: "Acquisition" is acquisition."""
    return value.strip().lower() if isinstance(value, str) else value


TrackedEventPairs: TypeAlias = tuple[tuple[str, tuple[AppEvent, ...]], ...]


def _event_list(value: object) -> object:
    if isinstance(value, str):  # pydantic would only say "a valid tuple"
        raise PydanticCustomError(
            "tracked_events", f"must be a list of events, e.g. [INSTALL, PURCHASE]; got the string {value!r}"
        )
    return value


_TrackedMapping: Final = dict[_AppId, Annotated[tuple[_Event, ...], BeforeValidator(_event_list)]]


class _AsMapping:
    """Validate and serialize the pairs as the mapping users write: ``{app id: [event, ...]}``.

    Stored as sorted pairs: immutable like the rest of the frozen spec, and app id order, event
    order and repeats never count. Errors keep the app id in their path
    (``tracked_events.6400000001[1]``).
    """

    def __get_pydantic_core_schema__(self, _source: Any, handler: GetCoreSchemaHandler) -> Any:
        return core_schema.no_info_before_validator_function(
            _mapping_of,
            core_schema.no_info_after_validator_function(_pairs_of, handler.generate_schema(_TrackedMapping)),
            serialization=core_schema.plain_serializer_function_ser_schema(_mapping_of),
        )


def _mapping_of(value: object) -> object:
    """Stored pairs as a mapping; anything else is left for validation to judge."""
    if isinstance(value, tuple) and all(isinstance(pair, tuple) and len(pair) == 2 for pair in value):
        return {app: list(events) for app, events in value}
    if not isinstance(value, Mapping):
        raise PydanticCustomError(
            "tracked_events",
            "must map app ids to the events the measurement partner posts back to TikTok, e.g. "
            f"{{'6400000001': [INSTALL, PURCHASE]}}; got {value!r}",
        )
    return value


def _pairs_of(mapping: dict[str, tuple[AppEvent, ...]]) -> TrackedEventPairs:
    order = list(AppEvent)
    return tuple(
        (app, tuple(sorted(set(events), key=order.index)))
        for app, events in sorted(mapping.items(), key=lambda item: int(item[0]))
    )


TrackedEvents: TypeAlias = Annotated[TrackedEventPairs, _AsMapping()]
"""The events the measurement partner (MMP) posts back to TikTok, per app id: ``{app id: [event, ...]}``
as input and in JSON, stored as sorted ``(app id, events)`` pairs."""


# --- Models -----------------------------------------------------------------------------------


class StrictModel(BaseModel):
    """Frozen, and unknown fields are errors that name the field and its likely intended spelling."""

    # extra="forbid" also puts additionalProperties: false into the JSON Schema.
    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="wrap")
    @classmethod
    def _known_fields(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Unknown fields are reported together with the other fields' errors, never instead of them."""
        if not isinstance(data, Mapping) or all(key in cls.model_fields for key in data):
            return handler(data)
        allowed = list(cls.model_fields)
        errors = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "extra_forbidden",
                    "; ".join(
                        [
                            f"unknown field {key!r}",
                            *(
                                f"did you mean {m!r}?"
                                for m in difflib.get_close_matches(str(key), allowed, 1)
                            ),
                            f"allowed fields: {', '.join(allowed)}",
                        ]
                    ),
                ),
                loc=(str(key),),
                input=data[key],
            )
            for key in data
            if key not in cls.model_fields
        ]
        try:
            handler({key: value for key, value in data.items() if key in cls.model_fields})
        except ValidationError as exc:
            errors += [
                InitErrorDetails(
                    type=PydanticCustomError(error["type"], error["msg"]),
                    loc=error["loc"],
                    input=error["input"],
                )
                for error in exc.errors()
            ]
        raise ValidationError.from_exception_data(cls.__name__, errors)


class EventRule(StrictModel):
    """People who did ``event`` in the last ``lookback_days`` days, in the given apps."""

    event: _Event = Field(description="App Activity event: the API string, its member name or a variant.")
    lookback_days: Annotated[
        int,
        Field(ge=c.LOOKBACK_DAYS_MIN, le=c.LOOKBACK_DAYS_MAX),
        BeforeValidator(_whole_days(LOOKBACK_DAYS_ALLOWED, c.LOOKBACK_DAYS_MIN, c.LOOKBACK_DAYS_MAX)),
    ] = Field(description=f"Lookback window: {LOOKBACK_DAYS_ALLOWED}.")
    app_ids: _AppIds | None = Field(
        default=None, description="App ids (event sources) of this rule; default: the audience's app_ids."
    )

    if TYPE_CHECKING:
        # What the validators accept, for type checkers (the fields above say what is stored): an
        # event's name or TikTok's string too, and ids as a list or tuple but never a bare string.
        def __init__(
            self,
            *,
            event: AppEvent | str,
            lookback_days: int,
            app_ids: list[str] | tuple[str, ...] | None = None,
        ) -> None: ...


class AudienceSpec(StrictModel):
    """A TikTok App Activity custom audience: who is in it and how TikTok maintains it."""

    advertiser_id: AdvertiserId
    name: AudienceName
    app_ids: _AppIds | None = Field(default=None, description="App ids for every rule that gives none.")
    include: Annotated[
        list[EventRule],
        Field(min_length=c.RULES_PER_SET_MIN, max_length=c.RULES_PER_SET_MAX),
        BeforeValidator(item_count(c.RULES_PER_SET_MIN, c.RULES_PER_SET_MAX, _RULES_LIMIT)),
    ] = Field(description="People who match any of these rules are in the audience.")
    exclude: Annotated[
        list[EventRule],
        Field(max_length=c.RULES_PER_SET_MAX),
        BeforeValidator(item_count(0, c.RULES_PER_SET_MAX, _RULES_LIMIT)),
    ] = Field(default_factory=list, description="People who match any of these rules are left out.")
    auto_refresh: bool = Field(
        default=True, strict=True, description="Re-evaluate daily; TikTok cannot change it after creation."
    )
    retention_in_days: (
        Annotated[
            int,
            Field(ge=c.RETENTION_IN_DAYS_MIN, le=c.RETENTION_IN_DAYS_MAX),
            BeforeValidator(
                _whole_days(_RETENTION_ALLOWED, c.RETENTION_IN_DAYS_MIN, c.RETENTION_IN_DAYS_MAX)
            ),
        ]
        | None
    ) = Field(default=None, description=f"Expire the audience after {_RETENTION_ALLOWED}.")
    audience_sub_type: Literal["NORMAL", "REACH_FREQUENCY"] = Field(
        default="NORMAL", description="REACH_FREQUENCY audiences serve Reach & Frequency ads only."
    )
    match: Literal["any", "all"] = Field(
        default="any",
        description=(
            "How include rules combine. TikTok supports 'any' (OR) only; 'all' is refused with two or "
            "more include rules and means the same as 'any' (and is stored so) with one."
        ),
    )
    purpose: Annotated[Purpose, BeforeValidator(_lower)] | None = Field(
        default=None,
        description="What the audience is for (acquisition, retargeting or exclusion); the guardrails "
        "check by it. Never sent to TikTok.",
    )
    tracked_events: TrackedEvents | None = Field(
        default=None,
        description="Per app id, the events the measurement partner posts back to TikTok; rules on "
        "other events of those apps match nobody. Not declared: not checked. Never sent to TikTok.",
    )

    @model_validator(mode="wrap")
    @classmethod
    def _canonical(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        """Check what spans fields, then validate once more in canonical form if this one is not."""
        spec = handler(data)
        errors = spec._cross_field_errors()
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        update = spec._canonical_update()
        if not update:
            return spec
        return handler({**{k: getattr(spec, k) for k in spec.model_fields_set}, **update})

    def _rules(self) -> Iterable[tuple[str, int, EventRule]]:
        for kind, rules in (("include", self.include), ("exclude", self.exclude)):
            for index, rule in enumerate(rules):
                yield kind, index, rule

    def _cross_field_errors(self) -> list[InitErrorDetails]:
        errors = [
            InitErrorDetails(
                type=PydanticCustomError(
                    "missing_app_ids",
                    "this rule has no app ids: set app_ids on the rule, or on the audience to give "
                    "every rule the same apps",
                ),
                loc=(kind, index, "app_ids"),
                input=None,
            )
            for kind, index, rule in self._rules()
            if rule.app_ids is None and self.app_ids is None
        ]
        if self.match == "all" and len(self.include) > 1:
            message = (
                'match "all" (people who did every include event) cannot be created: '
                "TikTok's API "
                f"combines rules with {' or '.join(c.RULE_SET_OPERATORS)} only, so people who did ALL "
                'of these events are not expressible. Use match "any" for people who did any of them, '
                "or narrow the audience the supported way: include one event and exclude the other "
                "(e.g. include ADD_TO_CART and exclude PURCHASE for cart abandoners)."
            )
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError("match_all", message), loc=("match",), input=self.match
                )
            )
        return errors

    def _canonical_update(self) -> dict[str, Any]:
        """Fields to change for the canonical form; it depends only on each rule's effective apps.

        Shared apps become the audience default (rules give none); otherwise every rule lists its
        own and there is no default. A lone include rule needs no combining, so "all" is "any".
        """
        effective = [rule.app_ids or self.app_ids for _, _, rule in self._rules()]
        shared = effective[0] if all(ids == effective[0] for ids in effective) else None
        update: dict[str, Any] = {}
        if shared != self.app_ids:
            update["app_ids"] = shared
        rules = iter(None if shared else ids for ids in effective)
        for kind, current in (("include", self.include), ("exclude", self.exclude)):
            wanted = [rule.model_copy(update={"app_ids": next(rules)}) for rule in current]
            if any(new.app_ids != old.app_ids for new, old in zip(wanted, current, strict=True)):
                update[kind] = wanted
        if self.match == "all":
            update["match"] = "any"
        return update

    # -- reading ----------------------------------------------------------------------------------

    def app_ids_for(self, rule: EventRule) -> list[str]:
        """The apps a rule of this spec applies to: its own, else the audience's."""
        ids = rule.app_ids or self.app_ids
        assert ids is not None, "validation guarantees every rule has app ids"
        return ids

    def tracked_for(self, app_id: str) -> tuple[AppEvent, ...] | None:
        """The events declared as posted back for ``app_id``; None when none are declared for it."""
        return dict(self.tracked_events or ()).get(app_id)

    def untracked_rules(self) -> list[tuple[str, int, EventRule, str]]:
        """(include | exclude, index, rule, app id) where the app's declared tracked events lack the
        rule's event: TikTok never receives it from that app, so the rule matches nobody there.
        Apps with no declared tracked events are not judged."""
        return [
            (kind, index, rule, app)
            for kind, index, rule in self._rules()
            for app in self.app_ids_for(rule)
            if (tracked := self.tracked_for(app)) is not None and rule.event not in tracked
        ]

    def replacement_key(self) -> dict[str, Any]:
        """Everything TikTok cannot change in place: specs with different keys need a new audience.

        Rule order and repeated rules do not count (rules combine with OR); the name does not
        (rename is an update). audience_sub_type is included even though TikTok can move NORMAL
        to REACH_FREQUENCY in place: changes.classify decides that move.
        """

        def rules(items: list[EventRule]) -> list[tuple[str, int, tuple[str, ...]]]:
            return sorted({(r.event.value, r.lookback_days, tuple(self.app_ids_for(r))) for r in items})

        return {
            "advertiser_id": self.advertiser_id,
            "include": rules(self.include),
            "exclude": rules(self.exclude),
            "auto_refresh": self.auto_refresh,
            "retention_in_days": self.retention_in_days,
            "audience_sub_type": self.audience_sub_type,
        }

    # -- TikTok's wire format ---------------------------------------------------------------------

    def to_rule_spec(self) -> dict[str, Any]:
        """The ``rule_spec`` object of ``rule/create`` (reference §2.1)."""

        def rule_set(rules: list[EventRule]) -> dict[str, Any]:
            return {
                "operator": _OR,
                "rules": [
                    {
                        "event_source_ids": list(self.app_ids_for(rule)),
                        "retention_days": rule.lookback_days,
                        "filter_set": {
                            "operator": _OR,
                            "filters": [
                                {
                                    "field": c.FILTER_FIELD,
                                    "operator": c.FILTER_OPERATOR,
                                    "value": rule.event.value,
                                }
                            ],
                        },
                    }
                    for rule in rules
                ],
            }

        spec = {"inclusion_rule_set": rule_set(self.include)}
        if self.exclude:
            spec["exclusion_rule_set"] = rule_set(self.exclude)
        return spec

    def to_create_payload(self) -> dict[str, Any]:
        """The exact JSON body of ``POST /dmp/custom_audience/rule/create/``."""
        payload: dict[str, Any] = {
            "advertiser_id": self.advertiser_id,
            "custom_audience_name": self.name,
            "audience_type": c.AUDIENCE_TYPE_APP,
            "audience_sub_type": self.audience_sub_type,
            "is_auto_refresh": self.auto_refresh,
        }
        if self.retention_in_days is not None:
            payload["retention_in_days"] = self.retention_in_days
        payload["rule_spec"] = self.to_rule_spec()
        return payload

    @classmethod
    def from_create_payload(cls, payload: object) -> Self:
        """The spec of a ``rule/create`` body; ValueError if it is not one this spec can express."""
        body = _fields(
            payload,
            "payload",
            required=("advertiser_id", "custom_audience_name", "audience_type", "rule_spec"),
            optional=("audience_sub_type", "is_auto_refresh", "retention_in_days"),
        )
        if body["audience_type"] != c.AUDIENCE_TYPE_APP:
            raise ValueError(
                f"payload.audience_type {body['audience_type']!r} is not supported: only "
                f"{c.AUDIENCE_TYPE_APP!r} (App Activity) audiences can be expressed"
            )
        settings = {
            field: body[key]
            for key, field in (
                ("is_auto_refresh", "auto_refresh"),
                ("retention_in_days", "retention_in_days"),
                ("audience_sub_type", "audience_sub_type"),
            )
            if key in body
        }
        return cls._from_wire(
            body["advertiser_id"], body["custom_audience_name"], body["rule_spec"], settings
        )

    @classmethod
    def from_rule_spec(
        cls,
        advertiser_id: str,
        name: str,
        rule_spec: object,
        *,
        auto_refresh: bool = True,
        retention_in_days: int | None = None,
        audience_sub_type: str = "NORMAL",
    ) -> Self:
        """The spec of a ``rule_spec`` object plus the settings TikTok reports beside it."""
        settings = {
            "auto_refresh": auto_refresh,
            "retention_in_days": retention_in_days,
            "audience_sub_type": audience_sub_type,
        }
        return cls._from_wire(advertiser_id, name, rule_spec, settings)

    @classmethod
    def _from_wire(
        cls, advertiser_id: object, name: object, rule_spec: object, settings: dict[str, Any]
    ) -> Self:
        sets = _fields(
            rule_spec, "rule_spec", required=("inclusion_rule_set",), optional=("exclusion_rule_set",)
        )
        return cls.model_validate(
            {
                "advertiser_id": advertiser_id,
                "name": name,
                "include": _wire_rules(sets["inclusion_rule_set"], "rule_spec.inclusion_rule_set"),
                "exclude": _wire_rules(sets.get("exclusion_rule_set"), "rule_spec.exclusion_rule_set"),
                **settings,
            }
        )

    # -- words ------------------------------------------------------------------------------------

    def summary(self) -> str:
        """The audience in plain English, for previews, docs and the CLI."""
        # In canonical form a default means every rule shares these apps: say them once, up front.
        included = " or ".join(
            _clause(rule, rule.app_ids or (self.app_ids if index == 0 else None))
            for index, rule in enumerate(self.include)
        )
        text = f"People who {included}"
        if self.exclude:
            text += ", except those who " + " or ".join(_clause(rule, rule.app_ids) for rule in self.exclude)
        if not self.auto_refresh:
            text += " (auto-refresh off)"
        text += "."
        if self.retention_in_days is not None:
            text += f" Expires after {_days(self.retention_in_days)}."
        if self.audience_sub_type == "REACH_FREQUENCY":
            text += " For Reach & Frequency ads only."
        return text


LOCAL_FIELDS: Final = frozenset({"purpose", "tracked_events"})
"""What only this package knows: never in an API payload, never a reason to replace; a change of
these alone updates the stored state without calling TikTok."""
REPLACE_FIELDS: Final = tuple(key for key in AudienceSpec.model_fields if key not in {"name", *LOCAL_FIELDS})
"""What TikTok cannot change in place, in field order (the name is renamed by an update)."""


def covered_includes(
    include: Iterable[EventRule], exclude: Iterable[EventRule], app_ids: Iterable[str] | None = None
) -> list[tuple[int, int]]:
    """(include index, exclude index) pairs where the exclude rule leaves out everyone the include adds.

    It does when both name the same event, the exclude's window is at least as long and it covers
    the include's apps (``app_ids``: those of rules that name none). Include PURCHASE 7 days and
    exclude PURCHASE 30 days: everyone who purchased in the last 7 days also did in the last 30,
    so the include rule adds nobody; when every include rule is covered, the audience is empty.
    """
    default = set(app_ids or ())
    excludes = list(exclude)
    return [
        (i, e)
        for i, kept in enumerate(include)
        for e, left_out in enumerate(excludes)
        if kept.event is left_out.event
        and left_out.lookback_days >= kept.lookback_days
        and set(kept.app_ids or default) <= set(left_out.app_ids or default)
    ]


def _fields(
    value: object, where: str, *, required: tuple[str, ...], optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    """A wire object's fields; ValueError naming anything missing or beyond what the spec expresses."""
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a JSON object, got {type(value).__name__}")
    extra = [str(key) for key in value if key not in required and key not in optional]
    if extra:  # first: an unexpected shape explains the missing keys better than they do
        raise ValueError(
            f"{where}: {', '.join(extra)} not supported (an App Activity audience spec uses only "
            f"{', '.join((*required, *optional))} here)"
        )
    missing = [key for key in required if key not in value]
    if missing:
        raise ValueError(f"{where} lacks {', '.join(missing)}")
    return dict(value)


def _wire_rules(rule_set: object, where: str) -> list[dict[str, Any]]:
    """Rules of one rule set as EventRule input; an absent or null set has none."""
    if rule_set is None:
        return []
    fields = _fields(rule_set, where, required=("operator", "rules"))
    if fields["operator"] != _OR:
        raise ValueError(
            f"{where}.operator {fields['operator']!r} is not supported: TikTok combines rules with "
            f"{' or '.join(c.RULE_SET_OPERATORS)} only"
        )
    if not isinstance(fields["rules"], list):
        raise ValueError(f"{where}.rules must be a list")
    return [_wire_rule(rule, f"{where}.rules[{index}]") for index, rule in enumerate(fields["rules"])]


def _wire_rule(rule: object, where: str) -> dict[str, Any]:
    fields = _fields(rule, where, required=("retention_days", "filter_set"), optional=("event_source_ids",))
    filter_set = _fields(fields["filter_set"], f"{where}.filter_set", required=("operator", "filters"))
    filters = filter_set["filters"]
    if (
        filter_set["operator"] != _OR
        or not isinstance(filters, list)
        or len(filters) != c.FILTERS_PER_RULE_MAX
    ):
        raise ValueError(
            f"{where}.filter_set is not supported: it must be operator {_OR!r} with exactly "
            f"{c.FILTERS_PER_RULE_MAX} filter"
        )
    event = _fields(filters[0], f"{where}.filter_set.filters[0]", required=("field", "operator", "value"))
    if (event["field"], event["operator"]) != (c.FILTER_FIELD, c.FILTER_OPERATOR):
        raise ValueError(
            f"{where}.filter_set.filters[0] is not supported: only field {c.FILTER_FIELD!r} with "
            f"operator {c.FILTER_OPERATOR!r}"
        )
    if event["value"] not in c.APP_EVENTS:  # the wire holds exact strings, never aliases
        raise ValueError(f"{where}.filter_set.filters[0].value: {_unknown_event(event['value'])}")
    out = {"event": event["value"], "lookback_days": fields["retention_days"]}
    if "event_source_ids" in fields:
        out["app_ids"] = fields["event_source_ids"]
    return out


# --- Plain English ----------------------------------------------------------------------------

# "the app" becomes the app list when a clause names its apps; other phrases get "in app 123".
_EVENT_PHRASES: Final[dict[AppEvent, str]] = {
    AppEvent.INSTALL: "installed the app",
    AppEvent.DAY_2_RETENTION: "came back to the app the day after installing",
    AppEvent.LAUNCH_APP: "launched the app",
    AppEvent.LOGIN: "logged in to the app",
    AppEvent.REGISTRATION: "registered",
    AppEvent.COMPLETE_TUTORIAL: "completed the tutorial",
    AppEvent.VIEW_CONTENT: "viewed content",
    AppEvent.ADD_TO_CART: "added to cart",
    AppEvent.ADD_TO_WISHLIST: "added to a wishlist",
    AppEvent.ADD_PAYMENT_INFO: "added payment info",
    AppEvent.CHECKOUT: "checked out",
    AppEvent.PURCHASE: "purchased",
    AppEvent.SUBSCRIBE: "subscribed",
    AppEvent.START_TRIAL: "started a trial",
    AppEvent.SEARCH: "searched",
    AppEvent.RATE: "left a rating",
    AppEvent.ACHIEVE_LEVEL: "reached a new level",
    AppEvent.UNLOCK_ACHIEVEMENT: "unlocked an achievement",
    AppEvent.SPEND_CREDITS: "spent credits",
    AppEvent.CREATE_GROUP: "created a group",
    AppEvent.JOIN_GROUP: "joined a group",
    AppEvent.CREATE_ROLE: "created a character",
    AppEvent.GENERATE_LEAD: "became a lead",
    AppEvent.IN_APP_AD_CLICK: "clicked an in-app ad",
    AppEvent.IN_APP_AD_IMPRESSION: "saw an in-app ad",
    AppEvent.LOAN_APPLY: "applied for a loan",
    AppEvent.LOAN_APPROVAL: "were approved for a loan",
    AppEvent.LOAN_DISBURSAL: "received a loan payout",
}


def _days(count: int) -> str:
    return "1 day" if count == 1 else f"{count} days"


def _clause(rule: EventRule, apps: list[str] | None) -> str:
    phrase = _EVENT_PHRASES[rule.event]
    if apps:
        named = f"app {apps[0]}" if len(apps) == 1 else f"apps {', '.join(apps[:-1])} or {apps[-1]}"
        phrase = phrase.replace("the app", named) if "the app" in phrase else f"{phrase} in {named}"
    return f"{phrase} in the last {_days(rule.lookback_days)}"


# --- Errors -----------------------------------------------------------------------------------


def error_paths(exc: ValidationError) -> list[tuple[str, str]]:
    """(property path, message) pairs such as ("include[1].lookback_days", "must be ...")."""
    return [(property_path(err["loc"]), err["msg"]) for err in exc.errors()]


def property_path(loc: tuple[int | str, ...]) -> str:
    """A pydantic location as a property path: ("include", 1, "lookback_days") -> include[1].lookback_days."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text
