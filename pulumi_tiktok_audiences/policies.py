"""Audience guardrails as a Pulumi policy pack (CrossGuard): the seed's best practices, enforced.

The pack folder (``policy_pack/``, installed with the package; ``python -m
pulumi_tiktok_audiences.policies`` prints its path) serves :func:`policies` with the
``pulumi-policy`` SDK, so ``pulumi preview --policy-pack <that path>`` checks every audience before
anything reaches TikTok. Policies read audiences as the provider does (``AudienceSpec`` from the
checked inputs) and judge what the audience declares (its purpose, its apps' tracked events), never
its name; their fixes are written in the user's form (advice.py: YAML for a catalog). Each policy has
a pydantic config model: its JSON Schema is what the engine validates a ``--policy-pack-config``
file against (pkg/resource/analyzer/config.go), and the model itself refuses what that schema
cannot say (unknown keys, Python regular expressions, events in any spelling, min above max) with
the property path and what to write instead.

What the engine sends (pkg/resource/plugin/analyzer_plugin.go, step_generator.go): Analyze gets a
resource's *checked* inputs with internal keys such as ``__provider`` left out, secrets as plain
values and unknowns (preview) as sentinels; AnalyzeStack gets every resource's outputs at the end
of a preview or update, so sizes are known only after ``pulumi up``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, TypeVar

from pulumi.output import Unknown
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError
from pydantic import AfterValidator, BeforeValidator, Field, ValidationError, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.advice import Form
from pulumi_tiktok_audiences.errors import ConfigurationError
from pulumi_tiktok_audiences.presets import RECENT_PURCHASE_DAYS
from pulumi_tiktok_audiences.provider import spec_from_props
from pulumi_tiktok_audiences.providers.base import unknown_paths
from pulumi_tiktok_audiences.resources import AppActivityAudience, AudienceShare, LookalikeAudience
from pulumi_tiktok_audiences.spec import (
    AppEvent,
    AudienceSpec,
    EventRule,
    Purpose,
    StrictModel,
    covered_includes,
    error_paths,
)

__all__ = ["PACK_DIR", "PACK_NAME", "PolicyConfigError", "policies"]

PACK_NAME: Final = "tiktok-audiences"
PACK_DIR: Final = Path(__file__).with_name("policy_pack")
"""The folder to give ``pulumi preview --policy-pack``."""


def _type_token(resource: type[Any]) -> str:
    """The type the engine sees for a dynamic resource class (``pulumi-python:dynamic/tiktok:...``)."""
    return f"pulumi-python:{resource._resource_type_name}"


AUDIENCE_TYPE: Final = _type_token(AppActivityAudience)
LOOKALIKE_TYPE: Final = _type_token(LookalikeAudience)
SHARE_TYPE: Final = _type_token(AudienceShare)
AUDIENCE_TYPES: Final = (AUDIENCE_TYPE, LOOKALIKE_TYPE)
"""Resources that are an audience of their advertiser (they count towards TikTok's cap)."""
OWN_TYPES: Final = (*AUDIENCE_TYPES, SHARE_TYPE)


class PolicyConfigError(ConfigurationError):
    """The policy-pack config file has a value the policy cannot use; the message says which."""


# --- Configuration ---------------------------------------------------------------------------


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise PydanticCustomError("regex", f"{value!r} is not a valid regular expression ({exc})") from None
    return value


_Regex = Annotated[str, AfterValidator(_regex)]
"""A Python regular expression, checked by the pack: the engine's ``format: regex`` would check Go's
syntax, which refuses valid Python patterns (look-arounds)."""
_Event = Annotated[
    AppEvent,
    BeforeValidator(AppEvent.parse),
    WithJsonSchema(
        {
            "type": "string",
            "description": "an App Activity event: its name (ADD_TO_CART) or TikTok's string "
            "('APP ADD TO CART'), in any case",
        }
    ),
]
_Days = Annotated[int, Field(ge=c.LOOKBACK_DAYS_MIN, le=c.LOOKBACK_DAYS_MAX)]


class PolicyConfig(StrictModel):
    """A policy's settings. ``REMOVED``: keys of earlier versions, each with what to do instead."""

    REMOVED: ClassVar[Mapping[str, str]] = {}


_BY_PURPOSE: Final = (
    "removed: the policy checks the audiences declared with purpose: acquisition (the purpose "
    "argument in a program), never names or rule shapes. Set purpose on your audiences and delete "
    "this key"
)


class ExcludeRecentPurchasersConfig(PolicyConfig):
    REMOVED: ClassVar[Mapping[str, str]] = {"name_pattern": _BY_PURPOSE, "presets": _BY_PURPOSE}

    days: _Days = Field(
        default=RECENT_PURCHASE_DAYS,
        description="Acquisition audiences must exclude people who purchased within this many days.",
    )


class NoConfig(PolicyConfig):
    """Policies configured by their enforcement level alone."""


_WITH_THE_AUDIENCES: Final = (
    "removed: tracked events are declared with the audiences, where validate and explain see them "
    "too: per app tracked_events in the catalog, or the stack config tiktok:trackedEvents (or the "
    "tracked_events argument) in a program. Move them there and delete this key"
)


class TrackedEventsConfig(NoConfig):
    REMOVED: ClassVar[Mapping[str, str]] = {"events": _WITH_THE_AUDIENCES, "apps": _WITH_THE_AUDIENCES}


class Bounds(StrictModel):
    min_days: _Days = Field(default=c.LOOKBACK_DAYS_MIN, description="Shortest lookback allowed.")
    max_days: _Days = Field(default=c.LOOKBACK_DAYS_MAX, description="Longest lookback allowed.")

    @model_validator(mode="after")
    def _ordered(self) -> Bounds:
        if self.min_days > self.max_days:
            raise PydanticCustomError(
                "bounds", f"min_days ({self.min_days}) must not be above max_days ({self.max_days})"
            )
        return self


class LookbackBoundsConfig(PolicyConfig):
    events: dict[_Event, Bounds] = Field(
        default_factory=dict, description="Per event (PURCHASE, ADD_TO_CART, ...), its lookback bounds."
    )
    default: Bounds | None = Field(default=None, description="Bounds for events not listed in events.")


class AudienceCapConfig(PolicyConfig):
    max_audiences: int = Field(
        default=c.AUDIENCES_PER_ADVERTISER_MAX,
        ge=1,
        le=c.AUDIENCES_PER_ADVERTISER_MAX,
        description=f"Most audiences per advertiser in the stack (TikTok allows "
        f"{c.AUDIENCES_PER_ADVERTISER_MAX}; set lower to keep room for audiences made elsewhere).",
    )


class NamingConfig(PolicyConfig):
    pattern: _Regex = Field(
        default=r"\S(.*\S)?",
        description="Python regular expression every audience name must match as a whole.",
    )
    description: str = Field(
        default="no leading or trailing spaces",
        description="The convention in words, quoted in violation messages.",
    )


class ProtectConfig(PolicyConfig):
    stack_pattern: _Regex = Field(
        default="(?i)prod(uction)?",
        description="Stacks whose whole name matches (Python regular expression) are production.",
    )


class TargetableConfig(PolicyConfig):
    min_size: int = Field(
        default=c.TARGETABLE_MIN_SIZE,
        ge=c.TARGETABLE_MIN_SIZE,
        description="Matched users an audience needs before a resource may use its id "
        f"(TikTok targets from {c.TARGETABLE_MIN_SIZE:,}).",
    )


_Config = TypeVar("_Config", bound=PolicyConfig)


def config_schema(model: type[PolicyConfig]) -> PolicyConfigSchema | None:
    """The model's JSON Schema in the shape the engine validates: inline properties, no ``$ref``.

    The engine wraps the properties in ``{"type": "object", ...}`` itself (convertSchema in
    pkg/resource/analyzer/config.go), so references to ``$defs`` would not resolve there.
    """
    schema = model.model_json_schema()
    if not schema.get("properties"):
        return None
    defs = schema.get("$defs", {})

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(defs[node["$ref"].rsplit("/", 1)[-1]])
            return {k: inline(v) for k, v in node.items()}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return PolicyConfigSchema(inline(schema["properties"]), schema.get("required"))


def load_config(policy: str, model: type[_Config], raw: Mapping[str, Any]) -> _Config:
    """The policy's config; PolicyConfigError naming each bad key and what to write instead."""
    problems = [(key, why) for key, why in model.REMOVED.items() if key in raw]
    config = None
    try:
        config = model.model_validate({k: v for k, v in raw.items() if k not in model.REMOVED})
    except ValidationError as exc:
        problems += error_paths(exc)
    if config is None or problems:
        listed = "; ".join(
            f"{policy}.{path}: {msg.rstrip('.')}" if path else f"{policy}: {msg.rstrip('.')}"
            for path, msg in problems
        )
        raise PolicyConfigError(
            f"The policy config for '{policy}' is invalid: {listed}. Correct it in the file given to "
            "--policy-pack-config."
        )
    return config


# --- Reading resources -----------------------------------------------------------------------


_UNKNOWN: Final = Unknown()  # type: ignore[no-untyped-call]


def plain(value: Any) -> Any:
    """The SDK's unknown-checking proxy as plain data, each unknown value a ``pulumi.output.Unknown``.

    Policies then judge what is known (as the provider's check does) instead of failing a
    preview on the first value that depends on a resource not created yet.
    """
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = _UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, str):
        items: list[Any] = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(_UNKNOWN)
        return items
    return value


