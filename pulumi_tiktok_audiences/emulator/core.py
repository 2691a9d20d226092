"""The :class:`Emulator`: the emulator's state (state.py) behind two front doors, an in-process httpx
transport and a threaded HTTP server, both serving the one WSGI app (app.py).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

import httpx

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.emulator.app import EmulatorApp
from pulumi_tiktok_audiences.emulator.seed import DEFAULT_TOKEN
from pulumi_tiktok_audiences.emulator.server import DEFAULT_HOST, RunningServer
from pulumi_tiktok_audiences.emulator.state import EmulatorState
from pulumi_tiktok_audiences.emulator.transport import IN_PROCESS_BASE_URL, EmulatorTransport


class Emulator(EmulatorState):
    """A local TikTok custom-audience API (the parameters are :class:`EmulatorState`'s)."""

    @cached_property
    def wsgi_app(self) -> EmulatorApp:
        """The WSGI app both doors serve (stateless itself: everything lives in this emulator)."""
        return EmulatorApp(self)

    # --- front doors ----------------------------------------------------------------------
    def transport(self) -> httpx.BaseTransport:
        """An httpx transport serving requests in-process (use any base URL, e.g. IN_PROCESS_BASE_URL)."""
        return EmulatorTransport(self.wsgi_app)

    def client(self, token: str | None = DEFAULT_TOKEN, **kwargs: Any) -> httpx.Client:
        """An httpx client on the in-process transport, sending ``token`` (None: no token header)."""
        headers = {constants.ACCESS_TOKEN_HEADER: token} if token is not None else {}
        return httpx.Client(
            transport=self.transport(),
            base_url=IN_PROCESS_BASE_URL + constants.API_PREFIX,
            headers=headers,
            **kwargs,
        )

    def serve(self, host: str = DEFAULT_HOST, port: int = 0) -> RunningServer:
        """Start a threaded HTTP server in the background (port 0: any free port)."""
        return RunningServer(self.wsgi_app, host, port)
