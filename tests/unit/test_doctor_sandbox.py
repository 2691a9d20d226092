"""`tiktok-audiences doctor` on TikTok's sandbox says plainly that it serves no audience endpoints."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, DEFAULT_TOKEN, Emulator


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TIKTOK_ACCESS_TOKEN", "TIKTOK_ENDPOINT", "TIKTOK_ADVERTISER_ID", "TIKTOK_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)


def test_on_the_sandbox_the_advertiser_check_says_it_serves_no_audience_endpoints() -> None:
    with Emulator(sandbox=True) as emulator, emulator.serve() as server:
        result = CliRunner().invoke(
            main,
            ["doctor", "--endpoint", server.url, "--token", DEFAULT_TOKEN, "--advertiser-id",
             DEFAULT_ADVERTISER_ID, "--format", "json"],
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    checks = {c["name"]: c for c in report["checks"]}
    assert checks["token"]["status"] == "ok"  # the sandbox proves authentication, nothing more
    advertiser = checks[f"advertiser {DEFAULT_ADVERTISER_ID}"]
    assert advertiser["status"] == "fail"
    assert "sandbox serves no audience endpoints (/dmp/...) nor /app/list/" in advertiser["detail"]
    assert "[40014]" in advertiser["detail"]
    assert "reference §" not in advertiser["detail"]  # the project's notes, which users do not have
    assert "sandbox. The sandbox can only prove" in advertiser["detail"]  # TikTok's text, one full stop
    assert "production ad account" in advertiser["fix"]
