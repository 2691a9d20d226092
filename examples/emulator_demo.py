"""Emulator demo: a local TikTok audience API, and an App Activity audience's life through it.

Starts the emulator as a real HTTP server on 127.0.0.1 (the same server that
``tiktok-audiences emulator serve`` runs), then uses the package's TikTok client exactly as it
would use TikTok: create "lapsed purchasers", watch it calculate and grow until it can be
targeted (the emulator's population model is fast on purpose), rename it, list, and delete it.

    python examples/emulator_demo.py
"""

from __future__ import annotations

import time

from pulumi_tiktok_audiences import AppEvent, AudienceSpec, EventRule, constants
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, DEFAULT_APP_ID, DEFAULT_TOKEN, Emulator


def main() -> None:
    spec = AudienceSpec(
        advertiser_id=DEFAULT_ADVERTISER_ID,
        name="Lapsed purchasers",
        app_ids=[DEFAULT_APP_ID],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=30)],
        exclude=[EventRule(event=AppEvent.PURCHASE, lookback_days=7)],
    )
    with Emulator().serve(port=0) as server, TikTokClient(DEFAULT_TOKEN, base_url=server.url) as client:
        print(f"emulator listening on {server.url}")
        print(f"audience: {spec.summary()}")
        audience_id = client.create_rule_audience(spec.to_create_payload())
        print(f"created audience {audience_id}")
        for _ in range(20):
            (detail,) = client.get_audiences(spec.advertiser_id, [audience_id])
            targetable = bool(detail.is_valid) and (detail.cover_num or 0) >= constants.TARGETABLE_MIN_SIZE
            state = "targetable" if targetable else ("ready" if detail.is_valid else "calculating")
            print(f"  size {detail.cover_num:>6}  {state}")
            if targetable:
                break
            time.sleep(0.5)
        client.rename_audience(spec.advertiser_id, audience_id, "Lapsed purchasers (30d, not 7d)")
        names = [a.name for a in client.list_audiences(spec.advertiser_id)]
        print(f"renamed; the advertiser's audiences: {names}")
        client.delete_audiences(spec.advertiser_id, [audience_id])
        print(f"deleted; audiences left: {len(client.list_audiences(spec.advertiser_id))}")


if __name__ == "__main__":
    main()
