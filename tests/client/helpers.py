"""Helpers for client tests: a recording MockTransport, TikTok envelopes, a fake clock."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import httpx

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import RetryPolicy, TikTokClient

# Distinctive, so that any leak into text is found by a plain substring search.
TOKEN = "tok-SECRET-7f3Qz9-DO-NOT-LEAK"
ADVERTISER = "7000000000000000001"
APP_ID = "6400000001"
REQUEST_ID = "20240102030405ABCDEF"

Answer = httpx.Response | Exception
Handler = Callable[[httpx.Request], httpx.Response]


def envelope(
    data: Any = None, *, code: int = 0, message: str = "OK", request_id: str = REQUEST_ID
) -> httpx.Response:
    """An HTTP 200 answer in TikTok's envelope (errors too arrive as HTTP 200)."""
    body = {"code": code, "message": message, "request_id": request_id, "data": {} if data is None else data}
    return httpx.Response(200, json=body)


def api_error(code: int, message: str = "something is wrong") -> httpx.Response:
    return envelope(code=code, message=message)


def minimal_app_payload(name: str = "cart-30d") -> dict[str, Any]:
    """A minimal APP rule/create body, written by hand from the reference (§2.1)."""
    return {
        "advertiser_id": ADVERTISER,
        "custom_audience_name": name,
        "audience_type": "APP",
        "rule_spec": {
            "inclusion_rule_set": {
                "operator": "OR",
                "rules": [
                    {
                        "event_source_ids": [APP_ID],
                        "retention_days": 30,
                        "filter_set": {
                            "operator": "OR",
                            "filters": [{"field": "EVENT", "operator": "EQ", "value": "APP ADD TO CART"}],
                        },
                    }
                ],
            }
        },
    }


def lookalike_payload(source_id: str) -> dict[str, Any]:
    return {
        "advertiser_id": ADVERTISER,
        "custom_audience_name": "lookalike-of-cart",
        "lookalike_spec": {
            "source_audience_id": source_id,
            "include_source": False,
            "mobile_os": "ALL",
            "placements": ["TikTok"],
            "location_ids": ["6252001"],
            "audience_size": "NARROW",
        },
    }


def query(request: httpx.Request) -> dict[str, str]:
    """The query parameters as sent; fails if a key is repeated (TikTok wants one JSON array)."""
    items = request.url.params.multi_items()
    assert len({k for k, _ in items}) == len(items), f"repeated query keys: {items}"
    return dict(items)


def body(request: httpx.Request) -> Any:
    return json.loads(request.content)


def ids_of(request: httpx.Request) -> list[str]:
    """The custom_audience_ids of a GET (JSON array in the query) or a POST body."""
    if request.method == "GET":
        ids = json.loads(query(request)["custom_audience_ids"])
    else:
        ids = body(request)["custom_audience_ids"]
    assert isinstance(ids, list)
    return [str(i) for i in ids]


