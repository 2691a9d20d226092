"""A real redis-server for the shared-budget tests (Debian package ``redis-server``; no fake)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from tests.harness.redis_server import MISSING, redis_server


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A redis-server of its own on a free 127.0.0.1 port, in a temporary folder, persisting nothing."""
    if shutil.which("redis-server") is None:
        pytest.skip(MISSING)
    with redis_server(tmp_path_factory.mktemp("redis")) as url:
        yield url
