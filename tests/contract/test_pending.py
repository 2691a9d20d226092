"""`tiktok-audiences pending`: the README's recovery from a killed `pulumi up`, for every audience type.

The checkpoint (``pulumi stack export``) keeps a pending ``creating`` operation for a create the CLI
did not see finish (reference: pulumi-dynamic-providers.md §9.10); the command finds its audience
on TikTok and prints the `pulumi refresh --import-pending-creates` pairs the CLI reads
(pkg/cmd/pulumi/refresh.go: a flat list, URN then ID).
"""

from __future__ import annotations

import json
import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, RunningServer
from pulumi_tiktok_audiences.lookalike import LookalikeAudienceSpec
from pulumi_tiktok_audiences.provider import props_from_spec, spec_from_props
from pulumi_tiktok_audiences.settings import TOKEN_ENV
from tests.contract.helpers import PROJECT, SECRET_TOKEN, declared

AUDIENCE = "pulumi-python:dynamic/tiktok:AppActivityAudience"
LOOKALIKE = "pulumi-python:dynamic/tiktok:LookalikeAudience"


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:dev::{PROJECT}::{type_}::{name}"


def _export(pending: list[tuple[str, dict[str, Any]]], held: Sequence[str] = ()) -> str:
    operations = [
        {"resource": {"urn": urn, "type": urn.split("::")[2], "inputs": inputs}, "type": "creating"}
        for urn, inputs in pending
    ]
    resources = [
        {"urn": _urn(AUDIENCE, f"held-{i}"), "type": AUDIENCE, "id": id_} for i, id_ in enumerate(held)
    ]
    return json.dumps(
        {"version": 3, "deployment": {"resources": resources, "pending_operations": operations}}
    )


def _pending(server: RunningServer, export: str) -> Result:
    return CliRunner().invoke(
        main, ["pending", "--endpoint", server.url], input=export, env={TOKEN_ENV: SECRET_TOKEN}
    )


@pytest.fixture(scope="module")
def tiktok(server: RunningServer) -> TikTokClient:
    """TikTok as the killed `pulumi up` left it: what its creates made."""
    return TikTokClient(SECRET_TOKEN, base_url=server.url)


def _audience_inputs(name: str) -> dict[str, Any]:
    return props_from_spec(spec_from_props(declared(name=name)))


def _pairs(result: Result) -> list[str]:
    command = shlex.split(result.stdout)
    assert command[:3] == ["pulumi", "refresh", "--yes"]
    return [command[i + 1] for i, arg in enumerate(command) if arg == "--import-pending-creates"]


def test_the_audience_and_the_lookalike_of_killed_creates_are_found(
    server: RunningServer, tiktok: TikTokClient
) -> None:
    inputs = _audience_inputs("Killed while creating")
    made = tiktok.create_rule_audience(spec_from_props(inputs).to_create_payload())
    lookalike = {
        "advertiser_id": DEFAULT_ADVERTISER_ID,
        "name": "Killed lookalike",
        "source_audience_id": made,
        "locations": ["6252001"],
        "audience_size": "NARROW",
    }
    spec = LookalikeAudienceSpec.model_validate(lookalike)
    made_lookalike = tiktok.create_lookalike(spec.to_create_payload())
    pending = [(_urn(AUDIENCE, "killed"), inputs), (_urn(LOOKALIKE, "killed-lookalike"), spec.model_dump())]

    result = _pending(server, _export(pending))

    assert result.exit_code == 0, result.output
    assert _pairs(result) == [
        _urn(AUDIENCE, "killed"),
        made,
        _urn(LOOKALIKE, "killed-lookalike"),
        made_lookalike,
    ]
    assert SECRET_TOKEN not in result.output


