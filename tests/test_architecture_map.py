"""ARCHITECTURE.md's module map names every module of the package, and no module that is gone.

The map is where a newcomer looks a module up, and it went stale (emulator modules left out), so the
check is mechanical: each ``pkg/`` row names that package's modules (a command module of ``cli/`` may
go without ``.py``), each top-level module has a row of its own (a package's module may have one too).
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]
PACKAGE = ROOT / "pulumi_tiktok_audiences"
_SKIP = {"__init__.py", "__main__.py"}


def _map_rows() -> dict[str, str]:
    """The module map's rows: each backticked name of the first column to its row's text."""
    text = ROOT.joinpath("ARCHITECTURE.md").read_text(encoding="utf-8")
    table = text.split("## Module map", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in table.splitlines():
        if line.startswith("| `"):
            first, rest = line[1:].split("|", 1)
            for name in re.findall(r"`([^`]+)`", first):
                rows[name] = rest
    return rows


def _named(row: str) -> set[str]:
    return set(re.findall(r"`([\w.]+)`", row))


def test_every_module_of_the_package_is_in_the_module_map() -> None:
    rows = _map_rows()
    missing = []
    for module in sorted(PACKAGE.rglob("*.py")):
        if module.name in _SKIP:
            continue
        relative = module.relative_to(PACKAGE)
        if relative.as_posix() in rows:  # a row of its own (`client/processing.py`)
            continue
        if len(relative.parts) == 1:
            missing.append(str(relative))
            continue
        row = rows.get(f"{relative.parts[0]}/", "")
        if not _named(row) & {module.name, module.stem}:
            missing.append(str(relative))
    assert not missing, f"add these to ARCHITECTURE.md's module map: {missing}"


def test_the_module_map_names_no_module_that_does_not_exist() -> None:
    gone = []
    for name, row in _map_rows().items():
        if name.endswith("/"):
            folder = PACKAGE / name
            gone += [f"{name}{m}" for m in _named(row) if m.endswith(".py") and not (folder / m).exists()]
        elif not (PACKAGE / name).exists():
            gone.append(name)
    assert not gone, f"ARCHITECTURE.md's module map names modules that do not exist: {gone}"
