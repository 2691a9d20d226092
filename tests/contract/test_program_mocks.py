"""Programs under `pulumi.runtime` mocks whose audiences go through the real provider host.

``ForwardingMocks`` sends each AppActivityAudience registration to the host as the engine would
(check, then create) against the emulator, and hands the host's id and outputs back to the program.
So these tests cover the program side (arguments, defaults, Outputs as inputs, the pickled provider)
and the provider together; and that a bad argument known in the program fails where it is declared,
before anything reaches the host. No ``asyncio.run`` here: it would break ``@pulumi.runtime.test``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest

from pulumi_tiktok_audiences import (
    AppActivityAudience,
    AppEvent,
    AudienceShare,
    EventRule,
    LookalikeAudience,
    Purpose,
)
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    SECOND_ADVERTISER_ID,
    SECOND_APP_ID,
    Emulator,
    RunningServer,
)
from pulumi_tiktok_audiences.errors import ConfigurationError, InvalidArgumentsError, TikTokAudiencesError
from pulumi_tiktok_audiences.settings import (
    ADVERTISER_ENV,
    ADVERTISER_KEY,
    ENDPOINT_KEY,
    TOKEN_KEY,
    TRACKED_EVENTS_KEY,
)
from tests.contract.helpers import BLOB, PROJECT, PROVIDER_KEY, README_SUMMARY, SECRET_TOKEN, TYPE, urn
from tests.harness.host import ProviderHost, secret

APP_TYPE = "test:index:App"


class App(pulumi.CustomResource):
    """Stands for another provider's resource whose output is an app id (mocked below)."""

    app_id: pulumi.Output[str]
    lookback_days: pulumi.Output[int]

    def __init__(self, name: str) -> None:
        super().__init__(APP_TYPE, name, {"app_id": None, "lookback_days": None})


class ForwardingMocks(pulumi.runtime.Mocks):
    def __init__(self, host: ProviderHost) -> None:
        self.host = host
        self.registrations: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        if args.typ == APP_TYPE:
            return f"{args.name}-id", {"app_id": SECOND_APP_ID, "lookback_days": 14}
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


# --- A bad argument known in the program fails where it is declared -------------------------------


def _refused(mocks: ForwardingMocks, name: str, declare: Any) -> InvalidArgumentsError:
    """The error ``declare()`` raises; nothing was registered (the host never saw the resource)."""
    with pytest.raises(InvalidArgumentsError) as caught:
        declare()
    assert not any(r.get("name") == name for r in mocks.registrations)
    assert SECRET_TOKEN not in str(caught.value)  # the check ran with the configured token
    return caught.value


def _paths(error: InvalidArgumentsError) -> list[str]:
    return [path for path, _ in error.problems]


_RULE = EventRule(event=AppEvent.PURCHASE, lookback_days=30)


@pulumi.runtime.test
def test_a_name_over_128_characters_fails_at_declaration(mocks: ForwardingMocks) -> None:
    error = _refused(
        mocks,
        "x" * 129,
        lambda: AppActivityAudience("long-name", name="x" * 129, app_ids=[DEFAULT_APP_ID], include=[_RULE]),
    )
    assert isinstance(error, ValueError)
    assert isinstance(error, TikTokAudiencesError)
    assert error.problems == [("name", "must be 1 to 128 characters and not blank; got 129 characters")]
    assert str(error).startswith("AppActivityAudience 'long-name' has invalid arguments")


@pulumi.runtime.test
def test_six_include_rules_fail_at_declaration(mocks: ForwardingMocks) -> None:
    error = _refused(
        mocks,
        "six-rules",
        lambda: AppActivityAudience("six-rules", app_ids=[DEFAULT_APP_ID], include=[_RULE] * 6),
    )
    assert error.problems == [("include", "must hold 1 to 5 rules (TikTok's limit per rule set); got 6")]


