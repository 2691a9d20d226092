"""`tiktok-audiences diff`: a reviewer's view of a catalog change, decided as the provider decides."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences.catalog import diff_catalogs, resolve_text
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.provider import AppActivity, props_from_spec

BASE = """\
advertiser_id: "111"
app_ids: ["11", "12"]
stacks:
  dev: {}
  prod: {advertiser_id: "222"}
audiences:
  renamed: {name: Old name, include: [{event: LOGIN, lookback_days: 3}]}
  new-rules: {include: [{event: PURCHASE, lookback_days: 30}], exclude: [{event: PURCHASE, lookback_days: 7}]}
  refresh-off: {include: [{event: INSTALL, lookback_days: 3}]}
  to-rf: {include: [{event: RATE, lookback_days: 3}]}
  from-rf: {include: [{event: SEARCH, lookback_days: 3}], audience_sub_type: REACH_FREQUENCY}
  moved: {include: [{event: CHECKOUT, lookback_days: 3}]}
  rewritten: {include: [{event: ADD_TO_CART, lookback_days: 14}]}
  gone: {name: Gone, include: [{event: SUBSCRIBE, lookback_days: 3}]}
"""

HEAD = """\
advertiser_id: "111"
app_ids: ["12", "11", "11"]
stacks:
  dev: {}
  prod: {advertiser_id: "222"}
audiences:
  renamed: {name: New name, include: [{event: LOGIN, lookback_days: 3}]}
  new-rules: {include: [{event: PURCHASE, lookback_days: 60}], exclude: [{event: PURCHASE, lookback_days: 7}]}
  refresh-off: {include: [{event: INSTALL, lookback_days: 3}], auto_refresh: false}
  to-rf: {include: [{event: RATE, lookback_days: 3}], audience_sub_type: REACH_FREQUENCY}
  from-rf: {include: [{event: SEARCH, lookback_days: 3}]}
  moved: {include: [{event: CHECKOUT, lookback_days: 3}], stacks: {prod: {advertiser_id: "333"}}}
  rewritten: {include: [{event: app add to cart, lookback_days: 14.0}]}
  added: {name: Added, include: [{event: LOGIN, lookback_days: 9}]}
  adopted:
    include: [{event: LOGIN, lookback_days: 8}]
    stacks: {prod: {adopt_audience_id: "7300000000000042"}}
