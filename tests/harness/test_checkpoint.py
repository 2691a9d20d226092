"""The stand-in for ``pulumi stack import``'s checks: a real export passes, each rule refuses its breach."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from tests.harness.checkpoint import (
    CheckpointError,
    schema_lags,
    validate_deployment,
    verify_integrity,
)

STACK = "dev"
PROJECT = "audiences"
VERSION = "v3.259.0"
STACK_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:pulumi:Stack::{PROJECT}-{STACK}"
PROVIDER_URN = f"urn:pulumi:{STACK}::{PROJECT}::pulumi:providers:pulumi-python::default"
PROVIDER_ID = "5b1b2b8e-0f6a-4a53-9d0a-3f1c1c7f0b11"
PROVIDER_REF = f"{PROVIDER_URN}::{PROVIDER_ID}"
AUDIENCE = "pulumi-python:dynamic:Resource"
BUYERS = f"urn:pulumi:{STACK}::{PROJECT}::{AUDIENCE}::buyers"
LOOKALIKE = f"urn:pulumi:{STACK}::{PROJECT}::{AUDIENCE}::buyers-lookalike"
SECRET = {"4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", "ciphertext": "v1:abc:def"}


def export() -> dict[str, Any]:
    """Shaped like a real ``pulumi stack export``: created/modified, a secret, a replaced resource."""
    stamp = "2026-11-30T10:11:12.123456789Z"
    audience = {
        "urn": BUYERS,
        "custom": True,
        "id": "7100000001",
        "type": AUDIENCE,
        "inputs": {"__provider": SECRET, "name": "buyers", "retention_days": 30},
        "outputs": {"__provider": SECRET, "audience_id": "7100000001", "name": "buyers"},
        "parent": STACK_URN,
        "provider": PROVIDER_REF,
        "propertyDependencies": {"name": [], "retention_days": []},
        "created": stamp,
        "modified": stamp,
        "sourcePosition": "project:///__main__.py#12,1",
        "stackTrace": [{"sourcePosition": "project:///__main__.py#12,1"}],
    }
    old: dict[str, Any] = copy.deepcopy(audience) | {"id": "7100000000", "delete": True}
    old["outputs"]["audience_id"] = "7100000000"
    lookalike = {
        "urn": LOOKALIKE,
        "custom": True,
        "id": "7100000002",
        "type": AUDIENCE,
        "inputs": {"__provider": SECRET, "source_audience_id": "7100000001"},
        "outputs": {"__provider": SECRET, "audience_id": "7100000002"},
        "parent": STACK_URN,
        "dependencies": [BUYERS],
        "provider": PROVIDER_REF,
        "propertyDependencies": {"source_audience_id": [BUYERS]},
        "additionalSecretOutputs": ["summary"],
        "customTimeouts": {"create": 600},
        "ignoreChanges": ["name"],
        "retainOnDelete": False,
        "deletedWith": BUYERS,
        "created": stamp,
        "modified": stamp,
    }
    return {
        "version": 3,
        "deployment": {
            "manifest": {
                "time": "2026-11-30T10:11:12.5+01:00",
                "magic": hashlib.sha256(VERSION.encode()).hexdigest(),
                "version": VERSION,
                "plugins": [
                    {
                        "name": "python",
                        "path": "/usr/bin/pulumi-language-python",
                        "type": "language",
                        "version": "3.259.0",
                    }
                ],
            },
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:abc"}},
            "resources": [
                {
                    "urn": STACK_URN,
                    "custom": False,
                    "type": "pulumi:pulumi:Stack",
                    "created": stamp,
                    "modified": stamp,
                },
                {
                    "urn": PROVIDER_URN,
                    "custom": True,
                    "id": PROVIDER_ID,
                    "type": "pulumi:providers:pulumi-python",
                    "inputs": {},
                    "outputs": {},
                    "created": stamp,
                    "modified": stamp,
                },
                old,
                audience,
                lookalike,
            ],
            "pending_operations": [
                {
                    "resource": {
                        "urn": f"urn:pulumi:{STACK}::{PROJECT}::{AUDIENCE}::visitors",
                        "custom": True,
                        "type": AUDIENCE,
                        "inputs": {"__provider": SECRET, "name": "visitors"},
                        "parent": STACK_URN,
                        "provider": PROVIDER_REF,
                        "created": stamp,
                        "modified": stamp,
                    },
                    "type": "creating",
                }
            ],
            "metadata": {},
        },
    }


def resource(doc: dict[str, Any], urn: str) -> dict[str, Any]:
    found: dict[str, Any] = next(
        r for r in doc["deployment"]["resources"] if r["urn"] == urn and not r.get("delete")
    )
    return found


def test_a_real_export_passes() -> None:
    validate_deployment(export(), stack=STACK)


def test_the_fields_the_schema_files_lag_behind_are_the_ones_core_go_added() -> None:
    lags = schema_lags()
    assert {"created", "modified", "taint", "retainOnDelete", "deletedWith", "replaceWith", "viewOf"} <= set(
        lags["ResourceV3"]
    )
    assert lags["DeploymentV3"] == ["extensions"]
    assert "urn" not in lags["ResourceV3"]


def test_go_decoding_matches_keys_case_insensitively_and_ignores_unknown_ones() -> None:
    doc = export()
    doc["deployment"]["resources"][1]["someFutureField"] = 1
    with pytest.raises(CheckpointError, match="schema"):  # the schema is strict where Go is not
        validate_deployment(doc)
    doc = export()
    stack = doc["deployment"]["resources"][0]
    stack["URN"] = stack.pop("urn")
    with pytest.raises(
        CheckpointError, match=r"schema.* at \.deployment\.resources\[0\]: .*'URN' was unexpected"
    ):
        validate_deployment(doc)


Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split("/")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return apply


DECODING = {
    "version is an int": (
        _set("version", "3"),
        r"cannot unmarshal string into Go struct field UntypedDeployment\.version of type int",
    ),
    "version too new": (_set("version", 5), "version is too new"),
    "version missing": (lambda d: d.pop("version"), "version is too old"),
    "features of version 4": (
        lambda d: d.update(version=4, features=["time-travel"]),
        "needs support for the following features: time-travel",
    ),
    "deployment missing": (lambda d: d.pop("deployment"), "unexpected end of JSON input"),
    "custom is a bool": (
        _set("deployment/resources/1/custom", "true"),
        r"cannot unmarshal string into Go struct field ResourceV3\.resources\.custom of type bool",
    ),
    "id is a string": (
        _set("deployment/resources/1/id", 5),
        r"cannot unmarshal number into Go struct field ResourceV3\.resources\.id of type resource\.ID",
    ),
    "dependencies are an array": (
        _set("deployment/resources/4/dependencies", BUYERS),
        r"cannot unmarshal string into Go struct field ResourceV3\.resources\.dependencies "
        r"of type \[\]resource\.URN",
    ),
    "created is RFC 3339": (
        _set("deployment/resources/3/created", "30/11/2026"),
        r"resources\.created: parsing time",
    ),
    "manifest time is RFC 3339": (
        _set("deployment/manifest/time", "2026-11-30 10:11"),
        r"manifest\.time: parsing time",
    ),
    "pending operation type is a string": (
        _set("deployment/pending_operations/0/type", 1),
        r"Go struct field OperationV2\.pending_operations\.type of type apitype\.OperationType",
    ),
    "plugin version is semver": (
        _set("deployment/manifest/plugins/0/version", "latest"),
        "not a semantic version",
    ),
    "secret has one of ciphertext or plaintext": (
        _set(
            "deployment/resources/3/inputs/__provider",
            {"4dabf18193072939515e22adb298388d": SECRET["4dabf18193072939515e22adb298388d"]},
        ),
        r"resources\[3\].*inputs\.__provider: malformed secret value",
    ),
    "ciphertext needs a secrets provider": (
        lambda d: d["deployment"].pop("secrets_providers"),
        "encrypted secrets but no secrets manager",
    ),
    "unknown signature": (
        _set("deployment/resources/3/outputs/x", {"4dabf18193072939515e22adb298388d": "nope"}),
        "unrecognized signature 'nope'",
    ),
    "urn required": (
        _set("deployment/resources/2/urn", ""),
        r"resources\[2\] \(no urn\): resource missing required 'urn'",
    ),
    "type required": (_set("deployment/resources/2/type", ""), "missing required 'type' field"),
    "no id without custom": (_set("deployment/resources/0/id", "x"), "has 'custom' false but non-empty ID"),
    "a pending operation's resource too": (
        _set("deployment/pending_operations/0/resource/type", ""),
        r"visitors' missing required 'type' field",
    ),
}


@pytest.mark.parametrize("name", DECODING)
def test_decoding_refuses(name: str) -> None:
    mutate, message = DECODING[name]
    doc = export()
    mutate(doc)
    with pytest.raises(CheckpointError, match=message):
        validate_deployment(doc)


SCHEMA = {
    "unknown resource field": (
        _set("deployment/resources/2/colour", "red"),
        r"resources\[2\]: .*'colour' was unexpected",
    ),
    "unknown deployment field": (_set("deployment/colour", "red"), r"at \.deployment"),
    "manifest requires magic": (
        lambda d: d["deployment"]["manifest"].pop("magic"),
        "'magic' is a required property",
    ),
    "plugin kind": (_set("deployment/manifest/plugins/0/type", "tool"), r"plugins\[0\]\.type"),
    "pending operation kind": (
        _set("deployment/pending_operations/0/type", "importing"),
        "'importing' is not one of",
    ),
    "lagging field typed as core.go": (
        _set("deployment/resources/3/retainOnDelete", "yes"),
        r"retainOnDelete",
    ),
    "secret with both": (
        _set("deployment/resources/3/inputs/__provider", SECRET | {"plaintext": '"x"'}),
        r"inputs\.__provider",
    ),
}


@pytest.mark.parametrize("name", SCHEMA)
def test_the_schema_files_refuse(name: str) -> None:
    mutate, message = SCHEMA[name]
    doc = export()
    mutate(doc)
    with pytest.raises(CheckpointError, match=message):
        validate_deployment(doc)


def _move(urn: str, to: int) -> Mutation:
    def apply(doc: dict[str, Any]) -> None:
        resources = doc["deployment"]["resources"]
        item = resource(doc, urn)
        resources.remove(item)
        resources.insert(to, item)

    return apply


def _drop(urn: str) -> Mutation:
    return lambda doc: doc["deployment"]["resources"].remove(resource(doc, urn))


MISSING_BUYERS = f"urn:pulumi:{STACK}::{PROJECT}::{AUDIENCE}::gone"

# snapshot.go VerifyIntegrity (668-848), one broken document per rule.
INTEGRITY = {
    "magic is sha256(version) (670-673)": (_set("deployment/manifest/magic", ""), "magic cookie mismatch"),
    "provider referenceable (691-697)": (
        _set("deployment/resources/1/urn", f"urn:pulumi:{STACK}::{PROJECT}::{AUDIENCE}::default"),
        "provider .*::default is not referenceable: invalid module in type: expected 'pulumi:providers'",
    ),
    "provider reference parses (699-704)": (
        _set("deployment/resources/3/provider", "default"),
        f"failed to parse provider reference for resource {BUYERS}: expected '::'",
    ),
    "provider reference names a provider type (699-704)": (
        _set("deployment/resources/3/provider", f"{BUYERS}::7100000001"),
        "invalid module in type: expected 'pulumi:providers'",
    ),
    "provider known (705-707)": (
        _set("deployment/resources/3/provider", f"{PROVIDER_URN}::other-id"),
        f"resource {BUYERS} refers to unknown provider {PROVIDER_URN}::other-id",
    ),
    "provider earlier (705-707)": (_move(PROVIDER_URN, 4), "refers to unknown provider"),
    "parent earlier (723-728)": (
        _move(STACK_URN, 3),
        f"child resource {BUYERS}'s parent {STACK_URN} comes after it",
    ),
    "parent exists (729-730)": (_drop(STACK_URN), f"child resource .* refers to missing parent {STACK_URN}"),
    "dependency earlier (744-752)": (
        lambda d: (_set("deployment/resources/4/deletedWith", "")(d), _move(LOOKALIKE, 2)(d)),
        f"resource {LOOKALIKE}'s dependency {BUYERS} comes after it",
    ),
    "dependency exists (754-758)": (
        _set("deployment/resources/4/dependencies", [MISSING_BUYERS]),
        f"resource {LOOKALIKE}'s dependency {MISSING_BUYERS} refers to missing resource",
    ),
    "property dependency earlier (760-769)": (
        lambda d: (
            _set("deployment/resources/4/dependencies", [])(d),
            _set("deployment/resources/4/deletedWith", "")(d),
            _move(LOOKALIKE, 2)(d),
        ),
        rf"property dependency {BUYERS} \(from property source_audience_id\) comes after it",
    ),
    "property dependency exists (771-774)": (
        _set("deployment/resources/4/propertyDependencies/source_audience_id", [MISSING_BUYERS]),
        rf"property dependency {MISSING_BUYERS} \(from property source_audience_id\) "
        "refers to missing resource",
    ),
    "deleted_with earlier (776-785)": (
        lambda d: (
            _set("deployment/resources/4/dependencies", [])(d),
            _set("deployment/resources/4/propertyDependencies", {})(d),
            _move(LOOKALIKE, 2)(d),
        ),
        f"resource {LOOKALIKE} is specified as being deleted with {BUYERS}, which comes after it",
    ),
    "deleted_with exists (787-790)": (
        _set("deployment/resources/4/deletedWith", MISSING_BUYERS),
        f"being deleted with {MISSING_BUYERS}, which is missing",
    ),
    "replace_with earlier (792-801)": (
        lambda d: (
            _set("deployment/resources/4/dependencies", [])(d),
            _set("deployment/resources/4/propertyDependencies", {})(d),
            _set("deployment/resources/4/deletedWith", "")(d),
            _set("deployment/resources/4/replaceWith", [BUYERS])(d),
            _move(LOOKALIKE, 2)(d),
        ),
        f"being replaced with {BUYERS}, which comes after it",
    ),
    "replace_with exists (803-806)": (
        _set("deployment/resources/4/replaceWith", [MISSING_BUYERS]),
        f"being replaced with {MISSING_BUYERS}, which is missing",
    ),
    "unique URNs unless marked delete (814-831)": (
        _set("deployment/resources/2/delete", False),
        f"duplicate resource {BUYERS} \\(not marked for deletion\\)",
    ),
    "snippet uuid required (835-837)": (
        _set(
            "deployment/snippets",
            [{"uuid": "", "name": "n", "type": "t", "code": "c", "descriptor": {"name": "p"}}],
        ),
        "snippet at index 0 missing required 'uuid' field",
    ),
    "snippet uuid unique (838-842)": (
        _set(
            "deployment/snippets",
            [{"uuid": "u", "name": "n", "type": "t", "code": "c", "descriptor": {"name": "p"}}] * 2,
        ),
        'duplicate snippet uuid "u" at indexes 0 and 1',
    ),
    "stack of every URN (io.go:523-538)": (
        _set("deployment/resources/3/urn", BUYERS.replace(":dev::", ":prod::")),
        r"is from a different stack \(prod != dev\)",
    ),
}


@pytest.mark.parametrize("name", INTEGRITY)
def test_the_integrity_rules_refuse(name: str) -> None:
    mutate, message = INTEGRITY[name]
    doc = export()
    mutate(doc)
    with pytest.raises(CheckpointError, match=message):
        validate_deployment(doc, stack=STACK)


def test_all_resources_marked_delete_may_share_a_urn_and_a_pending_replacement_may_lack_its_provider() -> (
    None
):
    doc = export()
    resource(doc, BUYERS)["delete"] = True
    validate_deployment(doc)
    doc = export()
    lookalike = resource(doc, LOOKALIKE)
    lookalike.update(provider=f"{PROVIDER_URN}::gone", pendingReplacement=True)
    validate_deployment(doc)


def test_the_rules_on_urn_type_and_id_hold_in_verify_integrity_itself() -> None:
    """DeserializeResource refuses these first on import; VerifyIntegrity repeats them (681-689) for
    snapshots the engine builds itself."""
    from tests.harness.checkpoint import decode_deployment

    deployment = decode_deployment(export())
    deployment["resources"][0]["id"] = "x"
    with pytest.raises(CheckpointError, match="'custom false but non-empty ID"):
        verify_integrity(deployment)
    deployment["resources"][0].update(id="", urn="")
    with pytest.raises(CheckpointError, match="resource at index 0 missing required 'urn' field"):
        verify_integrity(deployment)