@pulumi.runtime.test
def test_a_dict_rule_with_lookback_181_fails_with_its_path_and_the_allowed_days(
    mocks: ForwardingMocks,
) -> None:
    error = _refused(
        mocks,
        "long-lookback",
        lambda: AppActivityAudience(
            "long-lookback",
            app_ids=[DEFAULT_APP_ID],
            include=[_RULE],
            exclude=[{"event": "purchase", "lookback_days": 181}],
        ),
    )
    assert _paths(error) == ["exclude[0].lookback_days"]
    assert "from 1 to 180 days" in str(error)
    assert "got 181" in str(error)


@pulumi.runtime.test
def test_strings_where_lists_belong_fail_and_say_what_the_list_holds(mocks: ForwardingMocks) -> None:
    error = _refused(
        mocks,
        "bare-strings",
        lambda: AppActivityAudience("bare-strings", app_ids="123", include="PURCHASE"),  # type: ignore[arg-type]
    )
    assert dict(error.problems) == {
        "app_ids": "must be a list of at least 1 app id (or leave app_ids out to use the audience's); "
        "got the string '123'",
        "include": "must be a list of 1 to 5 rules (TikTok's limit per rule set); got the string 'PURCHASE'",
    }


@pulumi.runtime.test
def test_every_problem_is_reported_at_once(mocks: ForwardingMocks) -> None:
    error = _refused(
        mocks,
        "many-problems",
        lambda: AppActivityAudience(
            "many-problems",
            name=" ",
            app_ids=[DEFAULT_APP_ID],
            include=[{"event": "PURCHASED", "lookback_days": 30}, EventRule(event="login", lookback_days=3)],
            retention_in_days=400,
        ),
    )
    assert _paths(error) == ["name", "include[0].event", "retention_in_days"]
    assert "did you mean PURCHASE?" in str(error)


@pulumi.runtime.test
def test_an_output_is_skipped_and_the_known_rest_still_checked(mocks: ForwardingMocks) -> None:
    app = App("output-app")
    error = _refused(
        mocks,
        "half-known",
        lambda: AppActivityAudience(
            "half-known",
            app_ids=[app.app_id],
            include=[{"event": "purchase", "lookback_days": app.lookback_days, "app_ids": [app.app_id]}],
            exclude=[{"event": "purchase", "lookback_days": 0, "app_ids": [app.app_id]}],
        ),
    )
    assert _paths(error) == ["exclude[0].lookback_days"]


@pulumi.runtime.test
def test_rule_values_from_outputs_reach_the_provider(emulator: Emulator) -> pulumi.Output[None]:
    app = App("rule-app")
    audience = AppActivityAudience(
        "rule-from-outputs",
        advertiser_id=DEFAULT_ADVERTISER_ID,
        include=[{"event": "purchase", "lookback_days": app.lookback_days, "app_ids": [app.app_id]}],
    )

    def check(audience_id: str) -> None:
        rules = _audience(emulator, DEFAULT_ADVERTISER_ID, audience_id)["rule_spec"]["inclusion_rule_set"]
        assert rules["rules"][0]["retention_days"] == 14

    return audience.audience_id.apply(check)


@pulumi.runtime.test
def test_no_advertiser_anywhere_fails_at_declaration_and_says_where_to_set_it(
    mocks: ForwardingMocks, stack_config: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ADVERTISER_ENV, raising=False)
    pulumi.runtime.set_all_config({k: v for k, v in stack_config.items() if k != ADVERTISER_KEY})
    error = _refused(
        mocks, "no-advertiser", lambda: AppActivityAudience("no-advertiser", app_ids=["1"], include=[_RULE])
    )
    assert _paths(error) == ["advertiser_id"]
    assert ADVERTISER_KEY in str(error)


@pulumi.runtime.test
def test_a_lookalike_with_a_bad_size_fails_at_declaration(mocks: ForwardingMocks) -> None:
    source = AppActivityAudience("lookalike-source", app_ids=[DEFAULT_APP_ID], include=[_RULE])
    error = _refused(
        mocks,
        "bad-lookalike",
        lambda: LookalikeAudience(
            "bad-lookalike", source=source, locations=["6252001"], audience_size="HUGE"
        ),
    )
    assert error.problems == [
        ("audience_size", "audience_size must be one of NARROW, BALANCED, BROAD; got 'HUGE'")
    ]


