"""The one exception type the emulator's request path raises: a TikTok return code and its message.

The WSGI app turns it into TikTok's envelope (HTTP 200, ``code``, ``message``); raising instead of
returning keeps validation and business rules free of response plumbing.
"""

from __future__ import annotations

from pulumi_tiktok_audiences import constants


class ApiError(Exception):
    """A business error answered as ``{"code": code, "message": message}``."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def param_error(message: str) -> ApiError:
    """40002, TikTok's code for a bad field; ``message`` starts with the field path."""
    return ApiError(constants.CODE_PARAM_ERROR, message)


def permission_error(message: str) -> ApiError:
    """40001: the token may not act for this advertiser, app or audience."""
    return ApiError(constants.CODE_PERMISSION_ERROR, message)


class DroppedResponseError(ConnectionError):
    """Raised by the WSGI app after processing a request whose response a fault drops.

    A ConnectionError, so werkzeug's server treats it as a lost connection (it writes nothing); the
    in-process transport turns it into the httpx error a dropped connection gives.
    """
