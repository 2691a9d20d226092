"""The matrix's audience, lookalike and share as the children of one component, named after it (as
components usually name their children). The scenario matrix (tests/e2e/test_matrix.py) renames the
component with an alias: the children's names change with it, and the SDK derives their aliases."""

import pulumi

from pulumi_tiktok_audiences import AppActivityAudience, AudienceShare, EventRule, LookalikeAudience


class AudienceGroup(pulumi.ComponentResource):
    """An audience, a lookalike of it and a share of the lookalike."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("matrix:index:AudienceGroup", name, None, opts)
        config = pulumi.Config()
        child = pulumi.ResourceOptions(parent=self)
        buyers = AppActivityAudience(
            f"{name}-buyers",
            name="Component buyers",
            app_ids=[config.require("appId")],
            include=[EventRule(event="PURCHASE", lookback_days=30)],
            opts=child,
        )
        lookalike = LookalikeAudience(
            f"{name}-lookalike",
            name="Component lookalike",
            source=buyers,
            locations=["6252001"],
            audience_size="BALANCED",
            opts=child,
        )
        AudienceShare(
            f"{name}-share",
            audience=lookalike,
            advertiser_ids=[config.require("sisterAdvertiserId")],
            opts=child,
        )
        self.register_outputs({})


AudienceGroup("campaign")
