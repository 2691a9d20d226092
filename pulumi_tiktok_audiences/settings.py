"""Provider settings: token, endpoint, default advertiser and request rate, and where they come from.

Read once per provider host from the stack configuration that the engine hands to the dynamic
provider's ``configure()`` (keys arrive namespaced, ``tiktok:accessToken``), with environment
fallbacks for CI. Nothing here is ever pickled into state: the provider object is serialized in
the program process before ``configure()`` runs, and only in the host.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_tiktok_audiences.errors import ConfigurationError

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import RetryPolicy, TikTokClient

# Stack configuration keys (namespace "tiktok") and their environment fallbacks.
TOKEN_KEY = "tiktok:accessToken"  # noqa: S105 - a config key, not a secret
ENDPOINT_KEY = "tiktok:endpoint"
ADVERTISER_KEY = "tiktok:advertiserId"
RATE_KEY = "tiktok:requestsPerSecond"
TIMEOUT_KEY = "tiktok:timeoutSeconds"
TOKEN_ENV = "TIKTOK_ACCESS_TOKEN"  # noqa: S105 - an env var name, not a secret
ENDPOINT_ENV = "TIKTOK_ENDPOINT"
ADVERTISER_ENV = "TIKTOK_ADVERTISER_ID"
RATE_ENV = "TIKTOK_REQUESTS_PER_SECOND"
TIMEOUT_ENV = "TIKTOK_TIMEOUT_SECONDS"

DEFAULT_REQUESTS_PER_SECOND = 10.0
"""Pace for TikTok's own hosts when none is configured: half the documented 20 QPS tier (reference
§4.2), which is shared per developer app; the other half is left for other processes and tools
using the same app (each ``pulumi`` operation runs its own provider process with its own budget).
An emulator (a URL, or ``local``) has no quota, so it is not paced unless a rate is set."""

LOCAL = "local"
LOCAL_DB = Path(".tiktok-emulator") / "local.db"
"""The embedded emulator's database, relative to the Pulumi project directory (the host's cwd)."""


@dataclass(frozen=True)
class ProviderSettings:
    """Resolved configuration. The token is kept out of ``repr`` and never logged."""

    access_token: str | None = field(default=None, repr=False)
    endpoint: str = "production"
    advertiser_id: str | None = None
    requests_per_second: float | None = None
    """As configured; :attr:`rate_limit` is what applies."""
    timeout_seconds: float | None = None
    """How long one request may take (connect, send, wait for the answer); None: the client's
    default (30 s to answer, 10 s to connect). A create that times out after it was sent counts as a
    lost answer: the provider looks for the audience before it sends the create again."""

    @classmethod
    def resolve(cls, get: Callable[[str], Any], environ: Mapping[str, str] | None = None) -> ProviderSettings:
        """Stack config first, then the environment; empty values count as unset."""
        env = os.environ if environ is None else environ

        def pick(key: str, env_name: str) -> str | None:
            value = get(key)
            if value is None or str(value).strip() == "":
                value = env.get(env_name)
            return str(value).strip() if value is not None and str(value).strip() else None

        endpoint = pick(ENDPOINT_KEY, ENDPOINT_ENV) or "production"
        if endpoint != LOCAL:
            from pulumi_tiktok_audiences.client import resolve_base_url

            try:
                resolve_base_url(endpoint)
            except ValueError as exc:
                raise ConfigurationError(
                    f"{ENDPOINT_KEY}: {exc}, or {LOCAL} for the embedded emulator"
                ) from None
        return cls(
            access_token=pick(TOKEN_KEY, TOKEN_ENV),
            endpoint=endpoint,
            advertiser_id=pick(ADVERTISER_KEY, ADVERTISER_ENV),
            requests_per_second=_positive(
                RATE_KEY,
                pick(RATE_KEY, RATE_ENV),
                "requests per second",
                f"default {DEFAULT_REQUESTS_PER_SECOND:g} on TikTok's hosts; "
                "set it to your app's tier or lower",
            ),
            timeout_seconds=_positive(
                TIMEOUT_KEY, pick(TIMEOUT_KEY, TIMEOUT_ENV), "seconds", "default 30 s to answer"
            ),
        )

    @property
    def is_local(self) -> bool:
        return self.endpoint == LOCAL

    @property
    def rate_limit(self) -> float | None:
        """Requests per second to pace at: the configured rate, else the default on TikTok's hosts."""
        if self.requests_per_second is not None:
            return self.requests_per_second
        from pulumi_tiktok_audiences.client import NAMED_ENDPOINTS, resolve_base_url

        if not self.is_local and resolve_base_url(self.endpoint) in NAMED_ENDPOINTS.values():
            return DEFAULT_REQUESTS_PER_SECOND
        return None

    def make_client(self) -> TikTokClient:
        """Build the API client for the configured endpoint, or explain which key to set."""
        from pulumi_tiktok_audiences.client import DEFAULT_TIMEOUT, TikTokClient, resolve_base_url
        from pulumi_tiktok_audiences.throttle import shared_bucket

        rate = self.rate_limit
        retry = provider_retry_policy()
        timeout = DEFAULT_TIMEOUT if self.timeout_seconds is None else self.timeout_seconds
        if self.is_local:
            from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, IN_PROCESS_BASE_URL, Emulator

            LOCAL_DB.parent.mkdir(parents=True, exist_ok=True)
            emulator = Emulator(db_path=LOCAL_DB)
            return TikTokClient(
                self.access_token or DEFAULT_TOKEN,
                base_url=IN_PROCESS_BASE_URL,
                transport=emulator.transport(),
                retry=retry,
                timeout=timeout,
                limiter=shared_bucket(IN_PROCESS_BASE_URL, rate) if rate else None,
            )
        if self.access_token is None:
            raise ConfigurationError(
                "No TikTok access token is configured. Set it with "
                f"`pulumi config set --secret {TOKEN_KEY} <token>` or the {TOKEN_ENV} environment "
                f"variable (or set {ENDPOINT_KEY} to `{LOCAL}` to use the embedded emulator)."
            )
        base_url = resolve_base_url(self.endpoint)
        limiter = shared_bucket(base_url, rate) if rate else None
        return TikTokClient(
            self.access_token, base_url=base_url, retry=retry, timeout=timeout, limiter=limiter
        )


def provider_retry_policy() -> RetryPolicy:
    """The client's backoff, retuned for a paced provider: first retry sooner, more attempts.

    With the limiter pacing at or below TikTok's rate, 40100 only comes when someone else spends
    the same app's quota; the client's default first wait of up to 1 s then idles one of the
    host's four workers for far longer than the quota takes to refill (1/rate). Measured (bench,
    emulator at 50/s with a 10-request bucket, unpaced): 300 creates took 8.3 s with the default
    (5 attempts, 1 s), 6.1 s with 8 attempts from 0.25 s. The longest total wait (about 32 s)
    stays within the default 60 s budget, so a longer outage is still ridden out.
    """
    from pulumi_tiktok_audiences.client import RetryPolicy

    return RetryPolicy(max_attempts=8, initial_backoff=0.25)


def _positive(key: str, text: str | None, unit: str, hint: str) -> float | None:
    """A positive finite number (of ``unit``) for ``key``, or None when unset."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{key}: expected a positive number of {unit}, got {text!r} ({hint})")
    return value
