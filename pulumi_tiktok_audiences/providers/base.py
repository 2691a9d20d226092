"""What every provider shares: configuration, one client per process, check, the create sequence, delete.

The create sequence is the one place where an audience can be left outside the stack, so all
audience providers go through :meth:`AudienceProvider._create_audience` and
:meth:`AudienceProvider._settle`: recovery (recovery.py), the create call, the lookup after a lost
answer, then whatever follows (waiting until targetable), and on ANY failure after the create call
the new audience is deleted again, because the engine records nothing of a Create that raises
(reference: pulumi-dynamic-providers.md §9.11).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pulumi.dynamic import CheckFailure, CheckResult, Config, ConfigureRequest, ResourceProvider
from pulumi.output import Unknown
from pydantic import ValidationError

from pulumi_tiktok_audiences.cache import AudienceCache
from pulumi_tiktok_audiences.errors import OperationError
from pulumi_tiktok_audiences.lookalike import ReadinessOptions
from pulumi_tiktok_audiences.readiness import AudienceSize, NotReadyError, wait_until
from pulumi_tiktok_audiences.recovery import Creation, KnownAudiences, Matches, describe
from pulumi_tiktok_audiences.settings import ADVERTISER_KEY, ProviderSettings, provider_retry_policy
from pulumi_tiktok_audiences.spec import error_paths, property_path

if TYPE_CHECKING:
    from pulumi_tiktok_audiences.client import TikTokClient

T = TypeVar("T")

SUMMARY_KEY = "summary"
"""An output derived from the inputs. Programs send it as an input that is secret when any input
is (resources.py), and check keeps it: the engine marks secret only the outputs named like a
secret input (reference §9.7), so the summary, which quotes ids, is then stored encrypted."""
COMPUTED_KEYS = ("size", "is_valid", "targetable", "expire_time")
"""Outputs only TikTok knows; an update keeps the old values until the next read."""


@dataclass(frozen=True)
class Declared:
    """An audience a create is about to make, as recovery recognises it."""

    advertiser_id: str
    name: str
    kind: str  # for messages: "audience", "lookalike audience"
    matches: Matches


class AudienceProvider(ResourceProvider):
    """Settings from the stack config, one client and read cache per host process, the create sequence."""

    serialize_as_secret_always = False  # nothing secret is captured: the blob is a class path

    # Set in configure(), never in __init__: instance state would be pickled into every resource.
    _settings: ProviderSettings
    _client_instance: TikTokClient | None
    _cache_instance: AudienceCache | None
    _known: KnownAudiences
    _lock: threading.Lock

    def configure(self, req: ConfigureRequest) -> None:
        self._settings = ProviderSettings.resolve(req.config.get)
        self._client_instance = None
        self._cache_instance = None
        self._known = KnownAudiences()
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

    def _managed(self, audience_id: str) -> None:
        """The engine sent this id: the stack manages it, so recovery never takes it."""
        self._ensure_configured()
        self._known.managed(audience_id)

    def _with_default_advertiser(self, props: dict[str, Any]) -> dict[str, Any]:
        """``props`` with the configured advertiser when they name none (the documented default)."""
        self._ensure_configured()
        if props.get("advertiser_id") is None and self._settings.advertiser_id is not None:
            return {**props, "advertiser_id": self._settings.advertiser_id}
        return props

    # -- the create sequence -----------------------------------------------------------------------
    def _create_audience(self, declared: Declared, send: Callable[[TikTokClient], str], hint: str) -> str:
        """Create exactly one audience, even when TikTok's answers to create calls are lost.

        After a lost answer the audience is looked for (recovery.py: only audiences that did not
        exist before this process created). Found, it is the result; missing, TikTok did not create
        it, so sending the create again is as safe as any retried call, and it is retried like one:
        with the provider's backoff, within its bounds. ``hint`` says what to do when TikTok refuses.
        """
        from pulumi_tiktok_audiences.client import (
            CreatedWithoutIdError,
            OutcomeUnknownError,
            RetriesExhaustedError,
            TikTokError,
        )
        from pulumi_tiktok_audiences.client.retry import is_transient

        client, audiences = self._connected()
        where = f"Creating {declared.kind} {declared.name!r} for advertiser {declared.advertiser_id}"
        with self._known.creating(client, declared.advertiser_id, declared.name) as creation:
            creation.warn_about_look_alikes(declared.matches)

            def attempt() -> str:
                try:
                    return send(client)
                except CreatedWithoutIdError as created:  # TikTok created it: never sent again
                    found = creation.lost_answer(declared.matches)
                    if found is None:
                        raise OperationError(
                            f"{where}: {created}. No new {declared.kind} with that name and settings is "
                            f"listed yet. Look for {declared.name!r} in TikTok Ads Manager: delete it, or "
                            "for an App Activity audience set adopt_audience_id to its id, then run "
                            "`pulumi up` again." + _look_alikes(creation)
                        ) from None
                    return found
                except OutcomeUnknownError as lost:
                    try:
                        found = creation.lost_answer(declared.matches)
                    except TikTokError as exc:
                        raise OperationError(
                            f"{where}: TikTok's answer was lost ({lost.cause}), and looking for the "
                            f"audience failed: {exc}. It may have been created: look for {declared.name!r} "
                            "in TikTok Ads Manager and delete it before running `pulumi up` again."
                            + _look_alikes(creation)
                        ) from None
                    if found is None and not is_transient(lost.cause):
                        # A refusal from behind the gateway (40700): looked for, not there, not retried.
                        raise OperationError(
                            f"{where} failed: {lost.cause}. TikTok's answer does not say whether it acted; "
                            f"no new {declared.kind} with that name and settings is listed, so nothing was "
                            f"created. {hint}" + _look_alikes(creation)
                        ) from None
                    if found is None:
                        raise  # not created: retried
                    return found

            try:
                audience_id = provider_retry_policy().call(
                    attempt, retry_if=lambda exc: isinstance(exc, OutcomeUnknownError)
                )
            except RetriesExhaustedError as exc:
                last = exc.last_error
                if not isinstance(last, OutcomeUnknownError):
                    raise OperationError(
                        f"{where} failed: {exc}. Nothing was created. {hint}" + _look_alikes(creation)
                    ) from None
                raise OperationError(
                    f"{where}: TikTok's answer was lost {exc.attempts} times (last: {last.cause}), and no "
                    "such audience exists. Re-running is safe: nothing was created." + _look_alikes(creation)
                ) from None
            except TikTokError as exc:
                raise OperationError(
                    f"{where} failed: {exc}. Nothing was created. {hint}" + _look_alikes(creation)
                ) from None
            creation.created(audience_id)
        audiences.forget(declared.advertiser_id, audience_id)
        return audience_id

    def _settle(self, advertiser_id: str, audience_id: str, name: str, step: Callable[[], T]) -> T:
        """``step()`` after a create; on any failure the new audience is deleted before the error."""
        try:
            return step()
        except Exception as exc:
            try:
                delete_audience(self._connected(), advertiser_id, audience_id, name)
            except Exception as cleanup:  # the user must hear about both
                note = (
                    f" Audience {audience_id} ({name!r}) was created but could not be deleted again "
                    f"({cleanup}): delete it in TikTok Ads Manager, or it stays outside the stack."
                )
            else:
                note = f" Audience {audience_id} ({name!r}) was deleted again, so nothing is left behind."
            if isinstance(exc, NotReadyError):
                raise NotReadyError(f"{exc}{note}", exc.last) from None
            raise OperationError(f"{exc}{note}") from None


def _look_alikes(creation: Creation) -> str:
    if not creation.look_alikes:
        return ""
    return (
        f" Existing audiences with the same name and rules (not adopted): {describe(creation.look_alikes)}."
    )


# -- shared helpers ----------------------------------------------------------------------------------
def unknown_paths(value: Any, path: tuple[int | str, ...] = ()) -> list[tuple[int | str, ...]]:
    """Where the engine sent unknown values (preview, values from not-yet-created resources)."""
    if isinstance(value, Unknown):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in unknown_paths(v, (*path, k))]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in unknown_paths(v, (*path, i))]
    return []


def unknown_keys(props: dict[str, Any], keys: tuple[str, ...]) -> set[str]:
    return {str(p[0]) for p in unknown_paths({k: props.get(k) for k in keys}) if p}


def related(a: str, b: str) -> bool:
    """True when one property path contains the other (``include[0]`` and ``include[0].event``)."""
    return a == b or a.startswith((b + ".", b + "[")) or b.startswith((a + ".", a + "["))


def with_hint(path: str, reason: str) -> str:
    if path == "advertiser_id" and "required" in reason.lower():
        return f"{reason}: set advertiser_id on the resource or the stack config {ADVERTISER_KEY}"
    return reason


def failures_of(exc: ValidationError, unknown: list[tuple[int | str, ...]]) -> list[CheckFailure]:
    """Check failures by property path; a value that is not known yet is not an error."""
    return [
        CheckFailure(path, with_hint(path, reason))
        for path, reason in error_paths(exc)
        if not any(related(path, property_path(u)) for u in unknown)
    ]


def checked(
    inputs: dict[str, Any], validate: Callable[[dict[str, Any]], dict[str, Any]], news: dict[str, Any]
) -> CheckResult:
    """check() for a spec: canonical inputs, or failures by property path (unknowns are not errors)."""
    unknown = unknown_paths(inputs)
    try:
        canonical = validate(inputs)
    except ValidationError as exc:
        return CheckResult(inputs, failures_of(exc, unknown))
    return CheckResult(inputs if unknown else with_summary_carrier(canonical, news), [])


def with_summary_carrier(canonical: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
    """Keep the program's ``summary`` input (see SUMMARY_KEY) so the engine can re-mark the output."""
    if news.get(SUMMARY_KEY) is None:
        return canonical
    return {**canonical, SUMMARY_KEY: news[SUMMARY_KEY]}


