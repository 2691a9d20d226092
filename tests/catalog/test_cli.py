"""validate, explain and schema on the command line; help, exit codes and error reporting."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences import catalog
from pulumi_tiktok_audiences.catalog import resolve_catalog
from pulumi_tiktok_audiences.cli import main
from tests.catalog.helpers import line_with

BROKEN = """\
advertiser_id: "111"
app_ids: ["11"]
stacks:
  dev: {}
  prod: {advertiser_id: "222", app_ids: ["22"]}
audiences:
  lapsed:
    name: Lapsed purchasers
    include:
      - {event: PURCHASE, lookback_days: 500}
      - {event: PURCHSE, lookback_days: 30}
    audience_sub_type: SOMETIMES
  cart:
    include: [{event: ADD_TO_CART, lookback: 14}]
  expiring:
    include: [{event: LOGIN, lookback_days: 3}]
    retention_in_days: 400
  both:
    include: [{event: ADD_TO_CART, lookback_days: 14}, {event: PURCHASE, lookback_days: 14}]
    match: all
  typo:
    include: [{event: LOGIN, lookback_days: 3}]
    stacks:
      prd: {app_ids: ["33"]}
  fine:
    include: [{event: INSTALL, lookback_days: 7}]
"""

# (text on the problem's line, property path, what the message must say about the allowed values)
EXPECTED = [
    ("lookback_days: 500", "audiences.lapsed.include[0].lookback_days", "from 1 to 180 days"),
    (
        "PURCHSE",
        "audiences.lapsed.include[1].event",
        "did you mean 'PURCHASE'? The 28 App Activity events are:",
    ),
    ("SOMETIMES", "audiences.lapsed.audience_sub_type", "'NORMAL' or 'REACH_FREQUENCY'"),
    ("lookback: 14", "audiences.cart.include[0].lookback", "allowed fields: event, lookback_days, app_ids"),
    ("lookback: 14", "audiences.cart.include[0].lookback_days", "lookback_days is required"),
    ("retention_in_days: 400", "audiences.expiring.retention_in_days", "1 to 365 days"),
    ("match: all", "audiences.both.match", "Use match='any'"),
    ("prd:", "audiences.typo.stacks.prd", "did you mean 'prod'? declared: dev, prod"),
]


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "audiences.yaml"
    path.write_text(BROKEN)
    return path


def run(*args: str) -> click.testing.Result:
    return CliRunner().invoke(main, list(args))


def test_validate_prints_one_line_per_problem_with_line_path_and_allowed_values(broken: Path) -> None:
    result = run("validate", str(broken))
    assert result.exit_code == 1
    printed = result.stdout.splitlines()
    assert len(printed) == len(EXPECTED)
    for line, (fragment, path, allowed) in zip(printed, EXPECTED, strict=True):
        prefix = f"{broken}:{line_with(BROKEN, fragment)}: {path}: "
        assert line.startswith(prefix), line
        assert allowed in line, line
    assert f"{len(EXPECTED)} problems" in result.stderr


def test_validate_for_github_annotates_the_lines(broken: Path) -> None:
    result = run("validate", str(broken), "--format", "github")
    assert result.exit_code == 1
    first = result.stdout.splitlines()[0]
    fragment, path, _ = EXPECTED[0]
    assert first.startswith(f"::error file={broken},line={line_with(BROKEN, fragment)},title={path}::must be")


def test_validate_a_valid_catalog(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        BROKEN.split("  lapsed:")[0] + "  fine:\n    include: [{event: INSTALL, lookback_days: 7}]\n"
    )
    result = run("validate", str(path))
    assert (result.exit_code, result.stdout) == (0, f"{path}: 1 audience (stacks dev, prod), no problems\n")
    assert run("validate", str(path), "--stack", "qa").exit_code == 1


def test_explain_prints_every_audience_of_every_stack_in_plain_english(broken: Path) -> None:
    result = run("explain", str(broken))
    assert result.exit_code == 1  # the broken audiences are reported, the valid one is still explained
    assert result.stdout.splitlines() == [
        "Stack dev:",
        "  fine: 'fine', advertiser 111",
        "    People who installed app 11 in the last 7 days.",
        "Stack prod:",
        "  fine: 'fine', advertiser 222",
        "    People who installed app 22 in the last 7 days.",
    ]
    assert len(result.stderr.splitlines()) == len(EXPECTED)


def test_explain_one_stack_with_adoption(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        'advertiser_id: "1"\napp_ids: ["2"]\naudiences:\n  lapsed:\n    name: Lapsed\n'
        "    include: [{event: PURCHASE, lookback_days: 30}]\n"
        "    exclude: [{event: PURCHASE, lookback_days: 7}]\n"
        '    adopt_audience_id: "73"\n'
    )
    result = run("explain", str(path), "--stack", "prod")
    spec = resolve_catalog(path, "prod").audiences["prod"]["lapsed"].spec
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "Stack prod:",
        "  lapsed: 'Lapsed', advertiser 1",
        f"    {spec.summary()}",
        "    Takes over the existing audience 73 (no new audience is created).",
    ]
    assert "People who purchased in app 2 in the last 30 days, except those who purchased" in spec.summary()


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert run("validate", str(tmp_path / "missing.yaml")).exit_code == 2
    assert run("validate").exit_code == 2
    assert run("explain", str(tmp_path), "--stack").exit_code == 2
    assert run("nonsense").exit_code == 2
    assert run("import", "--advertiser-id", "1", "--stack", "no spaces").exit_code == 2
    assert run("import", "--advertiser-id", "act_1").exit_code == 2


def test_errors_are_one_line_unless_debug(broken: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(catalog, "resolve_catalog", fail)
    quiet = run("validate", str(broken))
    assert quiet.exit_code == 1
    assert quiet.stderr == "Error: RuntimeError: disk on fire (run with --debug for the traceback)\n"
    assert "Traceback" not in quiet.output
    loud = run("--debug", "validate", str(broken))
    assert isinstance(loud.exception, RuntimeError)  # propagated: Python prints the traceback


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


@pytest.mark.parametrize("command", _commands(main), ids=lambda c: " ".join(c) or "main")
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage:")
    assert len(result.stdout.splitlines()) > 4
