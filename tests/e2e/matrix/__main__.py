"""Every resource type, each depending on the one before: an App Activity audience, a lookalike of
it and a share of the lookalike. The scenario matrix (tests/e2e/test_matrix.py) edits this text."""

import pulumi

from pulumi_tiktok_audiences import AppActivityAudience, AudienceShare, EventRule, LookalikeAudience

config = pulumi.Config()
buyers = AppActivityAudience(
    "buyers",
    name="Matrix buyers",
    app_ids=[config.require("appId")],
    include=[EventRule(event="PURCHASE", lookback_days=30)],
)
lookalike = LookalikeAudience(
    "buyers-lookalike",
    name="Matrix lookalike",
    source=buyers,
    locations=["6252001"],
    audience_size="BALANCED",
)
share = AudienceShare(
    "buyers-share",
    audience=lookalike,
    advertiser_ids=[config.require("sisterAdvertiserId")],
)
pulumi.export("ids", [buyers.audience_id, lookalike.audience_id, share.id])
