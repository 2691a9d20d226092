"""The one change model: what changing an App Activity audience means on TikTok.

The provider's diff (what ``pulumi up`` does) and the catalog's reviewer diff (what
``tiktok-audiences diff`` says it will do) both ask :func:`classify`; nothing else decides between
no change, an update in place and a replacement, so the two cannot disagree.

Specs are compared in canonical form: rule order, repeated rules, event spellings, app id order and
where the app ids are written (on the audience or on each rule) never count.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal

from pulumi_tiktok_audiences.lookalike import ReadinessOptions
from pulumi_tiktok_audiences.spec import REPLACE_FIELDS, AudienceSpec

__all__ = ["Change", "ChangeKind", "classify", "classify_unknown"]

ChangeKind = Literal["same", "update", "replace"]
"""``same``: nothing to do; ``update``: the same audience (same id) is changed in place, or only
the stored state changes; ``replace``: TikTok cannot make the change, so a new audience is created
and the old one deleted."""

_IN_PLACE_SUB_TYPE: Final = ("NORMAL", "REACH_FREQUENCY")
"""The one audience_sub_type move TikTok's update makes (reference §2.2); the reverse replaces."""
_RULES_FIXED: Final = "TikTok cannot edit an audience's rules"


@dataclass(frozen=True)
class Change:
    """What changing an audience from one spec to another means."""

    kind: ChangeKind
    fields: tuple[str, ...] = ()
    """Every field that differs in canonical form, in field order (readiness options last)."""
    replaces: tuple[str, ...] = ()
    """The fields that need a new audience (the engine's replace keys); empty unless ``replace``."""
    reasons: tuple[str, ...] = ()
    """Why a new audience is needed, in plain words, one per field in ``replaces``."""
    name: tuple[str, str] | None = None
    """(old name, new name) when the name changes, in place or inside a replacement."""


def classify(
    old: AudienceSpec,
    new: AudienceSpec,
    *,
    old_readiness: ReadinessOptions | None = None,
    new_readiness: ReadinessOptions | None = None,
) -> Change:
    """What going from ``old`` to ``new`` means: the same audience, an update in place, or a new one.

    TikTok's update renames an audience and moves NORMAL to REACH_FREQUENCY; fields TikTok never
    sees (spec.LOCAL_FIELDS) and the readiness options (how create waits) change only the stored
    state. Anything else is fixed when TikTok creates the audience, so changing it replaces it.
    """
    before, after = _canonical(old), _canonical(new)
    fields = [name for name in before if _differs(name, before, after)]
    waits = (
        (old_readiness or ReadinessOptions()).model_dump(),
        (new_readiness or ReadinessOptions()).model_dump(),
    )
    fields += [name for name in waits[0] if waits[0][name] != waits[1][name]]
    replaces = tuple(name for name in fields if _replaces(name, old, new))
    return Change(
        kind="replace" if replaces else "update" if fields else "same",
        fields=tuple(fields),
        replaces=replaces,
        reasons=tuple(_reason(name, old, new) for name in replaces),
        name=(old.name, new.name) if old.name != new.name else None,
    )


def classify_unknown(fields: Iterable[str]) -> Change:
    """What a change may be when ``fields`` are not known yet (a preview with another resource's
    outputs): a replacement if any of them is fixed at creation, else an update."""
    unknown = set(fields)
    replaces = tuple(name for name in REPLACE_FIELDS if name in unknown)
    return Change("replace" if replaces else "update", tuple(sorted(unknown)), replaces)


def _canonical(spec: AudienceSpec) -> dict[str, Any]:
    """Every field as it counts: rules as sorted sets of (event, lookback, the apps they read)."""
    return {**spec.model_dump(mode="json"), **spec.replacement_key()}


def _differs(name: str, before: dict[str, Any], after: dict[str, Any]) -> bool:
    """Rules count as changed by their events and lookbacks when the audience's apps change: every
    rule reads those apps, and the apps' change is a reason of its own."""
    if name in ("include", "exclude") and before["app_ids"] != after["app_ids"]:
        return _events(before[name]) != _events(after[name])
    return bool(before[name] != after[name])


def _events(rules: list[tuple[str, int, tuple[str, ...]]]) -> set[tuple[str, int]]:
    return {(event, days) for event, days, _ in rules}


def _replaces(name: str, old: AudienceSpec, new: AudienceSpec) -> bool:
    if name == "audience_sub_type":
        return (old.audience_sub_type, new.audience_sub_type) != _IN_PLACE_SUB_TYPE
    return name in REPLACE_FIELDS


def _reason(name: str, old: AudienceSpec, new: AudienceSpec) -> str:
    """Why a change of ``name`` needs a new audience, written as the catalog writes values."""

    def change() -> str:
        return f"{name}: {_value(getattr(old, name))} -> {_value(getattr(new, name))}"

    if name == "advertiser_id":
        return f"it moves from ad account {old.advertiser_id} to {new.advertiser_id}"
    if name == "app_ids":
        apps = (", ".join(_apps(spec)) for spec in (old, new))
        return f"its apps change: {' -> '.join(apps)} ({_RULES_FIXED})"
    if name == "include":
        return f"who it includes changes ({_RULES_FIXED})"
    if name == "exclude":
        return f"who it leaves out changes ({_RULES_FIXED})"
    if name == "auto_refresh":
        return f"{change()} (TikTok fixes it when the audience is created)"
    if name == "retention_in_days":
        return f"{change()} (TikTok fixes the expiry when the audience is created)"
    if name == "audience_sub_type":
        return f"{change()} (TikTok only moves NORMAL to REACH_FREQUENCY in place)"
    return f"{change()} (TikTok cannot change it in place)"


def _value(value: object) -> str:
    """A value as YAML writes it: true, 90, NORMAL; an unset value as "not set"."""
    if value is None:
        return "not set"
    return value if isinstance(value, str) else json.dumps(value)


def _apps(spec: AudienceSpec) -> list[str]:
    """Every app the audience's rules read, wherever the ids are written."""
    return sorted({app for rule in (*spec.include, *spec.exclude) for app in spec.app_ids_for(rule)}, key=int)
