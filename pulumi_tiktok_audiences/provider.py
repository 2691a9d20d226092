"""The dynamic provider: Pulumi's check/diff/create/read/update/delete mapped onto TikTok's API.

The engine runs this class inside ``python -m pulumi.dynamic`` (the provider host). The program
pickles an *instance* of it by reference, so the state holds only the class path (an 88-character
blob: no code, no token, no client). That path is part of every stack's state: the module and
class names below must never change (add an alias if they ever have to).

The provider stays thin: the spec (``spec.py``) validates, maps to payloads and decides what a
change means; the client (``client``) talks to TikTok; this module translates between them and
Pulumi's property bags, and keeps state and the remote side consistent when calls fail.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    Config,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pydantic import ValidationError

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.errors import AdoptionError, OperationError
from pulumi_tiktok_audiences.settings import ADVERTISER_KEY, ProviderSettings
from pulumi_tiktok_audiences.spec import AudienceSpec, error_paths, property_path

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import AudienceDetail, AudienceSummary, TikTokClient

# Property names as they appear in Pulumi state. Inputs are what the program declares; outputs
# are computed by TikTok and never cause a diff.
SPEC_KEYS = (
    "advertiser_id",
    "name",
    "app_ids",
    "include",
    "exclude",
    "auto_refresh",
    "retention_in_days",
    "audience_sub_type",
    "match",
)
ADOPT_KEY = "adopt_audience_id"
INPUT_KEYS = (*SPEC_KEYS, ADOPT_KEY)
OUTPUT_KEYS = ("audience_id", "size", "targetable", "is_valid", "expire_time", "summary")
# Inputs TikTok cannot change in place (reference §2.2: update takes a name, and a one-way
# NORMAL -> REACH_FREQUENCY sub-type change, nothing else).
REPLACE_KEYS = (
    "advertiser_id",
    "app_ids",
    "include",
    "exclude",
    "auto_refresh",
    "retention_in_days",
    "audience_sub_type",
    "match",
)
ADOPTION_WINDOW = timedelta(minutes=15)
"""How recent an audience must be to count as the lost result of our own create call."""


def _unknown_paths(value: Any, path: tuple[int | str, ...] = ()) -> list[tuple[int | str, ...]]:
    """Where the engine sent unknown values (preview, values from not-yet-created resources)."""
    if isinstance(value, Unknown):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _unknown_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _unknown_paths(v, (*path, i))]
    return []


def _spec_fields(props: dict[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in SPEC_KEYS if props.get(k) is not None}


def spec_from_props(props: dict[str, Any]) -> AudienceSpec:
    """The spec stored in a property bag (inputs or outputs) that ``check`` already accepted."""
    return AudienceSpec.model_validate(_spec_fields(props))


def props_from_spec(spec: AudienceSpec) -> dict[str, Any]:
    """Canonical input properties: equal specs written differently store identically."""
    return spec.model_dump(mode="json", exclude_none=True)


def outputs_for(
    spec: AudienceSpec, audience_id: str, detail: AudienceSummary | AudienceDetail | None
) -> dict[str, Any]:
    """Every input echoed back (diffs compare against outputs) plus TikTok's computed fields."""
    size = detail.cover_num if detail is not None and detail.is_valid else None
    return {
        **props_from_spec(spec),
        "audience_id": audience_id,
        "size": size,
        "is_valid": bool(detail.is_valid) if detail is not None else False,
        "targetable": size is not None and size >= constants.TARGETABLE_MIN_SIZE,
        "expire_time": detail.expired_time if detail is not None else None,
        "summary": spec.summary(),
    }


