"""Suite-wide option: ``--answer-shape`` runs every test against an emulator answering in that shape.

Every emulator a test makes without naming a shape (in-process, served, or embedded in a provider
host it starts) reads ``TIKTOK_EMULATOR_ANSWER_SHAPE``, so setting it here, before any test runs,
moves the whole suite: ``pytest --answer-shape request`` (shapes: emulator/answers.py). The default
run uses the emulator's default, the backend shape; tests/emulator/test_answer_shapes.py runs the
provider, import and recovery flows on every shape in the normal suite.
"""

from __future__ import annotations

import os

import pytest

from pulumi_tiktok_audiences.emulator.answers import ANSWER_SHAPE_ENV, AnswerShape


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--answer-shape",
        choices=[shape.value for shape in AnswerShape],
        help="answer shape of every emulator the tests make (default: the emulator's, backend)",
    )


def pytest_configure(config: pytest.Config) -> None:
    shape = config.getoption("--answer-shape")
    if shape:
        os.environ[ANSWER_SHAPE_ENV] = shape