"""

# key -> (change in dev, change in prod): the advertiser move happens in prod only.
EXPECTED = {
    "renamed": ("rename", "rename"),
    "new-rules": ("replace", "replace"),
    "refresh-off": ("replace", "replace"),
    "to-rf": ("rename", "rename"),
    "from-rf": ("replace", "replace"),
    "moved": (None, "replace"),
    "rewritten": (None, None),
    "added": ("add", "add"),
    "adopted": ("add", "adopt"),
    "gone": ("delete", "delete"),
}


def run(*args: str, input: str | None = None) -> click.testing.Result:
    return CliRunner().invoke(main, list(args), input=input)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    base, head = tmp_path / "base.yaml", tmp_path / "head.yaml"
    base.write_text(BASE)
    head.write_text(HEAD)
    return base, head


def test_each_audience_change_per_stack_as_the_provider_decides_it() -> None:
    diffs = diff_catalogs(resolve_text(BASE, "base.yaml"), resolve_text(HEAD, "head.yaml"))
    assert [d.stack for d in diffs] == ["dev", "prod"]
    for column, diff in enumerate(diffs):
        found = {change.key: change.kind for change in diff.changes}
        assert found == {key: kinds[column] for key, kinds in EXPECTED.items() if kinds[column]}
        assert set(diff.unchanged) == {key for key, kinds in EXPECTED.items() if not kinds[column]}
        for change in diff.changes:  # the provider's own diff agrees on replace versus in place
            if change.before is None or change.after is None:
                continue
            olds, news = props_from_spec(change.before.spec), props_from_spec(change.after.spec)
            verdict = AppActivity().diff("id", olds, news)
            assert bool(verdict.replaces) == (change.kind == "replace"), change.key
            assert verdict.changes


def test_text_says_what_happens_and_why(files: tuple[Path, Path]) -> None:
    result = run("diff", *map(str, files), "--stack", "prod")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "Stack prod: 1 added, 1 adopted, 2 renamed in place, 4 REPLACED, 1 deleted, 1 unchanged"
    )
    text = result.stdout
    assert (
        "  ~ renamed (renamed in place): 'Old name' becomes 'New name'; same audience id, ad groups keep it"
        in text
    )
    assert "  ~ to-rf (renamed in place): moves to REACH_FREQUENCY; same audience id" in text
    assert (
        "  ! new-rules (REPLACED): a new audience is created, ad groups move to its id, then the old one is "
        "deleted\n      why: who it includes changes (TikTok cannot edit an audience's rules)\n"
        "      before: People who purchased in apps 11 or 12 in the last 30 days, except those who purchased "
        "in the last 7 days.\n      after:  People who purchased in apps 11 or 12 in the last 60 days"
    ) in text
    assert (
        "why: auto_refresh changes from True to False (TikTok fixes it when the audience is created)" in text
    )
    assert "why: audience_sub_type changes from REACH_FREQUENCY to NORMAL (TikTok only moves NORMAL" in text
    assert "why: it moves from ad account 222 to 333" in text
    assert (
        "  + added (added): creates 'Added': People who logged in to apps 11 or 12 in the last 9 days."
        in text
    )
    assert "  + adopted (adopted): takes over the existing audience 7300000000000042 as 'adopted'" in text
    assert "  - gone (deleted): deletes 'Gone' from TikTok" in text
    assert "rewritten" not in text


def test_markdown_for_the_job_summary(files: tuple[Path, Path]) -> None:
    result = run("diff", *map(str, files), "--format", "markdown")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "### Audience changes",
        "",
        "**Stack dev: 2 added, 2 renamed in place, 3 REPLACED, 1 deleted, 2 unchanged**",
    ]
    replaced = "a new audience is created, ad groups move to its id, then the old one is deleted"
    assert f"- `new-rules` **REPLACED**: {replaced}" in lines
    assert "  - why: who it includes changes (TikTok cannot edit an audience's rules)" in lines


def test_json_for_programs(files: tuple[Path, Path]) -> None:
    result = run("diff", *map(str, files), "--format", "json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert (report["base"], report["head"]) == tuple(map(str, files))
    dev, prod = report["stacks"]
    assert (dev["stack"], prod["stack"], prod["removed"]) == ("dev", "prod", False)
    changes = {change["key"]: change for change in prod["changes"]}
    assert {key: change["change"] for key, change in changes.items()} == {
        key: kinds[1] for key, kinds in EXPECTED.items() if kinds[1]
    }
    moved = changes["moved"]
    assert moved["reasons"] == ["it moves from ad account 222 to 333"]
    assert (moved["before"]["advertiser_id"], moved["after"]["advertiser_id"]) == ("222", "333")
    assert changes["gone"]["after"] is None
    assert prod["unchanged"] == ["rewritten"]


def test_head_from_standard_input_and_a_removed_stack(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(BASE)
    head = HEAD.replace('  prod: {advertiser_id: "222"}\n', "").replace(
        ', stacks: {prod: {advertiser_id: "333"}}', ""
    )
    head = head.replace('    stacks: {prod: {adopt_audience_id: "7300000000000042"}}\n', "")
    result = run("diff", str(base), "-", input=head)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Stack dev: ")
    assert lines[-1] == (
        "Stack prod: no longer in the catalog. Its program will fail rather than delete anything; "
        "to delete its audiences, run `pulumi destroy` on it"
    )


def test_catalogs_with_problems_are_not_compared(files: tuple[Path, Path]) -> None:
    base, head = files
    head.write_text(HEAD.replace("lookback_days: 60", "lookback_days: 600"))
    result = run("diff", str(base), str(head))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"{head}:8: audiences.new-rules.include[0].lookback_days: must be" in result.stderr
    assert "fix 1 problem first" in result.stderr


def test_usage(files: tuple[Path, Path]) -> None:
    base, head = files
    assert run("diff", str(head)).exit_code == 2
    assert run("diff", str(base), str(head), str(head)).exit_code == 2
    assert run("diff", "--base-ref", "main", str(base), str(head)).exit_code == 2
    missing = run("diff", "no-such-file.yaml", str(head))
    assert missing.exit_code == 2
    assert "is no file, and not REV:PATH" in missing.stderr


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_base_from_a_git_revision(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The project in a subfolder of the repository, as in a monorepo; HEAD is the working copy."""
    project = tmp_path / "marketing"
    project.mkdir()
    catalog = project / "audiences.yaml"
    catalog.write_text(BASE)

    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
            cwd=tmp_path,
            check=True,
            capture_output=True,
        )

    git("init", "-q", "-b", "main")
    git("add", ".")
    git("commit", "-q", "-m", "base")
    catalog.write_text(HEAD)
    monkeypatch.chdir(project)
    by_ref = run("diff", "--base-ref", "main", "audiences.yaml", "--format", "json")
    by_path = run("diff", "main:marketing/audiences.yaml", "audiences.yaml", "--format", "json")
    from_files = run("diff", str(tmp_path / "base.yaml"), "audiences.yaml")
    assert from_files.exit_code == 2  # no such file: it was not written here
    for result, base_name in ((by_ref, "main:./audiences.yaml"), (by_path, "main:marketing/audiences.yaml")):
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert report["base"] == base_name
        kinds = {c["key"]: c["change"] for c in report["stacks"][0]["changes"]}
        assert kinds == {key: dev for key, (dev, _) in EXPECTED.items() if dev}
    (project / "new.yaml").write_text(HEAD)  # a catalog the base revision does not have: all added
    fresh = run("diff", "--base-ref", "main", "new.yaml", "--stack", "dev")
    assert fresh.exit_code == 0, fresh.output
    assert fresh.stdout.splitlines()[0] == "Stack dev: 9 added, 0 unchanged"
    unknown = run("diff", "--base-ref", "no-such-branch", "audiences.yaml")
    assert unknown.exit_code == 2
    assert "cannot read no-such-branch:./audiences.yaml from git" in unknown.stderr
