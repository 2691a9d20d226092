"""Provider settings: where the access token, endpoint and default advertiser come from.

Read once per provider host from the stack configuration that the engine hands to the dynamic
provider's ``configure()`` (keys arrive namespaced, ``tiktok:accessToken``), with environment
fallbacks for CI. Nothing here is ever pickled into state: the provider object is serialized in
the program process before ``configure()`` runs, and only in the host.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pulumi_tiktok_audiences.errors import ConfigurationError

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import TikTokClient

# Stack configuration keys (namespace "tiktok") and their environment fallbacks.
TOKEN_KEY = "tiktok:accessToken"  # noqa: S105 - a config key, not a secret
ENDPOINT_KEY = "tiktok:endpoint"
ADVERTISER_KEY = "tiktok:advertiserId"
TOKEN_ENV = "TIKTOK_ACCESS_TOKEN"  # noqa: S105 - an env var name, not a secret
ENDPOINT_ENV = "TIKTOK_ENDPOINT"
ADVERTISER_ENV = "TIKTOK_ADVERTISER_ID"

LOCAL = "local"
LOCAL_DB = Path(".tiktok-emulator") / "local.db"
"""The embedded emulator's database, relative to the Pulumi project directory (the host's cwd)."""


@dataclass(frozen=True)
class ProviderSettings:
    """Resolved configuration. The token is kept out of ``repr`` and never logged."""

    access_token: str | None = field(default=None, repr=False)
    endpoint: str = "production"
    advertiser_id: str | None = None

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
        )

    @property
    def is_local(self) -> bool:
        return self.endpoint == LOCAL

    def make_client(self) -> TikTokClient:
        """Build the API client for the configured endpoint, or explain which key to set."""
        from pulumi_tiktok_audiences.client import TikTokClient, resolve_base_url

        if self.is_local:
            from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, IN_PROCESS_BASE_URL, Emulator

            LOCAL_DB.parent.mkdir(parents=True, exist_ok=True)
            emulator = Emulator(db_path=LOCAL_DB)
            return TikTokClient(
                self.access_token or DEFAULT_TOKEN,
                base_url=IN_PROCESS_BASE_URL,
                transport=emulator.transport(),
            )
        if self.access_token is None:
            raise ConfigurationError(
                "No TikTok access token is configured. Set it with "
                f"`pulumi config set --secret {TOKEN_KEY} <token>` or the {TOKEN_ENV} environment "
                f"variable (or set {ENDPOINT_KEY} to `{LOCAL}` to use the embedded emulator)."
            )
        return TikTokClient(self.access_token, base_url=resolve_base_url(self.endpoint))