def audience_spec(props: Mapping[str, Any]) -> AudienceSpec | None:
    """The audience as the provider reads it; None while parts are unknown or if check refuses it
    (the provider then reports the problem itself)."""
    if unknown_paths(dict(props)):
        return None
    try:
        return spec_from_props(dict(props))
    except ValidationError:
        return None


def _known(props: Mapping[str, Any], key: str) -> Any:
    value = props.get(key)
    return None if isinstance(value, Unknown) else value


def _label(name: str, props: Mapping[str, Any]) -> str:
    """How a message names a resource: its display name and its Pulumi resource name."""
    display = _known(props, "name")
    return f"audience '{display}' (resource {name})" if display else f"resource {name}"


def _rule(kind: str, index: int, rule: EventRule) -> str:
    return f"{kind}[{index}] ({rule.event.name} in the last {rule.lookback_days} days)"


def _stack(urn: str) -> str:
    """The stack of a URN (``urn:pulumi:<stack>::<project>::<type>::<name>``)."""
    return urn.split("::", 1)[0].removeprefix("urn:pulumi:")


# --- The policies ----------------------------------------------------------------------------


def exclude_recent_purchasers(
    args: ResourceValidationArgs, props: Mapping[str, Any], config: ExcludeRecentPurchasersConfig
) -> Iterator[str]:
    """The seed's rule: acquisition campaigns exclude recent purchasers. Decided by the declared
    purpose alone; an audience that declares none is not judged."""
    spec = audience_spec(props)
    if spec is None or spec.purpose is not Purpose.ACQUISITION:
        return
    apps = {app for rule in spec.include for app in spec.app_ids_for(rule)}

    def covers(rule: EventRule) -> bool:
        return rule.event is AppEvent.PURCHASE and apps <= set(spec.app_ids_for(rule))

    if any(covers(rule) and rule.lookback_days >= config.days for rule in spec.exclude):
        return
    # The audience's default apps are those of every rule (canonical form), so the include's too.
    recent = EventRule(
        event=AppEvent.PURCHASE,
        lookback_days=config.days,
        app_ids=None if spec.app_ids is not None else sorted(apps, key=int),
    )
    form = Form.of(args.name, props)
    fixed = form.rules("exclude", [*(rule for rule in spec.exclude if not covers(rule)), recent])
    yield (
        f"The {_label(args.name, props)} is for acquisition but does not leave out people who "
        f"purchased in the last {config.days} days, so its ads reach people who just bought. "
        f"Write {form.where}: {fixed}"
    )


