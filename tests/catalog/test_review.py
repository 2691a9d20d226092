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
    "renamed": ("update", "update"),
    "new-rules": ("replace", "replace"),
    "refresh-off": ("replace", "replace"),
    "to-rf": ("update", "update"),
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
        "Stack prod: 1 added, 1 adopted, 2 updated in place, 4 REPLACED, 1 deleted, 1 unchanged"
    )
    text = result.stdout
    assert (
        "  ~ renamed (updated in place): 'Old name' becomes 'New name'; same audience id, ad groups keep it"
        in text
    )
    assert "  ~ to-rf (updated in place): moves to REACH_FREQUENCY; same audience id" in text
    assert (
        "  ! new-rules (REPLACED): a new audience is created and this program's ad groups move to its id; "
        "then the old audience is deleted\n      why: who it includes changes (TikTok cannot edit an "
        "audience's rules)\n      the new audience starts empty"
    ) in text
    assert (
        "      before: People who purchased in apps 11 or 12 in the last 30 days, except those who purchased "
        "in the last 7 days.\n      after:  People who purchased in apps 11 or 12 in the last 60 days"
    ) in text
    assert "why: auto_refresh: true -> false (TikTok fixes it when the audience is created)" in text
    assert "why: audience_sub_type: REACH_FREQUENCY -> NORMAL (TikTok only moves NORMAL" in text
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
        "**Stack dev: 2 added, 2 updated in place, 3 REPLACED, 1 deleted, 2 unchanged**",
    ]
    replaced = (
        "a new audience is created and this program's ad groups move to its id; "
        "then the old audience is deleted"
    )
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


def test_standard_input_for_both_sides_is_a_usage_error() -> None:
    """Not a diff against an empty catalog (the second read finds standard input used up)."""
    result = run("diff", "-", "-", input=BASE)
    assert result.exit_code == 2, result.output
    assert "standard input (-) holds one catalog: give the other as a file or REV:PATH" in result.output


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


def test_a_stack_on_one_side_only_is_compared_with_stack_as_without_it(tmp_path: Path) -> None:
    """--stack prod when the pull request adds or removes prod: the stack is added or gone, as the
    diff of every stack says, instead of "stack 'prod' is not declared here" in the other catalog."""
    without_prod = tmp_path / "without-prod.yaml"
    without_prod.write_text(BASE.replace('  prod: {advertiser_id: "222"}\n', ""))
    with_prod = tmp_path / "with-prod.yaml"
    with_prod.write_text(BASE)

    added = run("diff", str(without_prod), str(with_prod), "--stack", "prod")
    assert added.exit_code == 0, added.output
    assert added.stdout.splitlines()[0] == "Stack prod: 8 added, 0 unchanged"
    assert added.stdout in run("diff", str(without_prod), str(with_prod)).stdout  # the same words

    removed = run("diff", str(with_prod), str(without_prod), "--stack", "prod", "--fail-on-delete")
    assert removed.exit_code == 0, removed.output  # nothing is deleted: the program fails instead
    assert removed.stdout.startswith("Stack prod: no longer in the catalog.")

    neither = run("diff", str(without_prod), str(without_prod), "--stack", "prod")
    assert neither.exit_code == 1
    assert "stack 'prod' is not declared here" in neither.stderr


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
    # said once on stderr: a mistyped path or a moved catalog would otherwise read as all new
    assert fresh.stderr == "main has no ./new.yaml: every audience of it counts as added (a new catalog)\n"
    unknown = run("diff", "--base-ref", "no-such-branch", "audiences.yaml")
    assert unknown.exit_code == 2
    assert "cannot read no-such-branch:./audiences.yaml from git" in unknown.stderr


# --- issue 18: one change model, replacements spelled out, renamed keys, CI gates ----------------

ONE_AUDIENCE = """\
advertiser_id: "111"
app_ids: ["11"]
audiences:
  {key}:
    name: {name}
{extra}    include: [{{event: ADD_TO_CART, lookback_days: {days}}}]
    exclude: [{excludes}]
"""
EXCLUDES = "{event: PURCHASE, lookback_days: 30}, {event: CHECKOUT, lookback_days: 7}"
SWAPPED = "{event: CHECKOUT, lookback_days: 7}, {event: PURCHASE, lookback_days: 30}"


def one(
    key: str = "carts",
    name: str = "Cart abandoners",
    days: int = 30,
    excludes: str = EXCLUDES,
    extra: str = "",
) -> str:
    return ONE_AUDIENCE.format(key=key, name=name, days=days, excludes=excludes, extra=extra)


def write(tmp_path: Path, base: str, head: str) -> tuple[str, str]:
    (tmp_path / "base.yaml").write_text(base)
    (tmp_path / "head.yaml").write_text(head)
    return str(tmp_path / "base.yaml"), str(tmp_path / "head.yaml")


def test_swapping_two_exclude_rules_is_no_change_for_the_diff_and_the_provider(tmp_path: Path) -> None:
    """Issue 18 point 1: the diff said "renamed in place" with an empty reason; nothing changes."""
    base, head = resolve_text(one(), "base.yaml"), resolve_text(one(excludes=SWAPPED), "head.yaml")
    (diff,) = diff_catalogs(base, head)
    assert (diff.changes, diff.unchanged) == ((), ("carts",))
    olds = props_from_spec(base.audiences[None]["carts"].spec)
    news = props_from_spec(head.audiences[None]["carts"].spec)
    assert not AppActivity().diff("id", olds, news).changes
    result = run("diff", *write(tmp_path, one(), one(excludes=SWAPPED)))
    assert result.exit_code == 0
    assert result.stdout == "All stacks: 1 unchanged\n"


