"""Options shared by every test layer.

* ``--answer-shape`` runs every test against an emulator answering in that shape. Every emulator a
  test makes without naming a shape (in-process, served, or embedded in a provider host it starts)
  reads ``TIKTOK_EMULATOR_ANSWER_SHAPE``, so setting it here, before any test runs, moves the whole
  suite: ``pytest --answer-shape request`` (shapes: emulator/answers.py). The default run uses the
  emulator's default, the backend shape; tests/emulator/test_answer_shapes.py runs the provider,
  import and recovery flows on every shape in the normal suite.
* ``--processing-seconds`` sets the window after a create during which every emulator the tests make
  refuses update and delete as "being processed" (``TIKTOK_EMULATOR_PROCESSING_SECONDS``). The
  emulator's own default is a couple of seconds, as TikTok refuses so (reference §7.3); the suite
  runs with 0 unless asked, because many tests freeze the emulator's clock (a window on a frozen
  clock never ends) and waiting it out after every create would add minutes. The tests of the
  window and of the client's waiting set it themselves (tests/emulator/test_processing.py,
  tests/client/test_processing.py, tests/live/test_flows_on_emulator.py).
* ``XDG_CACHE_HOME`` points at a folder of the run, so the rate budget's default store (a SQLite file
  in the user's cache folder, ratestore.py) is never the user's.
* The live suite's ``--record DIR`` and ``--live-budget N``, and keeping the live tests out of a run
  that does not ask for them with ``-m``.
"""

from __future__ import annotations

import os
import tempfile

import pytest

from pulumi_tiktok_audiences.emulator.answers import ANSWER_SHAPE_ENV, AnswerShape
from pulumi_tiktok_audiences.emulator.service import PROCESSING_ENV


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--answer-shape",
        choices=[shape.value for shape in AnswerShape],
        help="answer shape of every emulator the tests make (default: the emulator's, backend)",
    )
    parser.addoption(
        "--processing-seconds",
        type=float,
        default=0.0,
        help="processing window of every emulator the tests make (default 0 here; the emulator's is 2 s)",
    )
    parser.addoption(
        "--live-budget",
        type=int,
        default=10,
        metavar="N",
        help="live tests: the most audiences the run may create (default 10; probing every event needs ~40)",
    )
    parser.addoption(
        "--record",
        metavar="DIR",
        default=None,
        help="live tests: write every request and answer to DIR (one JSON file each), the token removed",
    )


def pytest_configure(config: pytest.Config) -> None:
    # The default rate-limit store is a file in the user's cache folder: the tests' provider hosts and
    # clients keep theirs in a folder of the run (inherited by the processes they start).
    os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="pta-test-cache-")
    shape = config.getoption("--answer-shape")
    if shape:
        os.environ[ANSWER_SHAPE_ENV] = shape
    os.environ[PROCESSING_ENV] = str(config.getoption("--processing-seconds"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without ``-m``, live tests are deselected: a default run never calls a real TikTok account."""
    if config.option.markexpr:
        return
    live = [item for item in items if item.get_closest_marker("live")]
    if live:
        config.hook.pytest_deselected(items=live)
        items[:] = [item for item in items if not item.get_closest_marker("live")]