def size_outputs(size: AudienceSize | None) -> dict[str, Any]:
    """The size outputs of every audience; None before TikTok has reported one."""
    return {
        "size": size.size if size else None,
        "is_valid": size.is_valid if size else False,
        "targetable": size.targetable if size else False,
    }


def wait_for(
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


def delete_audience(
    connected: tuple[TikTokClient, AudienceCache], advertiser_id: str, audience_id: str, name: object
) -> None:
    """Delete an audience; one that is already gone counts as deleted."""
    from pulumi_tiktok_audiences.client import AuthenticationError, StillProcessingError, TikTokApiError

    client, audiences = connected
    try:
        client.delete_audiences(advertiser_id, [audience_id])
    except AuthenticationError:
        raise  # the token, not the audience: looking the audience up would fail the same way
    except StillProcessingError as exc:
        raise OperationError(
            f"Deleting audience {audience_id} ({name!r}): {exc}. It stays in the stack until then."
        ) from None
    except TikTokApiError as exc:
        if audiences.fetch(advertiser_id, audience_id) is None:
            return
        raise OperationError(
            f"TikTok refused to delete audience {audience_id} ({name!r}): {exc}. It stays in the stack; "
            "resolve the cause (for example detach it from its ad groups) and run the operation again."
        ) from None
    finally:
        audiences.forget(advertiser_id, audience_id)
