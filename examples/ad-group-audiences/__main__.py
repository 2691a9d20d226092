"""Audiences feeding an ad group: the ad group targets them by the ids TikTok assigned."""

import pulumi
from ad_group import AdGroup

from pulumi_tiktok_audiences import presets


def main() -> None:
    app_id = pulumi.Config().require("appId")
    lapsed = presets.lapsed_purchasers("lapsed-purchasers", app_id)
    abandoners = presets.cart_abandoners("cart-abandoners", app_id)
    never_launched = presets.installed_not_launched("installed-not-launched", app_id)
    ad_group = AdGroup(
        "win-back",
        audience_ids=[lapsed.id, abandoners.id],  # resource ids: known in previews of a rename
        excluded_audience_ids=[never_launched.id],
    )
    pulumi.export("audience_ids", ad_group.audience_ids)
    pulumi.export("excluded_audience_ids", ad_group.excluded_audience_ids)


if __name__ == "__main__":
    main()
