"""`tiktok-audiences doctor` through click's CliRunner, against the emulator served over HTTP."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pydantic import SecretStr

from pulumi_tiktok_audiences import constants, ratestore
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.client import resolve_base_url
from pulumi_tiktok_audiences.doctor import _rate_limit
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_BUSINESS_CENTER_ID,
    DEFAULT_TOKEN,
    SECOND_ADVERTISER_ID,
    AdvertiserSeed,
    Emulator,
    Seed,
    TokenSeed,
)
from pulumi_tiktok_audiences.settings import ProviderSettings
from pulumi_tiktok_audiences.spec import AppEvent, AudienceSpec, EventRule
from pulumi_tiktok_audiences.throttle import budget_key_for_token
from tests.harness.bulk import add_audiences

LIMITED_TOKEN = "doctor-limited-token-7c1d"  # may use the first advertiser only
APPLESS_ADVERTISER = "7000000000000000004"
SECRET = "developer-app-secret-for-tests"


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("TIKTOK_ACCESS_TOKEN", "TIKTOK_ENDPOINT", "TIKTOK_ADVERTISER_ID", "TIKTOK_APP_SECRET"):
        monkeypatch.delenv(name, raising=False)


def seed() -> Seed:
    advertisers = (
        AdvertiserSeed(
            advertiser_id=DEFAULT_ADVERTISER_ID,
            business_center_id=DEFAULT_BUSINESS_CENTER_ID,
            name="Shop One",
            app_ids=(DEFAULT_APP_ID,),
        ),
        AdvertiserSeed(
            advertiser_id=SECOND_ADVERTISER_ID,
            business_center_id=DEFAULT_BUSINESS_CENTER_ID,
            app_ids=("6400000002",),
        ),
        AdvertiserSeed(advertiser_id=APPLESS_ADVERTISER, business_center_id=DEFAULT_BUSINESS_CENTER_ID),
    )
    return Seed(
        tokens=(
            TokenSeed(
                token=SecretStr(DEFAULT_TOKEN),
                advertiser_ids=(DEFAULT_ADVERTISER_ID, SECOND_ADVERTISER_ID, APPLESS_ADVERTISER),
            ),
            TokenSeed(token=SecretStr(LIMITED_TOKEN), advertiser_ids=(DEFAULT_ADVERTISER_ID,)),
        ),
        advertisers=advertisers,
    )


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(seed=seed()) as instance:
        yield instance


@pytest.fixture
def url(emulator: Emulator) -> Iterator[str]:
    with emulator.serve() as server:
        yield server.url


def doctor(*args: str) -> Result:
    return CliRunner().invoke(main, ["doctor", *args])


def as_json(result: Result) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(result.output)
    return report


def check(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [c for c in report["checks"] if c["name"] == name]
    return found


def spec(name: str = "doctor") -> AudienceSpec:
    return AudienceSpec(
        advertiser_id=DEFAULT_ADVERTISER_ID,
        name=name,
        app_ids=[DEFAULT_APP_ID],
        include=[EventRule(event=AppEvent.PURCHASE, lookback_days=30)],
    )


def test_a_healthy_setup_passes_every_check(url: str) -> None:
    result = doctor("--endpoint", url, "--token", DEFAULT_TOKEN, "--advertiser-id", DEFAULT_ADVERTISER_ID)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"TikTok endpoint: {url}"
    assert "[ok  ] endpoint: answers with TikTok's envelope" in lines
    assert "[ok  ] token: accepted" in lines
    assert any(
        line.startswith(f"[ok  ] advertiser {DEFAULT_ADVERTISER_ID}: apps: {DEFAULT_APP_ID}")
        for line in lines
    )
    assert lines[-1] == "All checks passed."


def test_json_reports_apps_and_the_audiences_used(url: str, emulator: Emulator) -> None:
    add_audiences(emulator, spec(), ["a", "b", "c"])
    result = doctor(
        "--endpoint",
        url,
        "--token",
        DEFAULT_TOKEN,
        "--advertiser-id",
        DEFAULT_ADVERTISER_ID,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    report = as_json(result)
    assert report["ok"] is True
    advertiser = check(report, f"advertiser {DEFAULT_ADVERTISER_ID}")
    assert advertiser["status"] == "ok"
    assert advertiser["data"]["audiences_owned"] == 3
    assert [app["app_id"] for app in advertiser["data"]["apps"]] == [DEFAULT_APP_ID]
    assert "3 of 400 used" in advertiser["detail"]


def test_with_the_developer_app_every_advertiser_of_the_token_is_listed_and_checked(url: str) -> None:
    result = doctor(
        "--endpoint", url, "--token", DEFAULT_TOKEN, "--developer-app-id", "7200000000000000001",
        "--app-secret", SECRET, "--format", "json",
    )  # fmt: skip
    report = as_json(result)
    listed = check(report, "advertisers")
    assert listed["status"] == "ok"
    ids = [a["advertiser_id"] for a in listed["data"]["advertisers"]]
    assert ids == [DEFAULT_ADVERTISER_ID, SECOND_ADVERTISER_ID, APPLESS_ADVERTISER]
    assert {c["name"] for c in report["checks"]} >= {f"advertiser {i}" for i in ids}
    # The advertiser without an app fails, and says what to do.
    appless = check(report, f"advertiser {APPLESS_ADVERTISER}")
    assert appless["status"] == "fail"
    assert "register it in Events Manager" in appless["fix"]
    assert result.exit_code == 1
    assert SECRET not in result.output


def test_a_bad_token_fails_the_token_check_and_says_what_to_do(url: str) -> None:
    bad = "not-a-token-0f9e8d7c6b5a"
    result = doctor("--endpoint", url, "--token", bad, "--advertiser-id", DEFAULT_ADVERTISER_ID)
    assert result.exit_code == 1
    assert "[ok  ] endpoint: answers with TikTok's envelope" in result.output
    assert "[FAIL] token: TikTok refused the access token" in result.output
    assert "TIKTOK_ACCESS_TOKEN" in result.output
    assert bad not in result.output


def test_an_advertiser_the_token_may_not_use_fails_its_check(url: str) -> None:
    result = doctor(
        "--endpoint", url, "--token", LIMITED_TOKEN, "--advertiser-id", DEFAULT_ADVERTISER_ID,
        "--advertiser-id", SECOND_ADVERTISER_ID, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    report = as_json(result)
    assert check(report, "token")["status"] == "ok"
    assert check(report, f"advertiser {DEFAULT_ADVERTISER_ID}")["status"] == "ok"
    denied = check(report, f"advertiser {SECOND_ADVERTISER_ID}")
    assert denied["status"] == "fail"
    assert "may not use this advertiser" in denied["detail"]
    assert "authorise the developer app" in denied["fix"]


def test_an_advertiser_not_granted_is_named_against_the_developer_apps_list(url: str) -> None:
    result = doctor(
        "--endpoint", url, "--token", LIMITED_TOKEN, "--advertiser-id", SECOND_ADVERTISER_ID,
        "--developer-app-id", "7200000000000000001", "--app-secret", SECRET, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    listed = check(as_json(result), "advertisers")
    assert listed["status"] == "fail"
    assert f"not {SECOND_ADVERTISER_ID}" in listed["detail"]


def test_an_unreachable_endpoint_fails_and_the_token_is_not_judged() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = doctor(
        "--endpoint", f"http://127.0.0.1:{port}", "--token", DEFAULT_TOKEN, "--advertiser-id",
        DEFAULT_ADVERTISER_ID, "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 1
    report = as_json(result)
    endpoint = check(report, "endpoint")
    assert endpoint["status"] == "fail"
    assert "--endpoint" in endpoint["fix"]
    assert check(report, "token")["status"] == "skip"


def test_without_a_token_nothing_is_sent_and_the_token_check_fails(url: str, emulator: Emulator) -> None:
    result = doctor("--endpoint", url, "--advertiser-id", DEFAULT_ADVERTISER_ID)
    assert result.exit_code == 1
    assert "[FAIL] token: no access token is configured" in result.output
    assert emulator.request_counts() == {}


def test_its_fixes_name_the_ways_the_doctor_itself_reads(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The doctor reads flags and the environment, never a stack's config: a fix that said only
    `pulumi config set tiktok:accessToken` (or tiktok:advertiserId) left the doctor failing after it."""
    monkeypatch.delenv("TIKTOK_ADVERTISER_ID", raising=False)
    no_token = as_json(
        doctor("--endpoint", url, "--advertiser-id", DEFAULT_ADVERTISER_ID, "--format", "json")
    )
    token_fix = check(no_token, "token")["fix"]
    assert "--token" in token_fix
    assert "TIKTOK_ACCESS_TOKEN" in token_fix
    no_advertiser = as_json(doctor("--endpoint", url, "--token", DEFAULT_TOKEN, "--format", "json"))
    advertisers_fix = check(no_advertiser, "advertisers")["fix"]
    assert "--advertiser-id" in advertisers_fix
    assert "TIKTOK_ADVERTISER_ID" in advertisers_fix
    assert "tiktok:advertiserId" not in advertisers_fix


