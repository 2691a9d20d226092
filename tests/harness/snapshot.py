"""The test engine's checkpoint and its JSON form, as ``pulumi stack export`` prints it and
``pulumi stack import`` reads it (apitype ``UntypedDeployment`` version 3: ``DeploymentV3``,
``ResourceV3``, ``OperationV2`` in sdk/go/common/apitype/core.go).

Secrets are written as the passphrase secrets manager writes them: ciphertext only. The
ciphertext here is a digest of the value; the values behind the digests this process wrote are
kept in memory (the passphrase's part), so that an import of an export made here decrypts, and an
import of a ciphertext never written here fails as a wrong passphrase would.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi.runtime import rpc

from tests.harness.host import secret

PROVIDER_KEY = "__provider"
STACK_TYPE = "pulumi:pulumi:Stack"
DEFAULT_PROVIDER_TYPE = "pulumi:providers:pulumi-python"
DEFAULT_PROVIDER_ID = "00000000-0000-4000-8000-000000000000"

CLI_VERSION = "v3.259.0"
MAGIC = hashlib.sha256(CLI_VERSION.encode()).hexdigest()
"""The manifest's magic cookie: the sha256 of the CLI version (pkg/resource/deploy/manifest.go)."""

_PLAINTEXTS: dict[str, Any] = {}
_PLAINTEXTS_LOCK = threading.Lock()


class SnapshotError(Exception):
    """A deployment that cannot be read back (``stack import`` refuses it)."""


def is_secret(value: Any) -> bool:
    return bool(rpc.is_rpc_secret(value))


