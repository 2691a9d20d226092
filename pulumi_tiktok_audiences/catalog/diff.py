"""A reviewer's diff: what deploying one catalog over another does to each audience of each stack.

Each pair of audiences is classified by :func:`pulumi_tiktok_audiences.changes.classify`, the
function the provider's diff calls at ``pulumi up``, so the review says what the deployment does.
The words for each change live here too, so that every output format says the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from pulumi_tiktok_audiences.catalog.validation import CatalogAudience, ResolvedCatalog
from pulumi_tiktok_audiences.changes import Change, classify
from pulumi_tiktok_audiences.constants import TARGETABLE_MIN_SIZE
from pulumi_tiktok_audiences.lookalike import ReadinessOptions

__all__ = ["CHANGE_WORDS", "AudienceChange", "ChangeKind", "StackDiff", "diff_catalogs"]

ChangeKind = Literal["add", "adopt", "same", "update", "replace", "delete"]
"""``same`` is listed as a change only when the key was renamed (through ``previous_keys``)."""

CHANGE_WORDS: Final[dict[ChangeKind, tuple[str, str]]] = {
    "add": ("+", "added"),
    "adopt": ("+", "adopted"),
    "same": ("~", "key renamed"),
    "update": ("~", "updated in place"),
    "replace": ("!", "REPLACED"),
    "delete": ("-", "deleted"),
}
"""Each kind's mark and word, in the order a stack's headline counts them."""

_STATE_ONLY: Final = {
    "purpose": "kept in the stack only, TikTok is not called",
    "tracked_events": "kept in the stack only, TikTok is not called",
    "wait_until_targetable": "how a create waits; nothing changes on TikTok",
}
"""The fields a catalog change may touch without TikTok: its readiness option is wait_until_targetable
alone (_classify), so the other readiness options never differ here."""


@dataclass(frozen=True)
class AudienceChange:
    """What deploying the head catalog does to one audience of one stack.

    ``update`` keeps the audience (same id): a rename, NORMAL to REACH_FREQUENCY, or fields only the
    stack stores. ``replace`` creates a new audience, moves the program's ad groups to its id and
    deletes the old one. ``previous_key``: the key the audience had in the base catalog, when the
    head catalog renamed it and says so in ``previous_keys`` (a Pulumi alias).
    """

    key: str
    kind: ChangeKind
    before: CatalogAudience | None
    after: CatalogAudience | None
    change: Change | None = None
    """The change model's answer, when both sides exist."""
    previous_key: str | None = None
    same_as: str | None = None
    """For an added audience: a deleted one it could be (same rules), to be named in previous_keys."""

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the audience is replaced, in plain words."""
        return self.change.reasons if self.change is not None else ()

    def lines(self) -> list[str]:
        """The change in plain English: a headline, then details (the same in every format)."""
        before, after = self.before, self.after
        if after is None:
            assert before is not None, "a deleted audience has a base side"
            return self._deleted(before)
        if before is None:
            return self._added(after)
        assert self.change is not None, "an audience in both catalogs is classified"
        if self.kind == "replace":
            return self._replaced(before, after, self.change)
        return [self._kept(after, self.change)]

    def _added(self, after: CatalogAudience) -> list[str]:
        if after.adopt_audience_id is not None:
            return [
                f"takes over the existing audience {after.adopt_audience_id} as {after.spec.name!r} "
                f"(nothing is created): {after.spec.summary()}"
            ]
        lines = [f"creates {after.spec.name!r}: {after.spec.summary()}"]
        if self.same_as is not None:
            lines.append(
                f"hint: audiences.{self.same_as} is deleted in this change and has the same rules. If this "
                f"is that audience under a new key, add `previous_keys: [{self.same_as}]` to it: the live "
                "audience is then kept (its id, its size, its ad groups) instead of being deleted and "
                "created again empty"
            )
        return lines

    def _deleted(self, before: CatalogAudience) -> list[str]:
        lines = [
            f"deletes {before.spec.name!r} from TikTok (ad groups still using it make the delete fail): "
            f"{before.spec.summary()}"
        ]
        if before.protect:
            lines.append(
                "it is protected (protect: true): `pulumi up` refuses to delete it; deploy it with "
                "protect: false first"
            )
        return lines

    def _kept(self, after: CatalogAudience, change: Change) -> str:
        words = [f"key renamed from {self.previous_key}"] if self.previous_key else []
        if change.name is not None:
            words.append(f"{change.name[0]!r} becomes {change.name[1]!r}")
        if "audience_sub_type" in change.fields:
            words.append(f"moves to {after.spec.audience_sub_type}")
        words += [
            f"{field} changes ({_STATE_ONLY[field]})" for field in change.fields if field in _STATE_ONLY
        ]
        return f"{'; '.join(words)}; same audience id, ad groups keep it"

    def _replaced(self, before: CatalogAudience, after: CatalogAudience, change: Change) -> list[str]:
        lines = [
            "a new audience is created and this program's ad groups move to its id; "
            "then the old audience is deleted",
            *(f"why: {reason}" for reason in change.reasons),
        ]
        if change.name is not None:
            lines.append(f"name: {change.name[0]!r} becomes {change.name[1]!r}")
        if self.previous_key is not None:
            lines.append(f"key renamed from {self.previous_key}")
        lines += [
            "the new audience starts empty: TikTok calculates it again (this takes hours), and ad groups "
            f"cannot target it until it reaches TikTok's minimum of {TARGETABLE_MIN_SIZE:,} users",
            "ad groups made outside this program (in Ads Manager) stay on the old audience: move them "
            "to the new one, since the old one is deleted (TikTok may refuse that delete while they use "
            "it, and `pulumi up` then stops with an error)",
        ]
        if before.protect and after.protect:
            lines.append(
                "it is protected (protect: true): `pulumi up` refuses to replace it; set protect: false "
                "in this change to allow the replacement"
            )
        return [*lines, f"before: {before.spec.summary()}", f"after:  {after.spec.summary()}"]


@dataclass(frozen=True)
class StackDiff:
    """The changes of one stack (None: a catalog without stacks) and the audiences left as they are."""

    stack: str | None
    changes: tuple[AudienceChange, ...]
    unchanged: tuple[str, ...]
    removed: bool = False
    """The stack is no longer in the head catalog (its program then fails; nothing is deleted)."""

    def headline(self) -> str:
        name = f"Stack {self.stack}" if self.stack is not None else "All stacks"
        if self.removed:
            return (
                f"{name}: no longer in the catalog. Its program will fail rather than delete anything; "
                "to delete its audiences, run `pulumi destroy` on it"
            )
        counts = [
            f"{sum(c.kind == kind for c in self.changes)} {word}"
            for kind, (_, word) in CHANGE_WORDS.items()
            if any(c.kind == kind for c in self.changes)
        ]
        return f"{name}: {', '.join([*counts, f'{len(self.unchanged)} unchanged'])}"


def _audiences_for(resolved: ResolvedCatalog, stack: str | None) -> Mapping[str, CatalogAudience]:
    """A stack's audiences; a catalog without stacks serves every stack."""
    if stack in resolved.audiences:
        return resolved.audiences[stack]
    return resolved.audiences.get(None, {}) if resolved.stacks == (None,) else {}


