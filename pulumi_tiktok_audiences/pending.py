"""Pending creates of an interrupted ``pulumi up``: find each one's audience on TikTok.

When the CLI dies while a create runs, the checkpoint keeps a pending ``creating`` operation and
the audience, if TikTok made it, is outside the stack. This module reads ``pulumi stack export``
and, for each pending create of this package's audience types, looks on TikTok (reads only) for
the audience with the declared advertiser, name and rules that the stack does not already hold:
exactly one is the answer; none or several are reported by name. repair.py then writes the
checkpoint that records the answers; ``refresh_command`` prints Pulumi's own
``pulumi refresh --import-pending-creates URN ID``, which the engine source suggests does not
record anything (reference: pulumi-dynamic-providers.md §10.1), kept as an unverified alternative.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from pulumi_tiktok_audiences.errors import TikTokAudiencesError
from pulumi_tiktok_audiences.providers.app_activity import SPEC_KEYS, declared_audience, spec_from_props
from pulumi_tiktok_audiences.providers.lookalike import (
    LOOKALIKE_SPEC_KEYS,
    declared_lookalike,
    lookalike_spec,
)
from pulumi_tiktok_audiences.reading import UnverifiableAudienceError
from pulumi_tiktok_audiences.recovery import describe, matching
from pulumi_tiktok_audiences.spec import error_paths

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import TikTokClient
    from pulumi_tiktok_audiences.providers.base import Declared

_TYPE_PREFIX = "pulumi-python:dynamic/tiktok:"
RECOGNISERS: Mapping[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], Declared]]] = {
    f"{_TYPE_PREFIX}AppActivityAudience": (
        SPEC_KEYS,
        lambda inputs: declared_audience(spec_from_props(inputs)),
    ),
    f"{_TYPE_PREFIX}LookalikeAudience": (
        LOOKALIKE_SPEC_KEYS,
        lambda inputs: declared_lookalike(lookalike_spec(inputs)),
    ),
}
"""Resource types whose create makes an audience (a share's create makes nothing to find), each with the
inputs its recogniser reads (only these must be readable: other secrets may stay encrypted) and that
recogniser: one table, so that the two never disagree."""
_SECRET_SIG = "4dabf18193072939515e22adb298388d"  # noqa: S105 - how `pulumi stack export` marks a secret


class StackExportError(TikTokAudiencesError):
    """The input is not the output of ``pulumi stack export``."""


@dataclass(frozen=True)
class PendingCreate:
    """One pending ``creating`` operation of the checkpoint, at ``operation`` in its list."""

    urn: str
    type: str
    inputs: dict[str, Any]
    operation: int


@dataclass
class Finding:
    """What was found for one pending create: the audience id, or why there is none."""

    pending: PendingCreate
    audience_id: str | None = None
    problem: str = ""
    candidates: list[str] = field(default_factory=list)
    absent: bool = False
    """No audience matches: the create never reached TikTok, so nothing needs recording."""


def pending_creates(export: Any) -> tuple[list[PendingCreate], set[str]]:
    """The pending creates of audience types in a stack export, and the ids its resources hold."""
    deployment = export.get("deployment") if isinstance(export, dict) else None
    if not isinstance(deployment, dict):
        raise StackExportError(
            "this is not the output of `pulumi stack export` (no deployment); run "
            "`pulumi stack export --show-secrets > stack.json` in the project and pass that file"
        )
    held = {str(r["id"]) for r in deployment.get("resources") or [] if r.get("id")}
    pending = [
        PendingCreate(
            str(op["resource"]["urn"]), str(op["resource"]["type"]), op["resource"].get("inputs") or {}, i
        )
        for i, op in enumerate(deployment.get("pending_operations") or [])
        if op.get("type") == "creating" and op.get("resource", {}).get("type") in RECOGNISERS
    ]
    return pending, held


def find(client: TikTokClient, pending: PendingCreate, held: set[str]) -> Finding:
    """The audience a pending create made: same advertiser, name and rules, not held by the stack."""
    keys, recognise = RECOGNISERS[pending.type]
    needed = {k: v for k, v in pending.inputs.items() if k in keys}
    try:
        inputs = _revealed(needed)
    except _EncryptedError as exc:
        return Finding(
            pending,
            problem=f"its input {exc} is a secret the export holds encrypted, so it cannot be matched: "
            "run `pulumi stack export --show-secrets | tiktok-audiences pending` to find its audience "
            "(that prints the id and writes nothing), then either delete that audience in TikTok Ads "
            "Manager or, for an App Activity audience, set adopt_audience_id to it",
        )
    try:
        declared = recognise(inputs)
    except ValueError as exc:  # a ValidationError field by field: pydantic's own text repeats the values
        why = "; ".join(f"{p}: {m}" for p, m in error_paths(exc)) if isinstance(exc, ValidationError) else exc
        return Finding(pending, problem=f"its inputs in the checkpoint are not a valid declaration ({why})")
    same_name = [
        a.audience_id
        for a in client.iter_audiences(declared.advertiser_id)
        if a.name == declared.name and a.audience_id not in held
    ]
    try:
        found = matching(client, declared.advertiser_id, same_name, declared.matches)
    except UnverifiableAudienceError as exc:  # never matched by guess: the user decides
        return Finding(pending, problem=str(exc), candidates=[exc.audience_id])
    if len(found) == 1:
        return Finding(pending, audience_id=found[0].audience_id)
    if not found:
        return Finding(
            pending,
            absent=True,
            problem=f"advertiser {declared.advertiser_id} has no {declared.kind} {declared.name!r} with the "
            "declared rules outside the stack: the create did not happen; clear it with "
            "`pulumi refresh --clear-pending-creates`, then run `pulumi up`",
        )
    return Finding(
        pending,
        problem=f"several {declared.kind}s match: {describe(found)}; delete all but the one to keep in "
        "TikTok Ads Manager, then run this command again",
        candidates=[d.audience_id for d in found],
    )


def refresh_command(findings: list[Finding], stack: str | None = None) -> list[str] | None:
    """``pulumi refresh`` importing every found id (URN and ID alternate, as the CLI reads them)."""
    pairs = [(f.pending.urn, f.audience_id) for f in findings if f.audience_id is not None]
    if not pairs:
        return None
    command = ["pulumi", "refresh", "--yes"]
    if stack is not None:
        command += ["--stack", stack]
    for urn, audience_id in pairs:
        command += ["--import-pending-creates", urn, "--import-pending-creates", audience_id]
    return command


def shell_text(command: list[str]) -> str:
    return shlex.join(command)


class _EncryptedError(Exception):
    """A secret of the export that was not exported with ``--show-secrets`` (the message: where)."""


def _revealed(value: Any, where: str = "") -> Any:
    """``value`` with each secret of an export replaced by its plaintext (``--show-secrets``)."""
    if isinstance(value, dict):
        if _SECRET_SIG in value:
            if "plaintext" not in value:
                raise _EncryptedError(where)
            return _revealed(json.loads(value["plaintext"]), where)
        return {k: _revealed(v, f"{where}.{k}" if where else k) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v, f"{where}[{i}]") for i, v in enumerate(value)]
    return value


def holds_plaintext_secret(value: Any) -> bool:
    """Whether an export holds a decrypted secret (``pulumi stack export --show-secrets``)."""
    if isinstance(value, dict):
        if _SECRET_SIG in value and "plaintext" in value:
            return True
        return any(holds_plaintext_secret(v) for v in value.values())
    if isinstance(value, list):
        return any(holds_plaintext_secret(v) for v in value)
    return False