class AppActivity(ResourceProvider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.AppActivityAudience`."""

    serialize_as_secret_always = False  # nothing secret is captured: the blob is a class path

    # Set in configure(), never in __init__: instance state would be pickled into every resource.
    _settings: ProviderSettings
    _client_instance: TikTokClient | None
    _lock: threading.Lock

    def configure(self, req: ConfigureRequest) -> None:
        self._settings = ProviderSettings.resolve(req.config.get)
        self._client_instance = None
        self._lock = threading.Lock()

    def _ensure_configured(self) -> None:
        # Direct callers (tests, scripts) may skip configure(); fall back to the environment.
        if not hasattr(self, "_settings"):
            self.configure(ConfigureRequest(Config({}, "")))

    def _client(self) -> TikTokClient:
        """One client per host process, built on first use (the host runs 4 threads)."""
        self._ensure_configured()
        with self._lock:
            if self._client_instance is None:
                self._client_instance = self._settings.make_client()
            return self._client_instance

    # -- check ---------------------------------------------------------------------------------
    def _with_default_advertiser(self, props: dict[str, Any]) -> dict[str, Any]:
        """``props`` with the configured advertiser when they name none (the documented default)."""
        self._ensure_configured()
        if props.get("advertiser_id") is None and self._settings.advertiser_id is not None:
            return {**props, "advertiser_id": self._settings.advertiser_id}
        return props

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = self._with_default_advertiser({k: v for k, v in news.items() if k in INPUT_KEYS})
        failures: list[CheckFailure] = []
        adopt = inputs.get(ADOPT_KEY)
        if adopt is not None and not isinstance(adopt, Unknown) and not str(adopt).isdigit():
            failures.append(CheckFailure(ADOPT_KEY, "must be a TikTok audience id (digits only)"))
        unknown = _unknown_paths(inputs)
        try:
            spec = spec_from_props(inputs)
        except ValidationError as exc:
            for path, reason in error_paths(exc):
                if not any(_related(path, property_path(u)) for u in unknown):
                    failures.append(CheckFailure(path, _with_hint(path, reason)))
            return CheckResult(inputs, failures)
        if unknown or failures:
            return CheckResult(inputs, failures)
        canonical = props_from_spec(spec)
        if adopt is not None:
            canonical[ADOPT_KEY] = str(adopt)
        return CheckResult(canonical, [])

    # -- diff ----------------------------------------------------------------------------------
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        unknown_keys = {str(p[0]) for p in _unknown_paths({k: news.get(k) for k in SPEC_KEYS}) if p}
        if unknown_keys:
            # Preview with values not known yet: report what may change, and what would replace.
            return DiffResult(
                changes=True,
                replaces=[k for k in REPLACE_KEYS if k in unknown_keys],
                delete_before_replace=False,
            )
        old, new = spec_from_props(olds), spec_from_props(news)
        replaces: list[str] = []
        aligned = old.model_copy(update={"name": new.name, "audience_sub_type": new.audience_sub_type})
        sub_type_in_place = (old.audience_sub_type, new.audience_sub_type) in {
            ("NORMAL", "NORMAL"),
            ("REACH_FREQUENCY", "REACH_FREQUENCY"),
            ("NORMAL", "REACH_FREQUENCY"),
        }
        if aligned.replacement_key() != new.replacement_key() or not sub_type_in_place:
            old_props, new_props = props_from_spec(old), props_from_spec(new)
            replaces = [k for k in REPLACE_KEYS if old_props.get(k) != new_props.get(k)] or ["include"]
        changes = bool(replaces) or old.name != new.name or old.audience_sub_type != new.audience_sub_type
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    # -- create --------------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = spec_from_props(props)
        client = self._client()
        adopt = props.get(ADOPT_KEY)
        if adopt is not None:
            detail = self._adopt(client, spec, str(adopt))
            return CreateResult(detail.audience_id, self._outputs(props, spec, detail.audience_id, detail))
        audience_id = self._create_once(client, spec)
        return CreateResult(audience_id, self._outputs(props, spec, audience_id, None))

    def _create_once(self, client: TikTokClient, spec: AudienceSpec) -> str:
        """Create exactly one audience, even when TikTok's answer to the create call is lost.

        After a lost answer the audience is looked for, and the create is sent again only if it is
        missing; the second attempt's answer may be lost too, so it is looked for again.
        """
        from pulumi_tiktok_audiences.client import OutcomeUnknownError, TikTokError

        lost: OutcomeUnknownError | None = None
        for _attempt in range(2):
            try:
                return client.create_rule_audience(spec.to_create_payload())
            except OutcomeUnknownError as exc:
                found = self._find_lost_create(client, spec)
                if found is not None:
                    return found
                lost = exc
            except TikTokError as exc:
                earlier = f" (an earlier attempt's answer was lost: {lost.cause})" if lost else ""
                raise OperationError(
                    f"Creating audience {spec.name!r} for advertiser {spec.advertiser_id} failed: "
                    f"{exc}{earlier}. Nothing was created; fix the cause and run `pulumi up` again."
                ) from None
        assert lost is not None  # the loop returns or raises unless both answers were lost
        raise OperationError(
            f"Creating audience {spec.name!r} for advertiser {spec.advertiser_id}: TikTok's answer was "
            f"lost twice ({lost.cause}), and no such audience exists. Re-running is safe: nothing was "
            "created."
        )

    def _find_lost_create(self, client: TikTokClient, spec: AudienceSpec) -> str | None:
        """The audience our lost create made, if any: same name and rules, created moments ago."""
        now = client.server_now()
        candidates = [
            a.audience_id
            for a in client.list_audiences(spec.advertiser_id)
            if a.name == spec.name and _created_within(a.create_time, now, ADOPTION_WINDOW)
        ]
        if not candidates:
            return None
        details = client.get_audiences(spec.advertiser_id, candidates)
        matching = [d for d in details if _matches(d, spec)]
        if not matching:
            return None
        return max(matching, key=lambda d: (d.create_time or "", d.audience_id)).audience_id

    def _adopt(self, client: TikTokClient, spec: AudienceSpec, audience_id: str) -> AudienceDetail:
        """Take over an existing audience after checking that it is the one declared."""
        details = client.get_audiences(spec.advertiser_id, [audience_id], missing_ok=True)
        detail = details[0] if details else None
        if detail is None:
            raise AdoptionError(
                f"adopt_audience_id {audience_id}: advertiser {spec.advertiser_id} has no such audience."
            )
        problems = _mismatches(detail, spec)
        if problems:
            raise AdoptionError(
                f"adopt_audience_id {audience_id} does not match the declared audience: "
                + "; ".join(problems)
                + ". Change the declaration to match it, or remove adopt_audience_id to create a new one."
            )
        if detail.name != spec.name:
            client.rename_audience(spec.advertiser_id, audience_id, spec.name)
        return detail

    # -- read ----------------------------------------------------------------------------------
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A get by id (``opts.id``) sends the program's inputs unchecked: apply check's default.
        spec = spec_from_props(self._with_default_advertiser(props))
        client = self._client()
        detail = self._lookup(client, spec.advertiser_id, id_)
        if detail is None or _expired(detail, client.server_now()):
            return ReadResult("", {})  # gone: the next `pulumi up` creates it again
        live = spec.model_copy(update={"name": detail.name})
        outs = self._outputs(props, live, id_, detail)
        inputs = {k: outs[k] for k in INPUT_KEYS if outs.get(k) is not None}
        return ReadResult(id_, outs, inputs)

    def _lookup(self, client: TikTokClient, advertiser_id: str, audience_id: str) -> AudienceSummary | None:
        """The audience as list shows it (name, size, validity, expiry), or None when it is gone."""
        found = client.list_audiences(advertiser_id, audience_ids=[audience_id])
        return next((a for a in found if a.audience_id == audience_id), None)

    # -- update --------------------------------------------------------------------------------
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from pulumi_tiktok_audiences.client import TikTokError

        old, new = spec_from_props(olds), spec_from_props(news)
        client = self._client()
        try:
            if old.audience_sub_type != new.audience_sub_type:
                client.update_audience_sub_type(new.advertiser_id, id_, new.audience_sub_type)
            if old.name != new.name:
                client.rename_audience(new.advertiser_id, id_, new.name)
        except TikTokError as exc:
            raise OperationError(
                f"Updating audience {id_} ({old.name!r} -> {new.name!r}) failed: {exc}. The audience "
                "is unchanged on TikTok's side; run `pulumi up` again once the cause is fixed."
            ) from None
        outs = {**olds, **self._outputs(news, new, id_, None)}
        for key in ("size", "is_valid", "targetable", "expire_time"):
            outs[key] = olds.get(key)
        return UpdateResult(outs)

    # -- delete --------------------------------------------------------------------------------
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        from pulumi_tiktok_audiences.client import TikTokApiError

        advertiser_id = str(props["advertiser_id"])
        client = self._client()
        try:
            client.delete_audiences(advertiser_id, [id_])
        except TikTokApiError as exc:
            if self._lookup(client, advertiser_id, id_) is None:
                return  # already gone: deleting is done
            raise OperationError(
                f"TikTok refused to delete audience {id_} ({props.get('name')!r}): {exc}. "
                "It stays in the stack; resolve the cause (for example detach it from its ad groups) "
                "and run the operation again."
            ) from None

    # -- helpers -------------------------------------------------------------------------------
    def _outputs(
        self,
        props: dict[str, Any],
        spec: AudienceSpec,
        audience_id: str,
        detail: AudienceSummary | AudienceDetail | None,
    ) -> dict[str, Any]:
        outs = outputs_for(spec, audience_id, detail)
        if props.get(ADOPT_KEY) is not None:
            outs[ADOPT_KEY] = str(props[ADOPT_KEY])
        return outs


def _related(a: str, b: str) -> bool:
    """True when one property path contains the other (``include[0]`` and ``include[0].event``)."""
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))


def _with_hint(path: str, reason: str) -> str:
    if path == "advertiser_id" and "required" in reason.lower():
        return f"{reason}: set advertiser_id on the resource or the stack config {ADVERTISER_KEY}"
    return reason


def _created_within(create_time: str | None, now: datetime, window: timedelta) -> bool:
    created = _parse_time(create_time)
    return created is not None and now - window <= created <= now + window


def _parse_time(text: str | None) -> datetime | None:
    """TikTok's "YYYY-MM-DD HH:MM:SS" (UTC) times."""
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _expired(audience: AudienceSummary, server_now: datetime) -> bool:
    """TikTok keeps expired audiences listed (size 0, unusable); for Pulumi they are gone."""
    expires = _parse_time(audience.expired_time)
    return expires is not None and expires <= server_now


def _live_spec(detail: AudienceDetail, spec: AudienceSpec) -> AudienceSpec | None:
    """The spec of a live audience, from the rule text TikTok returns; None if unreadable."""
    if not detail.rule:
        return None
    try:
        return AudienceSpec.from_rule_text(
            advertiser_id=spec.advertiser_id,
            name=detail.name or "",
            rule=detail.rule,
            auto_refresh=bool(detail.is_auto_refresh),
            retention_in_days=spec.retention_in_days,
            audience_sub_type=detail.audience_sub_type or "NORMAL",
        )
    except ValueError:
        return None


def _mismatches(detail: AudienceDetail, spec: AudienceSpec) -> list[str]:
    """Why a live audience is not the declared one (empty when it is; names may differ)."""
    problems: list[str] = []
    if detail.type and detail.type != constants.APP_ACTIVITY_TYPE_NAME:
        problems.append(f"it is a {detail.type!r}, not an App Activity audience")
        return problems
    live = _live_spec(detail, spec)
    if live is None:
        problems.append("its rules could not be read from TikTok's answer")
        return problems
    aligned = live.model_copy(update={"name": spec.name})
    if aligned.replacement_key() != spec.replacement_key():
        problems.append(f"TikTok has: {live.summary()} Declared: {spec.summary()}")
    return problems


def _matches(detail: AudienceDetail, spec: AudienceSpec) -> bool:
    return not _mismatches(detail, spec)
