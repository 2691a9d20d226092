"""Lookalike audiences: the same lifecycle as App Activity audiences (base.py), other spec and payload.

Renames happen in place; every other spec change creates a new lookalike before deleting the old
one (TikTok cannot change a lookalike's spec). A changed ``refresh_trigger`` asks TikTok to
recompute it (lookalike/update).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pulumi.dynamic import CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from pulumi_tiktok_audiences import constants, reading
from pulumi_tiktok_audiences.errors import OperationError
from pulumi_tiktok_audiences.lookalike import LookalikeAudienceSpec, LookalikeOptions
from pulumi_tiktok_audiences.providers.base import (
    COMPUTED_KEYS,
    AudienceProvider,
    Declared,
    checked,
    delete_audience,
    size_outputs,
    unknown_keys,
    wait_for,
)
from pulumi_tiktok_audiences.readiness import AudienceSize, is_calculated, is_targetable

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import AudienceDetail, AudienceSummary

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
_FIXED_KEYS = tuple(k for k in LOOKALIKE_SPEC_KEYS if k != "name")
_REFUSED_HINT = (
    "A source must be an audience of the same advertiser, not a lookalike, with at least "
    f"{constants.LOOKALIKE_SOURCE_MIN_SIZE} people; one created moments ago is still being calculated: "
    "set wait_until_targetable to wait for it, or run `pulumi up` again later."
)


def lookalike_spec(props: dict[str, Any]) -> LookalikeAudienceSpec:
    return LookalikeAudienceSpec.model_validate(
        {k: props[k] for k in LOOKALIKE_SPEC_KEYS if props.get(k) is not None}
    )


def _options(props: dict[str, Any]) -> LookalikeOptions:
    return LookalikeOptions.model_validate(
        {k: props[k] for k in LOOKALIKE_OPTION_KEYS if props.get(k) is not None}
    )


def _lookalike_inputs(props: dict[str, Any]) -> dict[str, Any]:
    """Canonical lookalike inputs: the spec and the options, validated together."""
    return {
        **lookalike_spec(props).model_dump(mode="json"),
        **_options(props).model_dump(mode="json", exclude_none=True),
    }


def _is_declared(detail: AudienceDetail, spec: LookalikeAudienceSpec) -> bool:
    """Whether a live audience is a lookalike with the declared spec (names may differ).

    Settings TikTok reports under either naming are compared (reading.py); an answer that cannot
    be read raises UnverifiableAudienceError: a lookalike is never matched by guess.
    """
    if reading.is_lookalike(detail.type) is False:
        return False
    try:
        if not detail.lookalike_spec:
            raise reading.UnreadableAnswerError("TikTok's answer holds no lookalike_spec")
        return any(not spec.mismatches(live) for live in detail.lookalike_spec)
    except reading.UnreadableAnswerError as exc:
        raise reading.UnverifiableAudienceError(detail, str(exc), lookalike=True) from None


def declared_lookalike(spec: LookalikeAudienceSpec) -> Declared:
    """How recovery and the pending-create lookup recognise this lookalike on TikTok."""
    return Declared(spec.advertiser_id, spec.name, "lookalike audience", lambda d: _is_declared(d, spec))


def _outputs(
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
        **size_outputs(size),
        "expire_time": summary.expired_time if summary else None,
        "summary": spec.summary(),
    }


class LookalikeProvider(AudienceProvider):
    """Provider for :class:`~pulumi_tiktok_audiences.resources.LookalikeAudience`.

    With ``wait_until_targetable``, create waits for the source to be calculated, then for the
    lookalike to reach 1,000 people.
    """

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = self._with_default_advertiser({k: v for k, v in news.items() if k in LOOKALIKE_INPUT_KEYS})
        return checked(inputs, _lookalike_inputs, news)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        self._managed(_id)
        unknown = unknown_keys(news, LOOKALIKE_INPUT_KEYS)
        if unknown:
            return DiffResult(changes=True, replaces=[k for k in _FIXED_KEYS if k in unknown])
        old, new = _lookalike_inputs(olds), _lookalike_inputs(news)
        replaces = [k for k in _FIXED_KEYS if old.get(k) != new.get(k)]
        changes = any(old.get(k) != new.get(k) for k in LOOKALIKE_INPUT_KEYS)
        return DiffResult(changes=changes, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        inputs = _lookalike_inputs(props)
        spec, options = lookalike_spec(inputs), _options(inputs)
        client, _ = self._connected()
        if options.wait_until_targetable:
            wait_for(
                client,
                spec.advertiser_id,
                spec.source_audience_id,
                is_calculated,
                options,
                f"source audience {spec.source_audience_id} to be calculated",
            )
        audience_id = self._create_audience(
            declared_lookalike(spec), lambda c: c.create_lookalike(spec.to_create_payload()), _REFUSED_HINT
        )

        def finish() -> dict[str, Any]:
            size = None
            if options.wait_until_targetable:
                what = f"lookalike {audience_id} to be targetable"
                size = wait_for(client, spec.advertiser_id, audience_id, is_targetable, options, what)
            return _outputs(inputs, spec, audience_id, size, None)

        return CreateResult(audience_id, self._settle(spec.advertiser_id, audience_id, spec.name, finish))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        inputs = self._with_default_advertiser(props)
        spec = lookalike_spec(inputs)
        self._managed(id_)
        client, audiences = self._connected()
        summary = audiences.get(spec.advertiser_id, id_)
        if summary is None or summary.is_expired(client.server_now()):
            return ReadResult("", {})  # gone: the next `pulumi up` creates it again
        live = spec.model_copy(update={"name": summary.name or spec.name})
        known = {k: inputs[k] for k in LOOKALIKE_OPTION_KEYS if inputs.get(k) is not None}
        outs = _outputs(known, live, id_, AudienceSize.of(summary), summary)
        return ReadResult(id_, outs, {k: outs[k] for k in LOOKALIKE_INPUT_KEYS if outs.get(k) is not None})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        from pulumi_tiktok_audiences.client import TikTokError

        old, new = _lookalike_inputs(olds), _lookalike_inputs(news)
        spec, options = lookalike_spec(new), _options(new)
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
        outs = {**olds, **_outputs(new, spec, id_, None, None)}
        outs.update({key: olds.get(key) for key in COMPUTED_KEYS})
        if refresh and options.wait_until_targetable:
            what = f"lookalike {id_} to be targetable"
            outs.update(size_outputs(wait_for(client, spec.advertiser_id, id_, is_targetable, options, what)))
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        delete_audience(self._connected(), str(props["advertiser_id"]), id_, props.get("name"))
