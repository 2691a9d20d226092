"""The emulator's state (SQLite store, clock, faults, rate limits) and its test controls as Python methods.

It wires the parts together and knows no front door: the WSGI app (app.py) serves it, offering the same
controls over HTTP under ``/_emulator/``, and :class:`~.core.Emulator` adds the doors to it.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator.accounts import AccountService
from pulumi_tiktok_audiences.emulator.answers import AnswerShape
from pulumi_tiktok_audiences.emulator.clock import Clock
from pulumi_tiktok_audiences.emulator.directory import Directory, fingerprint
from pulumi_tiktok_audiences.emulator.faults import FaultInjector
from pulumi_tiktok_audiences.emulator.ratelimit import AdvertiserQps, AppQuota, RateLimiter
from pulumi_tiktok_audiences.emulator.sandbox import resolve as resolve_sandbox
from pulumi_tiktok_audiences.emulator.seed import DEFAULT_SEED, Seed
from pulumi_tiktok_audiences.emulator.service import AudienceService, Endpoint, resolve_processing_seconds
from pulumi_tiktok_audiences.emulator.store import Store


class EmulatorState:
    """A local TikTok custom-audience API. ``db_path`` is a SQLite file or ``":memory:"``.

    ``answer_shape`` (answers.py): how get spells rules and lookalike settings; None reads
    ``TIKTOK_EMULATOR_ANSWER_SHAPE``, else ``backend``, the least convenient shape TikTok may use.
    ``rate_tier`` enforces TikTok's rate limits per developer app: a tier's name (``basic``, ...,
    ``sandbox``; see ``constants.RATE_TIERS``) or numbers of its own; None (the default) enforces none.
    ``sandbox`` answers as TikTok's sandbox, which serves no audience endpoint (sandbox.py); None reads
    ``TIKTOK_EMULATOR_SANDBOX``. ``processing_seconds``: how long after a create or a recalculation
    update and delete are refused as "being processed" (service.py); None reads
    ``TIKTOK_EMULATOR_PROCESSING_SECONDS``, else a couple of seconds.
    """

    def __init__(
        self,
        db_path: str | Path = ":memory:",
        seed: Seed | None = None,
        clock: Clock | None = None,
        answer_shape: str | None = None,
        rate_tier: str | constants.RateTier | None = None,
        sandbox: bool | None = None,
        processing_seconds: float | None = None,
    ) -> None:
        shape = AnswerShape.resolve(answer_shape)  # first: a bad setting must not leave a store open
        processing = resolve_processing_seconds(processing_seconds)
        self.sandbox = resolve_sandbox(sandbox)
        self.seed = seed or DEFAULT_SEED
        self.clock = clock or Clock()
        self.store = Store(db_path)
        self.directory = Directory(self.seed)
        self.service = AudienceService(
            self.store,
            self.directory,
            self.clock,
            self.seed.population,
            shape,
            processing,
        )
        self.accounts = AccountService(self.directory)
        self.fault_injector = FaultInjector(endpoint.path for endpoint in self.endpoints())
        self.rate_limiter = RateLimiter(self.clock)
        self.app_quota = AppQuota(self.clock)
        self.advertiser_qps = AdvertiserQps(self.clock)
        self.set_rate_tier(rate_tier)

    def endpoints(self) -> list[Endpoint]:
        """Every API endpoint served: the audience endpoints, then the account ones (accounts.py)."""
        return [*self.service.endpoints(), *self.accounts.endpoints()]

    # --- controls -------------------------------------------------------------------------
    def count_request(self, endpoint_path: str) -> None:
        """Record one API request to ``endpoint_path`` (a constants.PATH_* value)."""
        with self.store.write() as tx:
            tx.count_request(endpoint_path)

    def request_counts(self) -> dict[str, int]:
        """API requests per endpoint path (constants.PATH_*), control requests excluded."""
        with self.store.read() as tx:
            return tx.request_counts()

    def reset_request_counts(self) -> None:
        with self.store.write() as tx:
            tx.reset_request_counts()

    def inject_fault(
        self,
        path: str | None = None,
        *,
        code: int | None = None,
        http_status: int | None = None,
        latency: float = 0.0,
        drop: bool = False,
        hold: threading.Event | None = None,
        count: int | None = None,
        probability: float | None = None,
        seed: int | None = None,
        processed: bool = False,
    ) -> int:
        """Add a fault (see faults.py) for ``path`` (a constants.PATH_* value; None: all); returns its ID."""
        return self.fault_injector.add(
            path,
            code=code,
            http_status=http_status,
            latency=latency,
            drop=drop,
            hold=hold,
            count=count,
            probability=probability,
            seed=seed,
            processed=processed,
        )

    def faults(self) -> list[dict[str, Any]]:
        return self.fault_injector.describe()

    def clear_faults(self) -> None:
        self.fault_injector.clear()

    def set_rate_limit(self, token: str | None, per_second: float, burst: int) -> None:
        """Token-bucket limit for ``token`` (None: every token without its own limit); past it, 40100."""
        self.rate_limiter.set(None if token is None else fingerprint(token), per_second, burst)

    def clear_rate_limits(self) -> None:
        self.rate_limiter.clear()

    def set_rate_tier(self, tier: str | constants.RateTier | None) -> None:
        """Enforce a rate-limit tier per developer app (None: none), counting from zero."""
        if isinstance(tier, str):
            if tier.lower() not in constants.RATE_TIERS:
                raise ValueError(f"unknown rate tier {tier!r}; use one of {', '.join(constants.RATE_TIERS)}")
            tier = constants.RATE_TIERS[tier.lower()]
        self.app_quota.set_tier(tier)

    @property
    def processing_seconds(self) -> float:
        """How long update and delete are refused after a create or a recalculation (0: never)."""
        return self.service.processing_seconds

    @processing_seconds.setter
    def processing_seconds(self, seconds: float) -> None:
        self.service.processing_seconds = resolve_processing_seconds(seconds)

    def set_advertiser_qps(self, per_second: int | None) -> None:
        """TikTok's advertiser-level limit: past ``per_second`` requests of one advertiser to one path in a
        rolling second, 40133 (None, the default: no limit; TikTok's number is not published)."""
        self.advertiser_qps.set(per_second)

    def suspensions(self) -> list[dict[str, Any]]:
        """Every suspension the rate tier imposed since it was set (or the last reset)."""
        return [suspension.describe() for suspension in self.app_quota.suspensions()]

    def audiences(
        self, advertiser_id: str | None = None, include_deleted: bool = False
    ) -> list[dict[str, Any]]:
        """Stored audiences with their current size and expiry state, in list order."""
        return self.service.snapshot(advertiser_id, include_deleted)

    def reset(self) -> None:
        """Forget audiences, history, shares, request counts, faults, rate limits and what the rate
        tier counted (not the tier itself, nor the clock)."""
        with self.store.write() as tx:
            tx.reset_audiences()
            tx.reset_request_counts()
        self.clear_faults()
        self.clear_rate_limits()
        self.app_quota.reset()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
