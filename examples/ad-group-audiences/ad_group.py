"""A stand-in ad group: it only records the audience ids it is given.

A real program would use its ad-group resource (a TikTok ads provider's ad group) in its place;
what matters here is the wiring, which is the same: audience ids go in as Pulumi outputs.
The provider lives in this importable module, not in ``__main__``, so Pulumi stores a reference
to it rather than its code (the provider host imports it from the project directory).
"""

from typing import Any

import pulumi
import pulumi.dynamic


class AdGroupProvider(pulumi.dynamic.ResourceProvider):
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> pulumi.dynamic.CreateResult:
        return pulumi.dynamic.CreateResult(f"adgroup-{props['name']}", dict(props))

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> pulumi.dynamic.UpdateResult:
        return pulumi.dynamic.UpdateResult(dict(news))


class AdGroup(pulumi.dynamic.Resource, module="example", name="AdGroup"):
    """An ad group targeting ``audience_ids`` and leaving out ``excluded_audience_ids``."""

    audience_ids: pulumi.Output[list[str]]
    excluded_audience_ids: pulumi.Output[list[str]]

    def __init__(
        self,
        resource_name: str,
        *,
        audience_ids: pulumi.Input[list[pulumi.Input[str]]],
        excluded_audience_ids: pulumi.Input[list[pulumi.Input[str]]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "name": resource_name,
            "audience_ids": audience_ids,
            "excluded_audience_ids": excluded_audience_ids or [],
        }
        super().__init__(AdGroupProvider(), resource_name, props, opts)
