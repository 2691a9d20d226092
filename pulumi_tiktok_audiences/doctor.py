"""``tiktok-audiences doctor``: is everything in place for a deployment, and if not, what to do.

Checks, in order, each with a status and, when it fails, the next step:

* **endpoint**: the configured endpoint answers with TikTok's envelope;
* **token**: TikTok accepts the access token;
* **advertisers**: which advertisers the token may use (``oauth2/advertiser/get``, which TikTok
  answers only with the developer app's id and secret), else the advertisers named;
* **advertiser <id>**, for each: the token may use it, its apps (``app/list``: App Activity rules need
  one) and how many of its 400 custom audiences it owns (``list``, all pages);
* **app <id>**, given a catalog's apps (``doctor CATALOG``): each app its audiences name that is not
  among its advertiser's apps on TikTok, with the audiences that use it;
* **rate limit**: the tier and pace in effect, and the developer app's budget: its name and store,
  which must open; a warning on TikTok's sandbox under another tier.

On TikTok's sandbox the advertiser check fails saying plainly that the sandbox serves no audience
endpoints: it answers them and ``app/list`` with 40008 or 40014 (reference §7.1).

Offline (``local``, the embedded emulator) the same checks run against it. The doctor makes few calls
and tries each once more at most: it reports trouble rather than riding it out.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final, Literal

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import (
    DEFAULT_TIMEOUT,
    AuthenticationError,
    PermissionDeniedError,
    RetriesExhaustedError,
    RetryPolicy,
    SandboxUnsupportedError,
    TikTokClient,
    TikTokError,
    TransportError,
    resolve_base_url,
)
from pulumi_tiktok_audiences.client.accounts import AppSummary
from pulumi_tiktok_audiences.errors import ConfigurationError
from pulumi_tiktok_audiences.ratestore import LOCAL as LOCAL_STORE
from pulumi_tiktok_audiences.ratestore import MEMORY as MEMORY_STORE
from pulumi_tiktok_audiences.ratestore import local_store_place, redact_url
from pulumi_tiktok_audiences.settings import (
    ADVERTISER_ENV,
    ENDPOINT_KEY,
    STORE_ENV,
    STORE_KEY,
    TIER_ENV,
    TIER_KEY,
    TOKEN_ENV,
    TOKEN_KEY,
    ProviderSettings,
)

Status = Literal["ok", "warn", "fail", "skip"]
NEAR_FULL: Final = 0.9
"""Share of the 400-audience cap from which the doctor warns (a replacement needs a free slot)."""


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, its status, what was seen, and (when not ok) what to do."""

    name: str
    status: Status
    detail: str
    fix: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Report:
    """Every check, in the order to fix them; ``ok`` unless one failed (warnings do not fail)."""

    endpoint: str
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(check.status != "fail" for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "ok": self.ok, "checks": [asdict(c) for c in self.checks]}

    def to_text(self) -> str:
        marks = {"ok": "ok  ", "warn": "warn", "fail": "FAIL", "skip": "skip"}
        lines = [f"TikTok endpoint: {self.endpoint}"]
        for check in self.checks:
            lines.append(f"[{marks[check.status]}] {check.name}: {check.detail}")
            if check.fix:
                lines.append(f"       -> {check.fix}")
        failed = sum(check.status == "fail" for check in self.checks)
        lines.append("All checks passed." if not failed else f"{failed} check(s) failed.")
        return "\n".join(lines)


@dataclass(frozen=True)
class DeveloperApp:
    """The developer app's credentials, which TikTok requires to list a token's advertisers."""

    app_id: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class AppUse:
    """An app that audiences of a catalog name for one advertiser: which audiences, in which stacks
    (none when the catalog declares no stacks). The doctor checks it is among the advertiser's apps."""

    advertiser_id: str
    app_id: str
    audiences: tuple[str, ...]
    stacks: tuple[str, ...] = ()


class _UnreachableError(Exception):
    """The endpoint gave no TikTok answer: every later check is moot."""


class _TokenRefusedError(Exception):
    """TikTok refused the token: every later check would be refused too."""


def check_setup(
    config: Mapping[str, str | None],
    *,
    advertiser_ids: Sequence[str] = (),
    developer_app: DeveloperApp | None = None,
    app_uses: Sequence[AppUse] = (),
) -> Report:
    """The doctor's report for stack-config-like ``config`` (environment fallbacks as the provider's).

    A setting that cannot be read is itself a failed check, so that every outcome is a report.
    """
    try:
        settings = ProviderSettings.resolve(config.get)
    except ConfigurationError as exc:
        fix = "correct that environment variable (or flag) and run the doctor again"
        where = config.get(ENDPOINT_KEY) or "not known: the configuration could not be read"
        return Report(where, [Check("configuration", "fail", str(exc), fix)])
    with doctor_client(settings) as client:
        return diagnose(
            settings, client, advertiser_ids=advertiser_ids, developer_app=developer_app, app_uses=app_uses
        )


