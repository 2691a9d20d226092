"""App Activity audiences: check, diff, create (or adopt), read, update, delete.

The spec (``spec.py``) validates, maps to payloads and decides what a change means; this module
translates between it and Pulumi's property bags.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult
from pydantic import BeforeValidator, TypeAdapter, ValidationError

from pulumi_tiktok_audiences import reading
from pulumi_tiktok_audiences.advice import CATALOG_KEY
from pulumi_tiktok_audiences.changes import classify, classify_unknown
from pulumi_tiktok_audiences.errors import AdoptionError, OperationError
from pulumi_tiktok_audiences.lookalike import ReadinessOptions
from pulumi_tiktok_audiences.providers.base import (
    COMPUTED_KEYS,
    AudienceProvider,
    Declared,
    delete_audience,
    failures_of,
    size_outputs,
    unknown_keys,
    unknown_paths,
    wait_for,
    with_summary_carrier,
)
from pulumi_tiktok_audiences.readiness import AudienceSize, is_targetable
from pulumi_tiktok_audiences.spec import (
    LOCAL_FIELDS,
    AudienceSpec,
    error_paths,
    numeric_id,
)

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.cache import AudienceCache
    from pulumi_tiktok_audiences.client import AudienceDetail, AudienceSummary, TikTokClient, TikTokError

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
    *sorted(LOCAL_FIELDS),
)
ADOPT_KEY = "adopt_audience_id"
READINESS_KEYS = ("wait_until_targetable", "readiness_timeout_seconds")
"""How create behaves, not what the audience is: changing them updates state, never TikTok."""
INPUT_KEYS = (*SPEC_KEYS, ADOPT_KEY, CATALOG_KEY, *READINESS_KEYS)
"""CATALOG_KEY (advice.py) says which catalog declared the audience, so that the guardrails quote
fixes as YAML: like READINESS_KEYS it is kept in state and never compared or sent."""
_ADOPT_ID = TypeAdapter(Annotated[str, BeforeValidator(numeric_id("an audience id"))])
"""``adopt_audience_id``: validated like every other id of a spec."""


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
    return {
        **props_from_spec(spec),
        "audience_id": audience_id,
        **size_outputs(AudienceSize.of(detail) if detail is not None else None),
        "expire_time": detail.expired_time if detail is not None else None,
        "summary": spec.summary(),
    }


def _readiness(props: dict[str, Any]) -> ReadinessOptions:
    """The readiness options in a property bag that ``check`` accepted (defaults when absent)."""
    return ReadinessOptions.model_validate({k: props[k] for k in READINESS_KEYS if props.get(k) is not None})


def declared_audience(spec: AudienceSpec) -> Declared:
    """How recovery and the pending-create lookup recognise this audience on TikTok."""
    return Declared(spec.advertiser_id, spec.name, "audience", lambda d: not reading.mismatches(d, spec))


def _left_by_failed_update(error: TikTokError, done: list[str]) -> str:
    """What a failed update left on TikTok's side, as far as TikTok's answers tell."""
    from pulumi_tiktok_audiences.client import RetriesExhaustedError
    from pulumi_tiktok_audiences.client.retry import may_have_acted

    last = error.last_error if isinstance(error, RetriesExhaustedError) else error
    if may_have_acted(last):  # a server error or a lost answer: TikTok may have acted first
        done = [*done, "TikTok may have carried out the failed call before failing"]
    if not done:
        return "The audience is unchanged on TikTok's side"
    return f"Yet {' and '.join(done)} (`pulumi refresh` shows what TikTok holds)"


class AppActivityProvider(AudienceProvider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.AppActivityAudience`."""

    # -- check ---------------------------------------------------------------------------------
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = self._with_defaults({k: v for k, v in news.items() if k in INPUT_KEYS})
        failures: list[CheckFailure] = []
        adopt = inputs.get(ADOPT_KEY)
        unknown = unknown_paths(inputs)
        if adopt is not None and not unknown_paths(adopt):
            try:
                adopt = _ADOPT_ID.validate_python(adopt)
            except ValidationError as exc:
                failures.extend(CheckFailure(ADOPT_KEY, reason) for _, reason in error_paths(exc))
        catalog = inputs.get(CATALOG_KEY)
        if catalog is not None and not isinstance(catalog, str) and not unknown_paths(catalog):
            failures.append(
                CheckFailure(CATALOG_KEY, "must be the path of the catalog file (load_catalog sets it)")
            )
        try:
            spec = spec_from_props(inputs)
        except ValidationError as exc:
            return CheckResult(inputs, [*failures, *failures_of(exc, unknown)])
        given = {k: inputs[k] for k in READINESS_KEYS if inputs.get(k) is not None}
        readiness: dict[str, Any] = {}
        if given and not unknown_paths(given):
            try:
                readiness = ReadinessOptions.model_validate(given).model_dump(include=set(given))
            except ValidationError as exc:
                failures.extend(CheckFailure(path, reason) for path, reason in error_paths(exc))
        if unknown or failures:
            return CheckResult(inputs, failures)
        canonical = {**props_from_spec(spec), **readiness}
        if adopt is not None:
            canonical[ADOPT_KEY] = adopt
        if isinstance(catalog, str):
            canonical[CATALOG_KEY] = catalog
        return CheckResult(with_summary_carrier(canonical, news), [])

    # -- diff ----------------------------------------------------------------------------------
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        self._managed(_id)
        unknown = unknown_keys(news, (*SPEC_KEYS, *READINESS_KEYS))
        if unknown:
            # Preview with values not known yet: report what may change, and what would replace.
            maybe = classify_unknown(unknown)
            return DiffResult(changes=True, replaces=list(maybe.replaces), delete_before_replace=False)
        # The one change model: the catalog's reviewer diff asks the same question.
        change = classify(
            spec_from_props(olds),
            spec_from_props(news),
            old_readiness=_readiness(olds),
            new_readiness=_readiness(news),
        )
        return DiffResult(
            changes=change.kind != "same", replaces=list(change.replaces), delete_before_replace=False
        )

    # -- create --------------------------------------------------------------------------------
    def create(self, props: dict[str, Any]) -> CreateResult:
        spec = spec_from_props(props)
        client, audiences = self._connected()
        adopt = props.get(ADOPT_KEY)
        if adopt is not None:  # the user's audience: never deleted if what follows fails
            detail = self._adopt(client, audiences, spec, str(adopt))
            outs = self._outputs(props, spec, detail.audience_id, detail)
            return CreateResult(detail.audience_id, self._when_ready(client, outs, props))
        audience_id = self._create_audience(
            declared_audience(spec),
            lambda c: c.create_rule_audience(spec.to_create_payload()),
            "Fix the cause and run `pulumi up` again.",
        )
        outs = self._settle(
            spec.advertiser_id,
            audience_id,
            spec.name,
            lambda: self._when_ready(client, self._outputs(props, spec, audience_id, None), props),
        )
        return CreateResult(audience_id, outs)

    @staticmethod
    def _when_ready(client: TikTokClient, outs: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
        """``outs`` once the audience is targetable, if ``wait_until_targetable`` asks for it."""
        options = _readiness(props)
        if not options.wait_until_targetable:
            return outs
        audience_id = str(outs["audience_id"])
        size = wait_for(
            client,
            str(outs["advertiser_id"]),
            audience_id,
            is_targetable,
            options,
            f"audience {audience_id} to be targetable",
        )
        return {**outs, **size_outputs(size)}

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
        try:
            problems = reading.mismatches(detail, spec)
        except reading.UnverifiableAudienceError:
            problems = []  # adopt_audience_id is the user's word, given after checking it (as advised)
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
        self._managed(audience_id)
        return detail

    # -- read ----------------------------------------------------------------------------------
    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        # A get by id (``opts.id``) sends the program's inputs unchecked: apply check's default.
        spec = spec_from_props(self._with_defaults(props))
        self._managed(id_)
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
        done: list[str] = []  # what TikTok did before a later call failed
        try:
            if old.audience_sub_type != new.audience_sub_type:
                # TikTok's current name: update needs one, and ignores it beside a sub-type (§2.2).
                client.update_audience_sub_type(new.advertiser_id, id_, new.audience_sub_type, old.name)
                done.append(f"its sub-type was changed to {new.audience_sub_type}")
            if old.name != new.name:
                client.rename_audience(new.advertiser_id, id_, new.name)
        except TikTokError as exc:
            raise OperationError(
                f"Updating audience {id_} ({old.name!r} -> {new.name!r}) failed: {exc}. "
                f"{_left_by_failed_update(exc, done)}; run `pulumi up` again once the cause is fixed."
            ) from None
        finally:
            audiences.forget(new.advertiser_id, id_)  # even a failed update may have changed it
        # Only what changed on TikTok is sent; local fields (spec.LOCAL_FIELDS) are only stored.
        # Inputs come from news alone: one no longer declared must not survive from olds.
        kept = {k: v for k, v in olds.items() if k not in INPUT_KEYS}
        outs = {**kept, **self._outputs(news, new, id_, None)}
        outs.update({key: olds.get(key) for key in COMPUTED_KEYS})
        return UpdateResult(outs)

    # -- delete --------------------------------------------------------------------------------
    def delete(self, id_: str, props: dict[str, Any]) -> None:
        delete_audience(self._connected(), str(props["advertiser_id"]), id_, props.get("name"))

    # -- helpers -------------------------------------------------------------------------------
    def _with_defaults(self, props: dict[str, Any]) -> dict[str, Any]:
        """``props`` with the stack config's advertiser and tracked events where they give none."""
        props = self._with_default_advertiser(props)
        if props.get("tracked_events") is None and self._settings.tracked_events is not None:
            return {**props, "tracked_events": self._settings.tracked_events}
        return props

    @staticmethod
    def _outputs(
        props: dict[str, Any],
        spec: AudienceSpec,
        audience_id: str,
        detail: AudienceSummary | AudienceDetail | None,
    ) -> dict[str, Any]:
        outs = outputs_for(spec, audience_id, detail)
        if props.get(ADOPT_KEY) is not None:
            outs[ADOPT_KEY] = str(props[ADOPT_KEY])
        if isinstance(props.get(CATALOG_KEY), str):
            outs[CATALOG_KEY] = props[CATALOG_KEY]
        outs.update({k: props[k] for k in READINESS_KEYS if props.get(k) is not None})
        return outs
