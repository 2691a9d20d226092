"""The live suite's target: one TikTok account (or an emulator), reached through the package's own classes.

A :class:`LiveTarget` holds the settings read from the environment, a unique name prefix for everything
the run creates, the pace, the budget of audiences the run may create, and the optional recorder. Every
client it builds (for the tests, for the provider, for ``tiktok-audiences import``) shares one limiter
and one recorder, so each request is paced, counted against the budget and recorded whoever sends it.

Where it runs: a production ad account set aside for tests (docs/operations/live-tests.md), never
TikTok's sandbox, which serves no audience endpoint (reference §7.1): a sandbox endpoint is refused
before any request, and a sandbox answer (40008/40014) stops the run at its first request.

Pace: one request every 0.5 s, 2 a second and 120 a minute across all endpoints: a fifth of the Basic
tier (10/s, 600/min, reference §6.3), which every developer app starts on and which the app's other
tools share, so the run never trips a suspension of the app that a deployment is using.

Budget: at most ``budget`` create requests per run (default 10, ``--live-budget``), counted before
each is sent, retries included: a create the run may not send fails with :class:`BudgetSpentError`
instead, and the probes report what they could not send.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
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

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import (
    AudienceSummary,
    OutcomeUnknownError,
    ProcessingWait,
    RetriesExhaustedError,
    SandboxUnsupportedError,
    TikTokApiError,
    TikTokClient,
    TikTokError,
    resolve_base_url,
)
from pulumi_tiktok_audiences.client.models import parse_time
from pulumi_tiktok_audiences.client.recording import Recorder
from pulumi_tiktok_audiences.client.retry import is_transient
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
PACE_SECONDS: Final = 0.5
PACE_ENV: Final = "TIKTOK_LIVE_PACE_SECONDS"  # another pace; 0 against an emulator, which has no limits
BUDGET: Final = 10
"""Audiences one run may create by default (``--live-budget``): enough for the lifecycle, the
lookbacks and a few events; probing all 28 events needs about 40."""
PREFIX_ROOT: Final = "pta-live-"
LEFTOVER_AGE: Final = timedelta(hours=1)
"""A ``pta-live-`` audience of another run is swept only when older than this, so that two people
running the suite on one account at the same time do not delete each other's audiences."""


SANDBOX_REFUSAL: Final = (
    "The live suite does not run against TikTok's sandbox: the sandbox serves no audience endpoints "
    "(/dmp/...) nor /app/list/, which answer 40008 or 40014 there (TikTok's sandbox documentation), "
    "so no test could pass. Run it against a production ad account set aside for tests, with a token "
    "scoped to it (docs/operations/live-tests.md)."
)
CREATE_ENDPOINTS: Final = frozenset(
    {
        constants.PATH_RULE_CREATE.removeprefix("/dmp/custom_audience/").strip("/"),
        constants.PATH_LOOKALIKE_CREATE.removeprefix("/dmp/custom_audience/").strip("/"),
    }
)


class BudgetSpentError(Exception):
    """The run has sent as many creates as its budget allows: this one was not sent."""


class Limiter:
    """Every client's ``limiter``: at most one request every ``seconds``, whoever sends it, and at most
    ``budget`` creates in the run.

    The suite keeps this fixed schedule of its own rather than the package's pacer, which follows
    the user's rate-limit settings: the suite must leave the app's tier to its deployments whatever
    they say.
    """

    def __init__(self, seconds: float, budget: int) -> None:
        self._seconds = seconds
        self.budget = budget
        self.creates = 0
        self._lock = threading.Lock()
        self._next = 0.0

    def __call__(self, endpoint: str) -> None:
        with self._lock:
            if endpoint in CREATE_ENDPOINTS:
                if self.creates >= self.budget:
                    raise BudgetSpentError(
                        f"the run's budget of {self.budget} audience creates is spent ({endpoint} not "
                        "sent); raise it with --live-budget"
                    )
                self.creates += 1
            now = time.monotonic()
            at = max(now, self._next)
            self._next = at + self._seconds
        if at > now:
            time.sleep(at - now)


