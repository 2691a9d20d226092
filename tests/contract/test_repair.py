"""`tiktok-audiences pending --repair-to`: the checkpoint of an interrupted `pulumi up`, repaired.

The output must be a deployment `pulumi stack import` accepts (checked with the stand-in for its
checks, tests/harness/checkpoint.py), in which each pending create found on TikTok is a resource
of the stack, secrets as the export held them, and a replacement's old audience is marked for
deletion. The command only reads from TikTok and never touches the export it reads.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.cli import main
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import DEFAULT_ADVERTISER_ID, Emulator, RunningServer
from pulumi_tiktok_audiences.lookalike import LookalikeAudienceSpec
from pulumi_tiktok_audiences.provider import AppActivity, Lookalike, props_from_spec, spec_from_props
from pulumi_tiktok_audiences.settings import ENDPOINT_ENV, TOKEN_ENV
from tests.contract.helpers import PROJECT, SECRET_TOKEN, declared
from tests.harness.checkpoint import validate_deployment

STACK = "dev"
AUDIENCE = "pulumi-python:dynamic/tiktok:AppActivityAudience"
LOOKALIKE = "pulumi-python:dynamic/tiktok:LookalikeAudience"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
PROVIDER_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:pulumi-python::default"
PROVIDER_REF = f"{PROVIDER_URN}::0b6f5b8e-2c4a-4a53-9d0a-3f1c1c7f0b11"
SIG = "4dabf18193072939515e22adb298388d"
SUMMARY_PLAINTEXT = "People who purchased in app 6400000001 (a secret summary)"
SECRET_SUMMARY = {
    SIG: "1b47061264138c4ac30d75fd1eb44270",
    "ciphertext": "v1:c2VjcmV0:ZW5jcnlwdGVkIHN1bW1hcnk=",
}
READS = {constants.PATH_GET, constants.PATH_LIST}


def _urn(type_: str, name: str) -> str:
    return f"urn:pulumi:{STACK}::{PROJECT}::{type_}::{name}"


def _audience_inputs(name: str, **overrides: Any) -> dict[str, Any]:
    """Inputs as the engine stores them: checked, the provider blob, the summary carrier secret."""
    checked = props_from_spec(spec_from_props(declared(name=name, **overrides)))
    return {**checked, "__provider": serialize_provider(AppActivity()), "summary": SECRET_SUMMARY}


def _resource(urn: str, inputs: dict[str, Any], id_: str = "", **extra: Any) -> dict[str, Any]:
    state: dict[str, Any] = {
        "urn": urn,
        "custom": True,
        "type": urn.split("::")[2],
        "inputs": inputs,
        "parent": STACK_URN,
        "provider": PROVIDER_REF,
        "propertyDependencies": {k: [] for k in inputs if k != "__provider"},
        **extra,
    }
    if id_:
        state["id"] = id_
        state["outputs"] = {**inputs, "audience_id": id_, "size": 15000}
        state["created"] = state["modified"] = "2026-11-30T10:11:12.123456789Z"
    return state


def _export(resources: Sequence[dict[str, Any]], pending: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """A `pulumi stack export` (no --show-secrets) of a stack whose `pulumi up` was killed."""
    version = "v3.259.0"
    deployment: dict[str, Any] = {
        "manifest": {
            "time": "2026-11-30T10:11:12.5Z",
            "magic": hashlib.sha256(version.encode()).hexdigest(),
            "version": version,
        },
        "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:abc:def"}},
        "resources": [
            {"urn": STACK_URN, "custom": False, "type": "pulumi:pulumi:Stack"},
            {
                "urn": PROVIDER_URN,
                "custom": True,
                "id": PROVIDER_REF.rsplit("::", 1)[1],
                "type": "pulumi:providers:pulumi-python",
            },
            *resources,
        ],
    }
    if pending:
        deployment["pending_operations"] = [{"resource": p, "type": "creating"} for p in pending]
    validate_deployment({"version": 3, "deployment": deployment}, stack=STACK)  # a valid starting point
    return {"version": 3, "deployment": deployment}


@pytest.fixture(scope="module")
def tiktok(server: RunningServer) -> Iterator[TikTokClient]:
    """TikTok as the killed `pulumi up` left it: what its creates made."""
    with TikTokClient(SECRET_TOKEN, base_url=server.url) as client:
        yield client


def _made(tiktok: TikTokClient, inputs: dict[str, Any]) -> str:
    return tiktok.create_rule_audience(spec_from_props(inputs).to_create_payload())


def _repair(
    server: RunningServer,
    tmp_path: Path,
    export: dict[str, Any],
    *args: str,
    env: dict[str, str] | None = None,
) -> tuple[Result, Path, Path]:
    source, target = tmp_path / "stack.json", tmp_path / "repaired.json"
    source.write_text(json.dumps(export, indent=4), encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["pending", "--stack-file", str(source), "--repair-to", str(target), "--stack", STACK, *args],
        env={TOKEN_ENV: SECRET_TOKEN, ENDPOINT_ENV: server.url, **(env or {})},
    )
    assert SECRET_TOKEN not in result.output
    return result, source, target


def _resources(document: dict[str, Any], urn: str) -> list[dict[str, Any]]:
    return [r for r in document["deployment"]["resources"] if r["urn"] == urn]


def _commands(target: Path) -> list[str]:
    return [
        f"pulumi stack import --file {target} --stack {STACK}",
        f"pulumi refresh --yes --stack {STACK}",
    ]


def test_a_found_pending_create_becomes_a_resource_of_the_stack(
    server: RunningServer, emulator: Emulator, tiktok: TikTokClient, tmp_path: Path
) -> None:
    inputs = _audience_inputs("Killed while creating")
    made = _made(tiktok, inputs)
    urn = _urn(AUDIENCE, "killed")
    export = _export([], [_resource(urn, inputs)])
    emulator.reset_request_counts()

    result, source, target = _repair(server, tmp_path, export)

    assert result.exit_code == 0, result.output
    assert set(emulator.request_counts()) <= READS  # nothing but reads reached TikTok
    assert json.loads(source.read_text(encoding="utf-8")) == export
    repaired = json.loads(target.read_text(encoding="utf-8"))
    validate_deployment(repaired, stack=STACK)
    assert "pending_operations" not in repaired["deployment"]
    (state,) = _resources(repaired, urn)
    assert state["id"] == made
    assert state["inputs"] == inputs  # the secret summary still its ciphertext object
    assert state["outputs"] == {**inputs, "audience_id": made}
    assert state["provider"] == PROVIDER_REF
    text = target.read_text(encoding="utf-8")
    assert SECRET_SUMMARY["ciphertext"] in text
    assert SUMMARY_PLAINTEXT not in text
    assert SECRET_TOKEN not in text
    assert result.stdout.splitlines() == _commands(target)
    assert f"{urn}: audience {made}, recorded" in result.stderr


def test_the_recorded_outputs_are_what_the_providers_read_takes(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    """The next `pulumi refresh` calls read with the stored outputs: they must be enough for it."""
    inputs = _audience_inputs("Read back after the repair")
    made = _made(tiktok, inputs)
    urn = _urn(AUDIENCE, "read-back")
    result, _, target = _repair(server, tmp_path, _export([], [_resource(urn, inputs)]))
    assert result.exit_code == 0, result.output
    (state,) = _resources(json.loads(target.read_text(encoding="utf-8")), urn)
    outputs = {k: v for k, v in state["outputs"].items() if k not in ("__provider", "summary")}

    read = _read(AppActivity(), server, made, outputs)

    assert read.id == made
    assert read.outs["name"] == "Read back after the repair"
    assert read.outs["size"] is not None


def _read(provider: AppActivity, server: RunningServer, id_: str, outputs: dict[str, Any]) -> Any:
    from pulumi.dynamic import Config, ConfigureRequest

    from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY

    provider.configure(
        ConfigureRequest(Config({TOKEN_KEY: SECRET_TOKEN, ENDPOINT_KEY: server.url}, "tiktok"))
    )
    return provider.read(id_, outputs)


def test_a_replacements_pending_create_keeps_the_old_audience_marked_for_deletion(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    urn = _urn(AUDIENCE, "buyers")
    old_inputs = _audience_inputs("Buyers")
    old = _made(tiktok, old_inputs)
    new_inputs = _audience_inputs("Buyers", retention_in_days=60)
    new = _made(tiktok, new_inputs)
    lookalike_urn = _urn(LOOKALIKE, "buyers-lookalike")
    lookalike_inputs = {"source_audience_id": old, "__provider": serialize_provider(Lookalike())}
    dependent = _resource(
        lookalike_urn, lookalike_inputs, "7300000000000000999", dependencies=[urn], deletedWith=urn
    )
    export = _export([_resource(urn, old_inputs, old), dependent], [_resource(urn, new_inputs)])

    result, _, target = _repair(server, tmp_path, export)

    assert result.exit_code == 0, result.output
    repaired = json.loads(target.read_text(encoding="utf-8"))
    validate_deployment(repaired, stack=STACK)
    states = _resources(repaired, urn)
    assert [(s["id"], s.get("delete", False)) for s in states] == [(new, False), (old, True)]
    order = [r["urn"] for r in repaired["deployment"]["resources"]]
    assert order.index(urn) < order.index(lookalike_urn)  # the new one comes before the dependent
    assert f"the next `pulumi up` deletes the audience it replaces ({old})" in result.stderr


def test_a_delete_before_replace_pending_create_takes_the_deleted_resources_place(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    """The old audience is gone already (``pendingReplacement``): the engine drops it once replaced."""
    urn = _urn(AUDIENCE, "dbr")
    old_inputs = _audience_inputs("Deleted before replace")
    new_inputs = _audience_inputs("Deleted before replace", retention_in_days=90)
    new = _made(tiktok, new_inputs)
    old = _resource(urn, old_inputs, "7300000000000000555", pendingReplacement=True)
    after = _resource(_urn(LOOKALIKE, "after"), {}, "7300000000000000777", dependencies=[urn])
    export = _export([old, after], [_resource(urn, new_inputs)])

    result, _, target = _repair(server, tmp_path, export)

    assert result.exit_code == 0, result.output
    repaired = json.loads(target.read_text(encoding="utf-8"))
    validate_deployment(repaired, stack=STACK)
    (state,) = _resources(repaired, urn)
    assert state["id"] == new
    assert "pendingReplacement" not in state
    assert [r["urn"] for r in repaired["deployment"]["resources"]].index(urn) == 2


def test_a_delete_before_replace_pending_create_that_refers_past_its_place_stays_pending(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    """The new resource must take the deleted one's place (what follows may refer to its URN), but it
    depends on a resource listed after that place: no order is valid, so nothing is recorded."""
    urn = _urn(AUDIENCE, "dbr-late")
    old_inputs = _audience_inputs("Deleted before replace, late dependency")
    new_inputs = _audience_inputs("Deleted before replace, late dependency", retention_in_days=90)
    new = _made(tiktok, new_inputs)
    old = _resource(urn, old_inputs, "7300000000000000556", pendingReplacement=True)
    later_urn = _urn(AUDIENCE, "listed-later")
    later = _resource(later_urn, _audience_inputs("Listed later"), "7300000000000000778")
    export = _export([old, later], [_resource(urn, new_inputs, dependencies=[later_urn])])

    result, _, target = _repair(server, tmp_path, export)

    assert result.exit_code == 1
    repaired = json.loads(target.read_text(encoding="utf-8"))
    validate_deployment(repaired, stack=STACK)
    assert repaired["deployment"] == export["deployment"]
    assert f"{urn}: its audience is {new}, but what it refers to comes after the resource it replaces" in (
        result.stderr
    )


def test_missing_and_ambiguous_pending_creates_stay_pending_with_what_to_do(
    server: RunningServer, emulator: Emulator, tiktok: TikTokClient, tmp_path: Path
) -> None:
    twins = _audience_inputs("Made twice")
    ids = [_made(tiktok, twins) for _ in range(2)]
    never, twin_urn = _urn(AUDIENCE, "never-made"), _urn(AUDIENCE, "twins")
    export = _export([], [_resource(never, _audience_inputs("Never made")), _resource(twin_urn, twins)])
    recorded = _stand_in_pulumi(tmp_path)

    result, _, target = _repair(server, tmp_path, export, "--run", env=_on_path(tmp_path))

    assert result.exit_code == 1
    assert not recorded.exists()  # importing now would drop the ambiguous one: nothing ran
    repaired = json.loads(target.read_text(encoding="utf-8"))
    validate_deployment(repaired, stack=STACK)
    assert repaired["deployment"]["pending_operations"] == export["deployment"]["pending_operations"]
    assert f"{never}: no audience matches: the create never reached TikTok" in result.stderr
    assert all(i in result.stderr for i in ids)
    assert "settle it first" in result.stderr
    assert result.stdout.splitlines() == _commands(target)


def test_a_missing_pending_create_alone_is_settled_by_the_import(
    server: RunningServer, tmp_path: Path
) -> None:
    """`pulumi stack import` drops every pending operation, which is right for a create that never
    reached TikTok: the next `pulumi up` makes it."""
    export = _export([], [_resource(_urn(AUDIENCE, "never"), _audience_inputs("Never made either"))])
    result, _, _ = _repair(server, tmp_path, export)
    assert result.exit_code == 0, result.output


def _stand_in_pulumi(tmp_path: Path) -> Path:
    """A `pulumi` on PATH that appends its arguments, one invocation per line, to a file."""
    recorded = tmp_path / "pulumi-calls"
    folder = tmp_path / "bin"
    folder.mkdir()
    fake = folder / "pulumi"
    fake.write_text(f'#!/bin/sh\necho "$*" >> {recorded}\n', encoding="utf-8")
    fake.chmod(0o755)
    return recorded


def _on_path(tmp_path: Path) -> dict[str, str]:
    return {"PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}


def test_run_imports_the_repaired_file_then_refreshes(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    inputs = _audience_inputs("Run the repair")
    _made(tiktok, inputs)
    recorded = _stand_in_pulumi(tmp_path)
    export = _export([], [_resource(_urn(AUDIENCE, "run"), inputs)])

    result, _, target = _repair(server, tmp_path, export, "--run", env=_on_path(tmp_path))

    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert recorded.read_text(encoding="utf-8").splitlines() == [
        c.removeprefix("pulumi ") for c in _commands(target)
    ]


def test_the_export_is_never_overwritten(server: RunningServer, tmp_path: Path) -> None:
    source = tmp_path / "stack.json"
    text = json.dumps(_export([], [_resource(_urn(AUDIENCE, "x"), _audience_inputs("X"))]))
    source.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(
        main,
        ["pending", "--stack-file", str(source), "--repair-to", str(tmp_path / "." / "stack.json")],
        env={TOKEN_ENV: SECRET_TOKEN, ENDPOINT_ENV: server.url},
    )
    assert result.exit_code == 2
    assert "never overwritten" in result.output
    assert source.read_text(encoding="utf-8") == text


def test_an_export_with_decrypted_secrets_is_refused(server: RunningServer, tmp_path: Path) -> None:
    inputs = {**_audience_inputs("Shown"), "summary": {SIG: SECRET_SUMMARY[SIG], "plaintext": '"shown"'}}
    result, _, target = _repair(server, tmp_path, _export([], [_resource(_urn(AUDIENCE, "s"), inputs)]))
    assert result.exit_code == 2
    assert "--show-secrets" in result.output
    assert not target.exists()


def test_an_encrypted_input_the_match_needs_keeps_the_create_pending(
    server: RunningServer, tmp_path: Path
) -> None:
    inputs = {**_audience_inputs("Secret apps"), "app_ids": {**SECRET_SUMMARY}}
    urn = _urn(AUDIENCE, "secret-apps")
    result, _, target = _repair(server, tmp_path, _export([], [_resource(urn, inputs)]))
    assert result.exit_code == 1
    assert f"{urn}: its input app_ids is a secret the export holds encrypted" in result.stderr
    assert json.loads(target.read_text(encoding="utf-8"))["deployment"]["pending_operations"]


def test_a_pending_create_whose_dependency_is_still_pending_stays_pending(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    source_inputs = _audience_inputs("Ambiguous source")
    sources = [_made(tiktok, source_inputs) for _ in range(2)]
    spec = LookalikeAudienceSpec.model_validate(
        {
            "advertiser_id": DEFAULT_ADVERTISER_ID,
            "name": "Lookalike of a pending source",
            "source_audience_id": sources[0],
            "locations": ["6252001"],
            "audience_size": "NARROW",
        }
    )
    made = tiktok.create_lookalike(spec.to_create_payload())
    source_urn, lookalike_urn = _urn(AUDIENCE, "source"), _urn(LOOKALIKE, "lookalike")
    lookalike = _resource(lookalike_urn, spec.model_dump(mode="json"), dependencies=[source_urn])
    export = _export([], [_resource(source_urn, source_inputs), lookalike])

    result, _, target = _repair(server, tmp_path, export)

    assert result.exit_code == 1
    validate_deployment(json.loads(target.read_text(encoding="utf-8")), stack=STACK)
    assert f"{lookalike_urn}: its audience is {made}, but it refers to {source_urn}" in result.stderr


def test_one_audience_claimed_by_two_equal_pending_creates_is_given_to_neither(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    inputs = _audience_inputs("Declared twice, made once")
    made = _made(tiktok, inputs)
    first, second = _urn(AUDIENCE, "first"), _urn(AUDIENCE, "second")
    export = _export([], [_resource(first, inputs), _resource(second, copy.deepcopy(inputs))])

    result, _, target = _repair(server, tmp_path, export)

    assert result.exit_code == 1
    repaired = json.loads(target.read_text(encoding="utf-8"))
    assert not _resources(repaired, first)
    assert not _resources(repaired, second)
    assert f"audience {made} matches 2 pending creates" in result.stderr
    # As the message says: once it is deleted, the command settles both (`pulumi up` alone would keep
    # them pending in every later checkpoint: the engine carries pending creates over).
    assert "delete it in TikTok Ads Manager, then run this command again" in result.stderr
    tiktok.delete_audiences(DEFAULT_ADVERTISER_ID, [made])
    again, _, _ = _repair(server, tmp_path, export)
    assert again.exit_code == 0, again.output


def test_other_pending_operations_are_named_and_left_as_they_are(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    """Only pending creates of audiences are this command's: an interrupted update stays in the file,
    named, since `pulumi stack import` drops it; the create after it is recorded all the same."""
    updated_inputs = _audience_inputs("Updated when killed")
    updated_urn = _urn(AUDIENCE, "updated")
    updated = _resource(updated_urn, updated_inputs, _made(tiktok, updated_inputs))
    inputs = _audience_inputs("Created beside an update")
    made = _made(tiktok, inputs)
    urn = _urn(AUDIENCE, "created")
    export = _export([updated], [_resource(urn, inputs)])
    interrupted = {"resource": copy.deepcopy(updated), "type": "updating"}
    export["deployment"]["pending_operations"].insert(0, interrupted)

    result, _, target = _repair(server, tmp_path, export)

    assert result.exit_code == 0, result.output
    repaired = json.loads(target.read_text(encoding="utf-8"))
    validate_deployment(repaired, stack=STACK)
    assert repaired["deployment"]["pending_operations"] == [interrupted]
    assert [r["id"] for r in _resources(repaired, urn)] == [made]
    assert f"updating {updated_urn}: left as it is (`pulumi stack import` drops it)" in result.stderr


def test_a_pending_create_whose_provider_is_not_in_the_stack_stays_pending(
    server: RunningServer, tiktok: TikTokClient, tmp_path: Path
) -> None:
    """The provider reference names the provider's URN and id: a provider of that URN with another id
    is another provider, which VerifyIntegrity refuses."""
    inputs = _audience_inputs("Made by another provider")
    made = _made(tiktok, inputs)
    urn = _urn(AUDIENCE, "other-provider")
    other = f"{PROVIDER_URN}::11111111-2222-4333-8444-555555555555"
    export = _export([], [_resource(urn, inputs, provider=other)])

    result, _, target = _repair(server, tmp_path, export)

    assert result.exit_code == 1
    repaired = json.loads(target.read_text(encoding="utf-8"))
    validate_deployment(repaired, stack=STACK)
    assert repaired["deployment"]["pending_operations"] == export["deployment"]["pending_operations"]
    assert f"{urn}: its audience is {made}, but its provider {other} is not in the stack" in result.stderr
