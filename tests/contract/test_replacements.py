"""Replacements and failed creates as the real engine runs them: never lose or take a live audience.

Each operation gets a FRESH provider host, as the engine starts one per `pulumi preview`/`up`
half/`refresh`/`destroy` (reference: pulumi-dynamic-providers.md §9.1). The sequences imitate
§9.3 (``pulumi up --replace URN`` skips Diff: Check without olds, Create, Delete of the old
resource at the end), §9.4 (a logical rename without an alias: Create of the new URN, Delete of
the old URN after the program) and §9.11 (a Create that raises records nothing).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import pulumi
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_tiktok_audiences import (
    AppActivityAudience,
    AppEvent,
    AudienceShare,
    EventRule,
    LookalikeAudience,
    constants,
)
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    SECOND_ADVERTISER_ID,
    Emulator,
    RunningServer,
)
from pulumi_tiktok_audiences.provider import AppActivity, Lookalike, Share
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from tests.contract.helpers import PROJECT, PROVIDER_KEY, SECRET_TOKEN, declared
from tests.harness.host import HostError, ProviderHost, secret

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def _urn(type_name: str, name: str) -> str:
    return f"urn:pulumi:test::{PROJECT}::pulumi-python:dynamic/tiktok:{type_name}::{name}"


@contextmanager
def fresh_host(url: str) -> Iterator[ProviderHost]:
    """One engine operation: a new host process, configured as `pulumi up` does."""
    with ProviderHost(project=PROJECT) as host:
        host.configure({TOKEN_KEY: secret(SECRET_TOKEN), ENDPOINT_KEY: url})
        yield host


def _create(url: str, urn: str, news: dict[str, Any], blob: str) -> tuple[str, dict[str, Any]]:
    """Check without olds, then Create, in a fresh host: a new resource, or a targeted replace."""
    with fresh_host(url) as host:
        checked = host.check(urn, {}, {**news, PROVIDER_KEY: blob})
        assert checked.failures == []
        return host.create(urn, checked.inputs)


def _live(emulator: Emulator) -> set[str]:
    return {a["audience_id"] for a in emulator.audiences(DEFAULT_ADVERTISER_ID)}


APP_BLOB = serialize_provider(AppActivity())


@pytest.mark.parametrize("new_name", ["audience", "audience-renamed"], ids=["replace-urn", "rename-no-alias"])
def test_a_replacement_made_moments_later_is_a_new_audience_and_survives_the_old_ones_delete(
    server: RunningServer, emulator: Emulator, new_name: str
) -> None:
    """`pulumi up --replace URN` (same URN) and a logical rename without an alias (new URN)."""
    news = declared(name=f"Replace me {new_name}")
    old_id, old_outs = _create(server.url, _urn("AppActivityAudience", "audience"), news, APP_BLOB)

    new_id, _ = _create(server.url, _urn("AppActivityAudience", new_name), news, APP_BLOB)
    with fresh_host(server.url) as host:  # the old resource is deleted at the end
        host.delete(_urn("AppActivityAudience", "audience"), old_id, old_outs)

    assert new_id != old_id, "the replacement took the audience the stack already manages"
    assert new_id in _live(emulator), "the stack's state points at a deleted audience"
    assert old_id not in _live(emulator)


def test_a_replacement_whose_create_answer_is_lost_does_not_take_the_old_audience(
    server: RunningServer, emulator: Emulator
) -> None:
    """A retention-only change (TikTok does not report retention, so the old audience matches)."""
    urn = _urn("AppActivityAudience", "audience")
    old_id, old_outs = _create(server.url, urn, declared(name="Retention change"), APP_BLOB)
    news = {**declared(name="Retention change", retention_in_days=90), PROVIDER_KEY: APP_BLOB}
    with fresh_host(server.url) as host:
        checked = host.check(urn, old_outs, news).inputs
        assert host.diff(urn, old_id, old_outs, checked).replaces == ["retention_in_days"]
        replacement = host.check(urn, {}, news).inputs  # create-before-delete: no olds
        emulator.inject_fault(constants.PATH_RULE_CREATE, http_status=503, count=1)  # never reached TikTok
        new_id, _ = host.create(urn, replacement)
        host.delete(urn, old_id, old_outs)

    assert new_id != old_id
    assert new_id in _live(emulator)


def test_an_existing_equal_audience_is_named_not_adopted(server: RunningServer, emulator: Emulator) -> None:
    """What looks like an orphan may be managed by a stack: the user is told, nothing is taken."""
    news = declared(name="Look-alike of an orphan")
    existing, _ = _create(server.url, _urn("AppActivityAudience", "first"), news, APP_BLOB)
    with ProviderHost(project=PROJECT) as host:
        host.configure({TOKEN_KEY: secret(SECRET_TOKEN), ENDPOINT_KEY: server.url})
        checked = host.check("u", {}, {**news, PROVIDER_KEY: APP_BLOB}).inputs
        created, _ = host.create(_urn("AppActivityAudience", "second"), checked)
        stderr = host.close()
    assert created != existing
    assert {created, existing} <= _live(emulator)
    assert existing in stderr
    assert "tiktok-audiences pending" in stderr


class FailingSizeReads:
    """WSGI middleware: TikTok refuses every size read (a list by audience id) after a create."""

    def __init__(self, app: WSGIApplication) -> None:
        self._app = app
        self.spared: set[str] = set()  # audiences whose size is still answered (a lookalike's source)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        size_read = environ.get("PATH_INFO", "").endswith(
            constants.PATH_LIST
        ) and "audience_ids" in environ.get("QUERY_STRING", "")
        if not size_read or any(i in environ.get("QUERY_STRING", "") for i in self.spared):
            return self._app(environ, start_response)
        body = {
            "code": constants.CODE_PARAM_ERROR,
            "message": "Injected refusal",
            "request_id": "r",
            "data": {},
        }
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]


@pytest.fixture
def refusing() -> FailingSizeReads:
    return FailingSizeReads.__new__(FailingSizeReads)


@pytest.fixture
def refusing_sizes(emulator: Emulator, refusing: FailingSizeReads) -> Iterator[RunningServer]:
    refusing.__init__(emulator.wsgi_app)  # type: ignore[misc]
    with RunningServer(refusing, "127.0.0.1", 0) as running:
        yield running


def test_an_error_while_waiting_deletes_the_new_audience(
    refusing_sizes: RunningServer, emulator: Emulator
) -> None:
    before = _live(emulator)
    news = declared(name="Waits and fails", wait_until_targetable=True, readiness_timeout_seconds=5)
    with pytest.raises(HostError) as failed:
        _create(refusing_sizes.url, _urn("AppActivityAudience", "waits"), news, APP_BLOB)
    assert _live(emulator) == before, "a failed create left an audience outside the stack"
    assert "was deleted again" in failed.value.details


def test_a_lookalike_whose_wait_fails_is_deleted_again(
    server: RunningServer, refusing_sizes: RunningServer, refusing: FailingSizeReads, emulator: Emulator
) -> None:
    source, _ = _create(server.url, _urn("AppActivityAudience", "source"), declared(name="Source"), APP_BLOB)
    refusing.spared.add(source)  # the wait for the source passes; the lookalike's fails
    before = _live(emulator)
    news = {
        "advertiser_id": DEFAULT_ADVERTISER_ID,
        "name": "Lookalike that fails waiting",
        "source_audience_id": source,
        "locations": ["6252001"],
        "audience_size": "BALANCED",
        "wait_until_targetable": True,
        "readiness_timeout_seconds": 5,
    }
    with fresh_host(refusing_sizes.url) as host:
        urn = _urn("LookalikeAudience", "lookalike")
        checked = host.check(urn, {}, {**news, PROVIDER_KEY: serialize_provider(Lookalike())}).inputs
        with pytest.raises(HostError):
            host.create(urn, checked)
    assert _live(emulator) == before


# -- secrets (§9.7) and ids known in preview (§9.5), on the program side ------------------------------
class Recording(pulumi.runtime.Mocks):
    """Records registrations; answers like the engine's preview of an update: the new inputs only."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}
        self.ids: dict[str, str] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.inputs[args.name] = args.inputs
        self.ids[args.name] = str(7300000000000000900 + len(self.ids))
        return self.ids[args.name], dict(args.inputs)  # outputs that are not inputs stay unknown

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(args.token)


