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
from collections.abc import Callable
from datetime import datetime, timedelta
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
from pulumi_tiktok_audiences.cache import AudienceCache
from pulumi_tiktok_audiences.errors import AdoptionError, OperationError
from pulumi_tiktok_audiences.lookalike import (
    LookalikeAudienceSpec,
    LookalikeOptions,
    ReadinessOptions,
    ShareSpec,
)
from pulumi_tiktok_audiences.readiness import (
    AudienceSize,
    NotReadyError,
    is_calculated,
    is_targetable,
    wait_until,
)
from pulumi_tiktok_audiences.recovery import OrphanFinder, newest_matching
from pulumi_tiktok_audiences.settings import ADVERTISER_KEY, ProviderSettings, provider_retry_policy
from pulumi_tiktok_audiences.spec import REPLACE_FIELDS, AudienceSpec, error_paths, property_path

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
READINESS_KEYS = ("wait_until_targetable", "readiness_timeout_seconds")
"""How create behaves, not what the audience is: changing them updates state, never TikTok."""
INPUT_KEYS = (*SPEC_KEYS, ADOPT_KEY, *READINESS_KEYS)
# Inputs TikTok cannot change in place (reference §2.2: update takes a name, and a one-way
# NORMAL -> REACH_FREQUENCY sub-type change, nothing else).
REPLACE_KEYS = REPLACE_FIELDS
ADOPTION_WINDOW = timedelta(minutes=15)
"""How recent an audience must be to count as the lost result of our own create call (in this
process, or in an interrupted earlier deployment: recovery.py)."""


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


class _Provider(ResourceProvider):
    """What every provider here shares: settings from the stack config, one client per process."""

    serialize_as_secret_always = False  # nothing secret is captured: the blob is a class path

    # Set in configure(), never in __init__: instance state would be pickled into every resource.
    _settings: ProviderSettings
    _client_instance: TikTokClient | None
    _cache_instance: AudienceCache | None
    _orphans: OrphanFinder
    _lock: threading.Lock

    def configure(self, req: ConfigureRequest) -> None:
        self._settings = ProviderSettings.resolve(req.config.get)
        self._client_instance = None
        self._cache_instance = None
        self._orphans = OrphanFinder()
        self._lock = threading.Lock()

    def _ensure_configured(self) -> None:
        # Direct callers (tests, scripts) may skip configure(); fall back to the environment.
        if not hasattr(self, "_settings"):
            self.configure(ConfigureRequest(Config({}, "")))

    def _connected(self) -> tuple[TikTokClient, AudienceCache]:
        """One client and one read cache per host process, built on first use (4 threads use them).

        Reads go through the cache (cache.py); every write must ``forget`` what it changed.
        """
        self._ensure_configured()
        with self._lock:
            if self._client_instance is None or self._cache_instance is None:
                self._client_instance = self._settings.make_client()
                self._cache_instance = AudienceCache(self._client_instance)
            return self._client_instance, self._cache_instance

    def _with_default_advertiser(self, props: dict[str, Any]) -> dict[str, Any]:
        """``props`` with the configured advertiser when they name none (the documented default)."""
        self._ensure_configured()
        if props.get("advertiser_id") is None and self._settings.advertiser_id is not None:
            return {**props, "advertiser_id": self._settings.advertiser_id}
        return props


