"""The emulator's WSGI application: TikTok's paths and envelope in front of the service, plus controls.

An API request goes through: route (unknown path: HTTP 404, wrong method: HTTP 405, both with an
envelope of code 40400) -> request count -> injected fault -> token (40104 missing, 40105 unknown)
-> sandbox mode (40014: the sandbox serves none of these endpoints; sandbox.py)
-> rate limits (40100: the app's tier, then the per-token control) -> request parsing and validation
(40002) -> business rules. Every business error is HTTP 200 with ``{code, message, request_id, data:
{}}``; malformed bodies (not JSON, not an object, too large, wrong Content-Type) are 40002 too, never
a 500.

Test controls live under ``/_emulator/`` (see the package docstring); they need no token and are
not counted. Requests are logged (logger ``pulumi_tiktok_audiences.emulator``, DEBUG) without query
strings or headers, so tokens never reach the log.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import ClientDisconnected, RequestEntityTooLarge
from werkzeug.http import http_date
from werkzeug.wrappers import Request, Response

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import sandbox, validation
from pulumi_tiktok_audiences.emulator.clock import format_time, parse_time
from pulumi_tiktok_audiences.emulator.errors import ApiError, DroppedResponseError, param_error
from pulumi_tiktok_audiences.emulator.faults import FaultAction
from pulumi_tiktok_audiences.emulator.ratelimit import restricted_message

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

    from pulumi_tiktok_audiences.emulator.service import Endpoint
    from pulumi_tiktok_audiences.emulator.state import EmulatorState

CONTROL_PREFIX = "/_emulator"
MAX_BODY_BYTES = 1 << 20
log = logging.getLogger("pulumi_tiktok_audiences.emulator")

ControlHandler = Callable[[Request], dict[str, Any]]

_FAULT_BODY = validation.Obj(
    {
        "path": validation.Str(),
        "code": validation.Int(),
        "http_status": validation.Int(),
        "latency": validation.Num(0),
        "drop": validation.Bool(),
        "count": validation.Int(1),
        "probability": validation.Num(0),
        "seed": validation.Int(),
        "processed": validation.Bool(),
    }
)
_RATE_LIMIT_BODY = validation.Obj(
    {"token": validation.Str(), "per_second": validation.Num(0), "burst": validation.Int(1)},
    frozenset({"per_second", "burst"}),
)
_RATE_TIER_BODY = validation.Obj(
    {
        "tier": validation.Str(),
        "per_second": validation.Int(1),
        "per_minute": validation.Int(1),
        "per_day": validation.Int(1),
        "per_endpoint": validation.Bool(),
    }
)
_ADVERTISER_QPS_BODY = validation.Obj({"per_second": validation.Int(1)})
_SECONDS_BODY = validation.Obj({"seconds": validation.Num()}, frozenset({"seconds"}))


class EmulatorApp:
    """WSGI callable; stateless itself, everything lives in the :class:`EmulatorState` it fronts."""

    def __init__(self, emulator: EmulatorState) -> None:
        self._emulator = emulator
        self._routes: dict[str, Endpoint] = {e.path: e for e in emulator.endpoints()}
        self._controls: dict[tuple[str, str], ControlHandler] = {
            ("GET", "/requests"): lambda _: {"counts": emulator.request_counts()},
            ("POST", "/requests/reset"): _run(emulator.reset_request_counts),
            ("GET", "/faults"): lambda _: {"faults": emulator.faults()},
            ("POST", "/faults"): self._add_fault,
            ("POST", "/faults/clear"): _run(emulator.clear_faults),
            ("POST", "/rate_limit"): self._set_rate_limit,
            ("POST", "/rate_limit/clear"): _run(emulator.clear_rate_limits),
            ("GET", "/rate_tier"): lambda _: self._rate_tier_state(),
            ("POST", "/rate_tier"): self._set_rate_tier,
            ("POST", "/advertiser_qps"): self._set_advertiser_qps,
            ("GET", "/clock"): lambda _: self._clock_state(),
            ("POST", "/clock/set"): self._clock_set,
            ("POST", "/clock/advance"): self._clock_advance,
            ("POST", "/clock/freeze"): self._clock_freeze,
            ("POST", "/clock/unfreeze"): self._clock_unfreeze,
            ("GET", "/audiences"): self._audiences,
            ("POST", "/reset"): _run(emulator.reset),
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        request.max_content_length = MAX_BODY_BYTES
        drop = False
        try:
            response, drop = self._dispatch(request)
        except Exception:
            log.exception("emulator error on %s %s", request.method, request.path)
            response = self._envelope(constants.CODE_SYS_ERROR, "internal emulator error", status=500)
        log.debug("%s %s -> HTTP %s", request.method, request.path, response.status_code)
        if drop:
            raise DroppedResponseError(
                f"response to {request.method} {request.path} dropped by an injected fault"
            )
        return response(environ, start_response)

    # --- routing --------------------------------------------------------------------------
    def _dispatch(self, request: Request) -> tuple[Response, bool]:
        """The response, and whether an injected fault drops it."""
        path = request.path
        if path.startswith(CONTROL_PREFIX + "/"):
            return self._control(request, path.removeprefix(CONTROL_PREFIX)), False
        endpoint = None
        if path.startswith(constants.API_PREFIX + "/"):
            endpoint = self._routes.get(path.removeprefix(constants.API_PREFIX))
        if endpoint is None:
            message = f"route not found: {path[:200]}"
            return self._envelope(constants.CODE_ROUTE_NOT_FOUND, message, 404), False
        if request.method != endpoint.method:
            message = f"method {request.method} not allowed for {path}; use {endpoint.method}"
            response = self._envelope(constants.CODE_ROUTE_NOT_FOUND, message, 405)
            response.headers["Allow"] = endpoint.method
            return response, False
        self._emulator.count_request(endpoint.path)
        fault = self._emulator.fault_injector.draw(endpoint.path) or FaultAction()
        if fault.latency:
            time.sleep(fault.latency)
        if fault.hold is not None:
            fault.hold.wait()
        if fault.code is not None and not fault.processed:
            return self._envelope(fault.code, f"injected fault: code {fault.code}"), False
        if fault.http_status is not None:
            message = f"injected fault: HTTP {fault.http_status}"
            return self._envelope(constants.CODE_SYS_ERROR, message, fault.http_status), False
        try:
            response = self._envelope(constants.CODE_OK, "OK", data=self._call(request, endpoint))
        except ApiError as error:
            response = self._envelope(error.code, error.message)
        if fault.code is not None:  # processed: carried out, then answered with the code
            response = self._envelope(fault.code, f"injected fault: code {fault.code}")
        return response, fault.drop

    def _call(self, request: Request, endpoint: Endpoint) -> dict[str, Any]:
        header = constants.ACCESS_TOKEN_HEADER
        token = request.headers.get(header) or request.args.get(header)
        if not token:
            raise ApiError(constants.CODE_EMPTY_ACCESS_TOKEN, f"{header} is missing or empty")
        principal = self._emulator.directory.authenticate(token)
        if principal is None:
            raise ApiError(constants.CODE_INVALID_ACCESS_TOKEN, f"{header} is invalid")
        if self._emulator.sandbox or sandbox.is_sandbox_host(request.host):
            raise ApiError(sandbox.REFUSAL_CODE, sandbox.refusal(endpoint.path))
        refusal = self._emulator.app_quota.refusal(
            principal.developer_app, endpoint.path, principal.fingerprint
        )
        if refusal is not None:
            raise ApiError(constants.CODE_REQUEST_TOO_FREQUENT, refusal)
        if not self._emulator.rate_limiter.allow(principal.fingerprint):
            raise ApiError(constants.CODE_REQUEST_TOO_FREQUENT, restricted_message(principal.developer_app))
        if endpoint.method == "GET":
            params = validation.parse_query(request.args.to_dict(flat=False), endpoint.schema)
        else:
            params = endpoint.schema.check(_json_body(request), "")
        advertiser = params.get("advertiser_id")
        if isinstance(advertiser, str):
            qps = self._emulator.advertiser_qps.refusal(advertiser, endpoint.path)
            if qps is not None:
                raise ApiError(constants.CODE_ADVERTISER_QPS_LIMIT, qps)
        if endpoint.extra_check is not None:
            endpoint.extra_check(params)
        return endpoint.handler(principal, params)

    # --- controls -------------------------------------------------------------------------
    def _control(self, request: Request, path: str) -> Response:
        handler = self._controls.get((request.method, path))
        if handler is None:
            known = sorted(f"{m} {CONTROL_PREFIX}{p}" for m, p in self._controls)
            return self._envelope(constants.CODE_ROUTE_NOT_FOUND, f"unknown control; known: {known}", 404)
        try:
            return self._envelope(constants.CODE_OK, "OK", data=handler(request))
        except ApiError as error:
            return self._envelope(error.code, error.message, 400)
        except ValueError as error:
            return self._envelope(constants.CODE_PARAM_ERROR, str(error), 400)

    def _add_fault(self, request: Request) -> dict[str, Any]:
        body = _FAULT_BODY.check(_json_body(request), "")
        return {"fault_id": self._emulator.inject_fault(**body)}

    def _set_rate_limit(self, request: Request) -> dict[str, Any]:
        body = _RATE_LIMIT_BODY.check(_json_body(request), "")
        self._emulator.set_rate_limit(body.get("token"), body["per_second"], body["burst"])
        return {}

    def _set_advertiser_qps(self, request: Request) -> dict[str, Any]:
        """``{"per_second": n}`` or ``{}`` (no limit)."""
        body = _ADVERTISER_QPS_BODY.check(_json_body(request, allow_empty=True), "")
        self._emulator.set_advertiser_qps(body.get("per_second"))
        return {}

    def _set_rate_tier(self, request: Request) -> dict[str, Any]:
        """``{"tier": name}``, ``{"per_second", "per_minute", "per_day", "per_endpoint"?}`` or ``{}``
        (no limits)."""
        body = _RATE_TIER_BODY.check(_json_body(request, allow_empty=True), "")
        numbers = {key: body[key] for key in ("per_second", "per_minute", "per_day") if key in body}
        if "tier" in body and len(body) > 1:
            raise param_error("give either tier or per_second, per_minute and per_day, not both")
        if numbers and len(numbers) < len(("per_second", "per_minute", "per_day")):
            raise param_error("per_second, per_minute and per_day go together")
        if numbers:
            tier: str | constants.RateTier | None = constants.RateTier(
                **numbers, per_endpoint=body.get("per_endpoint", False)
            )
        else:
            tier = body.get("tier")
        self._emulator.set_rate_tier(tier)
        return self._rate_tier_state()

    def _rate_tier_state(self) -> dict[str, Any]:
        tier = self._emulator.app_quota.tier
        return {
            "tier": None if tier is None else tier._asdict(),
            "suspensions": self._emulator.suspensions(),
        }

    def _clock_state(self) -> dict[str, Any]:
        clock = self._emulator.clock
        epoch = clock.time()
        return {"now": format_time(epoch), "epoch": epoch, "frozen": clock.frozen}

    def _clock_set(self, request: Request) -> dict[str, Any]:
        moment = _moment(_json_body(request))
        if moment is None:
            raise param_error("time: field is required")
        self._emulator.clock.set(moment)
        return self._clock_state()

    def _clock_advance(self, request: Request) -> dict[str, Any]:
        self._emulator.clock.advance(_SECONDS_BODY.check(_json_body(request), "")["seconds"])
        return self._clock_state()

    def _clock_freeze(self, request: Request) -> dict[str, Any]:
        self._emulator.clock.freeze(_moment(_json_body(request, allow_empty=True)))
        return self._clock_state()

    def _clock_unfreeze(self, _: Request) -> dict[str, Any]:
        self._emulator.clock.unfreeze()
        return self._clock_state()

    def _audiences(self, request: Request) -> dict[str, Any]:
        include_deleted = request.args.get("include_deleted", "").lower() in {"1", "true", "yes"}
        audiences = self._emulator.audiences(
            request.args.get("advertiser_id"), include_deleted=include_deleted
        )
        return {"audiences": audiences}

    # --- envelope -------------------------------------------------------------------------
    def _envelope(
        self, code: int, message: str, status: int = 200, data: dict[str, Any] | None = None
    ) -> Response:
        """TikTok's response shape; ``data`` is ``{}`` on errors (what TikTok sends there is unknown)."""
        request_id = self._emulator.clock.now().strftime("%Y%m%d%H%M%S") + secrets.token_hex(5).upper()
        body = {"code": code, "message": message, "request_id": request_id, "data": data or {}}
        response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
        # HTTP's Date from the emulator's clock, so that clients compare expiry times with the
        # server's "now" (as they would with TikTok's) even when a test moves that clock.
        response.headers["Date"] = http_date(self._emulator.clock.now())
        return response


def _run(action: Callable[[], None]) -> ControlHandler:
    """A control that takes no input and returns no data."""

    def handler(_: Request) -> dict[str, Any]:
        action()
        return {}

    return handler


def _json_body(request: Request, allow_empty: bool = False) -> Any:
    """The request's JSON body, or 40002 saying why it cannot be read."""
    if request.mimetype != "application/json":
        raise param_error(f"Content-Type must be application/json, got {request.mimetype or 'none'!r}")
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise param_error(f"request body is larger than {MAX_BODY_BYTES} bytes") from None
    except ClientDisconnected:
        raise param_error("request body ended before the announced Content-Length") from None
    if allow_empty and not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise param_error("request body is not valid JSON") from None


def _moment(body: Any) -> float | None:
    """The optional ``time`` of a clock control: "YYYY-MM-DD HH:MM:SS" (UTC), ISO 8601 or epoch."""
    if not isinstance(body, dict) or set(body) - {"time"}:
        raise param_error('body must be {"time": "YYYY-MM-DD HH:MM:SS" or epoch seconds}')
    value = body.get("time")
    if value is None:
        return None
    if isinstance(value, str):
        return parse_time(value)
    return validation.Num().check(value, "time")
