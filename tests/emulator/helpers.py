"""Request builders and a thin envelope-checking wrapper around a plain httpx client."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, DEFAULT_APP_ID

REQUEST_ID = re.compile(r"[0-9]{14}[0-9A-F]+")
TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")


def rule(
    event: str = "PURCHASE", days: int = 30, apps: list[str] | None = None, **extra: Any
) -> dict[str, Any]:
    """One APP rule as TikTok documents it."""
    return {
        "event_source_ids": apps if apps is not None else [DEFAULT_APP_ID],
        "retention_days": days,
        "filter_set": {"operator": "OR", "filters": [{"field": "EVENT", "operator": "EQ", "value": event}]},
        **extra,
    }


def create_body(
    name: str = "buyers",
    include: list[dict[str, Any]] | None = None,
    exclude: list[dict[str, Any]] | None = None,
    advertiser_id: str = DEFAULT_ADVERTISER_ID,
    **extra: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"inclusion_rule_set": {"operator": "OR", "rules": include or [rule()]}}
    if exclude:
        spec["exclusion_rule_set"] = {"operator": "OR", "rules": exclude}
    return {
        "advertiser_id": advertiser_id,
        "custom_audience_name": name,
        "audience_type": "APP",
        "rule_spec": spec,
        **extra,
    }


def lookalike_body(source_id: str, advertiser_id: str = DEFAULT_ADVERTISER_ID, **spec: Any) -> dict[str, Any]:
    return {
        "advertiser_id": advertiser_id,
        "custom_audience_name": "lookalike",
        "lookalike_spec": {
            "source_audience_id": source_id,
            "include_source": False,
            "mobile_os": "ALL",
            "placements": ["TikTok"],
            "location_ids": ["6252001"],
            "audience_size": "BALANCED",
            **spec,
        },
    }


def encode_query(params: dict[str, Any]) -> dict[str, str]:
    """Query values as TikTok clients send them: lists as ONE JSON array string."""
    return {k: json.dumps(v) if isinstance(v, list) else str(v) for k, v in params.items()}


class Api:
    """Calls an emulator front door and checks the envelope of every answer."""

    def __init__(self, client: httpx.Client) -> None:
        self.client = client

    def post(self, path: str, body: Any) -> dict[str, Any]:
        return self._check(self.client.post(path, json=body))

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        return self._check(self.client.get(path, params=encode_query(params)))

    def ok(self, method: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Call and require code 0; returns ``data``."""
        answer = self.post(path, payload) if method == "POST" else self.get(path, **payload)
        assert answer["code"] == 0, answer
        data: dict[str, Any] = answer["data"]
        return data

    def create(self, **kwargs: Any) -> str:
        audience_id: str = self.ok("POST", constants.PATH_RULE_CREATE, create_body(**kwargs))[
            "custom_audience_id"
        ]
        return audience_id

    def details(self, audience_id: str, advertiser_id: str = DEFAULT_ADVERTISER_ID) -> dict[str, Any]:
        data = self.ok(
            "GET", constants.PATH_GET, {"advertiser_id": advertiser_id, "custom_audience_ids": [audience_id]}
        )
        (item,) = data["list"]
        details: dict[str, Any] = item["audience_details"]
        return details

    def listing(self, advertiser_id: str = DEFAULT_ADVERTISER_ID, **params: Any) -> dict[str, Any]:
        return self.ok("GET", constants.PATH_LIST, {"advertiser_id": advertiser_id, **params})

    @staticmethod
    def _check(response: httpx.Response) -> dict[str, Any]:
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        body: dict[str, Any] = response.json()
        assert set(body) == {"code", "message", "request_id", "data"}, body
        assert isinstance(body["code"], int)
        assert isinstance(body["message"], str)
        assert REQUEST_ID.fullmatch(body["request_id"]), body["request_id"]
        assert isinstance(body["data"], dict)
        return body
