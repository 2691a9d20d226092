"""Repair an interrupted deployment through the checkpoint: the pending creates found on TikTok become
resources of the stack, in a deployment that ``pulumi stack import`` accepts.

Editing the checkpoint is what Pulumi has always documented for pending operations (reference:
pulumi-dynamic-providers.md §10.1); ``pulumi refresh --import-pending-creates`` is not shown to
record anything in the engine source. What ``stack import`` checks (pkg/cmd/pulumi/stack/
stack_import.go, pkg/resource/stack/deployment.go, pkg/resource/deploy/snapshot.go
``VerifyIntegrity``, pulumi/pulumi at 1b5949891b) shapes what is written here, by construction:

* every resource a new one refers to (parent, dependencies, property dependencies, deleted_with,
  replace_with, its provider) appears before it, so it is placed just after the last of them;
  one whose references are not all in the stack (a dependency that is itself still pending)
  stays pending;
* a URN appears twice only when all but one are marked ``delete``: a pending create of a
  replacement keeps the old resource, marked ``delete: true`` as the engine marks a replaced
  resource (step.go ``CreateStep.Apply``), so the next ``pulumi up`` deletes it; an old resource
  already deleted by a delete-before-replace (``pendingReplacement``) is dropped instead, as the
  engine drops it once its replacement exists (pkg/backend/snapshot.go,
  ``createSnapshotMutation.End``);
* values are copied as the export holds them: a secret stays its ``ciphertext`` object, never
  decrypted; the outputs are the inputs plus ``audience_id``, which is what the providers' read,
  diff and delete take (the next ``pulumi refresh`` adds what only TikTok knows);
* every other pending operation stays; ``stack import`` drops them all (io.go ``SaveSnapshot``),
  which is right for a create that never reached TikTok and wrong for an ambiguous one, so the
  command says which is which.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pulumi_tiktok_audiences.pending import Finding

AUDIENCE_ID_KEY = "audience_id"


@dataclass(frozen=True)
class Repaired:
    """A pending create recorded as a resource; ``replaced`` the id of the old one marked for deletion."""

    urn: str
    audience_id: str
    replaced: str | None = None


@dataclass(frozen=True)
class Kept:
    """A pending create left pending; ``safe`` when dropping it (as ``stack import`` does) loses nothing."""

    urn: str
    why: str
    safe: bool


@dataclass
class Repair:
    """The deployment to import and what became of each pending create of an audience."""

    document: dict[str, Any]
    repaired: list[Repaired] = field(default_factory=list)
    kept: list[Kept] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    """Pending operations this command does not resolve (other types, updates, deletes)."""

    @property
    def settled(self) -> bool:
        """Whether importing loses nothing: every pending create left is one that never reached TikTok."""
        return all(kept.safe for kept in self.kept)

    def report(self) -> list[str]:
        """One line per pending operation: what the deployment records, or why not and what to do."""
        lines = []
        for done in self.repaired:
            line = f"{done.urn}: audience {done.audience_id}, recorded"
            if done.replaced:
                line += f"; the next `pulumi up` deletes the audience it replaces ({done.replaced})"
            lines.append(line)
        lines += [f"{kept.urn}: {kept.why}" for kept in self.kept]
        lines += [f"{other}: left as it is (`pulumi stack import` drops it)" for other in self.others]
        return lines


def repair(export: Mapping[str, Any], findings: Sequence[Finding]) -> Repair:
    """The deployment of ``export`` with each single-match finding recorded as a resource."""
    document = copy.deepcopy(dict(export))
    deployment = document["deployment"]
    resources: list[dict[str, Any]] = deployment.setdefault("resources", [])
    operations: list[dict[str, Any]] = deployment.get("pending_operations") or []
    result = Repair(document)
    claims = Counter(f.audience_id for f in findings if f.audience_id is not None)
    done: set[int] = set()
    for finding in findings:
        urn = finding.pending.urn
        if finding.audience_id is None:
            result.kept.append(Kept(urn, _kept_reason(finding), finding.absent))
            continue
        if claims[finding.audience_id] > 1:
            result.kept.append(
                Kept(
                    urn,
                    f"audience {finding.audience_id} matches {claims[finding.audience_id]} pending creates "
                    "with equal declarations: delete it in TikTok Ads Manager, then run this command again "
                    "(none then matches: importing drops them and the next `pulumi up` creates each)",
                    False,
                )
            )
            continue
        state = copy.deepcopy(operations[finding.pending.operation]["resource"])
        problem = _unplaceable(resources, state)
        if problem:
            result.kept.append(
                Kept(
                    urn,
                    f"its audience is {finding.audience_id}, but {problem}; run this command again then",
                    False,
                )
            )
            continue
        result.repaired.append(_record(resources, state, finding.audience_id))
        done.add(finding.pending.operation)
    kept_ops = [op for i, op in enumerate(operations) if i not in done]
    handled = {f.pending.operation for f in findings}
    result.others = [
        f"{op.get('type')} {op.get('resource', {}).get('urn')}"
        for i, op in enumerate(operations)
        if i not in handled
    ]
    if kept_ops:
        deployment["pending_operations"] = kept_ops
    else:
        deployment.pop("pending_operations", None)
    return result


def _kept_reason(finding: Finding) -> str:
    if finding.absent:
        return (
            "no audience matches: the create never reached TikTok; `pulumi stack import` drops this "
            "pending create and the next `pulumi up` creates the audience"
        )
    return finding.problem + (
        "; until then importing drops this pending create and the next `pulumi up` creates another "
        "audience, so settle it first and run this command again"
    )


def _live(resources: Sequence[Mapping[str, Any]], urn: str) -> int | None:
    """The index of the resource of ``urn`` not marked for deletion, if any."""
    return next((i for i, r in enumerate(resources) if r.get("urn") == urn and not r.get("delete")), None)


def _after(resources: Sequence[Mapping[str, Any]], state: Mapping[str, Any]) -> int:
    """The first index at which everything ``state`` refers to is already listed."""
    found = [_first(resources, ref) for ref in _references(state)]
    return 1 + max((i for i in found if i is not None), default=-1)


def _unplaceable(resources: Sequence[Mapping[str, Any]], state: Mapping[str, Any]) -> str | None:
    """Why ``state`` cannot join ``resources`` as VerifyIntegrity requires, or None."""
    missing = [ref for ref in _references(state) if _first(resources, ref) is None]
    if missing:
        listed = ", ".join(missing)
        return f"it refers to {listed}, which is not in the stack (still pending?): resolve that first"
    provider = state.get("provider")
    if provider and not any(f"{r.get('urn')}::{r.get('id') or ''}" == provider for r in resources):
        return f"its provider {provider} is not in the stack"
    live = _live(resources, state["urn"])
    if live is not None and resources[live].get("pendingReplacement") and _after(resources, state) > live:
        # It must take the deleted old resource's place: what comes after that may refer to it.
        return "what it refers to comes after the resource it replaces; run `pulumi refresh` first"
    return None


def _record(resources: list[dict[str, Any]], state: dict[str, Any], audience_id: str) -> Repaired:
    """Insert ``state`` as the resource of ``audience_id`` where VerifyIntegrity accepts it."""
    urn = state["urn"]
    state["id"] = audience_id
    state["custom"] = True
    state["outputs"] = {**copy.deepcopy(state.get("inputs") or {}), AUDIENCE_ID_KEY: audience_id}
    for flag in ("delete", "pendingReplacement"):
        state.pop(flag, None)
    live = _live(resources, urn)
    if live is None:
        resources.insert(_after(resources, state), state)
        return Repaired(urn, audience_id)
    old = resources[live]
    if old.get("pendingReplacement"):  # deleted already by a delete-before-replace: it takes its place
        resources[live] = state
        return Repaired(urn, audience_id)
    old["delete"] = True
    resources.insert(_after(resources, state), state)
    return Repaired(urn, audience_id, str(old.get("id") or "") or None)


def _references(state: Mapping[str, Any]) -> Iterator[str]:
    """The URNs a resource refers to that must come before it (snapshot.go VerifyIntegrity, with
    State.GetAllDependencies), its provider's URN included."""
    if state.get("parent"):
        yield state["parent"]
    yield from (d for d in state.get("dependencies") or [] if d)
    for deps in (state.get("propertyDependencies") or {}).values():
        yield from (d for d in deps or [] if d)
    if state.get("deletedWith"):
        yield state["deletedWith"]
    yield from (d for d in state.get("replaceWith") or [] if d)
    if state.get("provider"):
        yield _provider_urn(state["provider"])


def _provider_urn(reference: str) -> str:
    """The URN of a provider reference ``URN::ID`` (providers.ParseReference splits at the last ``::``)."""
    return reference.rsplit("::", 1)[0]


def _first(resources: Sequence[Mapping[str, Any]], urn: str) -> int | None:
    return next((i for i, r in enumerate(resources) if r.get("urn") == urn), None)


def commands(path: str, stack: str | None) -> list[list[str]]:
    """``pulumi stack import --file G`` then ``pulumi refresh``, with ``--stack`` when given."""
    where = ["--stack", stack] if stack is not None else []
    return [["pulumi", "stack", "import", "--file", path, *where], ["pulumi", "refresh", "--yes", *where]]
