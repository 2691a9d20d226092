"""A lookalike of recent buyers, shared with a sister ad account, and used only once targetable."""

import pulumi

from pulumi_tiktok_audiences import (
    AppActivityAudience,
    AppEvent,
    AudienceShare,
    EventRule,
    LookalikeAudience,
    audience_size,
)


def main() -> None:
    config = pulumi.Config()
    buyers = AppActivityAudience(
        "recent-buyers",
        name="Recent buyers",
        app_ids=[config.require("appId")],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=30)],
    )
    lookalike = LookalikeAudience(
        "buyers-lookalike",
        name="Buyers lookalike",
        source=buyers,
        locations=[config.require("locationId")],
        audience_size="BALANCED",
        # Wait (in `pulumi up`) for TikTok to calculate the source, then the lookalike.
        wait_until_targetable=True,
        readiness_timeout_seconds=120,
    )
    share = AudienceShare(
        "buyers-lookalike-share",
        audience=lookalike,
        advertiser_ids=[config.require("sisterAdvertiserId")],
    )
    # The size of any audience; with wait_until_targetable it resolves once it has 1,000 people,
    # so whatever takes these ids (an ad group) is created only then.
    buyers_ready = audience_size(buyers, wait_until_targetable=True, timeout_seconds=120)
    pulumi.export(
        "targetable_audience_ids", [buyers_ready.apply(lambda s: s.audience_id), lookalike.audience_id]
    )
    pulumi.export("buyers_size", buyers_ready.apply(lambda s: s.size))
    pulumi.export("lookalike_size", lookalike.size)
    pulumi.export("lookalike_summary", lookalike.summary)
    pulumi.export("shared_with", share.shared_advertiser_ids)


if __name__ == "__main__":
    main()