def _check_and_create(url: str, urn: str, news: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    with fresh_host(url) as host:
        checked = host.check(urn, {}, {**news, PROVIDER_KEY: APP_BLOB}).inputs
        return checked, host.create(urn, checked)[1]


def _is_secret(value: Any) -> bool:
    from pulumi.runtime import rpc

    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def _annotate_secrets(outs: dict[str, Any], ins: dict[str, Any]) -> set[str]:
    """The engine's rule (provider_plugin.go ``annotateSecrets``): outputs named like a secret input."""
    return {key for key in outs if key in ins and _is_secret(ins[key])}


@pulumi.runtime.test
def test_the_summary_of_a_secret_input_is_stored_as_a_secret(server: RunningServer) -> pulumi.Output[None]:
    mocks = Recording()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=True)
    audience = AppActivityAudience(
        "secret-app",
        advertiser_id=DEFAULT_ADVERTISER_ID,
        app_ids=[pulumi.Output.secret(DEFAULT_APP_ID)],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=3)],
    )

    def check(_: str) -> None:
        registered = mocks.inputs["secret-app"]
        plain = {k: v["value"] if _is_secret(v) else v for k, v in registered.items()}  # §9.7: stripped
        urn = _urn("AppActivityAudience", "secret-app")
        with ThreadPoolExecutor(1) as pool:  # the host's encoder needs a thread without a running loop
            checked, outs = pool.submit(_check_and_create, server.url, urn, plain).result()
        assert DEFAULT_APP_ID in outs["summary"]
        # The engine re-marks the checked inputs from the program's, then the outputs from those.
        secret_inputs = _annotate_secrets(checked, registered)
        assert "summary" in _annotate_secrets(outs, {k: registered[k] for k in secret_inputs}), (
            "the summary is stored in plain text"
        )

    return audience.id.apply(check)


