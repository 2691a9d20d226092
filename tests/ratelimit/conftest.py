"""A real redis-server for the shared-budget tests (Debian package ``redis-server``; no fake)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of its own on a free 127.0.0.1 port, in a temporary folder, persisting nothing."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(
            "redis-server is not installed: the Redis store is tested against a real server "
            "(apt-get install redis-server; .ci/run installs it)"
        )
    folder: Path = tmp_path_factory.mktemp("redis")
    port = _free_port()
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        from redis import Redis
        from redis.exceptions import ConnectionError as RedisConnectionError

        deadline = time.monotonic() + 60
        while True:
            try:
                with Redis.from_url(url) as client:
                    client.ping()
                break
            except RedisConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}") from None
                time.sleep(0.05)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
