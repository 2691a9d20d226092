"""Sandbox mode: the emulator standing in for TikTok's sandbox, ``sandbox-ads.tiktok.com``.

TikTok's sandbox serves 21 endpoints, none under ``/dmp/`` and not ``/app/list/``; the others answer
"not supported in sandbox" with 40008 or 40014 (reference §7.1, AE's copy of TikTok's sandbox page,
doc id 1738855331457026). "Get authorized ad accounts" does not work there either (reference §1, AB).
So in sandbox mode every endpoint the emulator serves is refused with 40014 and ``"data": {}``, after
the token is checked: the sandbox can prove authentication, nothing else. Which of the two codes an
endpoint gets is not in the sources; 40014 is the one named in both copies.

A request is served in sandbox mode when the emulator was started so (``Emulator(sandbox=True)``,
``TIKTOK_EMULATOR_SANDBOX=1``, ``emulator serve --sandbox``) or when it is addressed to a sandbox
host: the real sandbox's (a client pointed at ``sandbox`` on the in-process transport) or
:data:`IN_PROCESS_SANDBOX_URL`'s.
"""

from __future__ import annotations

import os
from typing import Final

from pulumi_tiktok_audiences import constants

SANDBOX_ENV: Final = "TIKTOK_EMULATOR_SANDBOX"
IN_PROCESS_SANDBOX_URL: Final = "http://sandbox.tiktok-emulator.invalid"
"""Where the in-process transport answers as the sandbox (``.invalid`` never resolves)."""
SANDBOX_HOSTS: Final = frozenset(
    {constants.SANDBOX_URL.removeprefix("https://"), IN_PROCESS_SANDBOX_URL.removeprefix("http://")}
)
REFUSAL_CODE: Final = constants.CODE_SANDBOX_ENDPOINT_UNSUPPORTED


def resolve(sandbox: bool | None) -> bool:
    """The mode asked for, else ``TIKTOK_EMULATOR_SANDBOX`` (1/true/yes), else off."""
    if sandbox is not None:
        return sandbox
    return os.environ.get(SANDBOX_ENV, "").strip().lower() in {"1", "true", "yes"}


def is_sandbox_host(host: str) -> bool:
    """Whether an HTTP ``Host`` (port allowed) names one of the sandbox hosts."""
    return host.rsplit(":", 1)[0].lower() in SANDBOX_HOSTS


def refusal(path: str) -> str:
    """The message for an endpoint the sandbox does not serve."""
    return f"{constants.API_PREFIX}{path} is not supported in sandbox."
