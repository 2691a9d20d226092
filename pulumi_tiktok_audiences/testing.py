"""Mocks for unit tests of your own Pulumi programs: ``pulumi.runtime.set_mocks(AudienceMocks())``.

Under Pulumi's mocks no provider runs, so a program's audiences would accept anything. With
:class:`AudienceMocks` every audience, lookalike and share goes through its provider's ``check``,
configured from the stack config the test sets (``pulumi.runtime.set_all_config``), exactly as in a
deployment: a refused input fails the test with its property path, including one that came from
another resource's output. Each then gets the outputs a ``pulumi up`` would give it (a TikTok-style
id, the canonical inputs, size, validity, targetability and the summary), without any API call.

Other resource types get their inputs back as outputs; subclass and override ``new_resource``
(calling ``super()`` for the rest) or ``call`` to answer for them.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi
from pulumi.output import UNKNOWN
from pulumi.runtime.rpc import contains_unknowns
from pydantic import BaseModel

from pulumi_tiktok_audiences.constants import TARGETABLE_MIN_SIZE
from pulumi_tiktok_audiences.lookalike import LookalikeAudienceSpec, ShareSpec
from pulumi_tiktok_audiences.provider import AppActivity, Lookalike, Share
from pulumi_tiktok_audiences.providers.app_activity import ADOPT_KEY
from pulumi_tiktok_audiences.readiness import AudienceSize
from pulumi_tiktok_audiences.resources import (
    AppActivityAudience,
    AudienceShare,
    LookalikeAudience,
    checked_inputs,
)
from pulumi_tiktok_audiences.spec import AudienceSpec

__all__ = ["AudienceMocks"]

_KINDS: dict[str, tuple[str, type[AppActivity] | type[Lookalike] | type[Share], type[BaseModel]]] = {
    f"pulumi-python:{resource._resource_type_name}": (resource.__name__, provider, spec)
    for resource, provider, spec in (
        (AppActivityAudience, AppActivity, AudienceSpec),
        (LookalikeAudience, Lookalike, LookalikeAudienceSpec),
        (AudienceShare, Share, ShareSpec),
    )
}
"""Resource type token (what mocks receive as ``typ``) -> resource name, provider, spec model."""
_COMPUTED = ("audience_id", "size", "is_valid", "targetable", "expire_time", "summary")
"""Outputs TikTok computes (a share's audience_id is an input, and inputs win)."""


class AudienceMocks(pulumi.runtime.Mocks):
    """Pulumi mocks that check audiences as their provider does and answer with realistic outputs.

    ``size`` is the number of people every audience reports once created; None (the default) is
    TikTok's answer right after a create: still calculating, so not valid and not targetable yet.
    A resource declared with ``wait_until_targetable`` reports what its create returns after the
    wait: at least 1,000 people, TikTok's targeting minimum.
    """

    def __init__(self, *, size: int | None = None) -> None:
        self.size = size

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        kind = _KINDS.get(args.typ)
        if kind is None:
            return f"{args.name}-id", dict(args.inputs)
        resource, provider, model = kind
        inputs = checked_inputs(f"{resource} {args.name!r}", provider, args.inputs)
        if contains_unknowns(inputs):
            # A preview with values not known yet: like the engine, no id, and unknown computed outputs.
            return None, {**dict.fromkeys(_COMPUTED, UNKNOWN), **inputs}
        spec: Any = model.model_validate({k: v for k, v in inputs.items() if k in model.model_fields})
        outputs = {**inputs, "summary": spec.summary()}
        if isinstance(spec, ShareSpec):
            return spec.share_id(), outputs
        audience_id = str(inputs.get(ADOPT_KEY) or _tiktok_id(args.name))
        size = self.size
        if inputs.get("wait_until_targetable") and (size is None or size < TARGETABLE_MIN_SIZE):
            size = TARGETABLE_MIN_SIZE
        reported = AudienceSize(audience_id, size, is_valid=size is not None)
        return audience_id, {
            **outputs,
            "audience_id": audience_id,
            "size": reported.size,
            "is_valid": reported.is_valid,
            "targetable": reported.targetable,
            "expire_time": None,
        }

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(
            f"AudienceMocks has no answer for the function {args.token}: subclass it and override call()."
        )


def _tiktok_id(resource_name: str) -> str:
    """A 19-digit id like TikTok's, the same for a resource name in every run (stable test output)."""
    return str(10**18 + int.from_bytes(hashlib.sha256(resource_name.encode()).digest()[:7], "big"))
