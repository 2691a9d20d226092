"""TikTok App Activity custom audiences as Pulumi resources.

The spec types import eagerly (cheap: pydantic only); the Pulumi resource classes load on first
access, so that tools which only validate or explain audiences never import the Pulumi SDK. Mocks
for unit tests of programs are in :mod:`pulumi_tiktok_audiences.testing`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulumi_tiktok_audiences.errors import InvalidArgumentsError
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, EventRule, Purpose

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.resources import (
        AppActivityAudience,
        AudienceShare,
        LookalikeAudience,
        audience_size,
    )

__all__ = [
    "AppActivityAudience",
    "AppEvent",
    "AudienceShare",
    "AudienceSpec",
    "EventRule",
    "InvalidArgumentsError",
    "LookalikeAudience",
    "Purpose",
    "audience_size",
]

_LAZY = {
    name: "pulumi_tiktok_audiences.resources"
    for name in ("AppActivityAudience", "AudienceShare", "LookalikeAudience", "audience_size")
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pulumi_tiktok_audiences' has no attribute {name!r}")