@pulumi.runtime.test
def test_a_lookalike_takes_its_source_by_resource_id_known_in_preview() -> pulumi.Output[None]:
    mocks = Recording()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=True)
    source = AppActivityAudience(
        "renamed-source",
        advertiser_id=DEFAULT_ADVERTISER_ID,
        app_ids=[DEFAULT_APP_ID],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=3)],
    )
    lookalike = LookalikeAudience("dependent", source=source, locations=["6252001"], audience_size="NARROW")

    def check(_: str) -> None:
        assert mocks.inputs["dependent"]["source_audience_id"] == mocks.ids["renamed-source"]

    return lookalike.id.apply(check)


def _checked_keys(url: str, checks: list[tuple[str, dict[str, Any], str]]) -> list[set[str]]:
    with fresh_host(url) as host:
        return [set(host.check(urn, {}, {**news, PROVIDER_KEY: blob}).inputs) for urn, news, blob in checks]


@pulumi.runtime.test
def test_lookalikes_and_shares_carry_the_secrecy_of_their_inputs_to_the_summary(
    server: RunningServer,
) -> pulumi.Output[None]:
    mocks = Recording()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="test", preview=True)
    plain = AppActivityAudience(
        "plain-source",
        advertiser_id=DEFAULT_ADVERTISER_ID,
        app_ids=[DEFAULT_APP_ID],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=3)],
    )
    lookalike = LookalikeAudience(
        "secret-locations", source=plain, locations=[pulumi.Output.secret("6252001")], audience_size="NARROW"
    )
    share = AudienceShare(
        "secret-share", audience=plain, advertiser_ids=[pulumi.Output.secret(SECOND_ADVERTISER_ID)]
    )

    def check(_: list[str]) -> None:
        assert not _is_secret(mocks.inputs["plain-source"]["summary"])
        checks = []
        for name, type_name, provider in (
            ("secret-locations", "LookalikeAudience", Lookalike()),
            ("secret-share", "AudienceShare", Share()),
        ):
            registered = mocks.inputs[name]
            assert _is_secret(registered["summary"]), name
            stripped = {k: v["value"] if _is_secret(v) else v for k, v in registered.items()}
            checks.append((_urn(type_name, name), stripped, serialize_provider(provider)))
        with ThreadPoolExecutor(1) as pool:
            kept = pool.submit(_checked_keys, server.url, checks).result()
        assert all("summary" in keys for keys in kept)  # so the engine re-marks the summary output

    return pulumi.Output.all(lookalike.id, share.id).apply(check)