def test_without_an_advertiser_the_doctor_asks_for_one(url: str) -> None:
    result = doctor("--endpoint", url, "--token", DEFAULT_TOKEN)
    assert result.exit_code == 1
    assert "[ok  ] token: accepted" in result.output
    assert "[FAIL] advertisers: no advertiser to check" in result.output
    assert "--advertiser-id" in result.output


@pytest.mark.parametrize(("count", "status"), [(360, "warn"), (400, "fail")])
def test_an_advertiser_near_or_at_400_audiences_is_reported(
    url: str, emulator: Emulator, count: int, status: str
) -> None:
    add_audiences(emulator, spec(), [f"a{i}" for i in range(count)])
    result = doctor(
        "--endpoint",
        url,
        "--token",
        DEFAULT_TOKEN,
        "--advertiser-id",
        DEFAULT_ADVERTISER_ID,
        "--format",
        "json",
    )
    advertiser = check(as_json(result), f"advertiser {DEFAULT_ADVERTISER_ID}")
    assert advertiser["status"] == status
    assert f"{count} of {constants.AUDIENCES_PER_ADVERTISER_MAX} used" in advertiser["detail"]
    assert result.exit_code == (1 if status == "fail" else 0)


def test_offline_the_same_checks_run_against_the_embedded_emulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = doctor("--endpoint", "local", "--advertiser-id", DEFAULT_ADVERTISER_ID, "--format", "json")
    assert result.exit_code == 0, result.output
    report = as_json(result)
    assert report["endpoint"] == "the embedded emulator (local)"
    assert [c["name"] for c in report["checks"]] == [
        "endpoint",
        "token",
        "advertisers",
        f"advertiser {DEFAULT_ADVERTISER_ID}",
        "rate limit",
    ]


