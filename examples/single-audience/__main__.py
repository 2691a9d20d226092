"""One audience, written out with the resource itself: people who bought within 30 days, not 7."""

import pulumi

from pulumi_tiktok_audiences import AppActivityAudience, AppEvent, EventRule


def main() -> None:
    app_id = pulumi.Config().require("appId")
    audience = AppActivityAudience(
        "lapsed-purchasers",
        name="Lapsed purchasers",
        app_ids=[app_id],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=30)],
        exclude=[EventRule(event=AppEvent.PURCHASE, lookback_days=7)],
    )
    pulumi.export("audience_id", audience.audience_id)
    pulumi.export("summary", audience.summary)
    pulumi.export("targetable", audience.targetable)


if __name__ == "__main__":
    main()
