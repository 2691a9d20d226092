"""Program-side resources: what a Pulumi program declares.

Arguments accept Pulumi Inputs anywhere (an app id may be another resource's output). Rules may
be :class:`EventRule` objects or plain mappings with the same keys; mappings may hold Outputs.
Validation happens in the provider's ``check`` (the spec is the single source of truth), so a
preview reports every problem with its property path before any API call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi.dynamic

from pulumi_tiktok_audiences.provider import AppActivity
from pulumi_tiktok_audiences.spec import EventRule

RuleInput = EventRule | Mapping[str, Any]


def _rule_input(rule: pulumi.Input[RuleInput]) -> Any:
    """An EventRule becomes the plain mapping Pulumi can serialize; anything else passes through."""
    if isinstance(rule, EventRule):
        return rule.model_dump(mode="json", exclude_none=True)
    return rule


def _rules_input(rules: pulumi.Input[Sequence[pulumi.Input[RuleInput]]] | None) -> Any:
    if rules is None:
        return None
    if isinstance(rules, list | tuple):
        return [_rule_input(r) for r in rules]
    return pulumi.Output.from_input(rules).apply(lambda items: [_rule_input(r) for r in items])


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

    def __init__(
        self,
        resource_name: str,
        *,
        include: pulumi.Input[Sequence[pulumi.Input[RuleInput]]],
        exclude: pulumi.Input[Sequence[pulumi.Input[RuleInput]]] | None = None,
        advertiser_id: pulumi.Input[str] | None = None,
        name: pulumi.Input[str] | None = None,
        app_ids: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        auto_refresh: pulumi.Input[bool] = True,
        retention_in_days: pulumi.Input[int] | None = None,
        audience_sub_type: pulumi.Input[str] | None = None,
        match: pulumi.Input[str] | None = None,
        adopt_audience_id: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare an audience.

        ``name`` defaults to the resource name; ``advertiser_id`` defaults to the stack config
        ``tiktok:advertiserId`` (or TIKTOK_ADVERTISER_ID); ``app_ids`` is the event source of
        every rule that gives none. ``adopt_audience_id`` takes over an existing audience (after
        checking that it matches) instead of creating one: ``pulumi import`` cannot work for
        dynamic providers (pulumi/pulumi#16175).
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
            # Outputs: declared so that Pulumi exposes them as attributes.
            "audience_id": None,
            "size": None,
            "targetable": None,
            "is_valid": None,
            "expire_time": None,
            "summary": None,
        }
        super().__init__(AppActivity(), resource_name, props, opts)
