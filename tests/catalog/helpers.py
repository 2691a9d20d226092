"""Shared by the catalog tests."""

from __future__ import annotations


def line_with(text: str, fragment: str, nth: int = 1) -> int:
    """The 1-based number of the line holding the ``nth`` occurrence of ``fragment``."""
    found = [number for number, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found[nth - 1]