class AppActivity(_Provider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.AppActivityAudience`."""

    # -- check ---------------------------------------------------------------------------------
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
        given = {k: inputs[k] for k in READINESS_KEYS if inputs.get(k) is not None}
        readiness: dict[str, Any] = {}
        if given and not _unknown_paths(given):
            try:
                readiness = ReadinessOptions.model_validate(given).model_dump(include=set(given))
            except ValidationError as exc:
                failures.extend(CheckFailure(path, reason) for path, reason in error_paths(exc))
        if unknown or failures:
            return CheckResult(inputs, failures)
        canonical = {**props_from_spec(spec), **readiness}
        if adopt is not None:
            canonical[ADOPT_KEY] = str(adopt)
        return CheckResult(canonical, [])

    # -- diff ----------------------------------------------------------------------------------
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        self._ensure_configured()
        self._orphans.managed(_id)  # in the stack's state: never adopted as an orphan
        unknown_keys = _unknown_keys(news, (*SPEC_KEYS, *READINESS_KEYS))
        if unknown_keys:
            # Preview with values not known yet: report what may change, and what would replace.
            return DiffResult(
                changes=True,
                replaces=[k for k in REPLACE_KEYS if k in unknown_keys],
                delete_before_replace=False,
            )
        old, new = spec_from_props(olds), spec_from_props(news)
        replaces = old.replacing_fields(new)
        changes = (
            bool(replaces)
            or old.name != new.name
            or old.audience_sub_type != new.audience_sub_type
            or _readiness(olds) != _readiness(news)
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    # -- create --------------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = spec_from_props(props)
        client, audiences = self._connected()
        adopt = props.get(ADOPT_KEY)
        if adopt is not None:
            detail = self._adopt(client, audiences, spec, str(adopt))
            outs = self._outputs(props, spec, detail.audience_id, detail)
            return CreateResult(detail.audience_id, self._when_ready(client, outs, props, created=False))
        orphan = self._orphans.adopt(
            client,
            spec.advertiser_id,
            lambda a, now: a.name == spec.name and _created_within(a, now, ADOPTION_WINDOW),
            lambda d: _matches(d, spec),
        )
        if orphan is not None:  # an interrupted deployment created it (recovery.py)
            outs = self._outputs(props, spec, orphan.audience_id, orphan)
            return CreateResult(orphan.audience_id, self._when_ready(client, outs, props, created=True))
        audience_id = self._create_once(client, spec)
        audiences.forget(spec.advertiser_id, audience_id)
        outs = self._outputs(props, spec, audience_id, None)
        return CreateResult(audience_id, self._when_ready(client, outs, props, created=True))

    def _when_ready(
        self, client: TikTokClient, outs: dict[str, Any], props: dict[str, Any], *, created: bool
    ) -> dict[str, Any]:
        """``outs`` once the audience is targetable, if ``wait_until_targetable`` asks for it.

        A wait that times out fails the create; an audience it made is deleted again so that
        nothing is left outside the stack (an adopted one is left as it was).
        """
        options = _readiness(props)
        if not options.wait_until_targetable:
            return outs
        advertiser_id, audience_id = str(outs["advertiser_id"]), str(outs["audience_id"])
        try:
            size = _wait_for(
                client,
                advertiser_id,
                audience_id,
                is_targetable,
                options,
                f"audience {audience_id} to be targetable",
            )
        except NotReadyError as exc:
            if not created:
                raise
            _delete_audience(self._connected(), advertiser_id, audience_id, outs.get("name"))
            raise NotReadyError(
                f"{exc} Audience {audience_id} was deleted again, so nothing is left behind.", exc.last
            ) from None
        return {**outs, **_size_outputs(size)}

    def _create_once(self, client: TikTokClient, spec: AudienceSpec) -> str:
        """Create exactly one audience, even when TikTok's answers to create calls are lost.

        After a lost answer the audience is looked for. Found, it is the result; missing, TikTok
        did not create it, so sending the create again is as safe as any retried call, and it is
        retried like one: with the provider's backoff, within its bounds (attempts and time).
        """
        from pulumi_tiktok_audiences.client import OutcomeUnknownError, RetriesExhaustedError, TikTokError

        where = f"Creating audience {spec.name!r} for advertiser {spec.advertiser_id}"

        def attempt() -> str:
            try:
                return client.create_rule_audience(spec.to_create_payload())
            except OutcomeUnknownError as lost:
                try:
                    found = self._find_lost_create(client, spec)
                except TikTokError as exc:
                    raise OperationError(
                        f"{where}: TikTok's answer was lost ({lost.cause}), and looking for the audience "
                        f"failed: {exc}. Re-running is safe: within {ADOPTION_WINDOW.seconds // 60} "
                        "minutes the next `pulumi up` adopts the audience if it was created (recovery.py)."
                    ) from None
                if found is None:
                    raise  # not created: retried
                return found

        try:
            return provider_retry_policy().call(
                attempt, retry_if=lambda exc: isinstance(exc, OutcomeUnknownError)
            )
        except RetriesExhaustedError as exc:
            last = exc.last_error
            if not isinstance(last, OutcomeUnknownError):
                raise OperationError(
                    f"{where} failed: {exc}. Nothing was created; fix the cause and run `pulumi up` again."
                ) from None
            raise OperationError(
                f"{where}: TikTok's answer was lost {exc.attempts} times (last: {last.cause}), and no such "
                "audience exists. Re-running is safe: nothing was created."
            ) from None
        except TikTokError as exc:
            raise OperationError(
                f"{where} failed: {exc}. Nothing was created; fix the cause and run `pulumi up` again."
            ) from None

    def _find_lost_create(self, client: TikTokClient, spec: AudienceSpec) -> str | None:
        """The audience our lost create made, if any: same name and rules, created moments ago."""
        now = client.server_now()
        candidates = [
            a.audience_id
            for a in client.list_audiences(spec.advertiser_id)
            if a.name == spec.name and _created_within(a, now, ADOPTION_WINDOW)
        ]
        found = newest_matching(client, spec.advertiser_id, candidates, lambda d: _matches(d, spec))
        return found.audience_id if found is not None else None

    def _adopt(
        self, client: TikTokClient, audiences: AudienceCache, spec: AudienceSpec, audience_id: str
    ) -> AudienceDetail:
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
            try:
                client.rename_audience(spec.advertiser_id, audience_id, spec.name)
            finally:
                audiences.forget(spec.advertiser_id, audience_id)
        return detail

    # -- read ----------------------------------------------------------------------------------
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A get by id (``opts.id``) sends the program's inputs unchecked: apply check's default.
        spec = spec_from_props(self._with_default_advertiser(props))
        self._orphans.managed(id_)
        client, audiences = self._connected()
        detail = audiences.get(spec.advertiser_id, id_)
        if detail is None or detail.is_expired(client.server_now()):
            return ReadResult("", {})  # gone: the next `pulumi up` creates it again
        live = spec.model_copy(update={"name": detail.name})
        outs = self._outputs(props, live, id_, detail)
        inputs = {k: outs[k] for k in INPUT_KEYS if outs.get(k) is not None}
        return ReadResult(id_, outs, inputs)

    # -- update --------------------------------------------------------------------------------
    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from pulumi_tiktok_audiences.client import TikTokError

        old, new = spec_from_props(olds), spec_from_props(news)
        client, audiences = self._connected()
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
        finally:
            audiences.forget(new.advertiser_id, id_)  # even a failed update may have changed it
        outs = {**olds, **self._outputs(news, new, id_, None)}
        for key in ("size", "is_valid", "targetable", "expire_time"):
            outs[key] = olds.get(key)
        return UpdateResult(outs)

    # -- delete --------------------------------------------------------------------------------
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _delete_audience(self._connected(), str(props["advertiser_id"]), id_, props.get("name"))

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
        outs.update({k: props[k] for k in READINESS_KEYS if props.get(k) is not None})
        return outs


def _readiness(props: dict[str, Any]) -> ReadinessOptions:
    """The readiness options in a property bag that ``check`` accepted (defaults when absent)."""
    return ReadinessOptions.model_validate({k: props[k] for k in READINESS_KEYS if props.get(k) is not None})


def _related(a: str, b: str) -> bool:
    """True when one property path contains the other (``include[0]`` and ``include[0].event``)."""
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))


def _with_hint(path: str, reason: str) -> str:
    if path == "advertiser_id" and "required" in reason.lower():
        return f"{reason}: set advertiser_id on the resource or the stack config {ADVERTISER_KEY}"
    return reason


def _created_within(audience: AudienceSummary, now: datetime, window: timedelta) -> bool:
    created = audience.created_at()
    return created is not None and now - window <= created <= now + window


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


# --- Lookalike audiences and shares (issue 8) ---------------------------------------------------

LOOKALIKE_SPEC_KEYS = (
    "advertiser_id",
    "name",
    "source_audience_id",
    "locations",
    "audience_size",
    "mobile_os",
    "placements",
    "include_source",
    "audience_sub_type",
)
LOOKALIKE_OPTION_KEYS = ("wait_until_targetable", "readiness_timeout_seconds", "refresh_trigger")
LOOKALIKE_INPUT_KEYS = (*LOOKALIKE_SPEC_KEYS, *LOOKALIKE_OPTION_KEYS)
SHARE_KEYS = ("advertiser_id", "audience_id", "shared_advertiser_ids")
SHARE_REPLACE_KEYS = ("advertiser_id", "audience_id")
_SHARED = "SHARED"  # share/log status of an active share (reference §2.7, BB share_log.go)


def _checked(inputs: dict[str, Any], validate: Callable[[dict[str, Any]], dict[str, Any]]) -> CheckResult:
    """check() for a spec: canonical inputs, or failures by property path (unknowns are not errors)."""
    unknown = _unknown_paths(inputs)
    try:
        canonical = validate(inputs)
    except ValidationError as exc:
        failures = [
            CheckFailure(path, _with_hint(path, reason))
            for path, reason in error_paths(exc)
            if not any(_related(path, property_path(u)) for u in unknown)
        ]
        return CheckResult(inputs, failures)
    return CheckResult(inputs if unknown else canonical, [])


def _unknown_keys(props: dict[str, Any], keys: tuple[str, ...]) -> set[str]:
    return {str(p[0]) for p in _unknown_paths({k: props.get(k) for k in keys}) if p}


def _lookalike_fields(props: dict[str, Any]) -> dict[str, Any]:
    return {k: props[k] for k in LOOKALIKE_SPEC_KEYS if props.get(k) is not None}


def _lookalike_inputs(props: dict[str, Any]) -> dict[str, Any]:
    """Canonical lookalike inputs: the spec and the options, validated together."""
    spec = LookalikeAudienceSpec.model_validate(_lookalike_fields(props))
    options = LookalikeOptions.model_validate(
        {k: props[k] for k in LOOKALIKE_OPTION_KEYS if props.get(k) is not None}
    )
    return {**spec.model_dump(mode="json"), **options.model_dump(mode="json", exclude_none=True)}


class Lookalike(_Provider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.LookalikeAudience`.

    Renames happen in place; every other spec change creates a new lookalike before deleting the
    old one (TikTok cannot change a lookalike's spec). A changed ``refresh_trigger`` asks TikTok to
    recompute it (lookalike/update). With ``wait_until_targetable``, create waits for the source to
    be calculated, then for the lookalike to reach 1,000 people.
    """

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = self._with_default_advertiser({k: v for k, v in news.items() if k in LOOKALIKE_INPUT_KEYS})
        return _checked(inputs, _lookalike_inputs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        fixed = tuple(k for k in LOOKALIKE_SPEC_KEYS if k != "name")
        unknown = _unknown_keys(news, LOOKALIKE_INPUT_KEYS)
        if unknown:
            return DiffResult(changes=True, replaces=[k for k in fixed if k in unknown])
        old, new = _lookalike_inputs(olds), _lookalike_inputs(news)
        replaces = [k for k in fixed if old.get(k) != new.get(k)]
        changes = any(old.get(k) != new.get(k) for k in LOOKALIKE_INPUT_KEYS)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        from pulumi_tiktok_audiences.client import OutcomeUnknownError, TikTokError

        inputs = _lookalike_inputs(props)
        spec = LookalikeAudienceSpec.model_validate(_lookalike_fields(inputs))
        options = LookalikeOptions.model_validate({k: inputs.get(k) for k in LOOKALIKE_OPTION_KEYS})
        client, audiences = self._connected()
        if options.wait_until_targetable:
            _wait_for(
                client,
                spec.advertiser_id,
                spec.source_audience_id,
                is_calculated,
                options,
                f"source audience {spec.source_audience_id} to be calculated",
            )
        try:
            audience_id = client.create_lookalike(spec.to_create_payload())
        except OutcomeUnknownError as exc:
            found = _find_lost_lookalike(client, spec)
            if found is None:
                raise OperationError(
                    f"Creating lookalike audience {spec.name!r}: TikTok's answer was lost ({exc.cause}), "
                    "and no such lookalike exists. Re-running is safe: nothing was created."
                ) from None
            audience_id = found
        except TikTokError as exc:
            raise OperationError(
                f"Creating lookalike audience {spec.name!r} from audience {spec.source_audience_id} "
                f"failed: {exc}. Nothing was created. A source must be an audience of advertiser "
                f"{spec.advertiser_id}, not a lookalike, with at least {constants.LOOKALIKE_SOURCE_MIN_SIZE} "
                "people; one created moments ago is still being calculated: set wait_until_targetable "
                "to wait for it, or run `pulumi up` again later."
            ) from None
        audiences.forget(spec.advertiser_id, audience_id)
        size = None
        if options.wait_until_targetable:
            try:
                size = _wait_for(
                    client,
                    spec.advertiser_id,
                    audience_id,
                    is_targetable,
                    options,
                    f"lookalike {audience_id} to be targetable",
                )
            except NotReadyError as exc:
                # A failed create leaves the audience out of the stack: delete it rather than leak it.
                _delete_audience((client, audiences), spec.advertiser_id, audience_id, spec.name)
                raise NotReadyError(
                    f"{exc} Lookalike {audience_id} was deleted again, so nothing is left behind.", exc.last
                ) from None
        return CreateResult(audience_id, _lookalike_outputs(inputs, spec, audience_id, size, None))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = self._with_default_advertiser(props)
        spec = LookalikeAudienceSpec.model_validate(_lookalike_fields(inputs))
        client, audiences = self._connected()
        summary = audiences.get(spec.advertiser_id, id_)
        if summary is None or summary.is_expired(client.server_now()):
            return ReadResult("", {})  # gone: the next `pulumi up` creates it again
        live = spec.model_copy(update={"name": summary.name or spec.name})
        known = {k: inputs[k] for k in LOOKALIKE_OPTION_KEYS if inputs.get(k) is not None}
        outs = _lookalike_outputs(known, live, id_, AudienceSize.of(summary), summary)
        return ReadResult(id_, outs, {k: outs[k] for k in LOOKALIKE_INPUT_KEYS if outs.get(k) is not None})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from pulumi_tiktok_audiences.client import TikTokError

        old, new = _lookalike_inputs(olds), _lookalike_inputs(news)
        spec = LookalikeAudienceSpec.model_validate(_lookalike_fields(new))
        options = LookalikeOptions.model_validate({k: new.get(k) for k in LOOKALIKE_OPTION_KEYS})
        refresh = old.get("refresh_trigger") != new.get("refresh_trigger")
        client, audiences = self._connected()
        try:
            if old["name"] != new["name"]:
                client.rename_audience(spec.advertiser_id, id_, spec.name)
            if refresh:
                client.refresh_lookalikes(spec.advertiser_id, [id_])
        except TikTokError as exc:
            raise OperationError(
                f"Updating lookalike audience {id_} ({spec.name!r}) failed: {exc}. Run `pulumi up` "
                "again once the cause is fixed."
            ) from None
        finally:
            audiences.forget(spec.advertiser_id, id_)
        outs = {**olds, **_lookalike_outputs(new, spec, id_, None, None)}
        for key in ("size", "is_valid", "targetable", "expire_time"):
            outs[key] = olds.get(key)
        if refresh and options.wait_until_targetable:
            size = _wait_for(
                client, spec.advertiser_id, id_, is_targetable, options, f"lookalike {id_} to be targetable"
            )
            outs.update(_size_outputs(size))
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        _delete_audience(self._connected(), str(props["advertiser_id"]), id_, props.get("name"))


def _find_lost_lookalike(client: TikTokClient, spec: LookalikeAudienceSpec) -> str | None:
    """The lookalike a create whose answer was lost made, if any: same name and spec, made moments ago."""
    now = client.server_now()
    candidates = [
        a.audience_id
        for a in client.list_audiences(spec.advertiser_id)
        if a.name == spec.name
        and a.audience_type == constants.LOOKALIKE_TYPE_NAME
        and _created_within(a, now, ADOPTION_WINDOW)
    ]
    wanted = spec.to_create_payload()["lookalike_spec"]
    matching = [
        d
        for d in (client.get_audiences(spec.advertiser_id, candidates) if candidates else [])
        if any(
            (
                s.source_audience_id,
                s.audience_size,
                s.mobile_os,
                s.include_source,
                sorted(s.location_ids or []),
            )
            == (
                wanted["source_audience_id"],
                wanted["audience_size"],
                wanted["mobile_os"],
                wanted["include_source"],
                sorted(wanted["location_ids"]),
            )
            for s in d.lookalike_spec
        )
    ]
    if not matching:
        return None
    return max(matching, key=lambda d: (d.create_time or "", d.audience_id)).audience_id


def _wait_for(
    client: TikTokClient,
    advertiser_id: str,
    audience_id: str,
    ready: Callable[[AudienceSize], bool],
    options: ReadinessOptions,
    what: str,
) -> AudienceSize:
    """Poll until ``ready``; on timeout the error says how to go on."""
    try:
        return wait_until(
            client,
            advertiser_id,
            audience_id,
            ready,
            timeout_seconds=options.readiness_timeout_seconds,
            what=what,
        )
    except NotReadyError as exc:
        raise NotReadyError(
            f"{exc} Raise readiness_timeout_seconds, or set wait_until_targetable to false and "
            "run `pulumi up` again once TikTok is done.",
            exc.last,
        ) from None


def _size_outputs(size: AudienceSize | None) -> dict[str, Any]:
    return {
        "size": size.size if size else None,
        "is_valid": size.is_valid if size else False,
        "targetable": size.targetable if size else False,
    }


def _lookalike_outputs(
    props: dict[str, Any],
    spec: LookalikeAudienceSpec,
    audience_id: str,
    size: AudienceSize | None,
    summary: AudienceSummary | None,
) -> dict[str, Any]:
    """Inputs echoed (diffs compare against outputs) plus the outputs every audience has."""
    return {
        **{k: props[k] for k in LOOKALIKE_OPTION_KEYS if props.get(k) is not None},
        **spec.model_dump(mode="json"),
        "audience_id": audience_id,
        **_size_outputs(size),
        "expire_time": summary.expired_time if summary else None,
        "summary": spec.summary(),
    }


def _delete_audience(
    connected: tuple[TikTokClient, AudienceCache], advertiser_id: str, audience_id: str, name: object
) -> None:
    """Delete an audience; one that is already gone counts as deleted."""
    from pulumi_tiktok_audiences.client import TikTokApiError

    client, audiences = connected
    try:
        client.delete_audiences(advertiser_id, [audience_id])
    except TikTokApiError as exc:
        if audiences.fetch(advertiser_id, audience_id) is None:
            return
        raise OperationError(
            f"TikTok refused to delete audience {audience_id} ({name!r}): {exc}. It stays in the stack; "
            "resolve the cause (for example detach it from its ad groups) and run the operation again."
        ) from None
    finally:
        audiences.forget(advertiser_id, audience_id)


def _share_inputs(props: dict[str, Any]) -> dict[str, Any]:
    return ShareSpec.model_validate({k: props[k] for k in SHARE_KEYS if props.get(k) is not None}).model_dump(
        mode="json"
    )


class Share(_Provider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.AudienceShare`.

    The id is ``<owner advertiser id>/<audience id>``. Adding advertisers shares with them,
    removing one cancels its share, and deleting cancels them all. Refresh reads share/log: a share
    cancelled outside Pulumi disappears from the state, so the next ``pulumi up`` shares again.
    """

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = self._with_default_advertiser({k: v for k, v in news.items() if k in SHARE_KEYS})
        return _checked(inputs, _share_inputs)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        unknown = _unknown_keys(news, SHARE_KEYS)
        if unknown:
            return DiffResult(changes=True, replaces=[k for k in SHARE_REPLACE_KEYS if k in unknown])
        new = _share_inputs(news)
        replaces = [k for k in SHARE_REPLACE_KEYS if str(olds.get(k)) != new[k]]
        changes = bool(replaces) or set(olds.get("shared_advertiser_ids") or []) != set(
            new["shared_advertiser_ids"]
        )
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = ShareSpec.model_validate(_share_inputs(props))
        self._share(spec, spec.shared_advertiser_ids)
        return CreateResult(spec.share_id(), {**spec.model_dump(mode="json"), "summary": spec.summary()})

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        from pulumi_tiktok_audiences.client import TikTokApiError

        advertiser_id, _, audience_id = id_.partition("/")  # the id names both (see share_id)
        declared = [str(a) for a in props.get("shared_advertiser_ids") or []]
        client, audiences = self._connected()
        try:
            log = client.share_log(advertiser_id, audience_id)
        except TikTokApiError:
            if audiences.fetch(advertiser_id, audience_id) is None:
                return ReadResult("", {})  # the audience is gone, and its shares with it
            raise
        active = {e.shared_advertiser_id for e in log if e.status == _SHARED}
        live = [a for a in declared if a in active]
        if not live:
            return ReadResult("", {})  # every share was cancelled: the next `pulumi up` shares again
        spec = ShareSpec(advertiser_id=advertiser_id, audience_id=audience_id, shared_advertiser_ids=live)
        outs = {**spec.model_dump(mode="json"), "summary": spec.summary()}
        return ReadResult(id_, outs, {k: outs[k] for k in SHARE_KEYS})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        spec = ShareSpec.model_validate(_share_inputs(news))
        before = {str(a) for a in olds.get("shared_advertiser_ids") or []}
        added = [a for a in spec.shared_advertiser_ids if a not in before]
        if added:
            self._share(spec, added)
        removed = sorted(before - set(spec.shared_advertiser_ids), key=int)
        self._cancel(spec.advertiser_id, spec.audience_id, removed)
        return UpdateResult({**spec.model_dump(mode="json"), "summary": spec.summary()})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        shared = [str(a) for a in props.get("shared_advertiser_ids") or []]
        self._cancel(str(props["advertiser_id"]), str(props["audience_id"]), shared)

    def _share(self, spec: ShareSpec, advertiser_ids: list[str]) -> None:
        from pulumi_tiktok_audiences.client import TikTokError

        client, _ = self._connected()
        try:
            client.share_audiences(spec.advertiser_id, [spec.audience_id], advertiser_ids)
        except TikTokError as exc:
            raise OperationError(
                f"Sharing audience {spec.audience_id} with advertisers {', '.join(advertiser_ids)} failed: "
                f"{exc}. Nothing was shared: TikTok shares only with other advertisers of the owner's "
                "Business Center."
            ) from None

    def _cancel(self, advertiser_id: str, audience_id: str, advertiser_ids: list[str]) -> None:
        """Cancel each share; one already cancelled (or an audience already deleted) is done."""
        from pulumi_tiktok_audiences.client import TikTokApiError

        client, audiences = self._connected()
        for index, shared_id in enumerate(advertiser_ids):
            try:
                client.cancel_share(advertiser_id, audience_id, shared_id)
            except TikTokApiError as exc:
                if not self._still_shared(client, audiences, advertiser_id, audience_id, shared_id):
                    continue
                done = f" (cancelled for {', '.join(advertiser_ids[:index])})" if index else ""
                raise OperationError(
                    f"Cancelling the share of audience {audience_id} with advertiser {shared_id} failed: "
                    f"{exc}{done}. Run the operation again once the cause is fixed."
                ) from None

    @staticmethod
    def _still_shared(
        client: TikTokClient, audiences: AudienceCache, advertiser_id: str, audience_id: str, shared_id: str
    ) -> bool:
        from pulumi_tiktok_audiences.client import TikTokApiError

        try:
            log = client.share_log(advertiser_id, audience_id)
        except TikTokApiError:
            return audiences.fetch(advertiser_id, audience_id) is not None
        return any(e.shared_advertiser_id == shared_id and e.status == _SHARED for e in log)
