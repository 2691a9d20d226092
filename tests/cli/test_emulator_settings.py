"""``emulator serve`` reads two settings from the environment when their flags are not given: a bad
value is named by the variable that holds it, never blamed on a flag the user did not write."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.emulator.answers import ANSWER_SHAPE_ENV
from pulumi_tiktok_audiences.emulator.service import PROCESSING_ENV


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        (PROCESSING_ENV, "soon", f"{PROCESSING_ENV} must be 0 or a positive number of seconds, got 'soon'"),
        (PROCESSING_ENV, "-1", f"{PROCESSING_ENV} must be 0 or a positive number of seconds, got '-1'"),
        (ANSWER_SHAPE_ENV, "echo", f"answer shape 'echo' ({ANSWER_SHAPE_ENV}): use one of backend,"),
    ],
)
def test_a_bad_setting_from_the_environment_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, says: str
) -> None:
    monkeypatch.setenv(variable, value)

    result = CliRunner().invoke(main, ["emulator", "serve", "--port", "0"])

    assert result.exit_code == 2
    assert says in result.output
    assert "--answer-shape" not in result.output
