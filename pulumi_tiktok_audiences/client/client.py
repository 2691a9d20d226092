"""``TikTokClient``: the custom-audience endpoints of TikTok's Business API v1.3 over httpx.

It knows TikTok's wire conventions (reference §1): the ``Access-Token`` header, JSON bodies
for POST, JSON-array-string query parameters for GET, the ``{code, message, request_id,
data}`` envelope in which errors arrive as HTTP 200. It batches and pages so that callers
deal in whole lists, and it retries according to :mod:`.retry`. It knows nothing of Pulumi.

The access token is kept as a ``SecretStr`` and only placed in the request headers; any text
that comes from outside (TikTok's messages, bodies, network errors) is scrubbed of it before
it reaches a log line or an exception.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import MappingProxyType, TracebackType
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client.accounts import (
    AppListData,
    AppSummary,
    AuthorizedAdvertiser,
    AuthorizedAdvertisersData,
)
from pulumi_tiktok_audiences.client.errors import (
    CreatedWithoutIdError,
    DailyQuotaExhaustedError,
    InvalidRequestError,
    MissingAccessTokenError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    Restriction,
    TikTokError,
    TransportError,
    api_error,
    endpoint_label,
)
from pulumi_tiktok_audiences.client.models import (
    AudienceDetail,
    AudienceSummary,
    CreatedAudience,
    Envelope,
    GetData,
    ListData,
    ShareLogData,
    ShareLogEntry,
)
from pulumi_tiktok_audiences.client.processing import ProcessingWait
from pulumi_tiktok_audiences.client.retry import (
    CallKind,
    RetryPolicy,
    may_have_acted,
    should_retry,
)

_log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

NAMED_ENDPOINTS: Final[Mapping[str, str]] = MappingProxyType(
    {"production": constants.PRODUCTION_URL, "sandbox": constants.SANDBOX_URL}
)

# Connecting should be quick; TikTok's audience backend can take a while to answer.
DEFAULT_TIMEOUT: Final = httpx.Timeout(30.0, connect=10.0)

# Called with the endpoint label ("rule/create", "get" ...) before every attempt, retries
# included: the place to plug in a limiter shared between clients (it may block or raise).
RequestLimiter = Callable[[str], None]


@runtime_checkable
class RateFeedback(Protocol):
    """A limiter that learns from TikTok's answers (throttle.Budget): told, on the thread that sent the
    request, whether TikTok accepted it or refused it as too frequent (then it judges the refusal)."""

    def accepted(self, endpoint: str) -> None: ...

    def refused(self, endpoint: str, code: int) -> Restriction: ...


_SNIPPET_CHARS = 200
_SECRET_MIN_CHARS = 8


def resolve_base_url(endpoint: str, *, named: Mapping[str, str] = NAMED_ENDPOINTS) -> str:
    """``"production"`` | ``"sandbox"`` | an http(s) URL -> the base URL to give the client.

    ``named`` lets a caller add names of its own (the provider adds ``"local"``).
    """
    key = endpoint.strip()
    if key.lower() in named:
        return named[key.lower()]
    choices = ", ".join(sorted(named))
    try:
        url = httpx.URL(key)
    except httpx.InvalidURL:
        url = httpx.URL()
    if url.scheme not in ("http", "https") or not url.host:
        raise ValueError(f"Unknown TikTok endpoint {endpoint!r}: use one of {choices}, or an http(s) URL")
    # Normalised (scheme and host in lower case, no default port, no trailing '/'): the rate budget's
    # scope and the tier's default follow the host, however the URL spells it.
    return str(url.copy_with(path=url.path.rstrip("/"))).rstrip("/")


def _json_ids(ids: Sequence[str]) -> str:
    """The form TikTok expects for an array in the query string: one JSON array of ID strings."""
    return json.dumps([str(i) for i in ids], separators=(",", ":"))


def _unique(ids: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(str(i) for i in ids))


def _batches(items: Sequence[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


def _audiences_named(body: Mapping[str, Any]) -> str:
    """``audience 12 ('Buyers')`` / ``audiences 12, 13``: what a write is about, for messages."""
    one = body.get("custom_audience_id")
    ids = [str(one)] if one is not None else [str(i) for i in body.get("custom_audience_ids") or []]
    name = body.get("custom_audience_name")
    named = f" ({name!r})" if isinstance(name, str) and len(ids) == 1 else ""
    return f"audience{'s' if len(ids) != 1 else ''} {', '.join(ids) or '(none named)'}{named}"


def _check_range(name: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")


class TikTokClient:
    """A synchronous client for TikTok's ``dmp/custom_audience/*`` endpoints.

    ``access_token`` may be None so that a client can be built before the token is known;
    every call then fails with :class:`MissingAccessTokenError` before sending anything.
    ``transport`` replaces the network (the emulator's in-process transport, or a mock).
    ``processing`` bounds how long a write waits while TikTok says the audience is still being
    processed (client/processing.py).
    """

    def __init__(
        self,
        access_token: str | None,
        *,
        base_url: str = constants.PRODUCTION_URL,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        limiter: RequestLimiter | None = None,
        processing: ProcessingWait | None = None,
    ) -> None:
        token = (access_token or "").strip()
        self._token = SecretStr(token) if token else None
        self._secrets: set[str] = set()  # other credentials sent (an app secret): redacted like the token
        self._base_url = base_url.rstrip("/")
        self._retry = retry or RetryPolicy()
        self._processing = processing or ProcessingWait()
        self._limiter = limiter
        # Checked once: isinstance against a runtime protocol costs tens of microseconds per request.
        self._feedback = limiter if isinstance(limiter, RateFeedback) else None
        self._server_time: datetime | None = None
        # Redirects are not followed: httpx would forward the Access-Token header to any host.
        self._http = httpx.Client(
            base_url=self._base_url + constants.API_PREFIX,
            transport=transport,
            timeout=timeout,
            headers={"Accept": "application/json"},
            follow_redirects=False,
        )

    @property
    def base_url(self) -> str:
        return self._base_url

    def server_now(self) -> datetime:
        """TikTok's clock as of the last answer (its HTTP ``Date``), else ours.

        Expiry times are TikTok's; comparing them with the server's clock rather than the
        caller's keeps "expired" right when the two disagree (an emulator with a test clock).
        """
        return self._server_time or datetime.now(UTC)

    def __repr__(self) -> str:
        token = "set" if self._token else "missing"
        return f"TikTokClient(base_url={self._base_url!r}, access_token=<{token}>)"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TikTokClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # --- Endpoints --------------------------------------------------------------------------

    def create_rule_audience(self, payload: Mapping[str, Any]) -> str:
        """POST rule/create; returns the new ``custom_audience_id``.

        Raises :class:`OutcomeUnknownError` when TikTok may have created it without saying so, and
        :class:`CreatedWithoutIdError` when it did but its answer names no readable id.
        """
        return self._create(constants.PATH_RULE_CREATE, payload)

    def create_lookalike(self, payload: Mapping[str, Any]) -> str:
        """POST lookalike/create; returns the new ``custom_audience_id``."""
        return self._create(constants.PATH_LOOKALIKE_CREATE, payload)

    def rename_audience(self, advertiser_id: str, audience_id: str, name: str) -> None:
        """POST update with a new ``custom_audience_name`` (the only in-place edit, reference §2.2)."""
        body = {
            "advertiser_id": advertiser_id,
            "custom_audience_id": audience_id,
            "custom_audience_name": name,
        }
        self._call("POST", constants.PATH_UPDATE, CallKind.IDEMPOTENT_WRITE, body=body)

    def update_audience_sub_type(
        self, advertiser_id: str, audience_id: str, sub_type: str, name: str
    ) -> None:
        """POST update with ``audience_sub_type`` (TikTok allows NORMAL -> REACH_FREQUENCY only).

        ``name`` is the audience's current name: update needs ``custom_audience_name`` (or file
        paths) whatever it changes (reference §7.4, TikTok's update page and the SDK's
        CustomAudienceUpdateBody).
        """
        body = {
            "advertiser_id": advertiser_id,
            "custom_audience_id": audience_id,
            "custom_audience_name": name,
            "audience_sub_type": sub_type,
        }
        self._call("POST", constants.PATH_UPDATE, CallKind.IDEMPOTENT_WRITE, body=body)

    def get_audiences(
        self,
        advertiser_id: str,
        audience_ids: Sequence[str],
        *,
        history_size: int | None = None,
        missing_ok: bool = False,
    ) -> list[AudienceDetail]:
        """GET get in batches of ``IDS_PER_GET_MAX``; results follow the order of ``audience_ids``.

        With ``missing_ok``, audiences that do not exist are left out instead of failing the
        call. Not-found is decided by 40007 (TikTok's documented not-found, reference §6.4) or by
        listing, never by a guessed code: a batch refused otherwise (40000/40002/40011) is asked
        again one ID at a time, and an ID refused on its own counts as missing only if list,
        filtered by that ID, lacks it too.
        """
        if history_size is not None:
            _check_range("history_size", history_size, 1, constants.HISTORY_SIZE_MAX)
        ids = _unique(audience_ids)
        found: list[AudienceDetail] = []
        for batch in _batches(ids, constants.IDS_PER_GET_MAX):
            found.extend(self._get_batch(advertiser_id, batch, history_size, missing_ok))
        position = {audience_id: index for index, audience_id in enumerate(ids)}
        return sorted(found, key=lambda detail: position.get(detail.audience_id, len(position)))

    def _get_batch(
        self, advertiser_id: str, batch: list[str], history_size: int | None, missing_ok: bool
    ) -> list[AudienceDetail]:
        params = {"advertiser_id": advertiser_id, "custom_audience_ids": _json_ids(batch)}
        if history_size is not None:
            params["history_size"] = str(history_size)
        try:
            data = self._call("GET", constants.PATH_GET, CallKind.READ, params=params)
        except (NotFoundError, InvalidRequestError) as error:
            if not missing_ok:
                raise
            if len(batch) > 1:
                return [
                    detail
                    for audience_id in batch
                    for detail in self._get_batch(advertiser_id, [audience_id], history_size, missing_ok)
                ]
            if isinstance(error, InvalidRequestError) and any(
                self.iter_audiences(advertiser_id, audience_ids=batch)
            ):
                raise  # the audience exists: the refusal is about something else
            return []
        return self._parse(GetData, data, constants.PATH_GET).details()

    def iter_audiences(
        self,
        advertiser_id: str,
        *,
        audience_ids: Sequence[str] | None = None,
        page_size: int = constants.LIST_PAGE_SIZE_MAX,
    ) -> Iterator[AudienceSummary]:
        """GET list, page after page until ``page_info.total_page``, yielding as pages arrive.

        With ``audience_ids`` the list is filtered to those IDs (in batches of
        ``IDS_PER_LIST_FILTER_MAX``).
        """
        _check_range("page_size", page_size, 1, constants.LIST_PAGE_SIZE_MAX)
        filters: list[dict[str, str]] = [{}]
        if audience_ids is not None:
            filters = [
                {"custom_audience_ids": _json_ids(batch)}
                for batch in _batches(_unique(audience_ids), constants.IDS_PER_LIST_FILTER_MAX)
            ]
        for id_filter in filters:
            page = 1
            while True:
                params = {
                    "advertiser_id": advertiser_id,
                    **id_filter,
                    "page": str(page),
                    "page_size": str(page_size),
                }
                data = self._call("GET", constants.PATH_LIST, CallKind.READ, params=params)
                result = self._parse(ListData, data, constants.PATH_LIST)
                yield from result.items
                total_pages = result.page_info.total_page if result.page_info else None
                if total_pages is None or page >= total_pages:
                    break
                page += 1

    def list_audiences(
        self,
        advertiser_id: str,
        *,
        audience_ids: Sequence[str] | None = None,
        page_size: int = constants.LIST_PAGE_SIZE_MAX,
    ) -> list[AudienceSummary]:
        """Every audience of the advertiser (owned and shared), all pages."""
        return list(self.iter_audiences(advertiser_id, audience_ids=audience_ids, page_size=page_size))

    def delete_audiences(self, advertiser_id: str, audience_ids: Sequence[str]) -> None:
        """POST delete in batches of ``IDS_PER_DELETE_MAX``."""
        for batch in _batches(_unique(audience_ids), constants.IDS_PER_DELETE_MAX):
            body = {"advertiser_id": advertiser_id, "custom_audience_ids": batch}
            self._call("POST", constants.PATH_DELETE, CallKind.IDEMPOTENT_WRITE, body=body)

    def share_audiences(
        self, advertiser_id: str, audience_ids: Sequence[str], shared_advertiser_ids: Sequence[str]
    ) -> None:
        """POST share: every audience with every advertiser, within TikTok's 10 x 10 limit per call."""
        for audiences in _batches(_unique(audience_ids), constants.SHARE_AUDIENCES_MAX):
            for advertisers in _batches(_unique(shared_advertiser_ids), constants.SHARE_ADVERTISERS_MAX):
                body = {
                    "advertiser_id": advertiser_id,
                    "custom_audience_ids": audiences,
                    "shared_advertiser_ids": advertisers,
                }
                self._call("POST", constants.PATH_SHARE, CallKind.IDEMPOTENT_WRITE, body=body)

    def cancel_share(self, advertiser_id: str, audience_id: str, shared_advertiser_id: str) -> None:
        """POST share/cancel: stop sharing one audience with one advertiser."""
        body = {
            "advertiser_id": advertiser_id,
            "custom_audience_id": audience_id,
            "shared_advertiser_id": shared_advertiser_id,
        }
        self._call("POST", constants.PATH_SHARE_CANCEL, CallKind.IDEMPOTENT_WRITE, body=body)

    def share_log(self, advertiser_id: str, audience_id: str) -> list[ShareLogEntry]:
        """GET share/log: the advertisers an audience is shared with."""
        params = {"advertiser_id": advertiser_id, "custom_audience_id": audience_id}
        data = self._call("GET", constants.PATH_SHARE_LOG, CallKind.READ, params=params)
        return self._parse(ShareLogData, data, constants.PATH_SHARE_LOG).items

    def refresh_lookalikes(self, advertiser_id: str, audience_ids: Sequence[str]) -> None:
        """POST lookalike/update: ask TikTok to recompute lookalike audiences now."""
        body = {"advertiser_id": advertiser_id, "custom_audience_ids": _unique(audience_ids)}
        self._call("POST", constants.PATH_LOOKALIKE_UPDATE, CallKind.IDEMPOTENT_WRITE, body=body)

    def list_apps(self, advertiser_id: str) -> list[AppSummary]:
        """GET app/list: the apps (event sources) of an advertiser."""
        data = self._call(
            "GET", constants.PATH_APP_LIST, CallKind.READ, params={"advertiser_id": advertiser_id}
        )
        return self._parse(AppListData, data, constants.PATH_APP_LIST).apps

    def authorized_advertisers(self, app_id: str, secret: str) -> list[AuthorizedAdvertiser]:
        """GET oauth2/advertiser/get: every advertiser the token may act for.

        ``app_id`` and ``secret`` are the developer app's (TikTok requires both); the secret is
        redacted from errors and logs like the token.
        """
        if len(secret) >= _SECRET_MIN_CHARS:  # shorter text would garble messages
            self._secrets.add(secret)
        params = {"app_id": app_id, "secret": secret}
        data = self._call("GET", constants.PATH_AUTHORIZED_ADVERTISERS, CallKind.READ, params=params)
        return self._parse(AuthorizedAdvertisersData, data, constants.PATH_AUTHORIZED_ADVERTISERS).items

    # --- Plumbing ---------------------------------------------------------------------------

    def _create(self, path: str, payload: Mapping[str, Any]) -> str:
        """Send a create; a code-0 answer without a readable new ID raises CreatedWithoutIdError.

        Code 0 means TikTok created the audience, whatever the shape of its data: never "lost".
        """
        name = payload.get("custom_audience_name")
        audience_name = name if isinstance(name, str) else None
        answer = self._exchange(
            "POST", path, CallKind.CREATE, body=dict(payload), audience_name=audience_name
        )
        try:
            return CreatedAudience.model_validate(answer.data).custom_audience_id
        except ValidationError:
            raise CreatedWithoutIdError(
                endpoint=endpoint_label(path),
                audience_name=audience_name,
                request_id=answer.request_id,
                data=answer.data,
            ) from None

    def _call(
        self,
        method: str,
        path: str,
        kind: CallKind,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        audience_name: str | None = None,
    ) -> Any:
        """One logical call with retries; returns the envelope's ``data``."""
        return self._exchange(method, path, kind, params=params, body=body, audience_name=audience_name).data

    def _exchange(
        self,
        method: str,
        path: str,
        kind: CallKind,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, Any] | None = None,
        audience_name: str | None = None,
    ) -> Envelope:
        """One logical call with retries; returns TikTok's successful envelope."""
        label = endpoint_label(path)
        if self._token is None:
            raise MissingAccessTokenError(
                f"No TikTok access token is configured, so {label} was not sent: "
                "configure the access token and try again",
                endpoint=label,
            )
        token = self._token.get_secret_value()

        def attempt() -> Envelope:
            try:
                return self._send(method, path, label, token, params, body)
            except TikTokError as error:
                if kind is CallKind.CREATE and may_have_acted(error):
                    raise OutcomeUnknownError(error, audience_name=audience_name) from error
                raise

        def retried() -> Envelope:
            return self._retry.call(attempt, retry_if=lambda error: should_retry(error, kind))

        if kind is not CallKind.IDEMPOTENT_WRITE:
            return retried()
        return self._processing.call(retried, what=_audiences_named(body or {}))

    def _send(
        self,
        method: str,
        path: str,
        label: str,
        token: str,
        params: Mapping[str, str] | None,
        body: Mapping[str, Any] | None,
    ) -> Envelope:
        """One HTTP exchange: send, then turn the answer (or its absence) into an envelope or an error."""
        if self._limiter is not None:
            self._limiter(label)
        headers = {constants.ACCESS_TOKEN_HEADER: token}
        try:
            response = self._http.request(method, path, params=params, json=body, headers=headers)
        except httpx.HTTPError as exc:
            error = self._transport_error(exc, label)
            _log.debug("TikTok %s %s failed: %s", method, path, error)
            raise error from None  # httpx's exception holds the request, token header included
        self._note_server_time(response)
        try:
            envelope = self._envelope(response, label)
        except TransportError as error:
            _log.debug("TikTok %s %s failed: %s", method, path, error)
            raise
        _log.debug(
            "TikTok %s %s -> HTTP %d code %d request_id %s",
            method,
            path,
            response.status_code,
            envelope.code,
            envelope.request_id,
        )
        refusal = None
        if envelope.code != constants.CODE_OK:
            refusal = api_error(
                endpoint=label,
                code=envelope.code,
                tiktok_message=self._redact(envelope.message or ""),
                request_id=envelope.request_id,
            )
        feedback = self._feedback
        if isinstance(refusal, RateLimitedError) and feedback is not None:
            refusal.restriction = feedback.refused(label, refusal.code or envelope.code)
            if refusal.restriction.window == "day":
                why = refusal.restriction.note
                raise DailyQuotaExhaustedError(refusal, server_now=self.server_now(), why=why)
        elif feedback is not None:
            feedback.accepted(label)
        if refusal is not None:
            raise refusal
        return envelope

    def _note_server_time(self, response: httpx.Response) -> None:
        date = response.headers.get("Date")
        if date:  # a malformed Date header keeps the last good one
            with contextlib.suppress(TypeError, ValueError):
                self._server_time = parsedate_to_datetime(date).astimezone(UTC)

    def _transport_error(self, exc: httpx.HTTPError, label: str) -> TransportError:
        """Classify a network failure by whether TikTok may have received the request."""
        text = f"No answer from TikTok {label} at {self._base_url}: {type(exc).__name__}"
        detail = self._redact(str(exc))
        if detail:
            text += f": {detail}"
        if isinstance(exc, httpx.UnsupportedProtocol | httpx.LocalProtocolError):
            return TransportError(text, endpoint=label, may_have_acted=False, transient=False)
        # The connection was never opened: nothing reached TikTok.
        never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        return TransportError(text, endpoint=label, may_have_acted=not never_sent, transient=True)

    def _envelope(self, response: httpx.Response, label: str) -> Envelope:
        """TikTok's envelope from an HTTP answer, or the TransportError that explains its absence."""
        status = response.status_code
        if response.is_success:
            try:
                return Envelope.model_validate_json(response.content)
            except ValidationError:
                problem, acted, transient = "a body that is not TikTok's JSON envelope", True, True
        elif status >= httpx.codes.INTERNAL_SERVER_ERROR:
            # TikTok's gateway failed, possibly after the backend acted.
            problem, acted, transient = f"HTTP {status}", True, True
        elif status == httpx.codes.TOO_MANY_REQUESTS:
            # Refused without being served.
            problem, acted, transient = f"HTTP {status}", False, True
        else:
            problem, acted, transient = (
                f"HTTP {status} (check the endpoint URL {self._base_url})",
                False,
                False,
            )
        snippet = self._redact(response.text[:_SNIPPET_CHARS])
        raise TransportError(
            f"TikTok {label} answered with {problem}: {snippet!r}",
            endpoint=label,
            status_code=status,
            may_have_acted=acted,
            transient=transient,
        )

    @staticmethod
    def _parse(model: type[M], data: Any, path: str) -> M:
        """Validate an envelope's ``data``; an undocumented shape is a TransportError."""
        try:
            return model.model_validate(data if data is not None else {})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<data>'}: {err['msg']}"
                for err in exc.errors()[:3]
            )
            label = endpoint_label(path)
            raise TransportError(
                f"TikTok {label} succeeded but its data is not as documented ({problems})",
                endpoint=label,
                may_have_acted=True,
                transient=False,
            ) from None

    def _redact(self, text: str) -> str:
        """Remove the token from text that came from outside the client."""
        for secret in self._secrets:
            text = text.replace(secret, "<secret>")
        if self._token is None:
            return text
        return text.replace(self._token.get_secret_value(), "<access token>")
