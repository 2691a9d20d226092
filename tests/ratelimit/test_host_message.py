"""The person running `pulumi up` sees a suspension being waited out.

The CLI shows what a dynamic provider's host writes to stderr (pulumi/pulumi#18253, since 3.146.0:
``runtrace`` in pkg/resource/plugin/plugin.go logs it with ``Infoerrf``); this drives the SDK's real
host (``python -m pulumi.dynamic``) over gRPC against the emulator over HTTP, in real time, and reads
its stderr.
"""

from __future__ import annotations

import threading

from pulumi.dynamic.dynamic import serialize_provider
from pydantic import SecretStr

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_SEED,
    Emulator,
    Seed,
    TokenSeed,
)
from pulumi_tiktok_audiences.provider import AppActivity, props_from_spec
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from pulumi_tiktok_audiences.spec import AudienceSpec
from tests.harness.host import ProviderHost, secret
from tests.harness.waiting import GENEROUS_SECONDS, wait_until
from tests.ratelimit.helpers import SAME_APP_TOKEN, codes

HOST_TOKEN = "tok-host-SECRET-q8Zr-DO-NOT-LEAK"  # distinctive, to find any leak
URN = "urn:pulumi:dev::tiktok-test::pulumi-python:dynamic/tiktok:AppActivityAudience::buyers"


def test_a_suspension_waited_out_in_the_host_is_announced_on_its_stderr() -> None:
    grants = DEFAULT_SEED.tokens[0].advertiser_ids
    seed = Seed(
        tokens=(
            TokenSeed(token=SecretStr(HOST_TOKEN), advertiser_ids=grants),
            TokenSeed(token=SecretStr(SAME_APP_TOKEN), advertiser_ids=grants),
        ),
        advertisers=DEFAULT_SEED.advertisers,
    )
    tier = constants.RateTier(per_second=100, per_minute=20, per_day=10_000)
    spec = AudienceSpec.model_validate(
        {
            "advertiser_id": DEFAULT_ADVERTISER_ID,
            "name": "Buyers",
            "app_ids": [DEFAULT_APP_ID],
            "include": [{"event": "PURCHASE", "lookback_days": 30}],
        }
    )
    inputs = {**props_from_spec(spec), "__provider": serialize_provider(AppActivity())}
    with Emulator(seed=seed, rate_tier=tier) as emulator, emulator.serve() as server:
        assert codes(emulator, 21, SAME_APP_TOKEN)[-1] == constants.CODE_REQUEST_TOO_FREQUENT  # 5 minutes
        emulator.reset_request_counts()
        host = ProviderHost()
        try:
            host.configure({TOKEN_KEY: secret(HOST_TOKEN), ENDPOINT_KEY: server.url})
            created: list[str] = []
            deploy = threading.Thread(target=lambda: created.append(host.create(URN, inputs)[0]))
            deploy.start()
            # Refused, 1 s, refused, 2 s (announced), refused: then let the suspension end.
            wait_until(
                lambda: emulator.request_counts().get(constants.PATH_LIST, 0) >= 3,
                "the host tried the listing three times during the suspension",
            )
            emulator.clock.advance(constants.QPM_SUSPENSION_SECONDS)
            deploy.join(GENEROUS_SECONDS)
            assert not deploy.is_alive(), "the create did not return once the suspension ended"
        finally:
            stderr = host.close()
        assert created, "the create converged once the suspension ended"
        assert [a["name"] for a in emulator.audiences(DEFAULT_ADVERTISER_ID)] == ["Buyers"]
    assert "TikTok is refusing this app's requests as too frequent" in stderr
    assert "Trying again in 2 s" in stderr
    assert HOST_TOKEN not in stderr
