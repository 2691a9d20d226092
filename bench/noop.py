"""The baseline for host overhead: a dynamic provider that does nothing.

Importable by the provider host (the repository root is on its path), so its blob is a class
reference like ours and the comparison measures only what our check and diff add.
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import CheckResult, DiffResult, ResourceProvider


class NoOp(ResourceProvider):
    serialize_as_secret_always = False

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return CheckResult(news, [])

    def diff(self, _id: str, _olds: dict[str, Any], _news: dict[str, Any]) -> DiffResult:
        return DiffResult(changes=False)
