"""Programs under `pulumi.runtime` mocks whose audiences go through the real provider host.

``ForwardingMocks`` sends each AppActivityAudience registration to the host as the engine would
(check, then create) against the emulator, and hands the host's id and outputs back to the program.
So these tests cover the program side (arguments, defaults, Outputs as inputs, the pickled provider)
and the provider together. No ``asyncio.run`` here: it would break ``@pulumi.runtime.test``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from pulumi_tiktok_audiences import AppActivityAudience, AppEvent, EventRule
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    SECOND_ADVERTISER_ID,
    SECOND_APP_ID,
    Emulator,
    RunningServer,
)
from pulumi_tiktok_audiences.settings import ADVERTISER_KEY, ENDPOINT_KEY, TOKEN_KEY
from tests.contract.helpers import BLOB, PROJECT, PROVIDER_KEY, README_SUMMARY, SECRET_TOKEN, TYPE, urn
from tests.harness.host import ProviderHost, secret

APP_TYPE = "test:index:App"


class App(pulumi.CustomResource):
    """Stands for another provider's resource whose output is an app id (mocked below)."""

    app_id: pulumi.Output[str]

    def __init__(self, name: str) -> None:
        super().__init__(APP_TYPE, name, {"app_id": None})


class ForwardingMocks(pulumi.runtime.Mocks):
    def __init__(self, host: ProviderHost) -> None:
        self.host = host
        self.registrations: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.typ == APP_TYPE:
            return f"{args.name}-id", {"app_id": SECOND_APP_ID}
        assert args.typ == TYPE
        self.registrations.append(args.inputs)
        checked = self.host.check(urn(args.name), {}, args.inputs)
        if checked.failures:
            raise ValueError(f"check failed: {checked.failures}")
        return self.host.create(urn(args.name), checked.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(args.token)


@pytest.fixture(scope="module")
def stack_config(server: RunningServer) -> dict[str, str]:
    return {TOKEN_KEY: SECRET_TOKEN, ENDPOINT_KEY: server.url, ADVERTISER_KEY: SECOND_ADVERTISER_ID}


@pytest.fixture(scope="module")
def mocks(stack_config: dict[str, str]) -> Iterator[ForwardingMocks]:
    """The engine hands the whole stack config to the dynamic provider, the token as a secret."""
    with ProviderHost(project=PROJECT) as host:
        host.configure({**stack_config, TOKEN_KEY: secret(stack_config[TOKEN_KEY])})
        yield ForwardingMocks(host)


@pytest.fixture(autouse=True)
def program(mocks: ForwardingMocks, stack_config: dict[str, str]) -> None:
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=False)
    pulumi.runtime.set_all_config(stack_config, secret_keys=[TOKEN_KEY])


def _audience(emulator: Emulator, advertiser_id: str, audience_id: str) -> dict[str, Any]:
    return next(a for a in emulator.audiences(advertiser_id) if a["audience_id"] == audience_id)


@pulumi.runtime.test
def test_readme_example(emulator: Emulator) -> pulumi.Output[None]:
    audience = AppActivityAudience(
        "lapsed-buyers",
        advertiser_id="7000000000000000001",
        name="Lapsed purchasers",
        app_ids=["6400000001"],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=30)],
        exclude=[EventRule(event=AppEvent.PURCHASE, lookback_days=7)],
        auto_refresh=True,
    )

    def check(values: list[Any]) -> None:
        audience_id, summary, targetable = values
        assert _audience(emulator, DEFAULT_ADVERTISER_ID, audience_id)["name"] == "Lapsed purchasers"
        assert summary == README_SUMMARY
        assert targetable is False  # TikTok is still calculating right after creation

    return pulumi.Output.all(audience.audience_id, audience.summary, audience.targetable).apply(check)


@pulumi.runtime.test
def test_name_defaults_to_the_resource_name(emulator: Emulator) -> pulumi.Output[None]:
    audience = AppActivityAudience(
        "cart-abandoners",
        advertiser_id=DEFAULT_ADVERTISER_ID,
        app_ids=[DEFAULT_APP_ID],
        include=[EventRule(event=AppEvent.ADD_TO_CART, lookback_days=14)],
        exclude=[{"event": "purchase", "lookback_days": 14}],
    )

    def check(values: list[Any]) -> None:
        audience_id, name = values
        assert name == "cart-abandoners"
        assert _audience(emulator, DEFAULT_ADVERTISER_ID, audience_id)["name"] == "cart-abandoners"

    return pulumi.Output.all(audience.audience_id, audience.name).apply(check)


@pulumi.runtime.test
def test_an_app_id_from_another_resource_reaches_tiktok(emulator: Emulator) -> pulumi.Output[None]:
    app = App("shop-app")
    audience = AppActivityAudience(
        "app-from-output",
        advertiser_id=DEFAULT_ADVERTISER_ID,
        app_ids=[app.app_id],
        include=[{"event": AppEvent.LOGIN, "lookback_days": 7}],
    )

    def check(values: list[Any]) -> None:
        audience_id, app_ids = values
        assert app_ids == [SECOND_APP_ID]
        rules = _audience(emulator, DEFAULT_ADVERTISER_ID, audience_id)["rule_spec"]["inclusion_rule_set"]
        assert rules["rules"][0]["event_source_ids"] == [SECOND_APP_ID]

    return pulumi.Output.all(audience.audience_id, audience.app_ids).apply(check)


@pulumi.runtime.test
def test_advertiser_id_defaults_to_stack_config(emulator: Emulator) -> pulumi.Output[None]:
    audience = AppActivityAudience(
        "config-advertiser",
        app_ids=[DEFAULT_APP_ID],
        include=[EventRule(event=AppEvent.INSTALL, lookback_days=3)],
    )

    def check(values: list[Any]) -> None:
        audience_id, advertiser_id = values
        assert advertiser_id == SECOND_ADVERTISER_ID
        assert _audience(emulator, SECOND_ADVERTISER_ID, audience_id)["name"] == "config-advertiser"

    return pulumi.Output.all(audience.audience_id, audience.advertiser_id).apply(check)


@pulumi.runtime.test
def test_provider_input_is_the_plain_class_reference(mocks: ForwardingMocks) -> pulumi.Output[None]:
    audience = AppActivityAudience(
        "blob-check",
        advertiser_id=DEFAULT_ADVERTISER_ID,
        app_ids=[DEFAULT_APP_ID],
        include=[EventRule(event=AppEvent.SEARCH, lookback_days=5)],
    )

    def check(_: str) -> None:
        inputs = next(r for r in mocks.registrations if r.get("name") == "blob-check")
        blob = inputs[PROVIDER_KEY]
        assert isinstance(blob, str)  # a secret would arrive wrapped in a secret marker
        assert len(blob) == 88
        assert blob == BLOB
        assert SECRET_TOKEN not in repr(inputs)

    return audience.audience_id.apply(check)