def diagnose(
    settings: ProviderSettings,
    client: TikTokClient,
    *,
    advertiser_ids: Sequence[str] = (),
    developer_app: DeveloperApp | None = None,
    app_uses: Sequence[AppUse] = (),
) -> Report:
    """Run every check through ``client`` (built from ``settings``: see :func:`doctor_client`).

    The advertisers of ``app_uses`` are checked too, as if named.
    """
    where = "the embedded emulator (local)" if settings.is_local else client.base_url
    checks: list[Check] = []
    named = list(
        dict.fromkeys(
            [
                *advertiser_ids,
                *([settings.advertiser_id] if settings.advertiser_id else []),
                *(use.advertiser_id for use in app_uses),
            ]
        )
    )
    if not settings.is_local and settings.access_token is None:
        checks.append(Check("endpoint", "skip", "not checked: no request is sent without a token"))
        checks.append(Check("token", "fail", "no access token is configured", _TOKEN_FIX))
        checks.append(_rate_limit(settings))
        return Report(where, checks)
    try:
        granted = _advertisers(client, developer_app, named, checks)
        apps: dict[str, list[str]] = {}
        for advertiser_id in granted or named:
            checks.append(_advertiser(client, advertiser_id))
            if "apps" in checks[-1].data:
                apps[advertiser_id] = [app["app_id"] for app in checks[-1].data["apps"]]
        checks.extend(_app_uses(app_uses, apps))
        if developer_app is None and not named:
            with contextlib.suppress(TikTokError):  # refused for that advertiser: the token was accepted
                _guarded(lambda: client.list_apps("0"))
        checks.extend(_answering())
    except _UnreachableError as exc:
        checks.append(
            Check(
                "endpoint",
                "fail",
                f"no TikTok answer from {where}: {exc}",
                f"check --endpoint or {ENDPOINT_KEY} (production, sandbox, local or an http(s) URL) and "
                "the network (proxy, firewall), then run the doctor again",
            )
        )
        checks.append(Check("token", "skip", "not checked: the endpoint does not answer"))
    except _TokenRefusedError as exc:
        checks.append(Check("endpoint", "ok", "answers with TikTok's envelope"))
        checks.append(Check("token", "fail", str(exc), _TOKEN_FIX))
    checks.append(_rate_limit(settings))
    return Report(where, _ordered(checks))


_TOKEN_FIX: Final = (
    "create a new long-term access token for your developer app (TikTok API for Business portal); give it "
    f"to the doctor with the {TOKEN_ENV} environment variable (or --token), and to your stacks with "
    f"`pulumi config set --secret {TOKEN_KEY} <token>` (the doctor does not read a stack's config)"
)
_ORDER: Final = ("endpoint", "token", "advertisers")


def _ordered(checks: list[Check]) -> list[Check]:
    """endpoint, token, advertisers, each advertiser, rate limit: the order a reader fixes them in."""
    first = [c for name in _ORDER for c in checks if c.name == name]
    return first + [c for c in checks if c.name not in _ORDER]


def _guarded(call: Callable[[], Any]) -> Any:
    """``call()``, turning "no answer" and "token refused" into the doctor's own stops."""
    try:
        return call()
    except RetriesExhaustedError as exc:
        if isinstance(exc.last_error, TransportError):
            raise _UnreachableError(str(exc.last_error)) from None
        raise
    except TransportError as exc:
        raise _UnreachableError(str(exc)) from None
    except AuthenticationError as exc:
        raise _TokenRefusedError(f"TikTok refused the access token: {exc}") from None


