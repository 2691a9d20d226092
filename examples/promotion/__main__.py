"""The same code for every stack: what differs (ad account, app, endpoint, token) is stack config."""

import pulumi

from pulumi_tiktok_audiences import presets


def main() -> None:
    app_id = pulumi.Config().require("appId")
    lapsed = presets.lapsed_purchasers("lapsed-purchasers", app_id)
    abandoners = presets.cart_abandoners("cart-abandoners", app_id)
    # advertiser_id is not set here: it defaults to the stack's tiktok:advertiserId.
    pulumi.export("advertiser_id", lapsed.advertiser_id)
    pulumi.export(
        "audience_ids", {"lapsed-purchasers": lapsed.audience_id, "cart-abandoners": abandoners.audience_id}
    )


if __name__ == "__main__":
    main()
