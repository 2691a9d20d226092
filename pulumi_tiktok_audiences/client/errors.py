"""The client's exceptions: one hierarchy, each error saying what failed and what to do.

Every error carries TikTok's ``code``, ``message`` and ``request_id`` when TikTok sent them,
plus the ``endpoint`` label (``rule/create``, ``get`` ...) so that a failure can be traced in
TikTok's logs. None of them ever holds the access token: they are built from TikTok's answer
and our own text only, never from the request headers.

::

    TikTokAudiencesError              (pulumi_tiktok_audiences.errors, the package's root)
    └── TikTokError
    ├── MissingAccessTokenError
    ├── TikTokApiError                (HTTP 200, envelope code != 0)
    │   ├── AuthenticationError       40102 / 40104 / 40105
    │   ├── PermissionDeniedError     40001
    │   ├── InvalidRequestError       40000 / 40002 / 40011
    │   │   └── AudienceBusyError     40002 saying the audience is being updated or processed
    │   ├── NotFoundError             40007
    │   ├── SandboxUnsupportedError   40008 / 40009 / 40014: the sandbox serves no audience endpoint
    │   ├── BackendValidationError    40700
    │   ├── RateLimitedError          constants.RATE_LIMIT_CODES
    │   │   ├── BlocklistedError      61000
    │   │   └── DailyQuotaExhaustedError  one the pacer took for the spent daily quota
    │   └── ServerError               constants.SERVER_RETRY_CODES (every 5xxxx code)
    ├── TransportError                connection failures, HTTP errors, answers that are no envelope
    ├── OutcomeUnknownError           a create was sent but its answer was lost
    ├── CreatedWithoutIdError         a create succeeded (code 0) but named no readable id
    ├── StillProcessingError          an audience stayed "being processed" past the wait's bound
    └── RetriesExhaustedError         a transient failure outlasted the retry policy

Each API error class says whether TikTok may have acted although it answered with an error
(``may_have_acted``): a create answered so is looked for before anything is sent again
(recovery.py), never resent blindly. Sources for each class are on the class.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.errors import TikTokAudiencesError


def endpoint_label(path: str) -> str:
    """``/dmp/custom_audience/rule/create/`` -> ``rule/create``: the name used in messages."""
    return path.removeprefix("/dmp/custom_audience/").strip("/")


class TikTokError(TikTokAudiencesError):
    """Base of every error raised by the TikTok client (under the package's root error)."""

    def __init__(
        self,
        message: str,
        *,
        endpoint: str = "",
        code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.endpoint = endpoint
        self.code = code
        self.request_id = request_id

    def __str__(self) -> str:
        return self.message


class MissingAccessTokenError(TikTokError):
    """No access token was configured; raised before any request is sent."""


class TikTokApiError(TikTokError):
    """TikTok answered with a non-zero ``code`` in its envelope (HTTP 200)."""

    codes: frozenset[int] = frozenset()  # the envelope codes a subclass stands for
    hint = ""  # what to do, appended to the message
    may_have_acted = False
    """Whether TikTok may have carried out the request although it answered with this code. True for
    codes no source says are answered before acting (server failures, backend errors), so that a
    create answered with one goes through the lost-answer lookup instead of a blind resend."""

    def __init__(self, *, endpoint: str, code: int, tiktok_message: str, request_id: str | None) -> None:
        self.tiktok_message = tiktok_message
        text = f"TikTok rejected {endpoint}: [{code}] {tiktok_message or '(no message)'}"
        text += f" (request_id {request_id or 'unknown'})"
        if self.hint:
            text += f". {self.hint}"
        super().__init__(text, endpoint=endpoint, code=code, request_id=request_id)


class AuthenticationError(TikTokApiError):
    """The access token is missing, expired, invalid or revoked."""

    codes = frozenset(
        {
            constants.CODE_ACCESS_TOKEN_EXPIRE,
            constants.CODE_EMPTY_ACCESS_TOKEN,
            constants.CODE_INVALID_ACCESS_TOKEN,
        }
    )
    # refresh and destroy rebuild the provider from the config saved in state (reference §9.8).
    hint = (
        "Check the configured access token: it may be expired or revoked; re-authorise the app. "
        "`pulumi refresh` and `pulumi destroy` use the token saved by the last `pulumi up`: after "
        "changing it in the stack config, run `pulumi up` first (or pass --run-program)"
    )


class PermissionDeniedError(TikTokApiError):
    """The token may not act on this advertiser or audience."""

    codes = frozenset({constants.CODE_PERMISSION_ERROR})
    hint = (
        "Check that the token is authorised for this advertiser and has the Audience scope, "
        "and that the audience belongs to (or is shared with) the advertiser"
    )


class InvalidRequestError(TikTokApiError):
    """TikTok refused the parameters (bad value, missing field, too many IDs)."""

    codes = frozenset(
        {constants.CODE_INVALID_PARAMS, constants.CODE_PARAM_ERROR, constants.CODE_ID_LIMIT_EXCEED}
    )
    hint = "Fix the request parameters named in TikTok's message; retrying unchanged will fail again"


_BUSY = re.compile(
    r"being updated|under processing|being processed|not editable|check (the )?audience status",
    re.IGNORECASE,
)


def is_busy_message(message: str) -> bool:
    """Whether a 40002 says the audience is busy rather than the parameters wrong.

    TikTok's Return Codes page gives 40002 for "the audience is currently being updated or under
    processing", and one answer reads "Audience is not editable, please check audience status"
    (reference §7.3, unconfirmed wording). ASSUMPTION: TikTok's message carries one of those phrases;
    any other 40002 is a parameter error and is raised at once. A busy answer whose wording differs
    is then reported as a parameter error, never waited on forever (docs/operations/errors.md).
    """
    return bool(_BUSY.search(message))


class AudienceBusyError(InvalidRequestError):
    """40002 because the audience is still being created or recalculated: the same call succeeds later.

    Update, rename and delete right after a create, or while TikTok recalculates, are refused so for
    a while (reference §7.3); the client waits and tries again within a bound (client/processing.py).
    """

    hint = "TikTok is still processing the audience; wait until it is done, then try again"


class NotFoundError(TikTokApiError):
    """The audience (or other resource) does not exist."""

    codes = frozenset({constants.CODE_NOT_EXIST})
    hint = "The resource does not exist (it may have been deleted outside this program)"


class SandboxUnsupportedError(TikTokApiError):
    """The endpoint is not served where the request went: TikTok's sandbox serves no ``/dmp/``
    (audience) endpoint and not ``/app/list/`` (reference §7.1, AE's copy of TikTok's sandbox page)."""

    codes = constants.SANDBOX_UNSUPPORTED_CODES
    hint = (
        "TikTok's sandbox (sandbox-ads.tiktok.com) serves no audience endpoints (/dmp/...) nor /app/list/; "
        "it can only prove authentication. Use a production ad account set aside for tests "
        "(docs/operations/live-tests.md)"
    )


class BackendValidationError(TikTokApiError):
    """40700, RPC_VALIDATION_ERROR: a backend service refused what the gateway accepted (reference §4.1,
    §7.4). Not retried; since it comes from behind the gateway, a create answered so is looked for."""

    codes = frozenset({constants.CODE_RPC_VALIDATION_ERROR})
    hint = (
        "TikTok's audience service refused the request; check the values named in its message. "
        "Retrying unchanged will fail again"
    )
    may_have_acted = True


@dataclass(frozen=True)
class Restriction:
    """Which of TikTok's windows a rate-limit refusal is taken to be, inferred by the pacer from the
    app's own counts and from how long the refusals last (TikTok's text names no window, reference
    §7.2): ``second`` or ``minute`` (wait ``wait_seconds``, then try again) or ``day``; ``note`` says so
    for the people waiting."""

    window: str
    wait_seconds: float
    note: str = ""


class RateLimitedError(TikTokApiError):
    """TikTok throttled the request without acting on it."""

    codes = constants.RATE_LIMIT_CODES
    restriction: Restriction | None = None
    """Set by the client's pacer, when it has one."""
    hint = (
        "TikTok suspends a developer app that goes over its requests per second or per minute (for up "
        "to 5 minutes) or per day (until 00:00 UTC), counting the requests of every tool using the app; "
        "wait, then run again, or lower the request rate"
    )


class BlocklistedError(RateLimitedError):
    """61000, TOO_MANY_REQUESTS_BL: TikTok's backend refusing too many requests (reference §4.1: retry
    with a long back-off). Unlike the gateway's 40100, no source says it is answered before the request
    is carried out, so a create answered with it is looked for before it is sent again."""

    codes = frozenset({constants.CODE_TOO_MANY_REQUESTS_BL})
    may_have_acted = True


class DailyQuotaExhaustedError(RateLimitedError):
    """The app's daily quota is spent: TikTok refuses its requests until 00:00 UTC."""

    def __init__(self, error: RateLimitedError, *, server_now: datetime, why: str = "") -> None:
        super().__init__(
            endpoint=error.endpoint,
            code=error.code or constants.CODE_REQUEST_TOO_FREQUENT,
            tiktok_message=error.tiktok_message,
            request_id=error.request_id,
        )
        day = server_now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.resets_at = day + timedelta(days=1)
        left = int((self.resets_at - server_now).total_seconds()) // 60
        self.message = (
            f"TikTok rejected {error.endpoint}: [{self.code}] {error.tiktok_message} (request_id "
            f"{error.request_id or 'unknown'}). {why + ' ' if why else ''}The developer app's daily request "
            "quota is spent: TikTok "
            f"accepts its requests again at {self.resets_at:%Y-%m-%d %H:%M} UTC (in {left // 60} h "
            f"{left % 60} min). TikTok did not act on this request; run again after that time, or ask "
            "TikTok for a higher rate-limit tier"
        )


class ServerError(TikTokApiError):
    """A failure inside TikTok; the request may or may not have taken effect."""

    codes = constants.SERVER_RETRY_CODES
    hint = "A temporary failure inside TikTok; try again later"
    may_have_acted = True  # e.g. 50002 SYS_TIMEOUT: "confirm a create did not already land" (§4.1)


_API_ERROR_CLASSES: tuple[type[TikTokApiError], ...] = (  # the first whose codes hold the code wins
    AuthenticationError,
    PermissionDeniedError,
    InvalidRequestError,
    NotFoundError,
    SandboxUnsupportedError,
    BackendValidationError,
    BlocklistedError,
    RateLimitedError,
    ServerError,
)


def api_error(*, endpoint: str, code: int, tiktok_message: str, request_id: str | None) -> TikTokApiError:
    """The typed error for a non-zero envelope ``code`` (the base class for unlisted codes)."""
    cls = next((c for c in _API_ERROR_CLASSES if code in c.codes), TikTokApiError)
    if cls is InvalidRequestError and code == constants.CODE_PARAM_ERROR and is_busy_message(tiktok_message):
        cls = AudienceBusyError
    return cls(endpoint=endpoint, code=code, tiktok_message=tiktok_message, request_id=request_id)


class TransportError(TikTokError):
    """No usable TikTok answer: a connection failure, an HTTP error or a body that is no envelope.

    ``may_have_acted`` is False only when TikTok certainly did not carry out the request (the
    connection could not be opened, or a gateway refused it), so a create may be sent again.
    ``transient`` says whether trying again may help.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str,
        may_have_acted: bool,
        transient: bool,
        status_code: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, endpoint=endpoint, request_id=request_id)
        self.may_have_acted = may_have_acted
        self.transient = transient
        self.status_code = status_code


class OutcomeUnknownError(TikTokError):
    """A create reached TikTok (or may have) but its answer was lost or was a server error.

    It is never retried blindly, because a second create could make a duplicate audience:
    look for the audience (for example by listing and matching the name) before creating again.
    """

    def __init__(self, cause: TikTokError, *, audience_name: str | None) -> None:
        self.audience_name = audience_name
        self.cause = cause
        named = f" named {audience_name!r}" if audience_name else ""
        text = (
            f"TikTok {cause.endpoint} may or may not have created the audience{named}: {cause.message}. "
            "Do not simply retry: first look for the audience (list the advertiser's audiences and "
            "match the name), then create it only if it is missing"
        )
        super().__init__(text, endpoint=cause.endpoint, code=cause.code, request_id=cause.request_id)


class CreatedWithoutIdError(TikTokError):
    """TikTok answered a create with code 0 (it created the audience) but no readable new id.

    Distinct from :class:`OutcomeUnknownError`: the create certainly happened, so it must never be
    sent again. Find the audience by listing (one that was not there before), or ask the user to.
    """

    def __init__(self, *, endpoint: str, audience_name: str | None, request_id: str | None, data: object):
        self.audience_name = audience_name
        shape = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        named = f" {audience_name!r}" if audience_name else ""
        text = (
            f"TikTok {endpoint} created the audience{named} (code 0, request_id {request_id or 'unknown'}) "
            f"but its answer holds no readable audience id (data: {shape}); it must not be created again"
        )
        super().__init__(text, endpoint=endpoint, code=0, request_id=request_id)


class StillProcessingError(TikTokError):
    """TikTok kept answering that the audience is being processed for longer than the wait's bound."""

    def __init__(self, last_error: AudienceBusyError, *, audience: str, waited_seconds: float) -> None:
        self.last_error = last_error
        self.waited_seconds = waited_seconds
        minutes = waited_seconds / 60
        text = (
            f"TikTok still refuses {last_error.endpoint} of {audience} after {minutes:.1f} min: it says the "
            f"audience is being updated or processed ([{last_error.code}] {last_error.tiktok_message}, "
            f"request_id {last_error.request_id or 'unknown'}). Nothing was changed. Wait until TikTok has "
            "finished (the audience's status in TikTok Ads Manager), then run the operation again; or "
            "wait longer by raising tiktok:processingWaitSeconds"
        )
        super().__init__(
            text, endpoint=last_error.endpoint, code=last_error.code, request_id=last_error.request_id
        )


class RetriesExhaustedError(TikTokError):
    """A transient failure (rate limit, server error, connection) outlasted the retry policy.

    Only failures after which re-running is safe are retried, so the message says so.
    ``last_error`` is the final attempt's error; its code and request_id are copied here.
    """

    def __init__(self, last_error: TikTokError, *, attempts: int, elapsed_seconds: float) -> None:
        self.last_error = last_error
        self.attempts = attempts
        self.elapsed_seconds = elapsed_seconds
        text = (
            f"TikTok {last_error.endpoint} still failing after {attempts} attempt"
            f"{'s' if attempts != 1 else ''} over {elapsed_seconds:.1f} s; last error: "
            f"{last_error.message}. Only failures after which repeating the call is safe are retried "
            "(TikTok did not act, or the call is a read or an idempotent update), so re-running is "
            "safe; try again later"
        )
        super().__init__(
            text, endpoint=last_error.endpoint, code=last_error.code, request_id=last_error.request_id
        )