def _advertisers(
    client: TikTokClient, app: DeveloperApp | None, named: list[str], checks: list[Check]
) -> list[str]:
    """The advertisers check; returns the advertisers TikTok listed (when it was asked to)."""
    if app is not None:
        try:
            listed = _guarded(lambda: client.authorized_advertisers(app.app_id, app.secret))
        except TikTokError as exc:
            checks.append(
                Check(
                    "advertisers",
                    "fail",
                    f"TikTok would not list the token's advertisers: {exc}",
                    "check the developer app id and secret (My Apps > App Detail in the TikTok API for "
                    "Business portal); the sandbox does not offer this call, so there pass --advertiser-id "
                    "instead",
                )
            )
            return []
        ids = [a.advertiser_id for a in listed]
        missing = [a for a in named if a not in ids]
        names = ", ".join(f"{a.advertiser_id} ({a.advertiser_name or 'no name'})" for a in listed)
        if missing:
            checks.append(
                Check(
                    "advertisers",
                    "fail",
                    f"the token may use {len(listed)} advertiser(s): {names or 'none'}; not "
                    f"{', '.join(missing)}",
                    "authorise the developer app for those ad accounts (its authorization URL, signed in as "
                    "someone with access to them), then use the new token; or name an advertiser it has",
                    {"advertisers": [a.model_dump() for a in listed]},
                )
            )
            return ids
        checks.append(
            Check(
                "advertisers",
                "ok" if listed else "fail",
                f"the token may use {len(listed)} advertiser(s): {names or 'none'}",
                None if listed else "authorise the developer app for an ad account, then use the new token",
                {"advertisers": [a.model_dump() for a in listed]},
            )
        )
        return ids
    if not named:
        checks.append(
            Check(
                "advertisers",
                "fail",
                "no advertiser to check",
                f"name one with --advertiser-id or {ADVERTISER_ENV}; or pass "
                "--developer-app-id and --app-secret to list every advertiser the token may use",
            )
        )
        return []
    checks.append(
        Check(
            "advertisers",
            "skip",
            f"not listed; checking the advertiser(s) named: {', '.join(named)}",
            "pass --developer-app-id and --app-secret to list every advertiser the token may use",
        )
    )
    return []


def _answering() -> list[Check]:
    return [
        Check("endpoint", "ok", "answers with TikTok's envelope"),
        Check("token", "ok", "accepted"),
    ]


def _advertiser(client: TikTokClient, advertiser_id: str) -> Check:
    name = f"advertiser {advertiser_id}"
    try:
        apps: list[AppSummary] = _guarded(lambda: client.list_apps(advertiser_id))
        owned = shared_in = 0
        for audience in _guarded(lambda: list(client.iter_audiences(advertiser_id))):
            if audience.is_creator is False:
                shared_in += 1
            else:
                owned += 1
    except SandboxUnsupportedError as exc:
        return Check(
            name,
            "fail",
            "TikTok's sandbox serves no audience endpoints (/dmp/...) nor /app/list/: it answered "
            f"[{exc.code}] {exc.tiktok_message.rstrip('.')}. The sandbox can only prove that the token "
            "is accepted; audiences cannot be created, read or deleted there",
            "use a production ad account for deployments; for tests, set one aside with a token scoped "
            "to it (docs/operations/live-tests.md)",
        )
    except PermissionDeniedError as exc:
        return Check(
            name,
            "fail",
            f"the token may not use this advertiser: {exc}",
            "authorise the developer app for this ad account with the Audience permission (or ask its "
            "Business Center admin to), then use the new token; or configure another advertiser",
        )
    except TikTokError as exc:
        return Check(name, "fail", str(exc), "run the doctor again; if it persists, check TikTok's status")
    cap = constants.AUDIENCES_PER_ADVERTISER_MAX
    app_text = ", ".join(f"{a.app_id} ({a.app_name or 'no name'})" for a in apps) or "none"
    detail = f"apps: {app_text}; audiences: {owned} of {cap} used" + (
        f" ({shared_in} more shared in)" if shared_in else ""
    )
    data = {
        "apps": [a.model_dump() for a in apps],
        "audiences_owned": owned,
        "audiences_shared_in": shared_in,
    }
    if not apps:
        fix = "App Activity audiences need an app: register it in Events Manager for this ad account"
        return Check(name, "fail", detail, fix, data)
    if owned >= cap:
        return Check(name, "fail", detail, "delete unused audiences: TikTok refuses a create at 400", data)
    if owned >= NEAR_FULL * cap:
        fix = "few free slots: a replacement creates the new audience before deleting the old one"
        return Check(name, "warn", detail, fix, data)
    return Check(name, "ok", detail, None, data)


