"""validate, explain and schema on the command line; help, exit codes and error reporting."""

from __future__ import annotations

import json
import subprocess
import sys
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
        "did you mean PURCHASE? Write events by name (e.g. PURCHASE, ADD_TO_CART or add-to-cart",
    ),
    ("SOMETIMES", "audiences.lapsed.audience_sub_type", "'NORMAL' or 'REACH_FREQUENCY'"),
    ("lookback: 14", "audiences.cart.include[0].lookback", "allowed fields: event, lookback_days, app_ids"),
    ("lookback: 14", "audiences.cart.include[0].lookback_days", "lookback_days is required"),
    ("retention_in_days: 400", "audiences.expiring.retention_in_days", "1 to 365 days"),
    ("match: all", "audiences.both.match", 'Use match "any"'),
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
    assert result.exit_code == 1  # the broken audiences are reported, the valid ones are still explained
    assert result.stdout.splitlines() == [
        "Stack dev:",
        "  typo: 'typo', advertiser 111",  # its override names an unknown stack: reported, not used
        "    People who logged in to app 11 in the last 3 days.",
        "  fine: 'fine', advertiser 111",
        "    People who installed app 11 in the last 7 days.",
        "Stack prod:",
        "  typo: 'typo', advertiser 222",
        "    People who logged in to app 22 in the last 3 days.",
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
    after = run("validate", str(broken), "--debug")  # where CI scripts tend to add it
    assert isinstance(after.exception, RuntimeError)


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
    examples = result.stdout.split("Examples:\n\n", 1)[1].splitlines()
    assert examples
    assert all(line.startswith("  ") for line in examples), examples
    assert any(line.strip().startswith("tiktok-audiences ") for line in examples), examples
    if command and command != ("emulator",):
        assert "--debug" in result.stdout  # accepted after the command, too


def test_validate_as_json_lists_problems_and_warnings_by_line(broken: Path) -> None:
    result = run("validate", str(broken), "--format", "json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert (report["ok"], report["stacks"], report["file"]) == (False, ["dev", "prod"], str(broken))
    assert [(p["line"], p["path"]) for p in report["problems"]] == [
        (line_with(BROKEN, fragment), path) for fragment, path, _ in EXPECTED
    ]
    assert {p["severity"] for p in report["problems"]} == {"error"}


def test_validate_and_explain_read_standard_input(broken: Path) -> None:
    valid = BROKEN.split("  lapsed:")[0] + "  fine:\n    include: [{event: purchase, lookback_days: 7}]\n"
    result = CliRunner().invoke(main, ["validate", "-"], input=valid)
    assert (result.exit_code, result.stdout) == (0, "<stdin>: 1 audience (stacks dev, prod), no problems\n")
    result = CliRunner().invoke(main, ["validate", "-", "--format", "github"], input=BROKEN)
    assert result.stdout.startswith("::error file=<stdin>,line=10,")
    explained = CliRunner().invoke(main, ["explain", "-", "--format", "json", "--stack", "prod"], input=valid)
    assert explained.exit_code == 0
    (stack,) = json.loads(explained.stdout)["stacks"]
    (audience,) = stack["audiences"]
    assert stack["stack"] == "prod"
    assert audience["summary"] == "People who purchased in app 22 in the last 7 days."
    assert audience["spec"]["include"] == [{"event": "PURCHASE", "lookback_days": 7}]
    assert (audience["key"], audience["advertiser_id"], audience["adopt_audience_id"]) == (
        "fine",
        "222",
        None,
    )


def test_explain_as_json_reports_problems_too(broken: Path) -> None:
    result = run("explain", str(broken), "--format", "json")
    assert result.exit_code == 1
    explained = json.loads(result.stdout)
    assert [s["stack"] for s in explained["stacks"]] == ["dev", "prod"]
    assert [a["key"] for a in explained["stacks"][0]["audiences"]] == ["typo", "fine"]
    assert len(explained["problems"]) == len(EXPECTED)


def test_github_annotations_name_the_file_from_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A project in a subfolder, validated from there: GitHub needs the path from the repository root."""
    project = tmp_path / "marketing" / "audiences"
    project.mkdir(parents=True)
    (project / "audiences.yaml").write_text(
        BROKEN.split("  lapsed:")[0]
        + "  a:\n    name: Same\n    include: [{event: LOGIN, lookback_days: 3}]\n"
        + "  b:\n    name: same\n    include: [{event: LOGIN, lookback_days: 2}]\n"
        + "  c:\n    include: [{event: LOGIN, lookback_days: 181}]\n"
    )
    monkeypatch.chdir(project)
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    result = run("validate", "audiences.yaml", "--format", "github")
    warning, error = result.stdout.splitlines()
    file = "file=marketing/audiences/audiences.yaml"
    assert warning.startswith(
        f"::warning {file},line=11,title=audiences.b.name::the name 'same' is also used"
    )
    assert error.startswith(f"::error {file},line=14,title=audiences.c.include[0].lookback_days::must be")
    assert result.exit_code == 1


def test_output_piped_into_head_stops_quietly(tmp_path: Path) -> None:
    """No "Broken pipe" error and no traceback when the reader leaves early (`| head -1`)."""
    path = tmp_path / "many.yaml"
    path.write_text(
        BROKEN.split("  lapsed:")[0]
        + "".join(f"  a{i}:\n    include: [{{event: LOGIN, lookback_days: 500}}]\n" for i in range(800))
    )
    command = [str(Path(sys.executable).with_name("tiktok-audiences")), "validate", str(path)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    assert process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()  # as head does after its line
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert b"lookback_days" in first
    assert stderr == ""
