"""``tiktok-audiences emulator serve`` as a real subprocess, plus its argument checks and seeds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from pulumi_tiktok_audiences import constants as c
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_SEED,
    DEFAULT_TOKEN,
    Seed,
    load_seed,
)

SEED_YAML = """
tokens:
  - token: yaml-secret-token
    advertiser_ids: [1234567]
advertisers:
  - advertiser_id: 1234567
    business_center_id: 42
    app_ids: [555]
population:
  calculating_seconds: 0
  growth_seconds: 0
"""


@contextmanager
def serving(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """Start the CLI on a free port; yield its URL (the first stdout line) and the process."""
    command = [sys.executable, "-m", "pulumi_tiktok_audiences.cli", "emulator", "serve", "--port", "0", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip(), process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def stop(process: subprocess.Popen[str], signum: int) -> tuple[int, str, str]:
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)
    return process.returncode, out, err


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_its_url_first_and_stops_cleanly(signum: int) -> None:
    with serving() as (url, process):
        assert url.startswith("http://127.0.0.1:")
        response = httpx.get(
            url + c.API_PREFIX + c.PATH_LIST,
            params={"advertiser_id": DEFAULT_ADVERTISER_ID},
            headers={c.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN},
        )
        assert response.json()["code"] == 0
        code, _, err = stop(process, signum)
    assert code == 0
    assert "Traceback" not in err


def test_serve_with_flags_never_prints_the_token(tmp_path: Path) -> None:
    secret = "flag-secret-token-99"
    args = (
        "--token",
        secret,
        "--advertiser",
        "111",
        "--advertiser",
        "222",
        "--app",
        "333",
        "--db",
        str(tmp_path / "s.db"),
    )
    with serving(*args) as (url, process):
        client = httpx.Client(base_url=url + c.API_PREFIX, headers={c.ACCESS_TOKEN_HEADER: secret})
        body = {
            "advertiser_id": "222",
            "custom_audience_name": "x",
            "audience_type": "APP",
            "rule_spec": {
                "inclusion_rule_set": {
                    "operator": "OR",
                    "rules": [
                        {
                            "event_source_ids": ["333"],
                            "retention_days": 7,
                            "filter_set": {
                                "operator": "OR",
                                "filters": [{"field": "EVENT", "operator": "EQ", "value": "LOGIN"}],
                            },
                        }
                    ],
                }
            },
        }
        assert client.post(c.PATH_RULE_CREATE, json=body).json()["code"] == 0
        assert client.get(c.PATH_LIST, params={"advertiser_id": DEFAULT_ADVERTISER_ID}).json()["code"] == (
            c.CODE_PERMISSION_ERROR
        )
        client.close()
        code, out, err = stop(process, signal.SIGTERM)
    assert code == 0
    assert secret not in url + out + err


def test_serve_answers_in_the_chosen_shape() -> None:
    headers = {c.ACCESS_TOKEN_HEADER: DEFAULT_TOKEN}
    rule = {"event_source_ids": [DEFAULT_APP_ID], "retention_days": 30}
    rule["filter_set"] = {
        "operator": "OR",
        "filters": [{"field": "EVENT", "operator": "EQ", "value": "PURCHASE"}],
    }
    body = {
        "advertiser_id": DEFAULT_ADVERTISER_ID,
        "custom_audience_name": "buyers",
        "audience_type": "APP",
        "rule_spec": {"inclusion_rule_set": {"operator": "OR", "rules": [rule]}},
    }
    with serving("--answer-shape", "request") as (url, process):
        created = httpx.post(url + c.API_PREFIX + c.PATH_RULE_CREATE, json=body, headers=headers).json()
        params = {
            "advertiser_id": DEFAULT_ADVERTISER_ID,
            "custom_audience_ids": f'["{created["data"]["custom_audience_id"]}"]',
        }
        got = httpx.get(url + c.API_PREFIX + c.PATH_GET, params=params, headers=headers).json()
        assert json.loads(got["data"]["list"][0]["audience_details"]["rule"]) == body["rule_spec"]
        stop(process, signal.SIGTERM)
    result = CliRunner().invoke(main, ["emulator", "serve", "--answer-shape", "echo"])
    assert result.exit_code == 2
    assert "backend, adgroup, request" in result.output


def test_serve_with_a_seed_file(tmp_path: Path) -> None:
    seed_file = tmp_path / "seed.yaml"
    seed_file.write_text(SEED_YAML)
    with serving("--seed", str(seed_file)) as (url, process):
        headers = {c.ACCESS_TOKEN_HEADER: "yaml-secret-token"}
        answer = httpx.get(
            url + c.API_PREFIX + c.PATH_LIST, params={"advertiser_id": "1234567"}, headers=headers
        )
        assert answer.json()["code"] == 0
        code, _, err = stop(process, signal.SIGTERM)
    assert code == 0
    assert "yaml-secret-token" not in err


@pytest.mark.parametrize(
    "args",
    [
        ["--seed", "SEED", "--token", "t"],
        ["--token", "t"],
        ["--app", "1"],
        ["--seed", "BROKEN"],
        ["--advertiser", "not-a-number"],
        ["--port", "70000"],
    ],
)
def test_serve_refuses_bad_arguments(tmp_path: Path, args: list[str]) -> None:
    good, broken = tmp_path / "seed.yaml", tmp_path / "broken.yaml"
    good.write_text(SEED_YAML)
    broken.write_text("tokens: [{token: t, advertiser_ids: [1]}]\nadvertisers: []\n")
    args = [str(good) if a == "SEED" else str(broken) if a == "BROKEN" else a for a in args]
    result = CliRunner().invoke(main, ["emulator", "serve", *args])
    assert result.exit_code == 2, result.output


def test_a_bad_seed_is_named_field_by_field_without_its_values(tmp_path: Path) -> None:
    """pydantic's own text repeats the input, so a token of a bad seed was printed with the error."""
    seed = tmp_path / "seed.yaml"
    seed.write_text("tokens: [{token: seed-secret-token-42}]\nadvertisers: 5\n")
    result = CliRunner().invoke(main, ["emulator", "serve", "--seed", str(seed)])
    assert result.exit_code == 2, result.output
    assert "seed-secret-token-42" not in result.output
    assert "errors.pydantic.dev" not in result.output
    assert f"{seed}: tokens[0].advertiser_ids: Field required" in " ".join(result.output.split())
    assert "advertisers: " in result.output


