"""The documentation build in scripts/check fails on what MkDocs warns about (a broken link, a page
left out of the nav), as scripts/check says; ``--quiet`` once dropped the warnings before
``--strict`` counted them, so a broken site passed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _build_command() -> str:
    """The MkDocs line of scripts/check, as CI runs it."""
    (line,) = [
        line for line in (ROOT / "scripts" / "check").read_text().splitlines() if " mkdocs build " in line
    ]
    return line


@pytest.mark.parametrize(
    ("defect", "fails"),
    [
        (None, False),
        ("orphan", True),
        ("broken-link", True),
        ("unknown-reference", True),
    ],
)
def test_the_check_builds_the_site_and_fails_on_warnings(
    tmp_path: Path, defect: str | None, fails: bool
) -> None:
    site = tmp_path / "project"
    site.mkdir()
    shutil.copy2(ROOT / "mkdocs.yml", site / "mkdocs.yml")
    shutil.copytree(ROOT / "docs", site / "docs")
    (site / "scripts").mkdir()
    shutil.copy2(ROOT / "scripts" / "mkdocs_reference.py", site / "scripts" / "mkdocs_reference.py")
    if defect == "orphan":
        (site / "docs" / "left-out.md").write_text("# A page nobody added to the nav\n")
    elif defect == "broken-link":
        with (site / "docs" / "index.md").open("a") as page:
            page.write("\nSee [a page that does not exist](no-such-page.md).\n")
    elif defect == "unknown-reference":
        with (site / "docs" / "index.md").open("a") as page:
            page.write("\n<!-- reference: no-such-table -->\n")
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}

    run = subprocess.run(
        ["bash", "-c", f"set -euo pipefail\n{_build_command()}"],
        cwd=site,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    output = run.stdout + run.stderr
    assert (run.returncode != 0) == fails, output
    if defect is not None:  # it failed for the defect, named in the warning
        assert {
            "orphan": "left-out.md",
            "broken-link": "no-such-page.md",
            "unknown-reference": "no-such-table",
        }[defect] in output, output
