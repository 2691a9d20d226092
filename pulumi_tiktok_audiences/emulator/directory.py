"""Who may do what: tokens, advertisers, Business Centers and apps, as read from the seed.

Tokens are secrets. The directory keeps only their SHA-256 digests, compares a presented token's
digest against every known digest with :func:`hmac.compare_digest` (no early exit), and names a token
elsewhere (rate limits, logs) only by :func:`fingerprint`, a short prefix of that digest.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from pulumi_tiktok_audiences.emulator.seed import AdvertiserSeed, Seed

FINGERPRINT_CHARS = 12


def fingerprint(token: str) -> str:
    """A short, non-reversible name for a token: safe to keep in memory maps and logs."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()[:FINGERPRINT_CHARS]


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: its token fingerprint, the advertisers it may act for, and the
    developer app its token belongs to."""

    fingerprint: str
    advertiser_ids: frozenset[str]
    developer_app: str


class Directory:
    """Read-only account facts; thread-safe because nothing changes after construction."""

    def __init__(self, seed: Seed) -> None:
        self._grants: list[tuple[bytes, Principal]] = []
        for grant in seed.tokens:
            raw = grant.token.get_secret_value()
            principal = Principal(fingerprint(raw), frozenset(grant.advertiser_ids), grant.developer_app)
            self._grants.append((hashlib.sha256(raw.encode("utf-8")).digest(), principal))
        self._advertisers: dict[str, AdvertiserSeed] = {a.advertiser_id: a for a in seed.advertisers}

    def authenticate(self, token: str) -> Principal | None:
        """The principal owning ``token``, or None; the comparison time does not depend on the match."""
        digest = hashlib.sha256(token.encode("utf-8")).digest()
        found: Principal | None = None
        for known, principal in self._grants:
            if hmac.compare_digest(digest, known):
                found = principal
        return found

    def advertiser(self, advertiser_id: str) -> AdvertiserSeed | None:
        return self._advertisers.get(advertiser_id)

    def owns_app(self, advertiser_id: str, app_id: str) -> bool:
        advertiser = self._advertisers.get(advertiser_id)
        return advertiser is not None and app_id in advertiser.app_ids

    def same_business_center(self, first: str, second: str) -> bool:
        a, b = self._advertisers.get(first), self._advertisers.get(second)
        return a is not None and b is not None and a.business_center_id == b.business_center_id
