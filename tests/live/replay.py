"""Replay recorded exchanges through the client's readers: every answer must read as it did live.

For each recording folder (one run, files in the order sent): every answer must be TikTok's envelope;
every successful answer must pass its endpoint's reader (the client's response models); and every
App Activity audience the run created must read back, from get's ``rule`` text, as the very spec its
``rule/create`` body declared (``reading.spec_from_rule_text`` against ``from_create_payload``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from pulumi_tiktok_audiences.client.accounts import AppListData, AuthorizedAdvertisersData
from pulumi_tiktok_audiences.client.models import CreatedAudience, Envelope, GetData, ListData, ShareLogData
from pulumi_tiktok_audiences.reading import spec_from_rule_text
from pulumi_tiktok_audiences.spec import AudienceSpec

EXCHANGE_GLOB: Final = "[0-9][0-9][0-9][0-9]-*.json"
READERS: Final[dict[str, type[BaseModel]]] = {
    "rule/create": CreatedAudience,
    "lookalike/create": CreatedAudience,
    "get": GetData,
    "list": ListData,
    "share/log": ShareLogData,
    "app/list": AppListData,
    "oauth2/advertiser/get": AuthorizedAdvertisersData,
}


@dataclass
class Replayed:
    exchanges: int = 0
    answers_read: int = 0
    rules_read: int = 0
    problems: list[str] = field(default_factory=list)


def exchanges(folder: Path) -> list[tuple[Path, dict[str, Any]]]:
    return [
        (path, json.loads(path.read_text(encoding="utf-8"))) for path in sorted(folder.glob(EXCHANGE_GLOB))
    ]


def replay(folder: Path) -> Replayed:
    result = Replayed()
    declared: dict[str, AudienceSpec] = {}  # audience id -> the spec its create body declared
    for path, entry in exchanges(folder):
        result.exchanges += 1
        if "answer" not in entry:
            continue  # no answer (network error) or not JSON: nothing for a reader
        try:
            envelope = Envelope.model_validate(entry["answer"])
        except ValidationError as exc:
            result.problems.append(f"{path.name}: not TikTok's envelope: {exc.errors()[0]['msg']}")
            continue
        reader = READERS.get(entry["endpoint"])
        if envelope.code != 0 or reader is None:
            continue
        try:
            data = reader.model_validate(envelope.data if envelope.data is not None else {})
        except ValidationError as exc:
            result.problems.append(f"{path.name}: {entry['endpoint']} data unreadable: {exc.errors()[:2]}")
            continue
        result.answers_read += 1
        if isinstance(data, CreatedAudience) and entry["endpoint"] == "rule/create":
            spec = _declared(entry.get("body"))
            if spec is not None:
                declared[data.custom_audience_id] = spec
        if isinstance(data, GetData):
            for detail in data.details():
                expected = declared.get(detail.audience_id)
                if expected is None or detail.rule is None:
                    continue
                result.rules_read += 1
                try:
                    read = spec_from_rule_text(
                        expected.advertiser_id,
                        detail.name or expected.name,
                        detail.rule,
                        auto_refresh=expected.auto_refresh,
                        retention_in_days=expected.retention_in_days,
                        audience_sub_type=expected.audience_sub_type,
                    )
                except (ValueError, ValidationError) as exc:
                    result.problems.append(f"{path.name}: rule of {detail.audience_id} unreadable: {exc}")
                    continue
                if read.replacement_key() != expected.replacement_key():
                    result.problems.append(
                        f"{path.name}: rule of {detail.audience_id} reads as {read.replacement_key()}, "
                        f"created as {expected.replacement_key()}"
                    )
    return result


def _declared(body: Any) -> AudienceSpec | None:
    """The spec of a rule/create body, or None when the spec cannot express it (a lookback probe)."""
    try:
        return AudienceSpec.from_create_payload(body)
    except (ValueError, ValidationError):
        return None
