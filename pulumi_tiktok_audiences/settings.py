"""Provider settings: token, endpoint, default advertiser and rate limits, and where they come from.

Read once per provider host from the stack configuration that the engine hands to the dynamic
provider's ``configure()`` (keys arrive namespaced, ``tiktok:accessToken``), with environment
fallbacks for CI. Nothing here is ever pickled into state: the provider object is serialized in
the program process before ``configure()`` runs, and only in the host.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_tiktok_audiences import constants, ratestore
from pulumi_tiktok_audiences.errors import ConfigurationError

if TYPE_CHECKING:
    import httpx

    from pulumi_tiktok_audiences.client import RetryPolicy, TikTokClient
    from pulumi_tiktok_audiences.spec import TrackedEventPairs
    from pulumi_tiktok_audiences.throttle import Budget, Pacing

# Stack configuration keys (namespace "tiktok") and their environment fallbacks.
TOKEN_KEY = "tiktok:accessToken"  # noqa: S105 - a config key, not a secret
ENDPOINT_KEY = "tiktok:endpoint"
ADVERTISER_KEY = "tiktok:advertiserId"
TIER_KEY = "tiktok:rateLimitTier"
RATE_KEY = "tiktok:requestsPerSecond"
RATE_PER_MINUTE_KEY = "tiktok:requestsPerMinute"
WAIT_KEY = "tiktok:rateLimitWaitSeconds"
STORE_KEY = "tiktok:rateLimitStore"
DEVELOPER_APP_KEY = "tiktok:developerApp"
TIMEOUT_KEY = "tiktok:timeoutSeconds"
TRACKED_EVENTS_KEY = "tiktok:trackedEvents"  # stack config only: it describes the stack's apps
PROCESSING_WAIT_KEY = "tiktok:processingWaitSeconds"
TOKEN_ENV = "TIKTOK_ACCESS_TOKEN"  # noqa: S105 - an env var name, not a secret
ENDPOINT_ENV = "TIKTOK_ENDPOINT"
ADVERTISER_ENV = "TIKTOK_ADVERTISER_ID"
TIER_ENV = "TIKTOK_RATE_LIMIT_TIER"
RATE_ENV = "TIKTOK_REQUESTS_PER_SECOND"
RATE_PER_MINUTE_ENV = "TIKTOK_REQUESTS_PER_MINUTE"
WAIT_ENV = "TIKTOK_RATE_LIMIT_WAIT_SECONDS"
STORE_ENV = "TIKTOK_RATE_LIMIT_STORE"
DEVELOPER_APP_ENV = "TIKTOK_DEVELOPER_APP"
TIMEOUT_ENV = "TIKTOK_TIMEOUT_SECONDS"
PROCESSING_WAIT_ENV = "TIKTOK_PROCESSING_WAIT_SECONDS"

_ENV_OF = {  # each key's environment fallback: read by ProviderSettings.resolve, named by setting()
    TOKEN_KEY: TOKEN_ENV,
    ENDPOINT_KEY: ENDPOINT_ENV,
    ADVERTISER_KEY: ADVERTISER_ENV,
    TIER_KEY: TIER_ENV,
    RATE_KEY: RATE_ENV,
    RATE_PER_MINUTE_KEY: RATE_PER_MINUTE_ENV,
    WAIT_KEY: WAIT_ENV,
    STORE_KEY: STORE_ENV,
    DEVELOPER_APP_KEY: DEVELOPER_APP_ENV,
    TIMEOUT_KEY: TIMEOUT_ENV,
    PROCESSING_WAIT_KEY: PROCESSING_WAIT_ENV,
}


def setting(key: str) -> str:
    """How messages name a setting: its stack key and its environment variable, since a stack's owner
    sets the one and a CLI user the other (``tiktok:rateLimitStore (TIKTOK_RATE_LIMIT_STORE)``)."""
    env = _ENV_OF.get(key)
    return f"{key} ({env})" if env else key


DEFAULT_WAIT_SECONDS = 360.0
"""How long one call waits out a suspension by default: TikTok's 5-minute suspension after the
per-minute limit, plus a minute for the probe interval (up to 30 s) and clocks that disagree."""

LOCAL = "local"
LOCAL_DB = Path(".tiktok-emulator") / "local.db"
"""The embedded emulator's database, relative to the Pulumi project directory (the host's cwd)."""


@dataclass(frozen=True)
class ProviderSettings:
    """Resolved configuration. The token is kept out of ``repr`` and never logged."""

    access_token: str | None = field(default=None, repr=False)
    endpoint: str = "production"
    advertiser_id: str | None = None
    rate_limit_tier: str | None = None
    """As configured (one of ``constants.RATE_TIERS``); :attr:`tier` is what applies."""
    requests_per_second: float | None = None
    """As configured; :attr:`pacing` is what applies."""
    requests_per_minute: float | None = None
    rate_limit_wait_seconds: float = DEFAULT_WAIT_SECONDS
    rate_limit_store: str = ratestore.LOCAL
    """Where the developer app's rate budget is shared: ``local`` (a SQLite file in the user's cache
    folder, shared by the processes of this machine), ``memory`` (this process) or a Redis URL."""
    developer_app: str | None = None
    """The budget's name: every token of one developer app must use the same one to share TikTok's
    limits; None: derived from the token (:func:`throttle.budget_key_for_token`)."""
    timeout_seconds: float | None = None
    """How long one request may take (connect, send, wait for the answer); None: the client's
    default (30 s to answer, 10 s to connect). A create that times out after it was sent counts as a
    lost answer: the provider looks for the audience before it sends the create again."""
    tracked_events: TrackedEventPairs | None = None
    """The default ``tracked_events`` of App Activity audiences: per app id, the events the
    measurement partner posts back to TikTok (``tiktok:trackedEvents``, a JSON object)."""
    processing_wait_seconds: float | None = None
    """How long an update, rename or delete waits while TikTok says the audience is still being
    processed (40002 right after a create or during a recalculation); None: the client's default,
    10 minutes (client/processing.py); 0: not at all."""

    @classmethod
    def resolve(cls, get: Callable[[str], Any], environ: Mapping[str, str] | None = None) -> ProviderSettings:
        """Stack config first, then the environment; empty values count as unset."""
        env = os.environ if environ is None else environ

        def pick(key: str) -> str | None:
            value = get(key)
            if value is None or str(value).strip() == "":
                value = env.get(_ENV_OF[key])
            return str(value).strip() if value is not None and str(value).strip() else None

        endpoint = pick(ENDPOINT_KEY) or "production"
        if endpoint != LOCAL:
            from pulumi_tiktok_audiences.client import resolve_base_url

            try:
                resolve_base_url(endpoint)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{setting(ENDPOINT_KEY)}: {exc}, or {LOCAL} for the embedded emulator"
                ) from None
        tier = pick(TIER_KEY)
        if tier is not None and tier.lower() not in constants.RATE_TIERS:
            raise ConfigurationError(
                f"{setting(TIER_KEY)}: unknown rate-limit tier {tier!r}; use one of "
                f"{', '.join(constants.RATE_TIERS)} (your developer app's tier, shown in TikTok's "
                "developer portal; every app starts at basic)"
            )
        store = pick(STORE_KEY) or ratestore.LOCAL
        problem = ratestore.describe_store(store)
        if problem is not None:
            raise ConfigurationError(f"{setting(STORE_KEY)}: {problem}")
        developer_app = pick(DEVELOPER_APP_KEY)
        if developer_app is not None and (len(developer_app) > 200 or not developer_app.isprintable()):
            raise ConfigurationError(
                f"{setting(DEVELOPER_APP_KEY)}: expected a name of at most 200 printable characters (your "
                "developer app's id or name, the same for every token of the app)"
            )
        token = pick(TOKEN_KEY)
        if developer_app is not None and developer_app == token:
            raise ConfigurationError(
                f"{setting(DEVELOPER_APP_KEY)}: this is the access token, and the name is written to the "
                "rate-limit store in clear; set your developer app's id or name instead (the same for every "
                "token of the app), or leave it unset for a name derived from the token"
            )
        wait = _positive(
            WAIT_KEY, pick(WAIT_KEY), "seconds", f"default {DEFAULT_WAIT_SECONDS:g}", zero_ok=True
        )
        settings = cls(
            access_token=token,
            endpoint=endpoint,
            advertiser_id=pick(ADVERTISER_KEY),
            rate_limit_tier=None if tier is None else tier.lower(),
            requests_per_second=_positive(
                RATE_KEY, pick(RATE_KEY), "requests per second", "default: the tier's"
            ),
            requests_per_minute=_positive(
                RATE_PER_MINUTE_KEY,
                pick(RATE_PER_MINUTE_KEY),
                "requests per minute",
                "default: the tier's",
                at_least=1,
            ),
            rate_limit_wait_seconds=DEFAULT_WAIT_SECONDS if wait is None else wait,
            rate_limit_store=store,
            developer_app=developer_app,
            timeout_seconds=_positive(TIMEOUT_KEY, pick(TIMEOUT_KEY), "seconds", "default 30 s to answer"),
            tracked_events=_tracked_events(get(TRACKED_EVENTS_KEY)),
            processing_wait_seconds=_positive(
                PROCESSING_WAIT_KEY,
                pick(PROCESSING_WAIT_KEY),
                "seconds",
                "default 600",
                zero_ok=True,
            ),
        )
        settings.pacing  # noqa: B018 - refuse rates above the tier now, not at the first request
        return settings

    @classmethod
    def for_command(cls, access_token: str | None, endpoint: str) -> ProviderSettings:
        """A CLI command's settings: the token and endpoint it was given, the rest (rate-limit tier,
        rates, waits, timeout) from the environment, as the provider reads them."""
        return cls.resolve({TOKEN_KEY: access_token, ENDPOINT_KEY: endpoint}.get)

    @property
    def is_local(self) -> bool:
        return self.endpoint == LOCAL

    @property
    def tier(self) -> str | None:
        """The rate-limit tier in effect: the configured one, else ``sandbox`` on TikTok's sandbox and
        ``basic`` (every app's first tier) in production; None for an emulator, which has no quota."""
        if self.rate_limit_tier is not None:
            return self.rate_limit_tier
        if self.is_local:
            return None
        from pulumi_tiktok_audiences.client import resolve_base_url

        return {constants.PRODUCTION_URL: constants.DEFAULT_RATE_TIER, constants.SANDBOX_URL: "sandbox"}.get(
            resolve_base_url(self.endpoint)
        )

    @property
    def pacing(self) -> Pacing | None:
        """The ceiling the requests are paced under (the pace itself adapts below it, throttle.py): the
        tier's per-second limit (its per-minute one over 60, if lower), or a configured rate per second
        or per minute. None (not paced) for an emulator with nothing configured."""
        from pulumi_tiktok_audiences.throttle import Pacing  # imported here: throttle loads the client

        tier = constants.RATE_TIERS[self.tier] if self.tier is not None else None
        per_second, per_minute = self.requests_per_second, self.requests_per_minute
        ceilings = [rate for rate in (per_second, None if per_minute is None else per_minute / 60) if rate]
        if tier is not None:
            for key, value, limit, unit in (
                (RATE_KEY, per_second, tier.per_second, "second"),
                (RATE_PER_MINUTE_KEY, per_minute, tier.per_minute, "minute"),
            ):
                if value is not None and value > limit:
                    raise ConfigurationError(
                        f"{setting(key)}: {value:g} is more than the {self.tier} tier's {limit:,} requests "
                        f"per {unit}, so TikTok would suspend the app; set it lower, or set "
                        f"{setting(TIER_KEY)} to your developer app's tier "
                        f"({', '.join(constants.RATE_TIERS)})"
                    )
            ceilings.append(min(tier.per_second, tier.per_minute / 60))
        if not ceilings:
            return None
        return Pacing(
            per_second=min(ceilings),
            per_day=tier.per_day if tier is not None else None,
            per_endpoint=tier.per_endpoint if tier is not None else False,
        )

    def budget_name(self, token: str) -> str:
        """The name of the developer app's rate budget: the configured one, else derived from ``token``."""
        from pulumi_tiktok_audiences.throttle import budget_key_for_token

        return self.developer_app or budget_key_for_token(token)

    def make_client(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        store: ratestore.RateStore | None = None,
    ) -> TikTokClient:
        """Build the API client for the configured endpoint, or explain which key to set.

        Tests may serve its requests with another ``transport``, run its pacing and retries on another
        ``clock`` (the epoch's, such as the emulator's) and ``sleep``, and keep its rate budget in
        another ``store``; with any of these the budget is the client's own (in memory unless
        ``store`` is given), not the process's.
        """
        from pulumi_tiktok_audiences.client import (
            DEFAULT_TIMEOUT,
            ProcessingWait,
            TikTokClient,
            resolve_base_url,
        )
        from pulumi_tiktok_audiences.throttle import STDERR_ANNOUNCER, Budget

        timing: dict[str, Any] = {"clock": clock, "sleep": sleep}
        timing = {name: value for name, value in timing.items() if value is not None}
        retry = dataclasses.replace(
            provider_retry_policy(),
            rate_limit_wait_seconds=self.rate_limit_wait_seconds,
            notify=STDERR_ANNOUNCER,
            **timing,
        )
        processing = ProcessingWait(notify=STDERR_ANNOUNCER, **timing)
        if self.processing_wait_seconds is not None:
            processing = dataclasses.replace(processing, max_seconds=self.processing_wait_seconds)
        timeout = DEFAULT_TIMEOUT if self.timeout_seconds is None else self.timeout_seconds
        pacing = self.pacing
        token = self.access_token
        if self.is_local:
            from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, IN_PROCESS_BASE_URL, Emulator

            base_url, token = IN_PROCESS_BASE_URL, token or DEFAULT_TOKEN
            if transport is None:
                LOCAL_DB.parent.mkdir(parents=True, exist_ok=True)
                transport = Emulator(db_path=LOCAL_DB).transport()
        elif token is None:
            raise ConfigurationError(
                "No TikTok access token is configured. Set it with "
                f"`pulumi config set --secret {TOKEN_KEY} <token>` or the {TOKEN_ENV} environment "
                f"variable (or set {ENDPOINT_KEY} to `{LOCAL}` to use the embedded emulator)."
            )
        else:
            base_url = resolve_base_url(self.endpoint)
        limiter = None
        if pacing is not None and (timing or store is not None):
            own = store or ratestore.MemoryStore()
            limiter = Budget(own, self.budget_name(token), pacing, scope=base_url, **timing)
        elif pacing is not None:
            limiter = self.shared_budget(base_url, token)
        network = {} if transport is None else {"transport": transport}
        return TikTokClient(
            token,
            base_url=base_url,
            retry=retry,
            timeout=timeout,
            limiter=limiter,
            processing=processing,
            **network,
        )

    def shared_budget(self, base_url: str, token: str) -> Budget | None:
        """The process's budget for ``token``'s requests to ``base_url`` in the configured store, which
        every process of the developer app shares (None: not paced); :class:`ConfigurationError`, saying
        what to do, when the store cannot be opened."""
        from pulumi_tiktok_audiences.throttle import shared_budget

        pacing = self.pacing
        if pacing is None:
            return None
        return shared_budget(self.open_store(), self.budget_name(token), base_url, pacing)

    def open_store(self) -> ratestore.RateStore:
        """The configured rate-limit store, opened once per process; :class:`ConfigurationError`, saying
        what to do, when it cannot be."""
        alone = f"{ratestore.MEMORY} (this process only: stacks running at once then pace on their own)"
        try:
            return ratestore.open_store(self.rate_limit_store)
        except ratestore.StoreError as exc:  # the local store has no folder to live in
            raise ConfigurationError(
                f"{setting(STORE_KEY)}: {exc}; set XDG_CACHE_HOME to a writable folder, or set {STORE_KEY} "
                f"to {alone} or a redis://host:port/db URL"
            ) from None
        except Exception as exc:  # sqlite3, OS and redis errors alike: say which store and why
            why = f"{type(exc).__name__}: {ratestore.redact_url(str(exc))}"
            if self.rate_limit_store == ratestore.LOCAL:
                raise ConfigurationError(
                    f"{setting(STORE_KEY)}: cannot open the rate-limit store {ratestore.LOCAL}, the file "
                    f"{ratestore.local_store_place()} ({why}); make its folder writable, set XDG_CACHE_HOME "
                    f"to a writable folder, or set {STORE_KEY} to {alone} or a redis://host:port/db URL"
                ) from None
            where = ratestore.redact_url(self.rate_limit_store)
            raise ConfigurationError(
                f"{setting(STORE_KEY)}: cannot open the rate-limit store {where} "
                f"({why}); check that Redis answers at that URL (host, port, password, database), or set "
                f"{STORE_KEY} to {ratestore.LOCAL} (this machine) or {alone}"
            ) from None


def provider_retry_policy() -> RetryPolicy:
    """The client's backoff for faults, retuned for the provider: first retry sooner, more attempts.

    A fault (50002, HTTP 5xx, a lost connection) usually clears within a second or two, and the
    client's default first wait of up to 1 s idles one of the host's four workers for longer than
    needed. Measured when 40100 still went this way (bench, emulator at 50/s with a 10-request
    bucket, unpaced): 300 creates took 8.3 s with the default (5 attempts, 1 s), 6.1 s with 8
    attempts from 0.25 s. The longest total wait (about 32 s) stays within the default 60 s budget.
    Rate limits have their own budget (``tiktok:rateLimitWaitSeconds``, set by ``make_client``).
    """
    from pulumi_tiktok_audiences.client import RetryPolicy

    return RetryPolicy(max_attempts=8, initial_backoff=0.25)


def _positive(
    key: str, text: str | None, unit: str, hint: str, *, at_least: float = 0, zero_ok: bool = False
) -> float | None:
    """A positive finite number (of ``unit``, at least ``at_least``) for ``key``, or None when unset."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and (value > 0 or (zero_ok and value == 0)) and value >= at_least):
        expected = (
            f"a number of {unit} of at least {at_least:g}" if at_least else f"a positive number of {unit}"
        )
        if zero_ok:
            expected = f"0 or {expected}"
        raise ConfigurationError(f"{setting(key)}: expected {expected}, got {text!r} ({hint})")
    return value


def _tracked_events(value: object) -> TrackedEventPairs | None:
    """``tiktok:trackedEvents``: a JSON object (Pulumi hands object config over as JSON text)."""
    from pydantic import TypeAdapter, ValidationError

    from pulumi_tiktok_audiences.spec import TrackedEvents, error_paths

    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    example = '{"6400000001": ["INSTALL", "LAUNCH_APP", "PURCHASE"]}'
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as exc:
            raise ConfigurationError(
                f"{TRACKED_EVENTS_KEY}: expected a JSON object of app id to events, e.g. {example} ({exc})"
            ) from None
    try:
        pairs: TrackedEventPairs = TypeAdapter(TrackedEvents).validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(f"{path}: {message}" if path else message for path, message in error_paths(exc))
        raise ConfigurationError(f"{TRACKED_EVENTS_KEY}: {problems} (e.g. {example})") from None
    return pairs
