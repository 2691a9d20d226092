"""Options and selection shared by every test layer: the live suite's ``--record DIR``, and keeping
the live tests out of a run that does not ask for them with ``-m``."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--record",
        metavar="DIR",
        default=None,
        help="live tests: write every request and answer to DIR (one JSON file each), the token removed",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``-m``, live tests are deselected: a default run never calls a real TikTok account."""
    if config.option.markexpr:
        return
    live = [item for item in items if item.get_closest_marker("live")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("live")]
