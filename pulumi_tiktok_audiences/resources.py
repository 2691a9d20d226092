"""Program-side resources: what a Pulumi program declares.

Arguments accept Pulumi Inputs anywhere (an app id may be another resource's output). Rules may
be :class:`EventRule` objects or plain mappings with the same keys; mappings may hold Outputs.
The provider's ``check`` is the single source of truth for what is valid. It runs twice: here, on
the arguments known when the resource is declared (an Output is skipped, as check skips unknown
values in a preview), so a mistake fails in the program, with its property path, under ``pulumi
preview`` and under unit-test mocks alike; and in the provider, on the complete inputs.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol, SupportsIndex, TypeAlias, TypeVar

import pulumi
import pulumi.dynamic
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.output import UNKNOWN

from pulumi_tiktok_audiences.advice import CATALOG_KEY
from pulumi_tiktok_audiences.errors import ConfigurationError, InvalidArgumentsError
from pulumi_tiktok_audiences.lookalike import DEFAULT_READINESS_TIMEOUT_SECONDS
from pulumi_tiktok_audiences.provider import AppActivity, Lookalike, Share
from pulumi_tiktok_audiences.readiness import AudienceSize, is_targetable, wait_until
from pulumi_tiktok_audiences.readiness import audience_size as read_audience_size
from pulumi_tiktok_audiences.settings import ADVERTISER_KEY, ProviderSettings
from pulumi_tiktok_audiences.spec import EventRule

RuleInput: TypeAlias = EventRule | Mapping[str, Any]
"""A rule: an EventRule, or a mapping with its keys (values may be Outputs)."""
Rules: TypeAlias = Sequence[pulumi.Input[RuleInput]]
"""A list or tuple of rules (a string is no sequence of rules, so type checkers refuse one)."""

_T_co = TypeVar("_T_co", covariant=True)


class SequenceNotStr(Protocol[_T_co]):
    """A list or tuple, for type checkers; not a bare string, whose ``__contains__`` takes strings only.

    ``Sequence[str]`` would let ``app_ids="123"`` type-check and then be refused at run time. A
    reduced ``useful_types.SequenceNotStr`` (the typeshed maintainers' helpers): without its
    overloaded ``__getitem__`` mypy still checks the items of a list literal. A set does not fit
    (no ``__getitem__``), and Pulumi could not send one.
    """

    def __contains__(self, value: object, /) -> bool: ...
    def __iter__(self) -> Iterator[_T_co]: ...
    def __len__(self) -> int: ...
    def __getitem__(self, index: SupportsIndex, /) -> _T_co: ...


Strings: TypeAlias = SequenceNotStr[pulumi.Input[str]]
"""Ids, locations, placements: a list or tuple of strings or Outputs of strings."""

_ProviderClass: TypeAlias = type[AppActivity] | type[Lookalike] | type[Share]


class _StackConfig(Config):
    """The program's stack configuration, which the engine also hands to the provider's configure()."""

    def __init__(self) -> None:
        super().__init__({}, "")

    def get(self, key: str) -> Any:
        return pulumi.runtime.get_config(key)


def checked_inputs(what: str, provider_class: _ProviderClass, props: Mapping[str, Any]) -> dict[str, Any]:
    """The provider's own ``check`` of ``props``, configured as the engine configures it.

    Returns check's (canonical) inputs; raises InvalidArgumentsError naming ``what`` and listing
    every failure. A fresh provider each time: the one given to a resource is pickled into the
    state and must stay unconfigured (configure() reads the token).
    """
    provider = provider_class()
    provider.configure(ConfigureRequest(_StackConfig()))
    result = provider.check({}, dict(props))
    if result.failures:
        raise InvalidArgumentsError(what, [(failure.property, failure.reason) for failure in result.failures])
    return dict(result.inputs)


def _known(value: Any) -> Any:
    """``value`` as check sees it in a preview: Outputs (and awaitables) are not known yet."""
    if isinstance(value, pulumi.Output) or inspect.isawaitable(value):
        return UNKNOWN
    if isinstance(value, Mapping):
        return {key: _known(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_known(item) for item in value]
    return value


def _rule_input(rule: pulumi.Input[RuleInput]) -> Any:
    """An EventRule becomes the plain mapping Pulumi can serialize; anything else passes through."""
    if isinstance(rule, EventRule):
        return rule.model_dump(mode="json", exclude_none=True)
    return rule


def _rules_input(rules: pulumi.Input[Rules] | None) -> Any:
    """Rules as Pulumi serializes them; a value that is no list (a string) is left for check to refuse."""
    if isinstance(rules, Sequence) and not isinstance(rules, str):
        return _rule_list(rules)
    pending: Any = rules
    if isinstance(pending, pulumi.Output) or inspect.isawaitable(pending):
        return pulumi.Output.from_input(pending).apply(_rule_list)
    return rules


def _rule_list(rules: Any) -> list[Any]:
    return [_rule_input(rule) for rule in rules]


class AppActivityAudience(pulumi.dynamic.Resource, module="tiktok", name="AppActivityAudience"):
    """A TikTok App Activity custom audience: people who did (or did not do) in-app events.

    Changing the name updates the audience in place; changing anything else (rules, events,
    lookbacks, app ids, auto-refresh, retention, advertiser) creates a new audience before the
    old one is deleted, because TikTok can only rename rule-based audiences.
    """

    audience_id: pulumi.Output[str]
    """TikTok's custom audience id (use it in an ad group's audience ids)."""
    size: pulumi.Output[int | None]
    """TikTok's ``cover_num``: matched users, or None while TikTok is still calculating."""
    targetable: pulumi.Output[bool]
    """True once the audience is valid and has at least 1,000 matched users."""
    is_valid: pulumi.Output[bool]
    expire_time: pulumi.Output[str | None]
    summary: pulumi.Output[str]
    """The audience in plain English, as shown in previews."""
    advertiser_id: pulumi.Output[str]
    name: pulumi.Output[str]
    app_ids: pulumi.Output[list[str] | None]
    include: pulumi.Output[list[dict[str, Any]]]
    exclude: pulumi.Output[list[dict[str, Any]]]
    auto_refresh: pulumi.Output[bool]
    retention_in_days: pulumi.Output[int | None]
    audience_sub_type: pulumi.Output[str]
    purpose: pulumi.Output[str | None]
    tracked_events: pulumi.Output[dict[str, list[str]] | None]

    def __init__(
        self,
        resource_name: str,
        *,
        include: pulumi.Input[Rules],
        exclude: pulumi.Input[Rules] | None = None,
        advertiser_id: pulumi.Input[str] | None = None,
        name: pulumi.Input[str] | None = None,
        app_ids: pulumi.Input[Strings] | None = None,
        auto_refresh: pulumi.Input[bool] = True,
        retention_in_days: pulumi.Input[int] | None = None,
        audience_sub_type: pulumi.Input[str] | None = None,
        match: pulumi.Input[str] | None = None,
        adopt_audience_id: pulumi.Input[str] | None = None,
        wait_until_targetable: pulumi.Input[bool] | None = None,
        readiness_timeout_seconds: pulumi.Input[float] | None = None,
        purpose: pulumi.Input[str] | None = None,
        tracked_events: pulumi.Input[Mapping[str, pulumi.Input[Strings]]] | None = None,
        catalog: str | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare an audience.

        ``name`` defaults to the resource name; ``advertiser_id`` defaults to the stack config
        ``tiktok:advertiserId`` (or TIKTOK_ADVERTISER_ID); ``app_ids`` is the event source of
        every rule that gives none. ``adopt_audience_id`` takes over an existing audience (after
        checking that it matches) instead of creating one: ``pulumi import`` cannot work for
        dynamic providers (pulumi/pulumi#16175). ``wait_until_targetable`` (off by default) makes
        the create wait, up to ``readiness_timeout_seconds`` (600), until the audience has the 1,000
        people an ad group needs; a timeout deletes the new audience again and fails.
        ``purpose`` (a :class:`~pulumi_tiktok_audiences.spec.Purpose`: acquisition, retargeting
        or exclusion) and ``tracked_events`` (per app id, the events the measurement partner posts
        back; default: the stack config ``tiktok:trackedEvents``) are for the guardrails: they are
        stored, never sent to TikTok, and changing them changes nothing there. ``catalog`` is set
        by ``load_catalog`` (the catalog file), so that the guardrails write their fixes as YAML.
        """
        props: dict[str, Any] = {
            "advertiser_id": advertiser_id,
            "name": resource_name if name is None else name,
            "app_ids": app_ids,
            "include": _rules_input(include),
            "exclude": _rules_input(exclude) if exclude is not None else [],
            "auto_refresh": auto_refresh,
            "retention_in_days": retention_in_days,
            "audience_sub_type": audience_sub_type,
            "match": match,
            "adopt_audience_id": adopt_audience_id,
            "wait_until_targetable": wait_until_targetable,
            "readiness_timeout_seconds": readiness_timeout_seconds,
            "purpose": purpose,
            "tracked_events": tracked_events,
            CATALOG_KEY: catalog,
            # Outputs: declared so that Pulumi exposes them as attributes.
            "audience_id": None,
            "size": None,
            "targetable": None,
            "is_valid": None,
            "expire_time": None,
        }
        checked_inputs(f"{type(self).__name__} {resource_name!r}", AppActivity, _known(props))
        props["summary"] = _summary_carrier(*props.values())
        super().__init__(AppActivity(), resource_name, props, opts)


AudienceRef: TypeAlias = "pulumi.Input[str] | AppActivityAudience | LookalikeAudience"
"""An audience: its resource, or its TikTok id (a string or an Output of one)."""


def _audience_id(audience: AudienceRef) -> pulumi.Input[str]:
    """The resource id (TikTok's audience id): unlike the ``audience_id`` output it stays known in
    the preview of an update, so a renamed source shows no false replacement of its dependents."""
    if isinstance(audience, AppActivityAudience | LookalikeAudience):
        return audience.id
    return audience


def _summary_carrier(*inputs: Any) -> pulumi.Output[str]:
    """The ``summary`` input: empty text, secret exactly when one of ``inputs`` is secret.

    The engine strips secrets before the provider sees the inputs and afterwards marks secret
    only the outputs named like a secret input (reference: pulumi-dynamic-providers.md §9.7,
    provider_plugin.go ``annotateSecrets``). The summary quotes ids, so it carries their
    secretness under its own name; the provider's check keeps it.
    """
    return pulumi.Output.all(*inputs).apply(lambda _: "")


def _owner(audience: AudienceRef, advertiser_id: pulumi.Input[str] | None) -> pulumi.Input[str] | None:
    """The advertiser given, else the audience resource's own, else None (the configured default)."""
    if advertiser_id is None and isinstance(audience, AppActivityAudience | LookalikeAudience):
        return audience.advertiser_id
    return advertiser_id


class LookalikeAudience(pulumi.dynamic.Resource, module="tiktok", name="LookalikeAudience"):
    """A TikTok lookalike audience: people similar to a source audience, in some locations.

    Renaming updates it in place; any other change creates a new lookalike before the old one is
    deleted (TikTok fixes a lookalike's spec at creation). Change ``refresh_trigger`` to have TikTok
    recompute it now. The source must be an audience of the same advertiser with at least 100
    people and must not be a lookalike itself (TikTok's rules; its reason is reported).
    """

    audience_id: pulumi.Output[str]
    size: pulumi.Output[int | None]
    """TikTok's ``cover_num``: matched users, or None while TikTok is still calculating."""
    targetable: pulumi.Output[bool]
    """True once the audience is valid and has at least 1,000 matched users."""
    is_valid: pulumi.Output[bool]
    expire_time: pulumi.Output[str | None]
    summary: pulumi.Output[str]
    advertiser_id: pulumi.Output[str]
    name: pulumi.Output[str]
    source_audience_id: pulumi.Output[str]
    locations: pulumi.Output[list[str]]
    audience_size: pulumi.Output[str]
    mobile_os: pulumi.Output[str]
    placements: pulumi.Output[list[str]]
    include_source: pulumi.Output[bool]
    audience_sub_type: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        source: AudienceRef,
        locations: pulumi.Input[Strings],
        audience_size: pulumi.Input[str],
        advertiser_id: pulumi.Input[str] | None = None,
        name: pulumi.Input[str] | None = None,
        mobile_os: pulumi.Input[str] | None = None,
        placements: pulumi.Input[Strings] | None = None,
        include_source: pulumi.Input[bool] | None = None,
        audience_sub_type: pulumi.Input[str] | None = None,
        wait_until_targetable: pulumi.Input[bool] = False,
        readiness_timeout_seconds: pulumi.Input[float] | None = None,
        refresh_trigger: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare a lookalike of ``source`` (an audience resource or id).

        ``locations`` are TikTok location ids (Lookalike Locations enumeration); ``audience_size``
        is NARROW, BALANCED or BROAD; ``mobile_os`` defaults to ALL, ``placements`` to ["TikTok"].
        ``advertiser_id`` defaults to the source resource's, else to ``tiktok:advertiserId``.
        With ``wait_until_targetable`` the create waits (up to ``readiness_timeout_seconds``,
        default 600) for the source to be calculated and the lookalike to reach 1,000 people, so
        resources that depend on it are created only then.
        """
        props: dict[str, Any] = {
            "advertiser_id": _owner(source, advertiser_id),
            "name": resource_name if name is None else name,
            "source_audience_id": _audience_id(source),
            "locations": locations,
            "audience_size": audience_size,
            "mobile_os": mobile_os,
            "placements": placements,
            "include_source": include_source,
            "audience_sub_type": audience_sub_type,
            "wait_until_targetable": wait_until_targetable,
            "readiness_timeout_seconds": readiness_timeout_seconds,
            "refresh_trigger": refresh_trigger,
            # Outputs: declared so that Pulumi exposes them as attributes.
            "audience_id": None,
            "size": None,
            "targetable": None,
            "is_valid": None,
            "expire_time": None,
        }
        checked_inputs(f"{type(self).__name__} {resource_name!r}", Lookalike, _known(props))
        props["summary"] = _summary_carrier(*props.values())
        super().__init__(Lookalike(), resource_name, props, opts)


class AudienceShare(pulumi.dynamic.Resource, module="tiktok", name="AudienceShare"):
    """An audience shared with other advertisers of its owner's Business Center.

    Adding advertisers shares with them; removing one (or deleting the resource) cancels its
    share. A share cancelled in Ads Manager is noticed by ``pulumi refresh`` and restored by the
    next ``pulumi up``. TikTok allows 1 to 10 advertisers per share. Replacements cancel before
    they share again (``delete_before_replace``); rename the resource with ``aliases``, or the old
    name's delete cancels what the new name shared (``pulumi refresh`` then ``pulumi up`` restores it).
    """

    advertiser_id: pulumi.Output[str]
    audience_id: pulumi.Output[str]
    shared_advertiser_ids: pulumi.Output[list[str]]
    summary: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        audience: AudienceRef,
        advertiser_ids: pulumi.Input[Strings],
        owner_advertiser_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Share ``audience`` (a resource or id) with ``advertiser_ids``.

        ``owner_advertiser_id`` is the advertiser that owns the audience: by default the audience
        resource's, else ``tiktok:advertiserId``.
        """
        props: dict[str, Any] = {
            "advertiser_id": _owner(audience, owner_advertiser_id),
            "audience_id": _audience_id(audience),
            "shared_advertiser_ids": advertiser_ids,
        }
        checked_inputs(f"{type(self).__name__} {resource_name!r}", Share, _known(props))
        props["summary"] = _summary_carrier(*props.values())
        # A replacement of the same share has the same TikTok shares: created first, they would be
        # cancelled by the old one's delete at the end. Cancel first, then share (opts may say False).
        opts = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(delete_before_replace=True), opts)
        super().__init__(Share(), resource_name, props, opts)


def audience_size(
    audience: AudienceRef,
    advertiser_id: pulumi.Input[str] | None = None,
    *,
    wait_until_targetable: bool = False,
    timeout_seconds: float = DEFAULT_READINESS_TIMEOUT_SECONDS,
) -> pulumi.Output[AudienceSize]:
    """The audience's size as TikTok reports it now, read with the stack's TikTok configuration.

    With ``wait_until_targetable`` it resolves only once the audience has 1,000 people (or fails
    after ``timeout_seconds``), so that whatever uses it, an ad group for instance, is created only
    then: ``audience_size(a, wait_until_targetable=True).apply(lambda s: s.audience_id)``. In a
    preview the size is unknown: previews call no API and never wait.
    """

    def fetch(args: list[Any]) -> pulumi.Output[AudienceSize]:
        if pulumi.runtime.is_dry_run():
            return _unknown()  # a preview calls no API (it may run without a token) and never waits
        audience_id, owner = args
        size = asyncio.to_thread(_fetch_size, str(audience_id), owner, wait_until_targetable, timeout_seconds)
        return pulumi.Output.from_input(size)

    return pulumi.Output.all(_audience_id(audience), _owner(audience, advertiser_id)).apply(fetch)


def _unknown() -> pulumi.Output[Any]:
    """An Output whose value is not known, as the engine reports values of resources not created yet."""

    async def resolved(value: Any) -> Any:
        return value

    return pulumi.Output(set(), asyncio.ensure_future(resolved(None)), asyncio.ensure_future(resolved(False)))


def _fetch_size(
    audience_id: str, advertiser_id: str | None, wait: bool, timeout_seconds: float
) -> AudienceSize:
    settings = ProviderSettings.resolve(pulumi.runtime.get_config)
    owner = advertiser_id or settings.advertiser_id
    if owner is None:
        raise ConfigurationError(
            f"audience_size({audience_id}): give advertiser_id, or set the stack config {ADVERTISER_KEY}"
        )
    with settings.make_client() as client:
        if wait:
            return wait_until(
                client,
                owner,
                audience_id,
                is_targetable,
                timeout_seconds=timeout_seconds,
                what=f"audience {audience_id} to be targetable",
            )
        return read_audience_size(client, owner, audience_id)
