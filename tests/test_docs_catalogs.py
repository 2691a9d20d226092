"""Every complete catalog the documentation shows (a YAML block with a top-level ``advertiser_id``
and ``audiences``) validates as `validate --strict` would: no problem, no warning. Fragments that
illustrate one field are left out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pulumi_tiktok_audiences.catalog import resolve_text

ROOT = Path(__file__).parents[1]
PAGES = [
    ROOT / "README.md",
    *sorted((ROOT / "docs").rglob("*.md")),
    *sorted((ROOT / "examples").rglob("*.md")),
]
BLOCK = re.compile(r"```ya?ml\n(.*?)```", re.DOTALL)


def _catalogs() -> list[tuple[str, str]]:
    found = []
    for page in PAGES:
        text = page.read_text()
        for match in BLOCK.finditer(text):
            block = match.group(1)
            if re.search(r"^advertiser_id:", block, re.M) and re.search(r"^audiences:", block, re.M):
                line = text.count("\n", 0, match.start()) + 2
                found.append((f"{page.relative_to(ROOT)}:{line}", block))
    return found


CATALOGS = _catalogs()


def test_the_documentation_shows_complete_catalogs() -> None:
    assert len(CATALOGS) >= 2  # the README's quick start and the marketer's guide at least


@pytest.mark.parametrize(("where", "block"), CATALOGS, ids=[where for where, _ in CATALOGS])
def test_a_catalog_shown_in_the_documentation_validates_strictly(where: str, block: str) -> None:
    resolved = resolve_text(block, where)
    assert [str(p) for p in (*resolved.problems, *resolved.warnings)] == []