def refuse_sandbox(settings: ProviderSettings) -> None:
    """Stop the run before any request when it points at TikTok's sandbox."""
    if settings.endpoint != "local" and resolve_base_url(settings.endpoint) == constants.SANDBOX_URL:
        pytest.exit(SANDBOX_REFUSAL, returncode=pytest.ExitCode.USAGE_ERROR)


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
    budget: int = BUDGET
    limiter: Limiter = field(init=False)

    def __post_init__(self) -> None:
        self.limiter = Limiter(self.pace_seconds, self.budget)

    @classmethod
    def from_environment(cls, record: Path | None, budget: int = BUDGET) -> LiveTarget:
        settings = ProviderSettings.resolve(lambda _key: None)  # the environment, as the provider reads it
        refuse_sandbox(settings)
        recorder = Recorder(record, secrets=[settings.access_token]) if record else None
        pace = float(os.environ.get(PACE_ENV) or PACE_SECONDS)
        return cls(settings, os.environ[APP_ENV].strip(), recorder=recorder, pace_seconds=pace, budget=budget)

    @property
    def advertiser_id(self) -> str:
        assert self.settings.advertiser_id is not None
        return self.settings.advertiser_id

    def name(self, label: str) -> str:
        return f"{self.prefix}{label}"

    def client(self) -> TikTokClient:
        """A new client on the shared limiter and recorder (callers may close it); it waits for an
        audience TikTok is still processing, saying so on stderr."""
        transport: httpx.BaseTransport = httpx.HTTPTransport()
        if self.recorder is not None:
            transport = self.recorder.transport(transport)
        return TikTokClient(
            self.settings.access_token,
            base_url=resolve_base_url(self.settings.endpoint),
            transport=transport,
            limiter=self.limiter,
            processing=ProcessingWait(notify=_to_stderr),
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

    def start(self) -> list[str]:
        """The sweep at the start of a run; a sandbox answer stops the run with the reason."""
        try:
            return self.cleanup()
        except (SandboxUnsupportedError, RetriesExhaustedError) as exc:
            cause = exc.last_error if isinstance(exc, RetriesExhaustedError) else exc
            if isinstance(cause, SandboxUnsupportedError):
                pytest.exit(f"{SANDBOX_REFUSAL} It answered: {cause}", returncode=pytest.ExitCode.USAGE_ERROR)
            raise

    def cleanup(self) -> list[str]:
        """The sweeper: delete this run's audiences, and other runs' ``pta-live-`` leftovers older than
        an hour; nothing without the suite's prefix, ever.

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


Result = str
ACCEPTED: Final[Result] = "accepted"
REFUSED: Final[Result] = "refused"
INCONCLUSIVE: Final[Result] = "inconclusive"  # a server code, 40700, 61000, a rate limit, no answer
NOT_SENT: Final[Result] = "not sent"  # the budget was spent


@dataclass
class Outcome:
    """What TikTok said to one probe: accepted (and the id), refused (and why), inconclusive (a server
    or backend code, or no answer: the sweeper removes what it may have made) or not sent (budget)."""

    label: str
    result: Result
    audience_id: str | None = None
    code: int | None = None
    message: str = ""

    @property
    def accepted(self) -> bool:
        return self.result == ACCEPTED

    @classmethod
    def of(cls, label: str, error: Exception) -> Outcome:
        """The outcome of a create that failed with ``error``."""
        text = " ".join(str(error).split())[:160]
        if isinstance(error, BudgetSpentError):
            return cls(label, NOT_SENT, message=text)
        assert isinstance(error, TikTokError)
        cause = error.cause if isinstance(error, OutcomeUnknownError) else error
        if isinstance(cause, RetriesExhaustedError):
            cause = cause.last_error
        # A refusal says something about the value; a server failure, a rate limit outlasting the
        # retries or a code that may follow an action says nothing about it.
        conclusive = isinstance(cause, TikTokApiError) and not (cause.may_have_acted or is_transient(cause))
        return cls(label, REFUSED if conclusive else INCONCLUSIVE, code=cause.code, message=text)


def table(title: str, outcomes: list[Outcome]) -> str:
    width = max(len(o.label) for o in outcomes)
    lines = [title, f"{'':<{width}}  {'result':<12}  code   message"]
    for o in outcomes:
        lines.append(f"{o.label:<{width}}  {o.result:<12}  {o.code or '':<5}  {o.message}")
    return "\n".join(lines)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