@dataclass
class ResourceState:
    """One resource in the checkpoint (apitype ``ResourceV3``): what the engine keeps between runs."""

    urn: str
    type: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    custom: bool = True
    parent: str = ""
    dependencies: list[str] = field(default_factory=list)
    protect: bool = False
    retain_on_delete: bool = False
    delete: bool = False
    """Replaced (create-before-delete) and waiting for its delete at the end of the deployment."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    deleted_with: str = ""
    pending_replacement: bool = False
    """Deleted by a delete-before-replace whose create has not happened yet (step.go ``DeleteStep``)."""
    taint: bool = False
    """Replaced at the next update (``pulumi state taint``; step_generator.go ``isTargetedReplace``)."""

    @property
    def dynamic(self) -> bool:
        return PROVIDER_KEY in self.outputs or PROVIDER_KEY in self.inputs

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[1]

    def export(self, provider_ref: str) -> dict[str, Any]:
        """This resource as ``pulumi stack export`` prints it (empty fields omitted, as omitempty)."""
        data: dict[str, Any] = {"urn": self.urn, "custom": self.custom, "type": self.type}
        optional = {
            "delete": self.delete,
            "id": self.id,
            "inputs": export_value(self.inputs),
            "outputs": export_value(self.outputs),
            "parent": self.parent,
            "protect": self.protect,
            "taint": self.taint,
            "dependencies": self.dependencies,
            "provider": provider_ref if self.custom and self.dynamic else "",
            "propertyDependencies": self.property_dependencies,
            "pendingReplacement": self.pending_replacement,
            "retainOnDelete": self.retain_on_delete,
            "deletedWith": self.deleted_with,
        }
        data.update({k: v for k, v in optional.items() if v})
        return data

    @classmethod
    def read(cls, data: Mapping[str, Any]) -> ResourceState:
        """A ``ResourceV3`` of an imported deployment, secrets decrypted."""
        return cls(
            urn=data["urn"],
            type=data["type"],
            id=data.get("id", ""),
            inputs=import_value(data.get("inputs") or {}),
            outputs=import_value(data.get("outputs") or {}),
            custom=data["custom"],
            parent=data.get("parent", ""),
            dependencies=list(data.get("dependencies") or []),
            protect=data.get("protect", False),
            retain_on_delete=data.get("retainOnDelete", False),
            delete=data.get("delete", False),
            property_dependencies={k: list(v) for k, v in (data.get("propertyDependencies") or {}).items()},
            deleted_with=data.get("deletedWith", ""),
            pending_replacement=data.get("pendingReplacement", False),
            taint=data.get("taint", False),
        )


@dataclass(frozen=True)
class PendingOperation:
    """A step begun and never ended (apitype ``OperationV2``): ``creating``, ``updating``,
    ``deleting``, or ``importing`` (what ``refresh --import-pending-creates`` turns a create into)."""

    resource: ResourceState
    type: str


def export_value(value: Any) -> Any:
    """Secrets as ``pulumi stack export`` prints them without ``--show-secrets``: ciphertext only."""
    if is_secret(value):
        plain = value["value"]
        digest = hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()
        with _PLAINTEXTS_LOCK:
            _PLAINTEXTS[digest] = plain
        return {rpc._special_sig_key: rpc._special_secret_sig, "ciphertext": f"v1:{digest}"}
    if isinstance(value, dict):
        return {k: export_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [export_value(v) for v in value]
    return value


def import_value(value: Any) -> Any:
    """The reverse of :func:`export_value`; ``plaintext`` (``--show-secrets``) is read as JSON."""
    if isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig:
        if "plaintext" in value:
            return secret(json.loads(value["plaintext"]))
        digest = str(value.get("ciphertext", "")).removeprefix("v1:")
        with _PLAINTEXTS_LOCK:
            if digest not in _PLAINTEXTS:
                raise SnapshotError(
                    "failed to decrypt a secret: the ciphertext was not made by this stack's secrets "
                    "provider (wrong passphrase?)"
                )
            return secret(json.loads(json.dumps(_PLAINTEXTS[digest])))
    if isinstance(value, dict):
        return {k: import_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [import_value(v) for v in value]
    return value


def stack_urn(stack: str, project: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"


def provider_urn(stack: str, project: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{DEFAULT_PROVIDER_TYPE}::default"


def untyped_deployment(
    stack: str,
    project: str,
    resources: list[ResourceState],
    operations: list[PendingOperation],
    provider_inputs: Mapping[str, Any],
) -> dict[str, Any]:
    """``pulumi stack export``'s output: the stack, the default provider (its inputs: the config the
    last update configured it with), the resources in checkpoint order, the pending operations."""
    provider = provider_urn(stack, project)
    ref = f"{provider}::{DEFAULT_PROVIDER_ID}"
    base: list[dict[str, Any]] = [
        {"urn": stack_urn(stack, project), "custom": False, "type": STACK_TYPE},
        {"urn": provider, "custom": True, "id": DEFAULT_PROVIDER_ID, "type": DEFAULT_PROVIDER_TYPE},
    ]
    if provider_inputs:
        base[1]["inputs"] = base[1]["outputs"] = export_value(dict(provider_inputs))
    deployment: dict[str, Any] = {
        "manifest": {"time": "2025-01-01T00:00:00Z", "magic": MAGIC, "version": CLI_VERSION},
        "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:test"}},
        "resources": base + [s.export(ref) for s in resources],
    }
    if operations:
        deployment["pending_operations"] = [
            {"resource": op.resource.export(ref), "type": op.type} for op in operations
        ]
    return {"version": 3, "deployment": deployment}


@dataclass
class ImportedDeployment:
    """What an imported deployment holds for the test engine."""

    resources: list[ResourceState]
    operations: list[PendingOperation]
    provider_inputs: dict[str, Any] | None
    """The default provider's inputs (the saved config), None when the deployment has none."""


def read_untyped_deployment(doc: Mapping[str, Any]) -> ImportedDeployment:
    """The resources (stack and provider resources aside) and pending operations of ``doc``."""
    deployment = doc["deployment"]
    resources: list[ResourceState] = []
    provider_inputs: dict[str, Any] | None = None
    for data in deployment.get("resources") or []:
        if data["type"] == STACK_TYPE:
            continue
        if data["type"] == DEFAULT_PROVIDER_TYPE:
            provider_inputs = import_value(data.get("inputs") or {})
            continue
        resources.append(ResourceState.read(data))
    operations = [
        PendingOperation(ResourceState.read(op["resource"]), op["type"])
        for op in deployment.get("pending_operations") or []
    ]
    return ImportedDeployment(resources, operations, provider_inputs)
