"""Shell completion is click's own: the script each shell sources, and the completions it asks for."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences.cli import main

PROG = "tiktok-audiences"
VARIABLE = "_TIKTOK_AUDIENCES_COMPLETE"  # click's name for it: _{PROG}_COMPLETE, upper case, '-' as '_'


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _tiktok_audiences_completion tiktok-audiences"),
        ("zsh", "compdef _tiktok_audiences_completion tiktok-audiences"),
        ("fish", "complete --no-files --command tiktok-audiences"),
    ],
)
def test_the_documented_command_prints_each_shells_script(shell: str, marker: str) -> None:
    """The line docs/reference/cli.md gives, run through the installed console script."""
    documented = (Path(__file__).parents[2] / "docs" / "reference" / "cli.md").read_text(encoding="utf-8")
    assert f"{VARIABLE}={shell}_source {PROG}" in documented
    script = Path(sys.executable).with_name(PROG)
    produced = subprocess.run(
        [str(script)], env={**os.environ, VARIABLE: f"{shell}_source"}, capture_output=True, text=True
    )
    assert produced.returncode == 0, produced.stderr
    assert marker in produced.stdout


def _complete(*words: str) -> list[str]:
    """What bash's completion function gets back for the command line ``words`` (the last one being typed)."""
    result = CliRunner().invoke(
        main,
        [],
        prog_name=PROG,
        env={
            VARIABLE: "bash_complete",
            "COMP_WORDS": " ".join([PROG, *words]),
            "COMP_CWORD": str(len(words)),
        },
    )
    assert result.exit_code == 0, result.output
    return [line.split(",", 1)[1] for line in result.output.splitlines()]


def test_commands_options_and_choices_complete() -> None:
    assert _complete("") == sorted(main.commands)
    assert _complete("e") == ["emulator", "explain"]
    assert {"--stack", "--format", "--debug"} <= set(_complete("validate", "--"))
    assert "--base-ref" in _complete("diff", "--")
    assert "--base-ref" not in _complete("validate", "--")
    assert _complete("validate", "--format", "") == ["text", "github", "json"]
    assert _complete("emulator", "s") == ["serve"]
