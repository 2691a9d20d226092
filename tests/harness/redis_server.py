"""A real redis-server of its own, for the shared rate budget's tests and benchmark (no fake)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests.harness.waiting import wait_until

MISSING = (
    "redis-server is not installed: the Redis store is tested against a real server "
    "(apt-get install redis-server; .ci/run installs it)"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """Start redis-server on a free 127.0.0.1 port in ``folder``, persisting nothing; yields its URL.

    Raises FileNotFoundError (with :data:`MISSING`) when the binary is not installed."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise FileNotFoundError(MISSING)
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisConnectionError

    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"

    def answers() -> bool:
        if server.poll() is not None:
            raise RuntimeError(
                f"redis-server exited (code {server.returncode}) before answering on port {port}"
            )
        try:
            with Redis.from_url(url) as client:
                client.ping()
        except RedisConnectionError:
            return False
        return True

    try:
        wait_until(answers, f"redis-server answered on port {port}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