def test_the_developer_app_id_and_secret_go_together() -> None:
    result = doctor("--endpoint", "local", "--developer-app-id", "1")
    assert result.exit_code == 2
    assert "--developer-app-id and --app-secret go together" in result.output


def test_the_rate_limit_check_shows_the_pace_in_effect_on_tiktoks_hosts() -> None:
    check_ = _rate_limit(ProviderSettings(access_token="t", endpoint="production"))
    assert check_.status == "ok"
    assert "paced at" in check_.detail


def test_the_rate_limit_check_names_the_budget_derived_from_the_token_never_the_token() -> None:
    token = "doctor-budget-token-5e4d"
    check_ = _rate_limit(
        ProviderSettings(access_token=token, endpoint="production", rate_limit_store="memory")
    )
    assert f"budget {budget_key_for_token(token)!r} in memory (this process only)" in check_.detail
    assert token not in check_.detail


@pytest.mark.parametrize(("tier", "status"), [("basic", "warn"), (None, "warn"), ("sandbox", "ok")])
def test_on_the_sandbox_a_tier_other_than_sandbox_is_a_warning(tier: str | None, status: str) -> None:
    """Read tolerantly: settings name the tier ``tier`` and the pace ``pacing`` (per_second, per_minute)."""
    settings = SimpleNamespace(
        tier=tier, pacing=SimpleNamespace(per_second=0.6, per_minute=18), is_local=False, endpoint="sandbox"
    )
    check_ = _rate_limit(settings)  # type: ignore[arg-type]
    assert check_.status == status
    assert "at most 18 a minute" in check_.detail
    if status == "warn":
        assert "tiktok:rateLimitTier" in (check_.fix or "")
        assert "TIKTOK_RATE_LIMIT_TIER" in (check_.fix or "")  # what the doctor itself reads


def test_a_setting_that_cannot_be_read_is_a_failed_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOK_TIMEOUT_SECONDS", "soon")
    result = doctor("--endpoint", "local", "--advertiser-id", DEFAULT_ADVERTISER_ID, "--format", "json")
    assert result.exit_code == 1
    (failed,) = as_json(result)["checks"]
    assert failed["name"] == "configuration"
    assert failed["status"] == "fail"
    assert "tiktok:timeoutSeconds" in failed["detail"]


APPS_CATALOG = f"""\
advertiser_id: "{DEFAULT_ADVERTISER_ID}"
app_ids: ["{DEFAULT_APP_ID}"]
stacks:
  dev: {{}}
  prod: {{advertiser_id: "{SECOND_ADVERTISER_ID}", app_ids: ["6400000009"]}}
audiences:
  buyers:
    include: [{{event: PURCHASE, lookback_days: 30}}]
  carts:
    include: [{{event: ADD_TO_CART, lookback_days: 14, app_ids: ["6400000002"]}}]
  installs:
    include: [{{event: INSTALL, lookback_days: 7}}]
"""


