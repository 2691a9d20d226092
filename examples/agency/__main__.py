"""One ad account's audiences: the account this stack deploys, with the agency's presets.

The stack's config says which account (``tiktok:advertiserId``), which apps and which presets
(``tiktok-agency:appIds``, ``tiktok-agency:audiences``); deploy.py and the GitHub workflow write it
from accounts.yaml (agency.py), so every stack runs this same program.
"""

import agency
import pulumi


def config_value(key: str) -> str | None:
    """A stack config value by its full key (``namespace:name``), or None."""
    namespace, name = key.split(":", 1)
    return pulumi.Config(namespace).get(name)


def main() -> None:
    account = agency.account_from_config(config_value)
    audiences = {key: agency.PRESETS[key](account.app_ids).declare(key) for key in account.audiences}
    pulumi.export("account", account.name)
    # advertiser_id is not set on the audiences: it defaults to the stack's tiktok:advertiserId.
    pulumi.export("advertiser_id", account.advertiser_id)
    pulumi.export("audience_ids", {key: audience.audience_id for key, audience in audiences.items()})


if __name__ == "__main__":
    main()
