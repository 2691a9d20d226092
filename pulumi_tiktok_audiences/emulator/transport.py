"""The in-process front door: an httpx transport that hands requests straight to the WSGI app.

Zero set-up and no socket: ``httpx.Client(transport=emulator.transport(), base_url=...)`` talks to the
emulator as if over the network. A response dropped by an injected fault surfaces as the error httpx
raises when a server closes the connection without answering, so client retry code sees the same
thing it would see from a real server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from pulumi_tiktok_audiences.emulator.errors import DroppedResponseError

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

# What the in-process transport is reached at; ".invalid" never resolves, so a client that is not
# wired to the transport fails at once instead of reaching some real host.
IN_PROCESS_BASE_URL = "http://tiktok-emulator.invalid"
DROPPED_MESSAGE = "Server disconnected without sending a response."  # httpcore's wording


class EmulatorTransport(httpx.BaseTransport):
    """``httpx.WSGITransport`` plus dropped-response faults."""

    def __init__(self, app: WSGIApplication) -> None:
        self._wsgi = httpx.WSGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return self._wsgi.handle_request(request)
        except DroppedResponseError as exc:
            raise httpx.RemoteProtocolError(DROPPED_MESSAGE, request=request) from exc