class Recorder:
    """A MockTransport handler that records every request and answers from a script or a function.

    A script is consumed in order and its last answer repeats; an exception in it is raised as
    the transport would raise it.
    """

    def __init__(self, answers: Iterable[Answer] | Handler) -> None:
        self.requests: list[httpx.Request] = []
        self._script: list[Answer] | None = None
        self._handler: Handler | None = None
        if callable(answers):
            self._handler = answers
        else:
            self._script = list(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        if self._handler is not None:
            return self._handler(request)
        assert self._script, f"unexpected extra request {request.method} {request.url}"
        answer = self._script.pop(0) if len(self._script) > 1 else self._script[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeClock:
    """A clock that only moves when the code under test sleeps (or a test advances it)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def fast_policy(clock: FakeClock, **overrides: Any) -> RetryPolicy:
    settings: dict[str, Any] = {"max_attempts": 4, "max_elapsed_seconds": 60.0} | overrides
    return RetryPolicy(sleep=clock.sleep, clock=clock.clock, **settings)


def make_client(
    recorder: Recorder, clock: FakeClock | None = None, *, token: str | None = TOKEN, **policy: Any
) -> TikTokClient:
    return TikTokClient(
        token,
        base_url=constants.PRODUCTION_URL,
        transport=httpx.MockTransport(recorder),
        retry=fast_policy(clock or FakeClock(), **policy),
    )


def detail(audience_id: str, **fields: Any) -> dict[str, Any]:
    """One item of get's ``data.list``, shaped as reference §2.3 documents it."""
    details = {
        "audience_id": audience_id,
        "name": f"audience {audience_id}",
        "type": constants.APP_ACTIVITY_TYPE_NAME,
        "audience_sub_type": "NORMAL",
        "cover_num": 0,
        "is_valid": False,
        "is_expiring": False,
        "expired_time": "2025-01-02 03:04:05",
        "create_time": "2024-01-02 03:04:05",
        "shared": False,
        "is_creator": True,
        "owner_id": ADVERTISER,
        "is_auto_refresh": True,
        "rule": "{}",
        "msg": None,
        "error_msg": None,
    } | fields
    history = [
        {
            "action": "create",
            "action_detail": "0",
            "editor": "open_api",
            "msg": None,
            "opt_time": "2024-01-02 03:04:05",
        }
    ]
    return {"audience_details": details, "audience_history": history}


def summary(audience_id: str) -> dict[str, Any]:
    """One item of list's ``data.list`` (reference §2.4)."""
    return {
        "audience_id": audience_id,
        "name": f"audience {audience_id}",
        "audience_type": constants.APP_ACTIVITY_TYPE_NAME,
        "cover_num": 0,
        "is_valid": False,
        "is_expiring": False,
        "expired_time": "2025-01-02 03:04:05",
        "create_time": "2024-01-02 03:04:05",
        "shared": False,
        "is_creator": True,
    }


def fake_api(request: httpx.Request) -> httpx.Response:
    """A well-behaved TikTok: a plausible success answer for every endpoint."""
    path = request.url.path.removeprefix(constants.API_PREFIX)
    if path in (constants.PATH_RULE_CREATE, constants.PATH_LOOKALIKE_CREATE):
        return envelope({"custom_audience_id": "1800000000000000001"})
    if path == constants.PATH_GET:
        return envelope({"list": [detail(i) for i in ids_of(request)]})
    if path == constants.PATH_LIST:
        page_size = int(query(request).get("page_size", "10"))
        return envelope(
            {
                "list": [summary("1800000000000000001")],
                "page_info": {"page": 1, "page_size": page_size, "total_number": 1, "total_page": 1},
            }
        )
    if path == constants.PATH_SHARE_LOG:
        row = {
            "custom_audience_id": query(request)["custom_audience_id"],
            "shared_advertiser_id": "7000000000000000002",
            "shared_advertiser_name": "Partner",
            "status": "SHARED",
        }
        return envelope({"list": [row]})
    return envelope({})


# Every public method of the client once, with the OpenAPI operation it must conform to.
EVERY_CALL: dict[str, tuple[str, Callable[[TikTokClient], object]]] = {
    "create_rule_audience": (
        "dmp_custom_audience_rule_create",
        lambda c: c.create_rule_audience(minimal_app_payload()),
    ),
    "rename_audience": (
        "dmp_custom_audience_update",
        lambda c: c.rename_audience(ADVERTISER, "1800000000000000001", "new name"),
    ),
    "update_audience_sub_type": (
        "dmp_custom_audience_update",
        lambda c: c.update_audience_sub_type(ADVERTISER, "1800000000000000001", "REACH_FREQUENCY", "n"),
    ),
    "get_audiences": (
        "dmp_custom_audience_get",
        lambda c: c.get_audiences(ADVERTISER, ["1800000000000000001", "1800000000000000002"], history_size=5),
    ),
    "list_audiences": ("dmp_custom_audience_list", lambda c: c.list_audiences(ADVERTISER)),
    "list_audiences_filtered": (
        "dmp_custom_audience_list",
        lambda c: c.list_audiences(ADVERTISER, audience_ids=["1800000000000000001"], page_size=50),
    ),
    "delete_audiences": (
        "dmp_custom_audience_delete",
        lambda c: c.delete_audiences(ADVERTISER, ["1800000000000000001", "1800000000000000002"]),
    ),
    "share_audiences": (
        "dmp_custom_audience_share",
        lambda c: c.share_audiences(ADVERTISER, ["1800000000000000001"], ["7000000000000000002"]),
    ),
    "cancel_share": (
        "dmp_custom_audience_share_cancel",
        lambda c: c.cancel_share(ADVERTISER, "1800000000000000001", "7000000000000000002"),
    ),
    "share_log": ("dmp_custom_audience_share_log", lambda c: c.share_log(ADVERTISER, "1800000000000000001")),
    "create_lookalike": (
        "dmp_custom_audience_lookalike_create",
        lambda c: c.create_lookalike(lookalike_payload("1800000000000000001")),
    ),
    "refresh_lookalikes": (
        "dmp_custom_audience_lookalike_update",
        lambda c: c.refresh_lookalikes(ADVERTISER, ["1800000000000000003"]),
    ),
    "list_apps": ("app_list", lambda c: c.list_apps(ADVERTISER)),
}