def _app_uses(uses: Sequence[AppUse], apps: Mapping[str, list[str]]) -> list[Check]:
    """A failed check per app the catalog names that its advertiser does not have on TikTok (TikTok
    would refuse the create); one line per advertiser whose apps are all there."""
    checks: list[Check] = []
    for advertiser_id in dict.fromkeys(use.advertiser_id for use in uses):
        mine = [use for use in uses if use.advertiser_id == advertiser_id]
        name = f"catalog apps of advertiser {advertiser_id}"
        if advertiser_id not in apps:
            checks.append(
                Check(name, "skip", "not checked: its apps could not be read (see its check above)")
            )
            continue
        have = apps[advertiser_id]
        missing = [use for use in mine if use.app_id not in have]
        for use in missing:
            stacks = (
                f" (stack{'s' if len(use.stacks) > 1 else ''} {', '.join(use.stacks)})" if use.stacks else ""
            )
            checks.append(
                Check(
                    f"app {use.app_id}",
                    "fail",
                    f"{'audiences' if len(use.audiences) > 1 else 'audience'} {', '.join(use.audiences)}"
                    f"{stacks} {'use' if len(use.audiences) > 1 else 'uses'} app {use.app_id}, which "
                    f"advertiser {advertiser_id} does not have on TikTok "
                    f"(its apps: {', '.join(have) or 'none'})",
                    f"register app {use.app_id} for ad account {advertiser_id} in Events Manager, or "
                    "correct the app id in the catalog",
                    asdict(use),
                )
            )
        if not missing:
            ids = ", ".join(dict.fromkeys(use.app_id for use in mine))
            checks.append(Check(name, "ok", f"the catalog's apps ({ids}) are all this advertiser's"))
    return checks


def _rate_limit(settings: ProviderSettings) -> Check:
    """The rate-limit tier and pace in effect, read with getattr: the settings' names for them have
    changed as rate limits became tiers (``tier`` and ``pacing`` now, ``rate_limit`` before)."""
    tier = getattr(settings, "tier", None) or getattr(settings, "rate_limit_tier", None)
    pacing = getattr(settings, "pacing", None)
    per_second = (
        getattr(pacing, "per_second", None) if pacing is not None else getattr(settings, "rate_limit", None)
    )
    per_minute = getattr(pacing, "per_minute", None) if pacing is not None else None
    parts = [f"tier {tier}" if tier else "no tier (an emulator has no quota)"]
    if isinstance(per_second, int | float):
        parts.append(f"paced at up to {per_second:g} requests/s")
        if isinstance(per_minute, int | float):
            parts.append(f"at most {per_minute:g} a minute")
    else:
        parts.append("not paced")
    problem = None
    if isinstance(settings, ProviderSettings) and pacing is not None:
        try:
            settings.open_store()
        except ConfigurationError as exc:
            problem = str(exc)
        token = settings.access_token
        name = settings.budget_name(token) if token else settings.developer_app or "derived from the token"
        store = settings.rate_limit_store
        where = {
            LOCAL_STORE: f"{store} ({local_store_place()})",
            MEMORY_STORE: f"{store} (this process only)",
        }.get(store, redact_url(store))
        parts.append(f"budget {name!r} in {where}")
    detail = "; ".join(parts)
    data = {"tier": None if tier is None else str(tier), "per_second": per_second, "per_minute": per_minute}
    if problem is not None:
        fix = (
            f"correct {STORE_KEY} (the doctor reads {STORE_ENV}), or leave it unset for {LOCAL_STORE}, "
            "a file in this machine's cache folder"
        )
        return Check("rate limit", "fail", f"{detail}: {problem}", fix, data)
    on_sandbox = not settings.is_local and resolve_base_url(settings.endpoint) == constants.SANDBOX_URL
    if on_sandbox and str(tier).lower() != "sandbox":
        fix = (
            "the sandbox allows 1 request a second and 30 a minute per endpoint: set "
            f"{TIER_KEY} to sandbox (the doctor reads {TIER_ENV})"
        )
        return Check("rate limit", "warn", detail, fix, data)
    return Check("rate limit", "ok", detail, None, data)


def doctor_client(settings: ProviderSettings) -> TikTokClient:
    """A client for the doctor: the deployment's endpoint and token, one retry, no long waits. Its
    requests draw from the developer app's shared budget, as every command's do, so that a doctor run
    beside a deployment adds nothing to the app's pace (a store that cannot be opened fails the rate
    limit check instead, and the doctor's few requests then go unpaced)."""

    if settings.is_local:
        return settings.make_client()  # the embedded emulator: nothing to wait for
    timeout = DEFAULT_TIMEOUT if settings.timeout_seconds is None else settings.timeout_seconds
    base_url = resolve_base_url(settings.endpoint)
    limiter = None
    if settings.access_token is not None:
        with contextlib.suppress(ConfigurationError):
            limiter = settings.shared_budget(base_url, settings.access_token)
    return TikTokClient(
        settings.access_token,
        base_url=base_url,
        retry=RetryPolicy(max_attempts=2, initial_backoff=1.0, max_elapsed_seconds=10.0),
        timeout=timeout,
        limiter=limiter,
    )
