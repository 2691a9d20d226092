"""The provider classes Pulumi state refers to: their module and class names must never change.

The engine runs these classes inside ``python -m pulumi.dynamic`` (the provider host). The
program pickles an *instance* by reference, so the state holds only the class path
(``pulumi_tiktok_audiences.provider.AppActivity`` and so on, no code, no token, no client).
That path is part of every stack's state; the classes are therefore defined here, over the
per-resource implementations in ``providers/`` (add an alias here if a name ever has to change).
"""

from __future__ import annotations

from pulumi_tiktok_audiences.providers.app_activity import (
    INPUT_KEYS,
    SPEC_KEYS,
    AppActivityProvider,
    outputs_for,
    props_from_spec,
    spec_from_props,
)
from pulumi_tiktok_audiences.providers.lookalike import LookalikeProvider
from pulumi_tiktok_audiences.providers.share import ShareProvider

__all__ = [
    "INPUT_KEYS",
    "SPEC_KEYS",
    "AppActivity",
    "Lookalike",
    "Share",
    "outputs_for",
    "props_from_spec",
    "spec_from_props",
]


class AppActivity(AppActivityProvider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.AppActivityAudience`."""


class Lookalike(LookalikeProvider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.LookalikeAudience`."""


class Share(ShareProvider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.AudienceShare`."""