@pulumi.runtime.test
def test_a_share_with_eleven_advertisers_or_its_owner_fails_at_declaration(mocks: ForwardingMocks) -> None:
    too_many = [str(7100000000000000000 + n) for n in range(11)]
    error = _refused(
        mocks,
        "wide-share",
        lambda: AudienceShare("wide-share", audience="7300000000000000001", advertiser_ids=too_many),
    )
    assert _paths(error) == ["shared_advertiser_ids"]
    assert "1 to 10" in str(error)
    error = _refused(
        mocks,
        "self-share",
        lambda: AudienceShare(
            "self-share", audience="7300000000000000001", advertiser_ids=(SECOND_ADVERTISER_ID,)
        ),
    )
    assert "owns the audience" in str(error)  # the owner defaults to the stack's advertiser


@pulumi.runtime.test
def test_purpose_and_tracked_events_are_stored_not_sent(emulator: Emulator) -> pulumi.Output[None]:
    audience = AppActivityAudience(
        "local-fields",
        advertiser_id=DEFAULT_ADVERTISER_ID,
        app_ids=[DEFAULT_APP_ID],
        include=[_RULE],
        purpose=Purpose.RETARGETING,
        tracked_events={DEFAULT_APP_ID: [AppEvent.PURCHASE, "install"]},
    )

    def check(values: list[Any]) -> None:
        audience_id, purpose, tracked = values
        assert (purpose, tracked) == ("retargeting", {DEFAULT_APP_ID: ["INSTALL", "PURCHASE"]})
        created = _audience(emulator, DEFAULT_ADVERTISER_ID, audience_id)
        assert not {"purpose", "tracked_events"} & set(json.dumps(created).split('"'))

    return pulumi.Output.all(audience.audience_id, audience.purpose, audience.tracked_events).apply(check)


@pytest.fixture
def tracked_stack(stack_config: dict[str, str]) -> Iterator[dict[str, str]]:
    """A stack whose config declares the events its measurement partner posts back, as JSON."""
    config = {**stack_config, TRACKED_EVENTS_KEY: json.dumps({DEFAULT_APP_ID: ["INSTALL", "ADD_TO_CART"]})}
    with ProviderHost(project=PROJECT) as host:
        host.configure({**config, TOKEN_KEY: secret(config[TOKEN_KEY])})
        pulumi.runtime.set_mocks(ForwardingMocks(host), project=PROJECT, stack="test", preview=False)
        pulumi.runtime.set_all_config(config, secret_keys=[TOKEN_KEY])
        yield config


@pulumi.runtime.test
def test_the_stack_config_declares_tracked_events_by_default(tracked_stack: dict[str, str]) -> Any:
    defaulted = AppActivityAudience("tracked-by-config", app_ids=[DEFAULT_APP_ID], include=[_RULE])
    own = AppActivityAudience(
        "tracked-by-itself", app_ids=[DEFAULT_APP_ID], include=[_RULE], tracked_events={DEFAULT_APP_ID: []}
    )

    def check(values: list[Any]) -> None:
        assert values == [{DEFAULT_APP_ID: ["INSTALL", "APP ADD TO CART"]}, {DEFAULT_APP_ID: []}]

    return pulumi.Output.all(defaulted.tracked_events, own.tracked_events).apply(check)


@pulumi.runtime.test
def test_a_bad_tracked_events_config_fails_at_declaration(stack_config: dict[str, str]) -> None:
    pulumi.runtime.set_all_config({**stack_config, TRACKED_EVENTS_KEY: '{"1": ["PURCHASED"]}'})
    with pytest.raises(ConfigurationError) as caught:
        AppActivityAudience("bad-tracked-config", app_ids=[DEFAULT_APP_ID], include=[_RULE])
    assert "tiktok:trackedEvents: 1[0]: unknown app event 'PURCHASED'" in str(caught.value)
