"""What validate refuses or warns of beyond single fields: per stack, per audience, and unreadable files.

Every problem of a file comes out in one run, in file order, with a message a marketer can act on.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.catalog import MAX_CATALOG_BYTES, Problem, resolve_text
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.presets import lapsed_purchasers_args
from pulumi_tiktok_audiences.provider import AppActivity
from tests.catalog.helpers import line_with

HEAD = (
    'advertiser_id: "111"\napp_ids: ["11"]\nstacks:\n  dev: {}\n  prod: {advertiser_id: "222"}\naudiences:\n'
)

SEVERAL_WRONG = (
    HEAD
    + """\
  typo-and-lookback:
    include: [{event: PURCHASE, lookback_days: 500}]
    colour: blue
  stack-typo-and-match:
    include: [{event: LOGIN, lookback_days: 3}, {event: INSTALL, lookback_days: 3}]
    match: all
    stacks:
      prd: {app_ids: ["33"]}
  always-empty:
    include: [{event: PURCHASE, lookback_days: 7}]
    exclude: [{event: PURCHASE, lookback_days: 30}]
  buyers:
    name: Buyers
    include: [{event: PURCHASE, lookback_days: 30}]
  buyers-again:
    name: Buyers
    include: [{event: purchase, lookback_days: 30.0}]
  buyers-of-the-week:
    name: buyers
    include: [{event: PURCHASE, lookback_days: 7}]
  no-lookback:
    include: [{event: LOGIN}]
  and-instead-of-exclude:
    include: [{event: ADD_TO_CART, lookback_days: 14}]
    match: AND
"""
)

# (text on the line, property path, fragment of the message, severity), in file order.
EXPECTED = [
    ("lookback_days: 500", "audiences.typo-and-lookback.include[0].lookback_days", "from 1 to 180", "error"),
    ("colour: blue", "audiences.typo-and-lookback.colour", "unknown field 'colour'", "error"),
    ("match: all", "audiences.stack-typo-and-match.match", "include one event and exclude", "error"),
    ("prd:", "audiences.stack-typo-and-match.stacks.prd", "did you mean 'prod'?", "error"),
    (
        "lookback_days: 7}]\n    exclude: [{event: PURCHASE, lookback_days: 30",
        "audiences.always-empty.include[0]",
        "this audience is always empty: everyone it includes (PURCHASE in the last 7 days) is left out",
        "error",
    ),
    ("buyers-again:", "audiences.buyers-again", "the same audience as audiences.buyers", "error"),
    ("name: buyers", "audiences.buyers-of-the-week.name", "is also used by audiences.buyers", "warning"),
    (
        "{event: LOGIN}",
        "audiences.no-lookback.include[0].lookback_days",
        "lookback_days is required",
        "error",
    ),
    ("match: AND", "audiences.and-instead-of-exclude.match", "exclude the second", "error"),
]


def run(*args: str, input: str | None = None) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), input=input)


def test_a_file_with_several_wrong_audiences_reports_every_problem_in_one_run_by_line(tmp_path: Path) -> None:
    path = tmp_path / "audiences.yaml"
    path.write_text(SEVERAL_WRONG)
    result = run("validate", str(path))
    assert result.exit_code == 1
    printed = result.stdout.splitlines()
    assert len(printed) == len(EXPECTED), result.stdout
    for line, (fragment, prop, message, severity) in zip(printed, EXPECTED, strict=True):
        where = f"{path}:{line_with(SEVERAL_WRONG, fragment.splitlines()[0])}"
        prefix = f"{where}: warning: {prop}: " if severity == "warning" else f"{where}: {prop}: "
        assert line.startswith(prefix), line
        assert message in line, line
    assert "8 problems" in result.stderr  # the warning does not count


def test_messages_name_no_internal_module_source_tag_or_library() -> None:
    """What a marketer reads never points into the code or the sources we built it from."""
    broken = [
        SEVERAL_WRONG,
        HEAD + "  a:\n    include: [{event: PIXEL ADD TO CART, lookback_days: 0, app_ids: []}]\n",
        HEAD + "  a:\n    include: []\n    retention_in_days: 0\n    audience_sub_type: RF\n",
        HEAD + "  a: {include: [{event: LOGIN, lookback_days: 3}], stacks: {prod: {adopt_audience_id: x}}}\n",
        HEAD + "  a:\n\t include: []\n",
        "audiences: [1]\nstacks: 3\n",
    ]
    internal = re.compile(
        r"constants\.py|spec\.py|catalog\.py|§|\bBB\b|HC-|\bY:|pydantic|errors\.pydantic|\[key\]"
    )
    for text in broken:
        problems = resolve_text(text, "c.yaml").report()
        assert problems
        for problem in problems:
            assert not internal.search(str(problem)), problem


@pytest.mark.parametrize("count", [constants.AUDIENCES_PER_ADVERTISER_MAX, 401])
def test_more_than_400_audiences_of_one_ad_account_in_one_stack_are_refused(count: int) -> None:
    """TikTok's cap (reference §3.5, §6.4: 400 custom audiences per advertiser at one time)."""
    entries = [
        f"  a{i}:\n    include: [{{event: LOGIN, lookback_days: {i % 180 + 1}}}]\n" for i in range(count)
    ]
    # In prod, 200 of them go to another ad account: only dev (all on one account) can be over the cap.
    entries = [
        entry + ('    stacks: {prod: {advertiser_id: "333"}}\n' if i % 2 else "")
        for i, entry in enumerate(entries)
    ]
    text = HEAD + "".join(entries)
    problems = resolve_text(text, "c.yaml").problems
    if count <= constants.AUDIENCES_PER_ADVERTISER_MAX:
        assert problems == ()
        return
    (problem,) = problems
    assert problem.line == line_with(text, "  a400:")
    assert problem.message.startswith(
        "ad account 111 would get 401 audiences from this catalog; TikTok allows"
    )
    assert problem.message.endswith("(in stack dev)")


