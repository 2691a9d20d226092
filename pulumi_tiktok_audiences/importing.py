"""Bring an ad account's existing audiences under management, as a catalog that adopts them.

``tiktok-audiences import`` lists every audience of an advertiser (all pages), reads their details
(100 per ``get`` call), and keeps the rule-based App Activity ones whose rule the spec can express.
Each becomes a catalog entry with ``adopt_audience_id``, so the next ``pulumi up`` takes it over
through the provider's adoption check instead of calling ``rule/create``. Everything else
(lookalikes, customer files, rules the spec cannot express, audiences shared in by another
advertiser, expired ones) is reported as skipped, with the reason, and left alone. An audience
whose answer cannot be read (reading.py) is never guessed at: it is skipped as NOT VERIFIED, with
what to do.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from pulumi_tiktok_audiences import constants, reading
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, error_paths

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import AudienceDetail, TikTokClient

__all__ = ["AccountImport", "Adopted", "Skipped", "classify", "fetch_details"]

_KEY_MAX = 60
_UNVERIFIED = "NOT VERIFIED"
_CHECK = (
    "check it in TikTok Ads Manager and, to manage it, declare it as it is with adopt_audience_id "
    "set to its id"
)


@dataclass(frozen=True)
class Adopted:
    """An audience the catalog will adopt: its key there, TikTok's id, and its spec."""

    key: str
    audience_id: str
    spec: AudienceSpec


@dataclass(frozen=True)
class Skipped:
    """An audience left unmanaged, and why."""

    audience_id: str
    name: str
    kind: str
    reason: str

    def __str__(self) -> str:
        return f"{self.audience_id}  {self.kind}  {json.dumps(self.name, ensure_ascii=False)}: {self.reason}"


def fetch_details(
    client: TikTokClient,
    advertiser_id: str,
    audience_ids: Sequence[str],
    on_batch: Callable[[int], None] | None = None,
) -> list[AudienceDetail]:
    """Details of ``audience_ids``, one ``get`` per 100 ids; ``on_batch(n)`` after each (progress).

    Audiences deleted since they were listed are left out.
    """
    details: list[AudienceDetail] = []
    for start in range(0, len(audience_ids), constants.IDS_PER_GET_MAX):
        batch = audience_ids[start : start + constants.IDS_PER_GET_MAX]
        details.extend(client.get_audiences(advertiser_id, batch, history_size=1, missing_ok=True))
        if on_batch is not None:
            on_batch(len(batch))
    return details


def classify(advertiser_id: str, details: Sequence[AudienceDetail], server_now: datetime) -> AccountImport:
    """Sort an account's audiences into adoptable specs and skipped ones; keys are unique slugs.

    ``server_now`` is TikTok's clock (expiry is judged by it, as the provider does).
    """
    adopted: list[Adopted] = []
    skipped: list[Skipped] = []
    keys: set[str] = set()
    for detail in details:
        outcome = _adoptable(advertiser_id, detail, server_now)
        if isinstance(outcome, str):
            name = detail.name or ""
            skipped.append(Skipped(detail.audience_id, name, detail.type or "unknown type", outcome))
            continue
        key = _unique_key(outcome.name, detail.audience_id, keys)
        adopted.append(Adopted(key, detail.audience_id, outcome))
    return AccountImport(advertiser_id, tuple(adopted), tuple(skipped))


def _adoptable(advertiser_id: str, detail: AudienceDetail, server_now: datetime) -> AudienceSpec | str:
    """The audience's spec, or the reason it cannot be managed."""
    owner = detail.owner_id or advertiser_id
    if detail.is_creator is False or owner != advertiser_id:
        return f"shared in by advertiser {owner}: only its owner can change it"
    kind = reading.is_app_activity(detail.type)
    if kind is False:
        return "only App Activity audiences can be managed"
    if detail.is_expired(server_now):  # Pulumi's read would drop it, as gone
        return f"expired on {detail.expired_time}: TikTok lists it, but it can no longer be used or changed"
    try:
        spec = reading.live_spec(detail, advertiser_id, retention_in_days=None)
    except ValidationError as exc:
        return "its settings are not valid here: " + "; ".join(f"{p}: {m}" for p, m in error_paths(exc))
    except reading.UnreadableAnswerError as exc:
        return f"{_UNVERIFIED}: its rules could not be read from TikTok's answer ({exc}); {_CHECK}"
    if kind is None:  # readable rules, but TikTok did not say it is an App Activity audience
        return f"{_UNVERIFIED}: TikTok's answer does not say what type of audience it is; {_CHECK}"
    return spec