def test_cli_help_lists_the_emulator_group() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "emulator" in result.output


# --- seeds --------------------------------------------------------------------------------


def test_load_seed_reads_yaml_ids_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "seed.yaml"
    path.write_text(SEED_YAML)
    seed = load_seed(path)
    assert seed.advertisers[0].advertiser_id == "1234567"
    assert seed.advertisers[0].app_ids == ("555",)
    assert seed.population.growth_seconds == 0
    assert "yaml-secret-token" not in repr(seed) + str(seed.model_dump())


def test_seed_refuses_tokens_for_unknown_advertisers() -> None:
    with pytest.raises(ValidationError, match="not in advertisers"):
        Seed.model_validate(
            {
                "tokens": [{"token": "t", "advertiser_ids": ["9"]}],
                "advertisers": [{"advertiser_id": "1", "business_center_id": "2"}],
            }
        )


def test_flags_seed_grants_everything_to_everyone() -> None:
    seed = Seed.from_flags(["t1", "t2"], ["1", "2"], ["7"])
    assert {a.business_center_id for a in seed.advertisers} == {seed.advertisers[0].business_center_id}
    assert all(a.app_ids == ("7",) for a in seed.advertisers)
    assert all(t.advertiser_ids == ("1", "2") for t in seed.tokens)
    assert Seed.from_flags([], ["1"]).tokens[0].token.get_secret_value() == DEFAULT_TOKEN


def test_default_seed_is_as_documented() -> None:
    business_centers = {a.advertiser_id: a.business_center_id for a in DEFAULT_SEED.advertisers}
    assert business_centers == {
        "7000000000000000001": "7100000000000000001",
        "7000000000000000002": "7100000000000000001",
        "7000000000000000003": "7100000000000000001",
        "7000000000000000009": "7100000000000000009",
    }
    apps = {a.advertiser_id: set(a.app_ids) for a in DEFAULT_SEED.advertisers}
    assert apps["7000000000000000009"] == {"6400000009"}
    assert all(
        apps[f"700000000000000000{i}"] == {"6400000001", "6400000002", "6400000003"} for i in (1, 2, 3)
    )
    (grant,) = DEFAULT_SEED.tokens
    assert grant.token.get_secret_value() == DEFAULT_TOKEN
    assert set(grant.advertiser_ids) == set(business_centers)