@pytest.mark.parametrize(
    ("include", "exclude", "severity"),
    [
        ("[{event: PURCHASE, lookback_days: 7}]", "[{event: PURCHASE, lookback_days: 30}]", "error"),
        ("[{event: PURCHASE, lookback_days: 30}]", "[{event: purchase, lookback_days: 30}]", "error"),
        ("[{event: PURCHASE, lookback_days: 30}]", "[{event: PURCHASE, lookback_days: 7}]", None),
        ("[{event: PURCHASE, lookback_days: 7}]", "[{event: LOGIN, lookback_days: 30}]", None),
        (  # the exclude covers other apps only: people of app 11 are still in
            "[{event: PURCHASE, lookback_days: 7}]",
            '[{event: PURCHASE, lookback_days: 30, app_ids: ["12"]}]',
            None,
        ),
        (  # one dead rule of two: the audience is not empty, but the rule adds nobody
            "[{event: PURCHASE, lookback_days: 7}, {event: LOGIN, lookback_days: 7}]",
            "[{event: PURCHASE, lookback_days: 30}]",
            "warning",
        ),
    ],
)
def test_include_rules_that_the_exclusions_cover(include: str, exclude: str, severity: str | None) -> None:
    text = HEAD + f"  a:\n    include: {include}\n    exclude: {exclude}\n"
    report = resolve_text(text, "c.yaml").report()
    if severity is None:
        assert report == ()
        return
    (problem,) = report
    assert (problem.severity, problem.path, problem.line) == (severity, "audiences.a.include[0]", 8)
    assert "left out by exclude[0]" in problem.message


def test_the_presets_refuse_an_always_empty_audience_by_the_same_rule() -> None:
    with pytest.raises(ValueError, match="the audience is empty"):
        lapsed_purchasers_args(["11"], within_days=7, not_within_days=30)
    with pytest.raises(ValueError, match="the audience is empty"):
        lapsed_purchasers_args(["11"], within_days=30, not_within_days=30)
    assert lapsed_purchasers_args(["11"], within_days=30, not_within_days=29).exclude[0].lookback_days == 29


