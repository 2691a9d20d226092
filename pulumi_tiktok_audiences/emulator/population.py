"""A deterministic model of audience size, so readiness and "too small to target" can be demonstrated.

Real TikTok computes an audience in 24-48 hours and reports its size as ``cover_num``; an ad group
can target it only from 1,000 people (constants.TARGETABLE_MIN_SIZE). The emulator imitates that:

* **Target size.** For an App Activity audience, each inclusion rule reaches, per app in its
  ``event_source_ids``, ``daily users of the event x lookback days x jitter``, where the jitter
  (0.8 to 1.2) is a hash of advertiser, app and event, so the same rule always gives the same size.
  Daily users per app: 5,000 for *broad* events (install, launch, login, ...), 20 for *rare* events
  (the LOAN events, CREATE ROLE, CREATE GROUP), 500 for all others. Rules add up (OR); exclusion
  rules remove half of their own reach, at most half of the audience.
  Examples: PURCHASE in 30 days reaches 12,000-18,000 people; LOAN DISBURSAL in 30 days reaches
  at most 720 and so is **never** targetable (a rare event stays under 1,000 for lookbacks up to
  41 days per app). A lookalike audience reaches 200,000 / 1,000,000 / 5,000,000 people for
  NARROW / BALANCED / BROAD (halved for a single mobile OS), plus its source when included.
* **Timing.** For ``calculating_seconds`` after creation (or a lookalike refresh) the audience is
  calculating: ``is_valid`` false, ``cover_num`` 0. Then it is valid at 10 % of its target size and
  grows linearly to the full size over ``growth_seconds``. Defaults (seed.py): 1 s and 2 s, so a
  PURCHASE-30-days audience is targetable about a second after creation; steer time with the
  emulator's clock for exact control.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator.seed import PopulationConfig

BROAD_EVENTS: Final = frozenset(
    {"INSTALL", "LAUNCH APP", "DAY 2 RETENTION", "LOGIN", "VIEW CONTENT", "IN-APP AD IMPRESSION"}
)
RARE_EVENTS: Final = frozenset(
    {"LOAN APPLY", "LOAN APPROVAL", "LOAN DISBURSAL", "CREATE ROLE", "CREATE GROUP"}
)
DAILY_USERS_BROAD: Final = 5_000
DAILY_USERS_RARE: Final = 20
DAILY_USERS_OTHER: Final = 500
LOOKALIKE_SIZES: Final[Mapping[str, int]] = {"NARROW": 200_000, "BALANCED": 1_000_000, "BROAD": 5_000_000}
MAX_SIZE: Final = 50_000_000
INITIAL_SHARE: Final = 0.1  # share of the target size reported when calculation ends


def _jitter(*parts: str) -> float:
    """A stable pseudo-random factor in [0.8, 1.2) derived from ``parts``."""
    digest = hashlib.sha256("|".join(parts).encode("utf-8")).digest()
    return 0.8 + 0.4 * int.from_bytes(digest[:8], "big") / 2**64


def daily_users(event: str) -> int:
    if event in BROAD_EVENTS:
        return DAILY_USERS_BROAD
    if event in RARE_EVENTS:
        return DAILY_USERS_RARE
    return DAILY_USERS_OTHER


def _rule_reach(advertiser_id: str, rule: Mapping[str, Any]) -> float:
    filters = rule.get("filter_set", {}).get("filters", [])
    event = str(filters[0]["value"]) if filters else ""
    days = min(int(rule["retention_days"]), constants.LOOKBACK_DAYS_MAX)
    apps = rule.get("event_source_ids", [])
    return sum(daily_users(event) * days * _jitter(advertiser_id, str(app), event) for app in apps)


def app_audience_size(advertiser_id: str, rule_spec: Mapping[str, Any]) -> int:
    """Full size of an App Activity audience with this (validated) ``rule_spec``."""
    included = sum(_rule_reach(advertiser_id, r) for r in rule_spec["inclusion_rule_set"]["rules"])
    exclusion = rule_spec.get("exclusion_rule_set") or {"rules": []}
    excluded = sum(_rule_reach(advertiser_id, r) for r in exclusion["rules"])
    size = included - 0.5 * min(included, excluded)
    return min(MAX_SIZE, round(size))


def lookalike_size(advertiser_id: str, spec: Mapping[str, Any], source_size: int) -> int:
    """Full size of a lookalike audience with this (validated) ``lookalike_spec``."""
    size = LOOKALIKE_SIZES[str(spec["audience_size"])] * _jitter(
        advertiser_id, str(spec["source_audience_id"])
    )
    if spec["mobile_os"] != "ALL":
        size /= 2
    if spec["include_source"]:
        size += source_size
    return min(MAX_SIZE, round(size))


def cover(target: int, calculation_start: float, now: float, config: PopulationConfig) -> tuple[bool, int]:
    """``(is_valid, cover_num)`` at ``now`` of an audience whose calculation began then."""
    elapsed = now - calculation_start
    if elapsed < config.calculating_seconds:
        return False, 0
    growing = elapsed - config.calculating_seconds
    progress = 1.0 if growing >= config.growth_seconds else growing / config.growth_seconds
    return True, round(target * (INITIAL_SHARE + (1 - INITIAL_SHARE) * progress))