def _unique_key(name: str, audience_id: str, taken: set[str]) -> str:
    """A slug of the name (``Lapsed purchasers`` -> ``lapsed-purchasers``), numbered when taken."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()  # Käufer -> Kaufer
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:_KEY_MAX].rstrip("-")
    base = base or f"audience-{audience_id}"
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}-{number}"
    taken.add(key)
    return key


# --- The catalog file -------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountImport:
    """What an import found: the audiences to adopt and the ones skipped."""

    advertiser_id: str
    adopted: tuple[Adopted, ...]
    skipped: tuple[Skipped, ...]

    def to_yaml(self, stack: str | None = None) -> str:
        """The catalog text. With ``stack``, the account and the adoptions are that stack's only.

        The apps most audiences use become the catalog's default ``app_ids``.
        """
        counts = Counter(tuple(a.spec.app_ids) for a in self.adopted if a.spec.app_ids)
        default_apps = list(counts.most_common(1)[0][0]) if counts else None
        placement: dict[str, Any] = {"advertiser_id": self.advertiser_id}
        if default_apps:
            placement["app_ids"] = _Inline(default_apps)
        catalog: dict[str, Any] = placement if stack is None else {"stacks": {stack: placement}}
        catalog["audiences"] = {a.key: _entry(a, default_apps, stack) for a in self.adopted}
        body = yaml.dump(catalog, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
        # A blank line between audiences, for reading and for diffs.
        head, found, entries = body.partition("\naudiences:\n")
        if found:
            body = head + found + re.sub(r"\n(?=  \S)", "\n\n", entries)
        return _header(self, stack) + "\n" + body + _footer(self.skipped)


def _entry(adopted: Adopted, default_apps: list[str] | None, stack: str | None) -> dict[str, Any]:
    """The spec's fields that differ from their defaults; events by their member name."""
    fields = adopted.spec.model_dump(mode="json", exclude_defaults=True, exclude={"advertiser_id"})
    if fields.get("app_ids") == default_apps:
        del fields["app_ids"]
    elif "app_ids" in fields:
        fields["app_ids"] = _Inline(fields["app_ids"])
    for kind in ("include", "exclude"):
        if kind in fields:
            fields[kind] = [_rule(rule) for rule in fields[kind]]
    if stack is None:
        fields["adopt_audience_id"] = adopted.audience_id
    else:
        fields["stacks"] = {stack: _InlineMap(adopt_audience_id=adopted.audience_id)}
    return fields


def _rule(rule: dict[str, Any]) -> _InlineMap:
    rule["event"] = AppEvent(rule["event"]).name
    return _InlineMap(rule)


def _header(result: AccountImport, stack: str | None) -> str:
    scope = f" for stack {stack}" if stack else ""
    return (
        f"# TikTok App Activity audiences of advertiser {result.advertiser_id}{scope}, written by\n"
        "# `tiktok-audiences import`. Each adopts the existing audience (adopt_audience_id), so the\n"
        "# next `pulumi up` takes them over without creating any. TikTok does not report\n"
        "# retention_in_days: if an audience expires on a schedule, add it before that first\n"
        "# `pulumi up` (adding it later replaces the audience).\n"
        "# Check: tiktok-audiences validate FILE    Read: tiktok-audiences explain FILE\n"
    )


def _footer(skipped: Sequence[Skipped]) -> str:
    if not skipped:
        return ""
    noun = "audience" if len(skipped) == 1 else "audiences"
    lines = [f"\n# Skipped {len(skipped)} {noun} (left as they are, unmanaged):"]
    lines += [f"#   {' '.join(str(item).split())}" for item in skipped]
    return "\n".join(lines) + "\n"


class _Inline(list[Any]):
    """A list written on one line: ``[...]``."""


class _InlineMap(dict[str, Any]):
    """A mapping written on one line: ``{...}``."""


class _Dumper(yaml.SafeDumper):
    """Block style, list items indented under their key, rules and id lists on one line."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


_Dumper.add_representer(
    _Inline, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)
)
_Dumper.add_representer(
    _InlineMap, lambda dumper, data: dumper.represent_mapping("tag:yaml.org,2002:map", data, flow_style=True)
)