def no_always_empty_audience(
    args: ResourceValidationArgs, props: Mapping[str, Any], _config: NoConfig
) -> Iterator[str]:
    spec = audience_spec(props)
    if spec is None:
        return
    covered: dict[int, int] = {}  # include index -> the first exclude rule that covers it
    for i, j in covered_includes(spec.include, spec.exclude, spec.app_ids):
        covered.setdefault(i, j)
    effect = (
        "so the audience can never fill" if len(covered) == len(spec.include) else "so that rule adds nobody"
    )
    for i, j in sorted(covered.items()):
        include, exclude = spec.include[i], spec.exclude[j]
        yield (
            f"In the {_label(args.name, props)}, {_rule('include', i, include)} is covered by "
            f"{_rule('exclude', j, exclude)}: everyone it lets in is left out again, {effect}. "
            f"Make the exclude window shorter than {include.lookback_days} days, or remove one of the rules."
        )


def _rules(spec: AudienceSpec) -> Iterator[tuple[str, int, EventRule]]:
    """Each rule of an audience with where it stands: ("include" | "exclude", index, rule)."""
    for kind, rules in (("include", spec.include), ("exclude", spec.exclude)):
        for index, rule in enumerate(rules):
            yield kind, index, rule


def tracked_events_only(
    args: ResourceValidationArgs, props: Mapping[str, Any], _config: TrackedEventsConfig
) -> Iterator[str]:
    """Rules on events an app's declared tracked events lack; nothing when none are declared."""
    spec = audience_spec(props)
    if spec is None:
        return
    form = Form.of(args.name, props)
    for kind, index, rule, app in spec.untracked_rules():
        tracked = spec.tracked_for(app) or ()
        declared = ", ".join(event.name for event in tracked) or "none"
        where = (
            "at the top of the catalog (or under stacks.<stack>)"
            if form.catalog is not None
            else "on the resource, or in the stack config tiktok:trackedEvents"
        )
        yield (
            f"In the {_label(args.name, props)}, {_rule(kind, index, rule)} needs {rule.event.name} "
            f"events from app {app}, whose tracked events lack it (declared: {declared}): TikTok gets only "
            "the events the measurement partner posts back, so this rule matches nobody there. If the "
            f"partner posts {rule.event.name} back, declare it {where}: "
            f"{form.tracked_events(app, [*tracked, rule.event])}; otherwise remove the rule."
        )