@pytest.mark.parametrize(
    ("rules", "fragment"),
    [  # what TikTok's rule/create refuses (reference §2.1, §3.1-3.4), caught before any API call
        ("include: [{event: PIXEL ADD TO CART, lookback_days: 3}]", "unknown app event"),
        ("include: [{event: LOGIN, lookback_days: 181}]", "from 1 to 180"),
        ("include: [{event: LOGIN, lookback_days: 0}]", "from 1 to 180"),
        ("include: []", "must hold 1 to 5 rules"),
        (
            "include: [" + ", ".join(f"{{event: LOGIN, lookback_days: {d}}}" for d in range(1, 7)) + "]",
            "1 to 5",
        ),
        (
            "include: [{event: LOGIN, lookback_days: 3}]\n    exclude: ["
            + ", ".join(f"{{event: INSTALL, lookback_days: {d}}}" for d in range(1, 7))
            + "]",
            "at most 5 rules",
        ),
        (
            "include: [{event: LOGIN, lookback_days: 3}, {event: INSTALL, lookback_days: 3}]\n    match: all",
            "OR",
        ),
        ("include: [{event: LOGIN, lookback_days: 3}]\n    retention_in_days: 366", "1 to 365"),
        ("include: [{event: LOGIN, lookback_days: 3}]\n    name: '" + "n" * 129 + "'", "1 to 128 characters"),
    ],
)
def test_rules_tiktok_cannot_take_are_refused(rules: str, fragment: str) -> None:
    problems = resolve_text(HEAD + f"  a:\n    {rules}\n", "c.yaml").problems
    assert problems
    assert any(fragment in problem.message for problem in problems), problems


# --- Files that cannot be read -------------------------------------------------------------------


def _one_line_error(path: Path) -> Problem:
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "RecursionError" not in result.output
    (line,) = result.stdout.splitlines()
    file, number, message = line.split(":", 2)
    return Problem(file, int(number), "", message.strip())


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes((HEAD + "  kaufer:\n    name: K\xe4ufer\n").encode("latin-1"))
    problem = _one_line_error(path)
    assert problem.line == 8
    assert "not UTF-8 text (byte 0xe4 at column 12): save it as UTF-8" in problem.message


def test_tabs_say_use_spaces(tmp_path: Path) -> None:
    path = tmp_path / "tabs.yaml"
    path.write_text(HEAD + "  a:\n\tinclude: []\n")
    problem = _one_line_error(path)
    assert problem.line == 8
    assert "use spaces, not tabs" in problem.message


@pytest.mark.parametrize(
    "text",
    [
        HEAD + "  a: &self\n    include: [*self]\n",
        "audiences: &top {a: *top}\n",
        "x: &x [*x, *x]\naudiences: {}\n",
    ],
)
def test_a_self_referencing_alias_is_a_problem_not_a_recursion_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text(text)
    result = run("validate", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "a YAML alias (*name) refers to a value that contains it" in result.stdout


def test_aliases_that_expand_enormously_stop_early(tmp_path: Path) -> None:
    """The billion laughs: nine levels of ten aliases each would be 10**9 nodes."""
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)
    ]
    path = tmp_path / "laughs.yaml"
    path.write_text("\n".join(levels) + "\naudiences: {}\n")
    problem = _one_line_error(path)
    assert "repeat parts of the file more than 500,000 times" in problem.message


def test_a_10_mb_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    block = "  a{}:\n    include: [{{event: LOGIN, lookback_days: 3}}]\n"
    with path.open("w") as stream:
        stream.write(HEAD)
        number = 0
        while stream.tell() < 10 * 1024 * 1024:
            stream.write("".join(block.format(number + i) for i in range(1000)))
            number += 1000
    started = time.perf_counter()
    problem = _one_line_error(path)
    print(f"refused a {path.stat().st_size / 1e6:.1f} MB file in {time.perf_counter() - started:.3f} s")
    assert problem.line == 1
    assert f"larger than {MAX_CATALOG_BYTES // 1024} kB" in problem.message
    # From standard input too, reading no more than the limit.
    result = run("validate", "-", input=path.read_text())
    assert result.exit_code == 1
    assert result.stdout.startswith("<stdin>:1: the file is larger than")


def test_the_providers_check_reports_an_unknown_field_with_the_other_errors() -> None:
    """A program (not only a catalog) learns every problem of a rule from one `pulumi preview`."""
    news = {
        "advertiser_id": "111",
        "name": "Buyers",
        "app_ids": ["11"],
        "include": [{"event": "PURCHASE", "lookback_days": 500, "lookbak": 3}],
    }
    failures = AppActivity().check({}, news).failures
    assert [failure.property for failure in failures] == ["include[0].lookbak", "include[0].lookback_days"]
    assert "did you mean 'lookback_days'?" in failures[0].reason
    assert "from 1 to 180 days" in failures[1].reason
