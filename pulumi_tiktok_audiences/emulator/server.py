"""The network front door: a threaded HTTP server running the WSGI app in a background thread.

``with emulator.serve() as server: httpx.get(server.url + ...)``. It listens on 127.0.0.1 by
default: the emulator has no real security (its controls need no token) and is for local use only.
"""

from __future__ import annotations

import json
import threading
from types import TracebackType
from typing import TYPE_CHECKING

from werkzeug.serving import WSGIRequestHandler, make_server

from pulumi_tiktok_audiences.constants import CODE_PARAM_ERROR

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication, WSGIEnvironment

DEFAULT_HOST = "127.0.0.1"
_POLL_INTERVAL = 0.05  # how quickly shutdown() is noticed


class _Handler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Silent: the request line may carry an ``Access-Token`` query parameter."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Status line and Server only: the app's ``Date`` follows the emulator's clock, and
        http.server's own (real time) would come first and win."""
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """A request the HTTP layer refuses before the app sees it (bad syntax, a request line or
        headers too long): TikTok's envelope instead of http.server's HTML page, and nothing logged,
        since the refused request line may carry an ``Access-Token`` query parameter."""
        reason = self.responses.get(code, ("error",))[0]
        body = json.dumps(
            {"code": CODE_PARAM_ERROR, "message": f"HTTP {code}: {reason}", "request_id": "", "data": {}}
        ).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command != "HEAD":
            self.wfile.write(body)

    def connection_dropped(self, error: BaseException, environ: WSGIEnvironment | None = None) -> None:
        """A dropped-response fault (or a client gone): close without writing anything."""
        self.close_connection = True


class RunningServer:
    """A started server; stop it with :meth:`shutdown` or by leaving the ``with`` block."""

    def __init__(self, app: WSGIApplication, host: str = DEFAULT_HOST, port: int = 0) -> None:
        self._server = make_server(host, port, app, threaded=True, request_handler=_Handler)
        self.host = host
        self.port: int = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _POLL_INTERVAL},
            name=f"tiktok-emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()
        self._stopped = False

    @property
    def url(self) -> str:
        """Base URL, without the API prefix, e.g. ``http://127.0.0.1:54321``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def shutdown(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.shutdown()
