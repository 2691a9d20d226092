"""The vendored OpenAPI files are TikTok's, unchanged.

Tests validate against a copy in tests/fixtures so that a clone runs on its own; this check
ties that copy to the project's shared reference set whenever the latter is present.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.openapi_schema import FIXTURES

SHARED = Path(os.environ.get("TIKTOK_OPENAPI_DIR", Path(__file__).parents[2] / "shared" / "tiktok-openapi"))


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"reference copy not present at {SHARED}")
def test_vendored_openapi_files_match_the_shared_reference() -> None:
    shared = {p.name: p.read_bytes() for p in SHARED.iterdir() if p.is_file()}
    vendored = {p.name: p.read_bytes() for p in FIXTURES.iterdir() if p.is_file()}
    assert vendored == shared


def test_every_audience_endpoint_file_is_vendored() -> None:
    names = {p.stem for p in FIXTURES.glob("dmp_custom_audience_*.yml")}
    assert {
        "dmp_custom_audience_rule_create",
        "dmp_custom_audience_update",
        "dmp_custom_audience_get",
        "dmp_custom_audience_list",
        "dmp_custom_audience_delete",
        "dmp_custom_audience_share",
        "dmp_custom_audience_share_cancel",
        "dmp_custom_audience_lookalike_create",
    } <= names