def test_a_replacement_is_spelled_out_in_every_format(tmp_path: Path) -> None:
    """Issue 18 point 2: starts empty, calculated again, the 1,000-user minimum, ad groups made in Ads
    Manager keep the old id, and the name change inside the replacement."""
    files = write(tmp_path, one(), one(name="Cart abandoners 60d", days=60))
    consequences = [
        "name: 'Cart abandoners' becomes 'Cart abandoners 60d'",
        "the new audience starts empty: TikTok calculates it again (this takes hours), and ad groups "
        "cannot target it until it reaches TikTok's minimum of 1,000 users",
        "ad groups made outside this program (in Ads Manager) stay on the old audience: move them to the "
        "new one, since the old one is deleted (TikTok may refuse that delete while they use it, and "
        "`pulumi up` then stops with an error)",
    ]
    text = run("diff", *files)
    markdown = run("diff", *files, "--format", "markdown")
    report = run("diff", *files, "--format", "json")
    assert (text.exit_code, markdown.exit_code, report.exit_code) == (0, 0, 0)
    (change,) = json.loads(report.stdout)["stacks"][0]["changes"]
    assert change["change"] == "replace"
    assert change["name"] == {"before": "Cart abandoners", "after": "Cart abandoners 60d"}
    for line in consequences:
        assert f"      {line}\n" in text.stdout
        assert f"  - {line}\n" in markdown.stdout
        assert line in change["explanation"]


def test_a_protected_audience_is_named_in_a_replacement_and_a_delete(tmp_path: Path) -> None:
    protected = "    protect: true\n"
    replaced = run("diff", *write(tmp_path, one(extra=protected), one(days=60, extra=protected)))
    assert "`pulumi up` refuses to replace it; set protect: false in this change" in replaced.stdout
    unprotected = run("diff", *write(tmp_path, one(extra=protected), one(days=60)))
    assert "refuses to replace" not in unprotected.stdout  # the engine allows both in one update
    empty = 'advertiser_id: "111"\naudiences: {}\n'
    deleted = run("diff", *write(tmp_path, one(extra=protected), empty))
    assert "it is protected (protect: true): `pulumi up` refuses to delete it" in deleted.stdout


def test_a_key_renamed_with_previous_keys_is_the_same_audience(tmp_path: Path) -> None:
    """Issue 18 point 3: previous_keys make a rename of the key a rename, not added + deleted."""
    head = one(key="cart-abandoners", extra="    previous_keys: [carts]\n")
    (diff,) = diff_catalogs(resolve_text(one(), "base.yaml"), resolve_text(head, "head.yaml"))
    (change,) = diff.changes
    assert (change.key, change.kind, change.previous_key) == ("cart-abandoners", "same", "carts")
    result = run("diff", *write(tmp_path, one(), head))
    assert result.stdout.splitlines() == [
        "All stacks: 1 key renamed, 0 unchanged",
        "  ~ cart-abandoners (key renamed): key renamed from carts; same audience id, ad groups keep it",
    ]
    changed = one(key="cart-abandoners", days=60, extra="    previous_keys: [carts]\n")
    replaced = run("diff", *write(tmp_path, one(), changed), "--format", "json")
    (entry,) = json.loads(replaced.stdout)["stacks"][0]["changes"]
    assert (entry["change"], entry["previous_key"]) == ("replace", "carts")
    assert "key renamed from carts" in entry["explanation"]


def test_an_added_and_a_deleted_audience_with_the_same_rules_suggest_previous_keys(tmp_path: Path) -> None:
    """Issue 18 point 3: "+ added / - deleted" with identical rules is not silent."""
    head = one(key="cart-abandoners", name="Cart abandoners (all apps)")
    result = run("diff", *write(tmp_path, one(), head))
    assert result.stdout.splitlines()[:3] == [
        "All stacks: 1 added, 1 deleted, 0 unchanged",
        "  + cart-abandoners (added): creates 'Cart abandoners (all apps)': People who added to cart in app "
        "11 in the last 30 days, except those who purchased in the last 30 days or checked out in the last "
        "7 days.",
        "      hint: audiences.carts is deleted in this change and has the same rules. If this is that "
        "audience under a new key, add `previous_keys: [carts]` to it: the live audience is then kept "
        "(its id, its size, its ad groups) instead of being deleted and created again empty",
    ]
    report = json.loads(run("diff", *write(tmp_path, one(), head), "--format", "json").stdout)
    added = report["stacks"][0]["changes"][0]
    assert added["suggested_previous_keys"] == ["carts"]
    other_rules = run("diff", *write(tmp_path, one(), one(key="cart-abandoners", days=60)))
    assert "hint" not in other_rules.stdout


@pytest.mark.parametrize(
    ("flags", "status", "refused"),
    [
        ((), 0, []),
        (
            ("--fail-on-replace",),
            3,
            ["refused: stack prod: audiences.new-rules is replaced (--fail-on-replace)"],
        ),
        (("--fail-on-delete",), 3, ["refused: stack prod: audiences.gone is deleted (--fail-on-delete)"]),
    ],
)
def test_ci_gates_exit_3_and_still_print_the_diff(
    files: tuple[Path, Path], flags: tuple[str, ...], status: int, refused: list[str]
) -> None:
    result = run("diff", *map(str, files), "--stack", "prod", "--format", "markdown", *flags)
    assert result.exit_code == status
    assert result.stdout.startswith("### Audience changes")
    lines = result.stderr.splitlines()
    assert [line for line in lines if "new-rules" in line or "gone" in line] == refused
