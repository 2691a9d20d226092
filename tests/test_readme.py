"""README.md is the newcomer's page: short, and every command and example in it works as written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences.catalog import resolve_text
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.testing import AudienceMocks

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def _block(section: str, language: str) -> str:
    found = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert found is not None, f"no {language} block"
    return found.group(1)


def test_the_readme_is_a_page_a_newcomer_finishes() -> None:
    assert len(README.splitlines()) <= 250


def test_ci_runs_exactly_the_readme_test_command() -> None:
    commands = re.findall(r"```bash\n(.*?)\n```", _section("Two commands"), re.DOTALL)
    assert commands[0] == "scripts/up"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    steps = [line for line in ci if line.strip() and not line.lstrip().startswith("#")]
    assert steps[-1] == commands[1]  # what CI runs last, not a comment quoting it


def test_the_readme_links_point_at_files_that_exist() -> None:
    targets = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [t for t in targets if not t.startswith("http")]
    assert local, "the README links to the documentation"
    assert [t for t in local if not (ROOT / t).exists()] == []


def test_the_yaml_quick_start_is_a_valid_catalog_with_the_four_seed_segments() -> None:
    resolved = resolve_text(_block(_section("Quick start: a YAML catalog"), "yaml"), "README.md")
    assert resolved.problems == ()
    dev = resolved.audiences["dev"]
    assert sorted(dev) == [
        "cart-abandoners",
        "installed-not-launched",
        "lapsed-purchasers",
        "recent-purchasers",
    ]
    assert {a.spec.advertiser_id for a in resolved.audiences["prod"].values()} == {"7000000000000000002"}


def test_the_yaml_quick_start_is_the_seed_segments_example() -> None:
    readme = resolve_text(_block(_section("Quick start: a YAML catalog"), "yaml"), "README.md")
    example = ROOT / "examples" / "seed-segments" / "audiences.yaml"
    seed = resolve_text(example.read_text(encoding="utf-8"), str(example))
    assert readme.audiences == seed.audiences


def test_the_explain_output_the_readme_quotes_is_what_explain_prints(tmp_path: Path) -> None:
    section = _section("Quick start: a YAML catalog")
    catalog = tmp_path / "audiences.yaml"
    catalog.write_text(_block(section, "yaml"), encoding="utf-8")
    result = CliRunner().invoke(main, ["explain", str(catalog), "--stack", "dev"])
    assert result.exit_code == 0, result.output
    quoted = re.findall(r"^#   (.*)$", section, re.MULTILINE)
    assert quoted[-1].strip() == "..."
    printed = result.stdout.splitlines()
    assert quoted[:-1] == printed[: len(quoted) - 1]


@pulumi.runtime.test
def test_the_python_quick_start_runs_under_the_providers_checks() -> Any:
    pulumi.runtime.set_mocks(AudienceMocks(), project="shop", stack="dev", preview=False)
    namespace: dict[str, Any] = {}
    exec(compile(_block(_section("Quick start: Python"), "python"), "README.md", "exec"), namespace)
    lapsed = namespace["lapsed"]

    def check(values: list[Any]) -> None:
        audience_id, summary, targetable = values
        assert audience_id.isdigit()
        assert summary == (
            "People who purchased in app 6400000001 in the last 30 days, except those who purchased in "
            "the last 7 days."
        )
        assert targetable is False

    return pulumi.Output.all(lapsed.id, lapsed.summary, lapsed.targetable).apply(check)


@pytest.fixture(autouse=True)
def _fresh_mocks() -> Any:
    yield
    pulumi.runtime.settings.SETTINGS.monitor = None  # no mocks leak into other tests' programs
