"""The flagship audiences for one app: the four segments most advertisers start with.

``scripts/up`` deploys them on the ``dev`` stack, against the embedded TikTok emulator
(``tiktok:endpoint: local`` in Pulumi.dev.yaml). Config: ``tiktok-audiences:appId`` (the app
whose events define the audiences) and ``tiktok:advertiserId`` (the ad account that owns them).
"""

import pulumi

from pulumi_tiktok_audiences import AppEvent, EventRule, presets


def main() -> None:
    app_id = pulumi.Config().require("appId")
    active_users = presets.AudienceArgs(
        name="Active users",
        app_ids=(app_id,),
        include=(EventRule(event=AppEvent.LAUNCH_APP, lookback_days=30),),
    )
    segments = {
        "installed-not-launched": presets.installed_not_launched_args(app_id),
        "lapsed-purchasers": presets.lapsed_purchasers_args(app_id),
        "cart-abandoners": presets.cart_abandoners_args(app_id),
        "active-no-recent-purchase": presets.exclude_recent_purchasers(
            active_users, name="Active users, no recent purchase"
        ),
    }
    audiences = {key: args.declare(key) for key, args in segments.items()}
    pulumi.export(
        "audiences",
        {
            key: {
                "id": audience.audience_id,
                # TikTok reports no size while it calculates (a refresh picks it up later).
                "size": audience.size.apply(lambda n: "calculating" if n is None else n),
                "targetable": audience.targetable,
                "summary": audience.summary,
            }
            for key, audience in audiences.items()
        },
    )


if __name__ == "__main__":
    main()
