"""Resources shaped as the engine sends them to the pack: the provider's checked inputs plus
``__provider`` (which the engine leaves out of Analyze requests), and outputs after ``up``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pulumi.dynamic.dynamic import serialize_provider

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.advice import CATALOG_KEY
from pulumi_tiktok_audiences.lookalike import LookalikeAudienceSpec, ShareSpec
from pulumi_tiktok_audiences.policies import AUDIENCE_TYPE, LOOKALIKE_TYPE, SHARE_TYPE
from pulumi_tiktok_audiences.provider import AppActivity, Lookalike, Share, props_from_spec
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, EventRule
from tests.policy.analyzer import Diagnostic, PolicyAnalyzer, Resource

ADVERTISER = "7000000000000000001"
OTHER_ADVERTISER = "7000000000000000002"
APP = "6400000001"
OTHER_APP = "6400000002"


def rule(event: AppEvent, days: int, apps: Sequence[str] | None = None) -> EventRule:
    return EventRule(event=event, lookback_days=days, app_ids=list(apps) if apps else None)


def audience(
    resource_name: str,
    name: str,
    include: Sequence[EventRule],
    exclude: Sequence[EventRule] = (),
    *,
    app_ids: Sequence[str] = (APP,),
    advertiser: str = ADVERTISER,
    protect: bool = False,
    purpose: str | None = None,
    tracked: Mapping[str, Sequence[str]] | None = None,
    catalog: str | None = None,
) -> Resource:
    """An App Activity audience's checked inputs, as the provider's check returns them; ``catalog``
    as load_catalog sets it (the audience of a catalog file)."""
    spec = AudienceSpec.model_validate(
        {
            "advertiser_id": advertiser,
            "name": name,
            "app_ids": list(app_ids),
            "include": list(include),
            "exclude": list(exclude),
            "purpose": purpose,
            "tracked_events": tracked,
        }
    )
    props = {**props_from_spec(spec), "__provider": serialize_provider(AppActivity())}
    if catalog is not None:
        props[CATALOG_KEY] = catalog
    return Resource(AUDIENCE_TYPE, resource_name, props, protect=protect)


def created(resource: Resource, audience_id: str, size: int | None) -> Resource:
    """The same audience's outputs after ``pulumi up`` (the provider's outputs_for shape)."""
    targetable = size is not None and size >= constants.TARGETABLE_MIN_SIZE
    outputs = {**resource.props, "audience_id": audience_id, "size": size, "is_valid": size is not None}
    outputs.update(targetable=targetable, summary="...")
    return Resource(resource.type, resource.name, outputs, protect=resource.protect)


def lookalike(resource_name: str, name: str, source_id: str, *, protect: bool = False) -> Resource:
    spec = LookalikeAudienceSpec.model_validate(
        {
            "advertiser_id": ADVERTISER,
            "name": name,
            "source_audience_id": source_id,
            "locations": ["6252001"],
            "audience_size": "BALANCED",
        }
    )
    props = {**spec.model_dump(mode="json"), "__provider": serialize_provider(Lookalike())}
    return Resource(LOOKALIKE_TYPE, resource_name, props, protect=protect)


def share(resource_name: str, audience_id: str, *, protect: bool = False) -> Resource:
    spec = ShareSpec.model_validate(
        {"advertiser_id": ADVERTISER, "audience_id": audience_id, "shared_advertiser_ids": [OTHER_ADVERTISER]}
    )
    props = {**spec.model_dump(mode="json"), "__provider": serialize_provider(Share())}
    return Resource(SHARE_TYPE, resource_name, props, protect=protect)


def of(policy: str, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return [d for d in diagnostics if d.policy == policy]


def violations(analyzer: PolicyAnalyzer, resource: Resource, policy: str) -> list[Diagnostic]:
    """The diagnostics ``policy`` reports for ``resource`` (through Analyze)."""
    return of(policy, analyzer.analyze(resource))


def message(diagnostic: Diagnostic) -> str:
    """The violation text after the policy description (the SDK puts the description first)."""
    return diagnostic.message.split("\n", 1)[1]