def lookback_bounds(
    args: ResourceValidationArgs, props: Mapping[str, Any], config: LookbackBoundsConfig
) -> Iterator[str]:
    spec = audience_spec(props)
    if spec is None:
        return
    for kind, index, rule in _rules(spec):
        bounds = config.events.get(rule.event, config.default)
        if bounds is None or bounds.min_days <= rule.lookback_days <= bounds.max_days:
            continue
        yield (
            f"In the {_label(args.name, props)}, {_rule(kind, index, rule)} is outside the "
            f"{bounds.min_days} to {bounds.max_days} days the team allows for {rule.event.name}. Set "
            "lookback_days within those bounds, or change lookback-bounds in the policy config."
        )


def naming(args: ResourceValidationArgs, props: Mapping[str, Any], config: NamingConfig) -> Iterator[str]:
    name = _known(props, "name")
    if not isinstance(name, str) or re.fullmatch(config.pattern, name):
        return
    form = Form.of(args.name, props)
    field = "its name argument" if form.catalog is None else f"its name: {form.where}"
    yield (
        f"The {_label(args.name, props)} does not follow the naming convention '{config.pattern}' "
        f"({config.description}). Rename it ({field}) to match."
    )


def protect_in_production(
    args: ResourceValidationArgs, props: Mapping[str, Any], config: ProtectConfig
) -> Iterator[str]:
    stack = _stack(args.urn)
    if args.opts.protect or not re.fullmatch(config.stack_pattern, stack):
        return
    form = Form.of(args.name, props)
    fix = (
        "opts=pulumi.ResourceOptions(protect=True) on the resource"
        if form.catalog is None
        else f"{form.setting('protect', True)} {form.where} (or under its stacks.{stack})"
    )
    yield (
        f"The {_label(args.name, props)} in production stack '{stack}' is not protected: a removal or a "
        "replacement would delete it on TikTok, and with it the id its ad groups use. Set "
        f"{fix}; a later rule change that replaces it then needs protect removed in the same change."
    )


