"""The emulator's boundaries: light to import, and sharing only constants.py with the client side."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pulumi_tiktok_audiences.emulator as emulator_package

ALLOWED_PROJECT_IMPORTS = {"pulumi_tiktok_audiences", "pulumi_tiktok_audiences.constants"}


def test_import_does_not_load_pulumi() -> None:
    code = (
        "import sys, pulumi_tiktok_audiences.emulator; print('pulumi' in sys.modules, 'grpc' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.split() == ["False", "False"]


def test_emulator_imports_nothing_of_the_client_side() -> None:
    package_dir = Path(emulator_package.__file__).parent
    for source in package_dir.glob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
                if module.startswith("pulumi_tiktok_audiences") and not module.startswith(
                    "pulumi_tiktok_audiences.emulator"
                ):
                    assert module in ALLOWED_PROJECT_IMPORTS, f"{source.name} imports {module}"
                    if module == "pulumi_tiktok_audiences":
                        assert [alias.name for alias in node.names] == ["constants"], source.name
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    assert not alias.name.startswith("pulumi"), f"{source.name} imports {alias.name}"