def test_an_audience_the_stack_holds_is_not_proposed(server: RunningServer, tiktok: TikTokClient) -> None:
    inputs = _audience_inputs("Held twice")
    held = tiktok.create_rule_audience(spec_from_props(inputs).to_create_payload())
    made = tiktok.create_rule_audience(spec_from_props(inputs).to_create_payload())

    result = _pending(server, _export([(_urn(AUDIENCE, "second"), inputs)], held=[held]))

    assert result.exit_code == 0, result.output
    assert _pairs(result) == [_urn(AUDIENCE, "second"), made]


def test_missing_and_ambiguous_audiences_are_named_with_what_to_do(
    server: RunningServer, tiktok: TikTokClient
) -> None:
    twins = _audience_inputs("Made twice")
    ids = [tiktok.create_rule_audience(spec_from_props(twins).to_create_payload()) for _ in range(2)]
    pending = [
        (_urn(AUDIENCE, "never-made"), _audience_inputs("Never made")),
        (_urn(AUDIENCE, "twins"), twins),
    ]

    result = _pending(server, _export(pending))

    assert result.exit_code == 1
    assert result.stdout == ""  # no command: nothing was found for sure
    assert f"{_urn(AUDIENCE, 'never-made')}: " in result.stderr
    assert "--clear-pending-creates" in result.stderr
    assert all(i in result.stderr for i in ids)
    # No command is printed for it (stdout is empty): the way out is to keep one, then look again.
    assert (
        "delete all but the one to keep in TikTok Ads Manager, then run this command again" in result.stderr
    )


def test_encrypted_inputs_ask_for_show_secrets(server: RunningServer) -> None:
    inputs = {
        **_audience_inputs("Secret"),
        "app_ids": {"4dabf18193072939515e22adb298388d": "x", "ciphertext": "y"},
    }

    result = _pending(server, _export([(_urn(AUDIENCE, "secret"), inputs)]))

    assert result.exit_code == 1
    assert "--show-secrets" in result.stderr


def test_inputs_that_declare_no_audience_are_named_field_by_field(server: RunningServer) -> None:
    """A hand-edited checkpoint: said in property paths, not in pydantic's text (with its values)."""
    inputs = {**_audience_inputs("Edited"), "include": [{"event": "NO_SUCH_EVENT", "lookback_days": 3}]}
    del inputs["advertiser_id"]

    result = _pending(server, _export([(_urn(AUDIENCE, "edited"), inputs)]))

    assert result.exit_code == 1
    said = " ".join(result.stderr.split())
    assert "its inputs in the checkpoint are not a valid declaration (advertiser_id: " in said
    assert "include[0].event: unknown app event 'NO_SUCH_EVENT'" in said
    assert "errors.pydantic.dev" not in said
    assert "input_value" not in said


def test_no_pending_creates_means_nothing_to_do(server: RunningServer) -> None:
    result = _pending(server, _export([]))
    assert result.exit_code == 0
    assert "nothing to recover" in result.stderr


def test_run_runs_the_printed_refresh(server: RunningServer, tiktok: TikTokClient, tmp_path: Path) -> None:
    """``--run`` starts `pulumi` itself (a stand-in here that records its arguments)."""
    inputs = _audience_inputs("Run the refresh")
    made = tiktok.create_rule_audience(spec_from_props(inputs).to_create_payload())
    recorded = tmp_path / "args"
    fake = tmp_path / "pulumi"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {recorded}\n', encoding="utf-8")
    fake.chmod(0o755)
    result = CliRunner().invoke(
        main,
        ["pending", "--endpoint", server.url, "--stack", "dev", "--run"],
        input=_export([(_urn(AUDIENCE, "run"), inputs)]),
        env={TOKEN_ENV: SECRET_TOKEN, "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}"},
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert recorded.read_text(encoding="utf-8").split("\n")[:-1] == [
        "refresh",
        "--yes",
        "--stack",
        "dev",
        "--import-pending-creates",
        _urn(AUDIENCE, "run"),
        "--import-pending-creates",
        made,
    ]