def audience_cap(args: StackValidationArgs, config: AudienceCapConfig) -> Iterator[tuple[str, str | None]]:
    counts = Counter(
        advertiser
        for resource in args.resources
        if resource.resource_type in AUDIENCE_TYPES
        and isinstance(advertiser := _known(plain(resource.props), "advertiser_id"), str)
    )
    for advertiser, count in sorted(counts.items()):
        if count > config.max_audiences:
            limit = (
                f"TikTok's cap of {c.AUDIENCES_PER_ADVERTISER_MAX}"
                if config.max_audiences == c.AUDIENCES_PER_ADVERTISER_MAX
                else f"the team's limit of {config.max_audiences}"
            )
            yield (
                f"Advertiser {advertiser} has {count} audiences in this stack, above {limit}; audiences "
                "made outside this stack count on TikTok too. Remove audiences from the stack or move "
                "some to another advertiser.",
                None,
            )


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def targetable_before_use(
    args: StackValidationArgs, config: TargetableConfig
) -> Iterator[tuple[str, str | None]]:
    small: dict[str, tuple[str, int, str]] = {}
    for resource in args.resources:
        if resource.resource_type not in AUDIENCE_TYPES:
            continue
        props = plain(resource.props)
        audience_id, size = _known(props, "audience_id"), _known(props, "size")
        if isinstance(audience_id, str) and isinstance(size, int | float) and size < config.min_size:
            form = Form.of(resource.name, props)
            wait = (
                "audience_size(..., wait_until_targetable=True), or wait_until_targetable=True on "
                "the audience"
                if form.catalog is None
                else f"{form.setting('wait_until_targetable', True)} {form.where}"
            )
            small[audience_id] = (_label(resource.name, props), int(size), wait)
    if not small:
        return
    for resource in args.resources:
        if resource.resource_type in OWN_TYPES:
            continue  # lookalikes and shares need no targetable source
        for audience_id in dict.fromkeys(s for s in _strings(plain(resource.props)) if s in small):
            label, size, wait = small[audience_id]
            yield (
                f"Resource {resource.name} uses the {label} (id {audience_id}), which has {size:,} matched "
                f"users, fewer than the {config.min_size:,} an ad group needs to deliver. Wait until it "
                f"is targetable ({wait}) before using its id.",
                resource.urn,
            )


# --- Assembling the pack ---------------------------------------------------------------------


def _resource_policy(
    name: str,
    description: str,
    level: EnforcementLevel,
    types: tuple[str, ...],
    model: type[_Config],
    check: Callable[[ResourceValidationArgs, Mapping[str, Any], _Config], Iterator[str]],
) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in types:
            return
        config = load_config(name, model, args.get_config())
        for message in check(args, plain(args.props), config):
            report(message, None)

    return ResourceValidationPolicy(
        name, description, validate, enforcement_level=level, config_schema=config_schema(model)
    )


def _stack_policy(
    name: str,
    description: str,
    level: EnforcementLevel,
    model: type[_Config],
    check: Callable[[StackValidationArgs, _Config], Iterator[tuple[str, str | None]]],
) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        config = load_config(name, model, args.get_config())
        for message, urn in check(args, config):
            report(message, urn)

    return StackValidationPolicy(
        name, description, validate, enforcement_level=level, config_schema=config_schema(model)
    )


def policies() -> list[Policy]:
    """Every policy of the pack, with its default enforcement level and config schema."""
    mandatory, advisory = EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY
    audience = (AUDIENCE_TYPE,)
    return [
        _resource_policy(
            "exclude-recent-purchasers",
            "Acquisition audiences (purpose: acquisition) leave out people who purchased recently.",
            mandatory,
            audience,
            ExcludeRecentPurchasersConfig,
            exclude_recent_purchasers,
        ),
        _resource_policy(
            "no-always-empty-audience",
            "No include rule is cancelled by an exclude rule on the same event and a window as long.",
            mandatory,
            audience,
            NoConfig,
            no_always_empty_audience,
        ),
        _resource_policy(
            "tracked-events-only",
            "Rules use only the in-app events declared as posted back to TikTok (tracked events).",
            advisory,
            audience,
            TrackedEventsConfig,
            tracked_events_only,
        ),
        _resource_policy(
            "lookback-bounds",
            "Lookback windows stay within the bounds the team chose for each event.",
            mandatory,
            audience,
            LookbackBoundsConfig,
            lookback_bounds,
        ),
        _stack_policy(
            "audience-cap",
            "No advertiser has more audiences than TikTok's cap or the team's limit.",
            mandatory,
            AudienceCapConfig,
            audience_cap,
        ),
        _resource_policy(
            "naming",
            "Audience names follow the team's naming convention.",
            mandatory,
            AUDIENCE_TYPES,
            NamingConfig,
            naming,
        ),
        # Advisory by default: the engine refuses to replace a protected resource, so every rule
        # change of a protected audience needs protect removed in the same change; a team makes it
        # mandatory once its production workflow does that.
        _resource_policy(
            "protect-in-production",
            "Audiences, lookalikes and shares in production stacks are protected from deletion.",
            advisory,
            OWN_TYPES,
            ProtectConfig,
            protect_in_production,
        ),
        _stack_policy(
            "targetable-before-use",
            "Resources use an audience's id only once it has enough matched users to target.",
            advisory,
            TargetableConfig,
            targetable_before_use,
        ),
    ]


if __name__ == "__main__":
    print(PACK_DIR)
