"""`validate --strict`: warnings fail the check (exit status 1), for CI gates."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner, Result

from pulumi_tiktok_audiences.cli import main

HEADER = 'advertiser_id: "111"\napp_ids: ["11"]\naudiences:\n'
# The same name twice in one ad account: deployable, almost surely a mistake (a warning).
WARNED = (
    HEADER
    + "  a:\n    name: Same\n    include: [{event: LOGIN, lookback_days: 3}]\n"
    + "  b:\n    name: same\n    include: [{event: LOGIN, lookback_days: 2}]\n"
)
CLEAN = HEADER + "  a:\n    name: Buyers\n    include: [{event: PURCHASE, lookback_days: 30}]\n"
BROKEN = WARNED + "  c:\n    include: [{event: LOGIN, lookback_days: 181}]\n"


def _validate(text: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["validate", "-", *args], input=text)


def test_a_warning_passes_without_strict_and_fails_with_it() -> None:
    lenient = _validate(WARNED)
    assert lenient.exit_code == 0, lenient.output
    assert "<stdin>:8: warning: audiences.b.name: the name 'same' is also used" in lenient.stdout

    strict = _validate(WARNED, "--strict")
    assert strict.exit_code == 1
    assert "<stdin>:8: warning: audiences.b.name" in strict.stdout
    assert "no problems" not in strict.output
    assert strict.stderr == "<stdin>: 1 warning (--strict: warnings fail)\n"


@pytest.mark.parametrize("output_format", ["json", "github"])
def test_strict_fails_in_every_format(output_format: str) -> None:
    result = _validate(WARNED, "--strict", "--format", output_format)
    assert result.exit_code == 1
    if output_format == "json":
        report = json.loads(result.stdout)
        assert report["ok"] is False
        assert [p["severity"] for p in report["problems"]] == ["warning"]
    else:
        assert result.stdout.startswith("::warning file=<stdin>,line=8,")


def test_strict_counts_problems_and_warnings_apart() -> None:
    result = _validate(BROKEN, "--strict")
    assert result.exit_code == 1
    assert result.stderr == "<stdin>: 1 problem, 1 warning (--strict: warnings fail)\n"


def test_a_clean_catalog_passes_strict() -> None:
    result = _validate(CLEAN, "--strict")
    assert (result.exit_code, result.stdout) == (0, "<stdin>: 1 audience, no problems\n")
