"""The example workflows (pr-workflow, agency): linted by actionlint and audited by zizmor, and the
PR workflow's requirements install.

Both tools come with the dev extra; without them the tests are skipped, saying why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "pr-workflow"
WORKFLOWS = [
    EXAMPLE / ".github" / "workflows" / "audiences.yml",
    ROOT / "examples" / "agency" / ".github" / "workflows" / "agency.yml",
]


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[dev]' installs it)")
    return found


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_actionlint_finds_nothing(workflow: Path) -> None:
    """Syntax, expressions, shell scripts (shellcheck when present) and deprecated action runtimes."""
    result = subprocess.run([_tool("actionlint"), str(workflow)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda path: path.name)
def test_zizmor_finds_nothing(workflow: Path) -> None:
    """Security audits offline: pinned actions, no persisted credentials, minimal permissions, injection."""
    result = subprocess.run(
        [_tool("zizmor"), "--offline", "--format", "json", str(workflow)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_requirements_install_the_package_from_its_git_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A clone of this repository tagged as the release stands in for the package's git repository."""
    source = tmp_path / "pulumi-tiktok-audiences"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(source)], check=True, capture_output=True)
    subprocess.run(["git", "-C", str(source), "tag", "v0.1.0"], check=True, capture_output=True)
    url = f"file://localhost{source}"  # PEP 508 wants a host in a file URL followed by @revision
    monkeypatch.setenv("PULUMI_TIKTOK_AUDIENCES_GIT", url)
    report = tmp_path / "report.json"
    command = [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--ignore-installed", "-q"]
    command += ["--report", str(report), "-r", str(EXAMPLE / "requirements.txt")]
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    installs = {item["metadata"]["name"]: item for item in json.loads(report.read_text())["install"]}
    package = installs["pulumi-tiktok-audiences"]
    assert package["download_info"]["url"] == url
    assert package["download_info"]["vcs_info"]["vcs"] == "git"
    assert package["download_info"]["vcs_info"]["requested_revision"] == "v0.1.0"
    assert "pulumi" in installs
