"""A reviewer's diff: what deploying one catalog over another does to each audience of each stack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pulumi_tiktok_audiences.catalog.validation import CatalogAudience, ResolvedCatalog
from pulumi_tiktok_audiences.spec import AudienceSpec

__all__ = ["AudienceChange", "ChangeKind", "StackDiff", "diff_catalogs"]

ChangeKind = Literal["add", "adopt", "rename", "replace", "delete"]


@dataclass(frozen=True)
class AudienceChange:
    """What deploying the head catalog does to one audience of one stack.

    ``rename`` is any in-place update (a new name, or NORMAL to REACH_FREQUENCY); ``replace``
    creates a new audience, moves dependents to its id and deletes the old one, for ``reasons``.
    """

    key: str
    kind: ChangeKind
    before: CatalogAudience | None
    after: CatalogAudience | None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class StackDiff:
    """The changes of one stack (None: a catalog without stacks) and the audiences left as they are."""

    stack: str | None
    changes: tuple[AudienceChange, ...]
    unchanged: tuple[str, ...]
    removed: bool = False
    """The stack is no longer in the head catalog (its program then fails; nothing is deleted)."""


def _replacement_reason(field_name: str, old: AudienceSpec, new: AudienceSpec) -> str:
    """Why a change of ``field_name`` (one of spec.REPLACE_FIELDS) needs a new audience, in words."""
    fixed = "TikTok cannot edit an audience's rules"
    reasons = {
        "advertiser_id": f"it moves from ad account {old.advertiser_id} to {new.advertiser_id}",
        "app_ids": f"its apps change ({fixed})",
        "include": f"who it includes changes ({fixed})",
        "exclude": f"who it leaves out changes ({fixed})",
        "auto_refresh": (
            f"auto_refresh changes from {old.auto_refresh} to {new.auto_refresh} "
            "(TikTok fixes it when the audience is created)"
        ),
        "retention_in_days": (
            f"retention_in_days changes from {old.retention_in_days} to {new.retention_in_days} "
            "(TikTok fixes the expiry when the audience is created)"
        ),
        "audience_sub_type": (
            f"audience_sub_type changes from {old.audience_sub_type} to {new.audience_sub_type} "
            "(TikTok only moves NORMAL to REACH_FREQUENCY in place)"
        ),
    }
    return reasons.get(field_name, f"{field_name} changes")


def _audiences_for(resolved: ResolvedCatalog, stack: str | None) -> Mapping[str, CatalogAudience]:
    """A stack's audiences; a catalog without stacks serves every stack."""
    if stack in resolved.audiences:
        return resolved.audiences[stack]
    return resolved.audiences.get(None, {}) if resolved.stacks == (None,) else {}


def diff_catalogs(base: ResolvedCatalog, head: ResolvedCatalog) -> list[StackDiff]:
    """What deploying ``head`` over ``base`` does, per stack, decided as the provider's diff decides.

    Audiences are matched by key (the Pulumi resource name): a new key is a new audience.
    """
    stacks = list(dict.fromkeys([*head.stacks, *base.stacks]))
    if len(stacks) > 1 and None in stacks:  # one side without stacks serves those of the other
        stacks.remove(None)
    result = []
    for stack in stacks:
        old, new = _audiences_for(base, stack), _audiences_for(head, stack)
        changes: list[AudienceChange] = []
        unchanged: list[str] = []
        for key in dict.fromkeys([*new, *old]):
            before, after = old.get(key), new.get(key)
            if after is None:
                changes.append(AudienceChange(key, "delete", before, None))
            elif before is None:
                kind: ChangeKind = "add" if after.adopt_audience_id is None else "adopt"
                changes.append(AudienceChange(key, kind, None, after))
            elif fields := before.spec.replacing_fields(after.spec):
                reasons = (_replacement_reason(name, before.spec, after.spec) for name in fields)
                changes.append(AudienceChange(key, "replace", before, after, tuple(dict.fromkeys(reasons))))
            elif before.spec != after.spec:
                changes.append(AudienceChange(key, "rename", before, after))
            else:
                unchanged.append(key)
        removed = stack not in head.stacks and head.stacks != (None,)
        result.append(StackDiff(stack, tuple(changes), tuple(unchanged), removed))
    return result
