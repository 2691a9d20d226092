"""The live suite's target: one TikTok account (or an emulator), reached through the package's own classes.

A :class:`LiveTarget` holds the settings read from the environment, a unique name prefix for everything
the run creates, the pace, and the optional recorder. Every client it builds (for the tests, for the
provider, for ``tiktok-audiences import``) shares one pacer and one recorder, so each request is paced
and recorded whoever sends it.

Pace: TikTok's sandbox allows 1 request per second and 30 per minute *per endpoint* (reference
§6.3, quoting TikTok's rate-limit page). One request every 2.2 s across all endpoints keeps every
endpoint under both limits however the suite mixes them (27 a minute at most), and is far under
production's Basic tier (10/s, 600/min), so the same pace serves both.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import httpx
import pytest
from pulumi.dynamic import Config, ConfigureRequest

from pulumi_tiktok_audiences.client import AudienceSummary, TikTokClient, TikTokError
from pulumi_tiktok_audiences.client.models import parse_time
from pulumi_tiktok_audiences.client.recording import Recorder
from pulumi_tiktok_audiences.provider import AppActivity
from pulumi_tiktok_audiences.settings import (
    ADVERTISER_ENV,
    ADVERTISER_KEY,
    ENDPOINT_ENV,
    ENDPOINT_KEY,
    TOKEN_ENV,
    TOKEN_KEY,
    ProviderSettings,
)

APP_ENV: Final = "TIKTOK_APP_ID"
REQUIRED_ENV: Final = (TOKEN_ENV, ADVERTISER_ENV, APP_ENV)
PACE_SECONDS: Final = 2.2
PACE_ENV: Final = "TIKTOK_LIVE_PACE_SECONDS"  # another pace; 0 against an emulator, which has no limits
PREFIX_ROOT: Final = "pta-live-"
LEFTOVER_AGE: Final = timedelta(hours=1)
"""A ``pta-live-`` audience of another run is swept only when older than this, so that two people
running the suite on one account at the same time do not delete each other's audiences."""


class Spacing:
    """At most one request every ``seconds``, whoever sends it: a client's ``limiter``.

    The suite keeps this fixed schedule of its own rather than the package's pacer, which follows
    the user's rate-limit settings: the suite must stay under the sandbox's limits whatever they say.
    """

    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._lock = threading.Lock()
        self._next = 0.0

    def __call__(self, _endpoint: str) -> None:
        with self._lock:
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self._seconds
        if at > now:
            time.sleep(at - now)


def new_prefix() -> str:
    """``pta-live-<UTC timestamp>-<4 hex>-``: unique per run, sortable, and recognisable in Ads Manager."""
    return f"{PREFIX_ROOT}{datetime.now(UTC):%Y%m%d%H%M%S}-{secrets.token_hex(2)}-"


def missing_environment() -> list[str]:
    return [name for name in REQUIRED_ENV if not os.environ.get(name, "").strip()]


@dataclass
class LiveTarget:
    """One account to run the flows against; ``cleanup()`` removes everything the run made."""

    settings: ProviderSettings
    app_id: str
    prefix: str = field(default_factory=new_prefix)
    recorder: Recorder | None = None
    pace_seconds: float = PACE_SECONDS
    _pacer: Spacing | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        if self.pace_seconds > 0:
            self._pacer = Spacing(self.pace_seconds)

    @classmethod
    def from_environment(cls, record: Path | None) -> LiveTarget:
        settings = ProviderSettings.resolve(lambda _key: None)  # the environment, as the provider reads it
        recorder = Recorder(record, secrets=[settings.access_token]) if record else None
        pace = float(os.environ.get(PACE_ENV) or PACE_SECONDS)
        return cls(settings, os.environ[APP_ENV].strip(), recorder=recorder, pace_seconds=pace)

    @property
    def advertiser_id(self) -> str:
        assert self.settings.advertiser_id is not None
        return self.settings.advertiser_id

    def name(self, label: str) -> str:
        return f"{self.prefix}{label}"

    def client(self) -> TikTokClient:
        """A new client on the shared pacer and recorder (callers may close it)."""
        from pulumi_tiktok_audiences.client import resolve_base_url

        transport: httpx.BaseTransport = httpx.HTTPTransport()
        if self.recorder is not None:
            transport = self.recorder.transport(transport)
        return TikTokClient(
            self.settings.access_token,
            base_url=resolve_base_url(self.settings.endpoint),
            transport=transport,
            limiter=self._pacer,
        )

    def provider(self) -> AppActivity:
        """The provider as the host makes it: unpickled, then configured from the stack config."""
        provider = AppActivity()
        config = {
            TOKEN_KEY: self.settings.access_token,
            ENDPOINT_KEY: self.settings.endpoint,
            ADVERTISER_KEY: self.advertiser_id,
        }
        provider.configure(ConfigureRequest(Config(config, "pta-live")))
        return provider

    @contextlib.contextmanager
    def package_clients(self) -> Iterator[None]:
        """Within it, every client the package builds from settings is this target's (paced, recorded)."""
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(ProviderSettings, "make_client", lambda _settings, **_options: self.client())
            yield

    def environment(self) -> dict[str, str]:
        """The environment a command line run needs to reach this target."""
        assert self.settings.access_token is not None
        return {
            TOKEN_ENV: self.settings.access_token,
            ENDPOINT_ENV: self.settings.endpoint,
            ADVERTISER_ENV: self.advertiser_id,
            APP_ENV: self.app_id,
        }

    def cleanup(self) -> list[str]:
        """Delete this run's audiences, and other runs' ``pta-live-`` leftovers older than an hour.

        Found by listing, so it also removes what a failed step created but never reported.
        Returns the ids deleted.
        """
        with self.client() as client:
            listed = client.list_audiences(self.advertiser_id)
            now = client.server_now()  # TikTok's clock, known once it has answered
            doomed = [a.audience_id for a in listed if self._ours(a, now)]
            if doomed:
                client.delete_audiences(self.advertiser_id, doomed)
        return doomed

    def _ours(self, audience: AudienceSummary, now: datetime) -> bool:
        name = audience.name or ""
        if audience.is_creator is False or not name.startswith(PREFIX_ROOT):
            return False
        if name.startswith(self.prefix):
            return True
        created = parse_time(audience.create_time)
        return created is not None and now - created > LEFTOVER_AGE


@dataclass
class Outcome:
    """What TikTok said to one probe: accepted (and the id) or refused (and why)."""

    label: str
    accepted: bool
    audience_id: str | None = None
    code: int | None = None
    message: str = ""

    @classmethod
    def refused(cls, label: str, error: TikTokError) -> Outcome:
        return cls(label, False, code=error.code, message=" ".join(str(error).split())[:160])


def table(title: str, outcomes: list[Outcome]) -> str:
    width = max(len(o.label) for o in outcomes)
    lines = [title, f"{'':<{width}}  result    code   message"]
    for o in outcomes:
        result = "accepted" if o.accepted else "refused"
        lines.append(f"{o.label:<{width}}  {result:<8}  {o.code or '':<5}  {o.message}")
    return "\n".join(lines)
