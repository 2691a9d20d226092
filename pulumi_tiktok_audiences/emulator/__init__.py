"""A local emulator of TikTok's Business API v1.3 custom-audience endpoints (``dmp/custom_audience/*``).

Same paths, methods, parameters, envelope, return codes and limits as TikTok (see
``../shared/reference/tiktok-audience-api.md``), state in SQLite, and two front doors over one core::

    from pulumi_tiktok_audiences.emulator import Emulator, DEFAULT_ADVERTISER_ID

    emulator = Emulator()                        # in memory, DEFAULT_SEED, real-time clock
    client = emulator.client()                   # httpx.Client on the in-process transport
    with emulator.serve(port=0) as server:       # or a threaded HTTP server on 127.0.0.1
        print(server.url)

From the shell: ``tiktok-audiences emulator serve --port 0`` (prints its URL as the first line).

get answers in TikTok's backend shape by default (``inclusions``/``exclusions``, ad-group naming,
integer enums, backend lookalike names); ``Emulator(answer_shape=...)``, ``serve --answer-shape`` or
``TIKTOK_EMULATOR_ANSWER_SHAPE`` choose another (answers.py).

The emulator is for local use only: it listens on 127.0.0.1 by default and its controls need no
token. Tokens are never stored, logged or printed (only SHA-256 digests and fingerprints are kept).

Test controls (Python method | HTTP, below ``/_emulator``; bodies are JSON; none needs a token and
none is counted as an API request):

* request counts per endpoint path: ``request_counts()`` | ``GET /requests``;
  ``reset_request_counts()`` | ``POST /requests/reset``
* faults: ``inject_fault(path=None, *, code=None, http_status=None, latency=0.0, drop=False,
  hold=None, count=None, probability=None, seed=None) -> fault_id`` | ``POST /faults`` with the same
  fields but ``hold`` (a ``threading.Event``: Python only);
  ``faults()`` | ``GET /faults``; ``clear_faults()`` | ``POST /faults/clear`` (details in faults.py)
* rate limit (token bucket, past it 40100): ``set_rate_limit(token, per_second, burst)`` |
  ``POST /rate_limit {"token"?, "per_second", "burst"}`` (no token: every token);
  ``clear_rate_limits()`` | ``POST /rate_limit/clear``
* TikTok's rate limits per developer app (reference §6.3; details in ratelimit.py):
  ``Emulator(rate_tier=...)``, ``set_rate_tier("basic" | RateTier(...) | None)`` |
  ``POST /rate_tier {"tier"}`` or ``{"per_second", "per_minute", "per_day", "per_endpoint"?}``
  (``{}``: none); ``suspensions()`` | ``GET /rate_tier`` (the tier and every suspension so far,
  each with the requests per token fingerprint in the window that tripped it);
  refused with TikTok's real 40100 text, which names no window
* TikTok's advertiser-level QPS limit per path (40133 with its real text): ``set_advertiser_qps(n | None)``
  | ``POST /advertiser_qps {"per_second"?}`` (default: none)
* clock: ``clock.time()/now()`` | ``GET /clock``; ``clock.set(t)`` | ``POST /clock/set {"time"}``;
  ``clock.advance(s)`` | ``POST /clock/advance {"seconds"}``; ``clock.freeze(t=None)`` |
  ``POST /clock/freeze {"time"?}``; ``clock.unfreeze()`` | ``POST /clock/unfreeze``
  (times are "YYYY-MM-DD HH:MM:SS" UTC or epoch seconds)
* audiences: ``audiences(advertiser_id=None, include_deleted=False)`` |
  ``GET /audiences?advertiser_id=&include_deleted=true``; ``reset()`` | ``POST /reset`` (audiences,
  history, shares, counts, faults, rate limits and the tier's counts; not the tier, not the clock)

As TikTok does by default (reference §7): update and delete are refused with 40002 "being updated or
under processing" for a couple of seconds after a create or a recalculation (``processing_seconds``;
service.py), update without ``custom_audience_name`` is refused, and in sandbox mode (``sandbox=True``,
``TIKTOK_EMULATOR_SANDBOX=1``, or a request to ``IN_PROCESS_SANDBOX_URL`` / sandbox-ads.tiktok.com)
every endpoint answers 40014 (sandbox.py).

Behaviour where TikTok is silent is documented in service.py; the size model in population.py; the
seed format and the default seed in seed.py. Beside the audience endpoints it serves the two account
endpoints ``tiktok-audiences doctor`` reads, app/list and oauth2/advertiser/get (accounts.py).
"""

from pulumi_tiktok_audiences.emulator.clock import Clock
from pulumi_tiktok_audiences.emulator.core import Emulator
from pulumi_tiktok_audiences.emulator.sandbox import IN_PROCESS_SANDBOX_URL
from pulumi_tiktok_audiences.emulator.seed import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_BUSINESS_CENTER_ID,
    DEFAULT_SEED,
    DEFAULT_TOKEN,
    OTHER_BC_ADVERTISER_ID,
    OTHER_BC_APP_ID,
    OTHER_BUSINESS_CENTER_ID,
    SECOND_ADVERTISER_ID,
    SECOND_APP_ID,
    THIRD_ADVERTISER_ID,
    THIRD_APP_ID,
    AdvertiserSeed,
    PopulationConfig,
    Seed,
    TokenSeed,
    load_seed,
)
from pulumi_tiktok_audiences.emulator.server import RunningServer
from pulumi_tiktok_audiences.emulator.transport import IN_PROCESS_BASE_URL

__all__ = [
    "DEFAULT_ADVERTISER_ID",
    "DEFAULT_APP_ID",
    "DEFAULT_BUSINESS_CENTER_ID",
    "DEFAULT_SEED",
    "DEFAULT_TOKEN",
    "IN_PROCESS_BASE_URL",
    "IN_PROCESS_SANDBOX_URL",
    "OTHER_BC_ADVERTISER_ID",
    "OTHER_BC_APP_ID",
    "OTHER_BUSINESS_CENTER_ID",
    "SECOND_ADVERTISER_ID",
    "SECOND_APP_ID",
    "THIRD_ADVERTISER_ID",
    "THIRD_APP_ID",
    "AdvertiserSeed",
    "Clock",
    "Emulator",
    "PopulationConfig",
    "RunningServer",
    "Seed",
    "TokenSeed",
    "load_seed",
]
