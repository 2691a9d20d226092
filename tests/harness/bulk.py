"""Many audiences at once, for cost tests and the benchmark, and the state a stack would hold for them.

The first audience is created through the emulator's API, so its stored row is exactly what the
service writes; the others are copies of that row with their own ids and names, written straight
into the emulator's store in one transaction. That is fast (1,000 audiences in well under a
second) and passes TikTok's 400-audiences-per-advertiser cap, which only the API enforces: the
benchmark needs 1,000 audiences of one advertiser, and the emulator stays faithful to TikTok.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import DEFAULT_TOKEN, IN_PROCESS_BASE_URL, Emulator
from pulumi_tiktok_audiences.provider import outputs_for
from pulumi_tiktok_audiences.spec import AudienceSpec


def add_audiences(emulator: Emulator, spec: AudienceSpec, names: Sequence[str]) -> list[str]:
    """Audiences of ``spec`` named ``names`` (in that order) for its advertiser; returns their ids."""
    first, *others = names
    template = spec.model_copy(update={"name": first})
    with TikTokClient(DEFAULT_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as client:
        first_id = client.create_rule_audience(template.to_create_payload())
    ids = [first_id]
    with emulator.store.write() as tx:
        row = tx.audience(first_id)
        assert row is not None
        for name in others:
            ids.append(tx.next_audience_id())
            tx.insert_audience(dataclasses.replace(row, audience_id=ids[-1], name=name))
    return ids


def stack_outputs(spec: AudienceSpec, ids: Sequence[str], names: Sequence[str]) -> list[dict[str, Any]]:
    """The outputs a stack holds for audiences of ``spec`` created by the provider (before refresh)."""
    return [
        outputs_for(spec.model_copy(update={"name": name}), audience_id, None)
        for audience_id, name in zip(ids, names, strict=True)
    ]
