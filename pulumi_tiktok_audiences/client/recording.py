"""Record every exchange with TikTok as a JSON file, credentials removed, to replay it in tests.

Wrap any httpx transport (``Recorder(folder, secrets=[token]).transport(httpx.HTTPTransport())``)
and give it to :class:`TikTokClient`. Each request and its answer become one file,
``NNNN-<endpoint>.json``, numbered in the order sent::

    {"method": "GET", "path": "/open_api/v1.3/dmp/custom_audience/list/", "endpoint": "list",
     "query": {"advertiser_id": "..."}, "body": null, "status": 200, "answer": {"code": 0, ...}}

Headers are not recorded (the access token travels in one); query parameters that carry a
credential are dropped; and every given secret is replaced by ``<redacted>`` wherever it appears
(query, body, answer, error text) before anything is written. A folder of recordings from a real
account can thus be shared and copied into the test fixtures, where the replay test runs the
client's readers over it.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

import httpx

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client.errors import endpoint_label

REDACTED: Final = "<redacted>"
# Query parameters that carry a credential: never written (TikTok's files declare the token as a
# query parameter too; oauth2/advertiser/get takes the developer app's secret there).
CREDENTIAL_PARAMS: Final = frozenset({constants.ACCESS_TOKEN_HEADER.lower(), "access_token", "secret"})


class Recorder:
    """Writes exchanges into ``folder`` (created if needed); safe to share between threads."""

    def __init__(self, folder: Path, *, secrets: Iterable[str | None]) -> None:
        self.folder = folder
        self._secrets = sorted({s for s in secrets if s}, key=len, reverse=True)
        self._lock = threading.Lock()
        self._count = len(list(folder.glob("[0-9][0-9][0-9][0-9]-*.json"))) if folder.exists() else 0

    def transport(self, inner: httpx.BaseTransport) -> RecordingTransport:
        return RecordingTransport(inner, self)

    def record(self, request: httpx.Request, response: httpx.Response | None, error: str | None) -> Path:
        """Write one exchange; bodies as JSON, or as text (``body_text``, ``answer_text``) if not JSON."""
        label = endpoint_label(request.url.path.removeprefix(constants.API_PREFIX))
        entry: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "endpoint": label,
            "query": _query(request.url.params),
            **_content("body", request.content),
        }
        if response is not None:
            entry["status"] = response.status_code
            entry.update(_content("answer", response.content))
        if error is not None:
            entry["error"] = error
        text = self.scrub(json.dumps(entry, ensure_ascii=False, indent=1, sort_keys=False))
        with self._lock:
            self._count += 1
            self.folder.mkdir(parents=True, exist_ok=True)
            path = self.folder / f"{self._count:04d}-{label.replace('/', '_') or 'root'}.json"
            path.write_text(text + "\n", encoding="utf-8")
        return path

    def scrub(self, text: str) -> str:
        """``text`` with every secret replaced (the longest first, so none survives in part)."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
            text = text.replace(json.dumps(secret)[1:-1], REDACTED)  # as escaped inside JSON strings
        return text


class RecordingTransport(httpx.BaseTransport):
    """An httpx transport that hands every exchange to a :class:`Recorder`, then answers as ``inner``."""

    def __init__(self, inner: httpx.BaseTransport, recorder: Recorder) -> None:
        self._inner = inner
        self._recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        try:
            response = self._inner.handle_request(request)
        except httpx.HTTPError as exc:
            self._recorder.record(request, None, type(exc).__name__)
            raise
        response.read()
        self._recorder.record(request, response, None)
        return response

    def close(self) -> None:
        self._inner.close()


def _query(params: httpx.QueryParams) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for key in params:
        if key.lower() in CREDENTIAL_PARAMS:
            continue
        values = params.get_list(key)
        query[key] = values[0] if len(values) == 1 else values
    return query


def _content(key: str, content: bytes) -> dict[str, Any]:
    """``{key: JSON}``, or ``{key_text: text}`` for content that is not JSON (none: ``{key: None}``)."""
    text = content.decode("utf-8", errors="replace")
    if not text:
        return {key: None}
    try:
        return {key: json.loads(text)}
    except ValueError:
        return {f"{key}_text": text}