def _classify(before: CatalogAudience, after: CatalogAudience) -> Change:
    """The provider's verdict for this pair: the spec, and how a create waits."""
    return classify(
        before.spec,
        after.spec,
        old_readiness=ReadinessOptions(wait_until_targetable=bool(before.wait_until_targetable)),
        new_readiness=ReadinessOptions(wait_until_targetable=bool(after.wait_until_targetable)),
    )


def _stack_diff(
    old: Mapping[str, CatalogAudience], new: Mapping[str, CatalogAudience]
) -> tuple[list[AudienceChange], list[str]]:
    """Audiences are matched by key, or by a previous key (a Pulumi alias) that is gone from the head."""
    matched: dict[str, str] = {}  # head key -> base key
    for key, after in new.items():
        if key in old:
            matched[key] = key
            continue
        previous = next((k for k in after.previous_keys if k in old and k not in new), None)
        if previous is not None and previous not in matched.values():
            matched[key] = previous
    deleted = [key for key in old if key not in matched.values()]
    changes: list[AudienceChange] = []
    unchanged: list[str] = []
    for key, after in new.items():
        base_key = matched.get(key)
        if base_key is None:
            kind: ChangeKind = "add" if after.adopt_audience_id is None else "adopt"
            same_as = None
            if kind == "add":
                same_as = next((k for k in deleted if _classify(old[k], after).kind != "replace"), None)
            changes.append(AudienceChange(key, kind, None, after, same_as=same_as))
            continue
        before = old[base_key]
        change = _classify(before, after)
        previous_key = base_key if base_key != key else None
        if change.kind == "same" and previous_key is None:
            unchanged.append(key)
        else:
            changes.append(AudienceChange(key, change.kind, before, after, change, previous_key))
    changes += [AudienceChange(key, "delete", old[key], None) for key in deleted]
    return changes, unchanged


def diff_catalogs(base: ResolvedCatalog, head: ResolvedCatalog) -> list[StackDiff]:
    """What deploying ``head`` over ``base`` does, per stack, decided as the provider's diff decides.

    Audiences are matched by key (the Pulumi resource name), or through the head's previous_keys
    (the aliases its program declares); a new key without either is a new audience.
    """
    stacks = list(dict.fromkeys([*head.stacks, *base.stacks]))
    if len(stacks) > 1 and None in stacks:  # one side without stacks serves those of the other
        stacks.remove(None)
    result = []
    for stack in stacks:
        changes, unchanged = _stack_diff(_audiences_for(base, stack), _audiences_for(head, stack))
        removed = stack not in head.stacks and head.stacks != (None,)
        result.append(StackDiff(stack, tuple(changes), tuple(unchanged), removed))
    return result