def test_a_catalog_app_its_advertiser_lacks_fails_with_the_audiences_and_what_to_do(
    url: str, tmp_path: Path
) -> None:
    """dev: 6400000002 is not the first advertiser's; prod: 6400000009 is not the second's."""
    path = tmp_path / "audiences.yaml"
    path.write_text(APPS_CATALOG, encoding="utf-8")

    result = doctor(str(path), "--endpoint", url, "--token", DEFAULT_TOKEN)

    assert result.exit_code == 1
    lines = result.output.splitlines()
    carts = lines.index(
        "[FAIL] app 6400000002: audience carts (stack dev) uses app 6400000002, which advertiser "
        f"{DEFAULT_ADVERTISER_ID} does not have on TikTok (its apps: {DEFAULT_APP_ID})"
    )
    assert lines[carts + 1] == (
        f"       -> register app 6400000002 for ad account {DEFAULT_ADVERTISER_ID} in Events Manager, "
        "or correct the app id in the catalog"
    )
    assert (
        "[FAIL] app 6400000009: audiences buyers, installs (stack prod) use app 6400000009, which "
        f"advertiser {SECOND_ADVERTISER_ID} does not have on TikTok (its apps: 6400000002)"
    ) in lines
    assert any(
        line.startswith(f"[ok  ] advertiser {SECOND_ADVERTISER_ID}: apps: 6400000002") for line in lines
    )
    assert sum(line.startswith("[FAIL] app ") for line in lines) == 2


def test_a_catalog_whose_apps_are_there_passes_and_one_stack_can_be_checked(url: str, tmp_path: Path) -> None:
    path = tmp_path / "audiences.yaml"
    path.write_text(APPS_CATALOG.replace('app_ids: ["6400000002"]', f'app_ids: ["{DEFAULT_APP_ID}"]'))

    result = doctor(
        str(path), "--stack", "dev", "--endpoint", url, "--token", DEFAULT_TOKEN, "--format", "json"
    )

    assert result.exit_code == 0, result.output
    report = as_json(result)
    assert check(report, f"catalog apps of advertiser {DEFAULT_ADVERTISER_ID}")["status"] == "ok"
    assert not [c for c in report["checks"] if c["name"] == f"advertiser {SECOND_ADVERTISER_ID}"]


def test_catalog_problems_fail_the_doctor_and_name_validate(url: str, tmp_path: Path) -> None:
    path = tmp_path / "audiences.yaml"
    path.write_text(APPS_CATALOG.replace("lookback_days: 7", "lookback_days: 700"), encoding="utf-8")

    result = doctor(
        str(path), "--stack", "dev", "--endpoint", url, "--token", DEFAULT_TOKEN, "--format", "json"
    )

    assert result.exit_code == 1
    problems = check(as_json(result), "catalog")
    assert problems["status"] == "fail"
    assert f"tiktok-audiences validate {path}" in problems["fix"]


def test_the_doctors_requests_draw_from_the_developer_apps_shared_budget(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like every command that calls TikTok: run beside `pulumi up`, it must not add to the app's pace."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("TIKTOK_RATE_LIMIT_TIER", "basic")
    monkeypatch.setenv("TIKTOK_DEVELOPER_APP", "agency")
    result = doctor("--endpoint", url, "--token", DEFAULT_TOKEN, "--advertiser-id", DEFAULT_ADVERTISER_ID)
    assert result.exit_code == 0, result.output
    store = ratestore.SQLiteStore(ratestore.local_store_path())
    try:
        sent = store.read(f"{resolve_base_url(url)}|agency").day_count
    finally:
        store.close()
    assert sent >= 2  # the advertiser's apps and its audiences at least
    (line,) = [line for line in result.output.splitlines() if line.startswith("[ok  ] rate limit")]
    assert f"budget 'agency' in local ({ratestore.local_store_path()})" in line


def test_a_rate_limit_store_that_cannot_be_opened_fails_the_rate_limit_check_only(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOK_RATE_LIMIT_TIER", "basic")
    monkeypatch.setenv("TIKTOK_RATE_LIMIT_STORE", "redis://:hunter2@127.0.0.1:1/0")
    result = doctor(
        "--endpoint",
        url,
        "--token",
        DEFAULT_TOKEN,
        "--advertiser-id",
        DEFAULT_ADVERTISER_ID,
        "--format",
        "json",
    )
    assert result.exit_code == 1, result.output
    report = as_json(result)
    assert check(report, "token")["status"] == "ok"  # the other checks still ran
    limit = check(report, "rate limit")
    assert limit["status"] == "fail"
    assert (
        "tiktok:rateLimitStore (TIKTOK_RATE_LIMIT_STORE): cannot open the rate-limit store redis://:***@127.0.0.1:1/0"
        in limit["detail"]
    )
    assert "TIKTOK_RATE_LIMIT_STORE" in limit["fix"]
    assert "hunter2" not in result.output
