"""Shared by the catalog tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from pulumi_tiktok_audiences.catalog import load_catalog


def line_with(text: str, fragment: str, nth: int = 1) -> int:
    """The 1-based number of the line holding the ``nth`` occurrence of ``fragment``."""
    found = [number for number, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found[nth - 1]


class Recorder(Mocks):
    """Pulumi mocks that record each resource's inputs as the program declares them."""

    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        self.inputs[args.name] = dict(args.inputs)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def declared(path: Path, stack: str, **options: Any) -> dict[str, dict[str, Any]]:
    """What ``load_catalog(path, stack, **options)`` sends for each audience, by key."""
    recorder = Recorder()
    pulumi.runtime.set_mocks(recorder, project="catalog-test", stack=stack, preview=False)

    @pulumi.runtime.test
    def program() -> None:
        load_catalog(path, stack, **options)

    program()
    return recorder.inputs
