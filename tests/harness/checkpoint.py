"""What ``pulumi stack import`` checks before it accepts a deployment, for tests that hand one to it.

Read from pulumi/pulumi at commit 1b5949891b (the local mirror, /work/.mirror/pulumi+pulumi/repo).
``pulumi stack import`` (pkg/cmd/pulumi/stack/stack_import.go:81-131) does, in this order:

1. decode the file as ``apitype.UntypedDeployment`` with Go's encoding/json, then its ``deployment``
   as ``apitype.DeploymentV3`` (pkg/resource/stack/deployment.go:447-496, ``UnmarshalUntypedDeployment``);
2. turn it into a snapshot (deployment.go:556-630, ``DeserializeDeploymentV3``; resources via
   ``DeserializeResource`` 908-979, property values via ``DeserializePropertyValue`` 1049-1198);
3. ``SaveSnapshot`` (pkg/cmd/pulumi/stack/io.go:520-577): every URN of the selected stack (523-538),
   ``snapshot.VerifyIntegrity()`` (pkg/resource/deploy/snapshot.go:668-848), then it *drops every pending
   operation* with a warning (io.go:555-565).

The JSON schema files beside core.go (deployments.json, resources.json, property-values.json) are
checked too, because the issue asks for it, although at this commit nothing but tests calls
``ValidateUntypedDeployment`` (deployment.go:219-232). Those files lag behind core.go: the ResourceV3
fields they lack (``created``, ``modified``, ...) and DeploymentV3's ``extensions`` are added to the
vendored copies (tests/fixtures/pulumi-apitype/) at load time, typed as core.go types them, so a real
export passes. ``SCHEMA_LAGS`` names them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "pulumi-apitype"
PROPERTY_VALUE_SCHEMA_ID = (
    "https://github.com/pulumi/pulumi/blob/master/sdk/go/common/apitype/property-values.json"
)

SIG_KEY = "4dabf18193072939515e22adb298388d"
SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
# pkg/resource/stack/deployment.go:1079-1190: the signatures DeserializePropertyValue knows.
KNOWN_SIGS = frozenset(
    {
        "c44067f5952c0a294b673a41bacd8c17",  # asset
        "0def7320c3a5731c473e5ecbe6d01bc7",  # archive
        SECRET_SIG,
        "5cf8f73096256a8f31e491e813e4eb8e",  # resource reference
        "803fd3297a5875dc03ca845dda5d2a98",  # byte string
        "8ad145fe-0d11-4827-bfd7-1abcbf086f5c",  # float
    }
)
# deployment.go:131-140 (supportedFeatures), looked at only from version 4 on (464-469).
SUPPORTED_FEATURES = frozenset(
    {
        "refreshBeforeUpdate",
        "views",
        "hooks",
        "taint",
        "replaceWith",
        "snippets-prototype",
        "extensionParameterization",
        "byteString",
    }
)
URN_PREFIX = "urn:pulumi:"  # sdk/go/common/resource/urn/urn.go:51-56
UNKNOWN_ID = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # sdk/go/common/providers/reference.go:32


class CheckpointError(ValueError):
    """The deployment would be refused by ``pulumi stack import``; the message says where and why."""


# -- 1. Go's encoding/json into the apitype structs ----------------------------------------------


@dataclass(frozen=True)
class _Go:
    """A Go type as encoding/json sees it: ``kind`` decides what JSON it accepts, ``go`` names it."""

    kind: str  # string | bool | int | float64 | time | bytes | semver | any | list | map | struct
    go: str
    elem: _Go | None = None
    fields: Mapping[str, _Go] = field(default_factory=dict)


def _s(go: str = "string") -> _Go:
    return _Go("string", go)


_BOOL = _Go("bool", "bool")
_ANY = _Go("any", "interface {}")
_TIME = _Go("time", "time.Time")
_URN = _s("resource.URN")


def _list(elem: _Go) -> _Go:
    return _Go("list", f"[]{elem.go}", elem)


def _map(elem: _Go) -> _Go:
    return _Go("map", f"map[string]{elem.go}", elem)


def _struct(name: str, /, **fields: _Go) -> _Go:
    return _Go("struct", f"apitype.{name}", fields=fields)


# sdk/go/common/apitype/core.go at 1b5949891b; json names as the struct tags spell them.
_PLUGIN_INFO = _struct(  # core.go:593-598
    "PluginInfoV1", name=_s(), path=_s(), type=_s("apitype.PluginKind"), version=_s()
)
_MANIFEST = _struct(  # core.go:574-583
    "ManifestV1", time=_TIME, magic=_s(), version=_s(), plugins=_list(_PLUGIN_INFO)
)
_SECRETS_PROVIDERS = _struct("SecretsProvidersV1", type=_s(), state=_ANY)  # core.go:281-284
_RESOURCE = _struct(  # core.go:489-565
    "ResourceV3",
    urn=_URN,
    custom=_BOOL,
    delete=_BOOL,
    id=_s("resource.ID"),
    type=_s("tokens.Type"),
    inputs=_map(_ANY),
    outputs=_map(_ANY),
    parent=_URN,
    protect=_BOOL,
    taint=_BOOL,
    external=_BOOL,
    dependencies=_list(_URN),
    initErrors=_list(_s()),
    provider=_s(),
    propertyDependencies=_map(_list(_URN)),
    pendingReplacement=_BOOL,
    additionalSecretOutputs=_list(_s("resource.PropertyKey")),
    aliases=_list(_URN),
    customTimeouts=_struct(  # sdk/go/common/resource/custom_timeouts.go:17-22
        "CustomTimeouts",
        create=_Go("float64", "float64"),
        update=_Go("float64", "float64"),
        delete=_Go("float64", "float64"),
        read=_Go("float64", "float64"),
    ),
    importID=_s("resource.ID"),
    retainOnDelete=_BOOL,
    deletedWith=_URN,
    replaceWith=_list(_URN),
    created=_TIME,
    modified=_TIME,
    sourcePosition=_s(),
    stackTrace=_list(_struct("StackFrameV1", sourcePosition=_s())),  # core.go:568-571
    ignoreChanges=_list(_s()),
    hideDiff=_list(_list(_ANY)),  # resource.PropertyPath is []any
    replaceOnChanges=_list(_s()),
    replacementTrigger=_ANY,
    refreshBeforeUpdate=_BOOL,
    viewOf=_URN,
    resourceHooks=_map(_list(_s())),
    extensionRef=_s("apitype.ExtensionRef"),
    snippetID=_s(),
)
_OPERATION = _struct("OperationV2", resource=_RESOURCE, type=_s("apitype.OperationType"))  # core.go:374-379
_SNIPPET = _struct(  # core.go:294-331
    "SnippetV1",
    uuid=_s(),
    name=_s(),
    type=_s(),
    code=_s(),
    descriptor=_struct(
        "PackageDescriptorV1",
        name=_s(),
        version=_Go("semver", "*semver.Version"),
        downloadURL=_s(),
        parameterization=_struct(
            "ParameterizationDescriptorV1",
            name=_s(),
            version=_Go("semver", "semver.Version"),
            value=_Go("bytes", "[]uint8"),
        ),
    ),
    references=_map(_s()),
)
_DEPLOYMENT = _struct(  # core.go:156-174
    "DeploymentV3",
    manifest=_MANIFEST,
    secrets_providers=_SECRETS_PROVIDERS,
    resources=_list(_RESOURCE),
    pending_operations=_list(_OPERATION),
    metadata=_struct(  # core.go:287-290, 335-344
        "SnapshotMetadataV1",
        integrity_error=_struct(
            "SnapshotIntegrityErrorMetadataV1", version=_s(), command=_s(), error=_s(), env_vars=_map(_s())
        ),
    ),
    snippets=_list(_SNIPPET),
    extensions=_map(  # core.go:698-704
        _struct("Extension", name=_s(), version=_s(), value=_Go("bytes", "[]uint8"))
    ),
)
_UNTYPED = _struct(  # core.go:382-393; ``deployment`` is a json.RawMessage, decoded on its own
    "UntypedDeployment", version=_Go("int", "int"), features=_list(_s()), deployment=_ANY
)

# time.Time.UnmarshalJSON takes RFC 3339 only (Go's time/format_rfc3339.go).
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
# blang/semver ``Parse`` (PackageDescriptorV1.Version is decoded through its UnmarshalJSON).
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
)


def _json_kind(value: Any) -> str:
    """The word encoding/json's UnmarshalTypeError uses for a JSON value."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return f"number {json.dumps(value)}" if isinstance(value, float) else "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class _Decoder:
    """Go's json.Unmarshal into the structs above: keys match exactly, else case-insensitively;
    unknown keys are ignored; ``null`` leaves the zero value; anything else of the wrong JSON type fails
    with the message Go prints. Returns the value with canonical keys, as the engine then sees it."""

    def __init__(self) -> None:
        self.path: list[str] = []
        self.struct = ""

    def fail(self, what: str, typ: _Go) -> CheckpointError:
        where = f"Go struct field {self.struct}.{'.'.join(self.path)}" if self.path else "Go value"
        return CheckpointError(f"json: cannot unmarshal {what} into {where} of type {typ.go}")

    def decode(self, value: Any, typ: _Go) -> Any:
        if value is None:
            return _zero(typ)
        kind = typ.kind
        if kind == "any":
            return value
        if kind in ("string", "time", "semver", "bytes"):
            if not isinstance(value, str):
                raise self.fail(_json_kind(value), typ)
            return self._text(value, typ)
        if kind == "bool":
            if not isinstance(value, bool):
                raise self.fail(_json_kind(value), typ)
            return value
        if kind in ("int", "float64"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise self.fail(_json_kind(value), typ)
            if kind == "int" and not isinstance(value, int):
                raise self.fail(_json_kind(value), typ)
            return value
        if kind == "list":
            if not isinstance(value, list):
                raise self.fail(_json_kind(value), typ)
            assert typ.elem is not None
            return [self.decode(v, typ.elem) for v in value]
        if kind == "map":
            if not isinstance(value, dict):
                raise self.fail(_json_kind(value), typ)
            assert typ.elem is not None
            out = {}
            for key, item in value.items():
                self.path.append(key)
                out[key] = self.decode(item, typ.elem)
                self.path.pop()
            return out
        return self._struct(value, typ)

    def _text(self, value: str, typ: _Go) -> Any:
        where = ".".join(self.path) or "value"
        if typ.kind == "time" and not _valid_time(value):
            raise CheckpointError(f'{where}: parsing time "{value}" as RFC 3339 (Go time.Time) failed')
        if typ.kind == "semver" and not _SEMVER.fullmatch(value):
            raise CheckpointError(f'{where}: "{value}" is not a semantic version (blang/semver Parse)')
        if typ.kind == "bytes":
            try:
                base64.b64decode(value, validate=True)
            except binascii.Error as exc:
                raise CheckpointError(f"{where}: illegal base64 data ({exc}) for Go type []byte") from None
        return value

    def _struct(self, value: Any, typ: _Go) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(_json_kind(value), typ)
        outer = self.struct
        self.struct = typ.go.removeprefix("apitype.")
        out: dict[str, Any] = {name: _zero(t) for name, t in typ.fields.items()}
        for key, item in value.items():
            name = _field_for(key, typ)
            if name is None:
                continue  # encoding/json ignores keys no field claims
            self.path.append(name)
            out[name] = self.decode(item, typ.fields[name])
            self.path.pop()
        self.struct = outer
        return out


def _field_for(key: str, typ: _Go) -> str | None:
    """encoding/json's field lookup: the exact tag name first, else one equal under case folding."""
    if key in typ.fields:
        return key
    folded = key.casefold()
    return next((name for name in typ.fields if name.casefold() == folded), None)


def _zero(typ: _Go) -> Any:
    zeros: dict[str, Any] = {"bool": False, "int": 0, "float64": 0.0, "any": None, "list": [], "map": {}}
    if typ.kind == "struct":
        return {name: _zero(t) for name, t in typ.fields.items()}
    return zeros.get(typ.kind, "")


def _valid_time(text: str) -> bool:
    if not _RFC3339.fullmatch(text):
        return False
    try:
        datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def decode_deployment(doc: Mapping[str, Any]) -> dict[str, Any]:
    """Steps 1-2 of the module docstring; returns the DeploymentV3 with canonical keys."""
    try:
        text = json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise CheckpointError(f"the deployment is not JSON: {exc}") from None
    raw = json.loads(text)
    if not isinstance(raw, dict):
        raise CheckpointError(
            f"json: cannot unmarshal {_json_kind(raw)} into Go value of type apitype.UntypedDeployment"
        )
    untyped = _Decoder().decode(raw, _UNTYPED)
    version = untyped["version"]
    # deployment.go:457-469
    if version > 4:
        raise CheckpointError("this stack's deployment version is too new")
    if version < 1:
        raise CheckpointError("this stack's deployment version is too old (is `version` missing?)")
    if version in (1, 2):
        raise CheckpointError(
            f"version {version} deployments are migrated by the CLI; this check covers what `pulumi stack "
            "export` prints today (version 3, or 4 with features)"
        )
    if version >= 4:
        unsupported = [f for f in untyped["features"] if f not in SUPPORTED_FEATURES]
        if unsupported:
            raise CheckpointError(
                "this stack's deployment needs support for the following features: " + ", ".join(unsupported)
            )
    # deployment.go:486-490: json.Unmarshal of the raw message; an absent one is empty input.
    if "deployment" not in raw and not any(k.casefold() == "deployment" for k in raw):
        raise CheckpointError("unexpected end of JSON input (the document has no `deployment`)")
    deployment: dict[str, Any] = _Decoder().decode(untyped["deployment"], _DEPLOYMENT)
    _deserialize(deployment)
    return deployment


def _deserialize(deployment: Mapping[str, Any]) -> None:
    """DeserializeDeploymentV3 (deployment.go:556-630): plugin versions, then each resource and each
    pending operation's resource (DeserializeResource, 908-934) with its property values."""
    for i, plugin in enumerate(deployment["manifest"]["plugins"]):
        version = plugin["version"]
        # manifest.go:64-72: semver.ParseTolerant (a leading "v" and missing parts are tolerated)
        if version and not _SEMVER.fullmatch(_tolerant(version)):
            raise CheckpointError(f"manifest.plugins[{i}].version {version!r} is not a semantic version")
    encrypted = bool(deployment["secrets_providers"]["type"])
    states = [("resources", i, r) for i, r in enumerate(deployment["resources"])]
    states += [
        ("pending_operations", i, op["resource"]) for i, op in enumerate(deployment["pending_operations"])
    ]
    for where, i, res in states:
        label = f"{where}[{i}] ({res['urn'] or 'no urn'})"
        for part in ("inputs", "outputs"):
            for key, value in res[part].items():
                _property_value(value, f"{label}.{part}.{key}", encrypted)
        _property_value(res["replacementTrigger"], f"{label}.replacementTrigger", encrypted)
        if not res["urn"]:
            raise CheckpointError(f"{label}: resource missing required 'urn' field")
        if not res["type"]:
            raise CheckpointError(f"resource '{res['urn']}' missing required 'type' field")
        if not res["custom"] and res["id"]:
            raise CheckpointError(f"resource '{res['urn']}' has 'custom' false but non-empty ID")


def _tolerant(version: str) -> str:
    core, sep, rest = version.removeprefix("v").partition("-")
    parts = [*core.split("."), "0", "0"][:3] if core.count(".") < 2 else core.split(".")
    return ".".join(p.lstrip("0") or "0" for p in parts) + sep + rest


def _property_value(value: Any, where: str, encrypted: bool) -> None:
    """DeserializePropertyValue (deployment.go:1049-1198) on the JSON shapes it refuses."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            _property_value(item, f"{where}[{i}]", encrypted)
        return
    if not isinstance(value, dict):
        return
    for key, item in value.items():
        _property_value(item, f"{where}.{key}", encrypted)
    if SIG_KEY not in value:
        return
    sig = value[SIG_KEY]
    if sig not in KNOWN_SIGS:
        raise CheckpointError(f"{where}: unrecognized signature '{sig}' in property map")
    if sig != SECRET_SIG:
        return
    ciphertext, plaintext = value.get("ciphertext"), value.get("plaintext")
    has_cipher = isinstance(ciphertext, str) and ciphertext != ""
    has_plain = isinstance(plaintext, str) and plaintext != ""
    if has_cipher == has_plain:  # deployment.go:1097-1104 and 1012-1017
        raise CheckpointError(
            f"{where}: malformed secret value: exactly one of `ciphertext` or `plaintext` must be supplied"
        )
    if has_cipher and not encrypted:  # secrets.go:576-579: no secrets manager, no decrypter
        raise CheckpointError(
            f"{where}: snapshot contains encrypted secrets but no secrets manager could be found "
            "(the deployment has no `secrets_providers`)"
        )


# -- 2. the JSON schema files -------------------------------------------------------------------


def _schema_for(typ: _Go) -> dict[str, Any]:
    """A JSON schema for a core.go field the schema files do not describe yet, typed as Go decodes it."""
    simple = {
        "string": {"type": "string"},
        "semver": {"type": "string"},
        "bytes": {"type": "string"},
        "time": {"type": "string", "format": "date-time"},
        "bool": {"type": "boolean"},
        "int": {"type": "integer"},
        "float64": {"type": "number"},
        "any": {},
    }
    if typ.kind in simple:
        return dict(simple[typ.kind])
    if typ.kind == "list":
        assert typ.elem is not None
        return {"type": "array", "items": _schema_for(typ.elem)}
    if typ.kind == "map":
        assert typ.elem is not None
        return {"type": "object", "additionalProperties": _schema_for(typ.elem)}
    return {"type": "object", "properties": {n: _schema_for(t) for n, t in typ.fields.items()}}


def _lagging(properties: Mapping[str, Any], typ: _Go) -> dict[str, dict[str, Any]]:
    added = {}
    for name, field_type in typ.fields.items():
        if name not in properties:
            schema = _schema_for(field_type)
            if name == "replacementTrigger":  # a property value (deployment.go:919)
                schema = {"$ref": PROPERTY_VALUE_SCHEMA_ID}
            added[name] = schema
    return added


@cache
def _schemas() -> tuple[jsonschema.protocols.Validator, dict[str, list[str]]]:
    deployments, resources, values = (
        json.loads((SCHEMA_DIR / f"{name}.json").read_text())
        for name in ("deployments", "resources", "property-values")
    )
    resource_props = resources["$defs"]["resourceV3"]["properties"]
    deployment_props = deployments["$defs"]["deploymentV3"]["properties"]["deployment"]["properties"]
    lags = {
        "ResourceV3": _lagging(resource_props, _RESOURCE),
        "DeploymentV3": _lagging(deployment_props, _DEPLOYMENT),
    }
    resource_props.update(lags["ResourceV3"])
    deployment_props.update(lags["DeploymentV3"])
    registry: referencing.Registry[Any] = referencing.Registry().with_resources(
        (schema["$id"], referencing.jsonschema.DRAFT202012.create_resource(schema))
        for schema in (deployments, resources, values)
    )
    validator = jsonschema.Draft202012Validator(deployments, registry=registry)
    return validator, {struct: sorted(fields) for struct, fields in lags.items()}


def schema_lags() -> dict[str, list[str]]:
    """The core.go fields, per struct, that the vendored schema files lack and that are added here."""
    return _schemas()[1]


def validate_schema(doc: Mapping[str, Any]) -> None:
    """deployments.json (with resources.json and property-values.json), as ValidateUntypedDeployment would."""
    validator, _ = _schemas()
    errors = list(validator.iter_errors(doc))
    if not errors:
        return
    # The files branch with oneOf (deployment versions, property value kinds): the failure that got
    # deepest into the document is the one that says what is wrong.
    leaves = list(_leaves(errors))
    # deployments.json's catch-all branch for unknown versions fails a version 3 document at `version`.
    known = [e for e in leaves if list(e.absolute_schema_path)[:2] != ["oneOf", 1]]
    leaves = known or leaves
    depth = max(len(e.absolute_path) for e in leaves)
    error = jsonschema.exceptions.best_match(e for e in leaves if len(e.absolute_path) == depth)
    assert error is not None
    where = "".join(f"[{p!r}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) or "(top)"
    message = error.message if len(error.message) < 300 else error.message[:300] + "..."
    raise CheckpointError(f"schema (sdk/go/common/apitype/deployments.json): at {where}: {message}")


def _leaves(errors: list[jsonschema.ValidationError]) -> Iterator[jsonschema.ValidationError]:
    for error in errors:
        if error.context:
            yield from _leaves(error.context)
        else:
            yield error


# -- 3. SaveSnapshot and VerifyIntegrity --------------------------------------------------------


def _is_provider_type(typ: str) -> bool:
    """providers.IsProviderType (sdk/go/common/providers/reference.go:40-46)."""
    if typ.count(":") < 2:
        return False
    first = typ.index(":")
    second = typ.index(":", first + 1)
    return typ[:second] == "pulumi:providers" and typ[second + 1 :] != ""


def _urn_parts(urn: str) -> list[str] | None:
    """urn.IsValid (urn.go:106-114) and the components after the prefix: stack, project, type, name."""
    if not urn.startswith(URN_PREFIX) or urn.count("::") < 3:
        return None
    stack, project, qualified, name = urn[len(URN_PREFIX) :].split("::", 3)
    return [stack, project, qualified, name]


def _provider_urn_problem(urn: str) -> str | None:
    """validateURN (reference.go:64-76)."""
    parts = _urn_parts(urn)
    if parts is None:
        return f"{urn} is not a valid URN"
    typ = parts[2].rsplit("$", 1)[-1]
    module = typ[: typ.index(":", typ.index(":") + 1)] if typ.count(":") >= 2 else ""
    if module != "pulumi:providers":
        return f"invalid module in type: expected 'pulumi:providers', got '{module}'"
    if not typ[len(module) + 1 :]:
        return "provider URNs must specify a type name"
    return None


def verify_integrity(deployment: Mapping[str, Any]) -> None:
    """snapshot.go:668-848 (``VerifyIntegrity``), rule by rule, on a decoded DeploymentV3.
    Pending operations are not part of it (nor of what ``stack import`` keeps: io.go:555-565)."""
    manifest = deployment["manifest"]
    # snapshot.go:670-673 with manifest.go:84-89: the magic is sha256(version), or "" without a version.
    expected = hashlib.sha256(manifest["version"].encode()).hexdigest() if manifest["version"] else ""
    if manifest["magic"] != expected:
        raise CheckpointError(
            "magic cookie mismatch; possible tampering/corruption detected "
            f"(manifest.magic must be the sha256 of manifest.version {manifest['version']!r}: {expected!r})"
        )
    resources = deployment["resources"]
    seen: dict[str, list[Mapping[str, Any]]] = {}
    providers: set[tuple[str, str]] = set()
    for i, state in enumerate(resources):
        urn = state["urn"]
        if not urn:  # 681-683
            raise CheckpointError(f"resource at index {i} missing required 'urn' field")
        if not state["type"]:  # 684-686
            raise CheckpointError(f"resource '{urn}' missing required 'type' field")
        if not state["custom"] and state["id"]:  # 687-689
            raise CheckpointError(f"resource '{urn}' has 'custom false but non-empty ID")
        if _is_provider_type(state["type"]):  # 691-697
            problem = _provider_urn_problem(urn)
            if problem:
                raise CheckpointError(f"provider {urn} is not referenceable: {problem}")
            providers.add((urn, state["id"] or UNKNOWN_ID))
        if state["provider"]:  # 699-708
            ref = state["provider"]
            if "::" not in ref:
                raise CheckpointError(
                    f"failed to parse provider reference for resource {urn}: "
                    f"expected '::' in provider reference '{ref}'"
                )
            ref_urn, ref_id = ref.rsplit("::", 1)
            problem = _provider_urn_problem(ref_urn)
            if problem:
                raise CheckpointError(f"failed to parse provider reference for resource {urn}: {problem}")
            if (ref_urn, ref_id) not in providers and not state["pendingReplacement"]:
                raise CheckpointError(f"resource {urn} refers to unknown provider {ref}")
        for kind, dep, key in _dependencies(state):  # 710-809
            if dep in seen:
                if kind == "parent" and _urn_parts(urn) is None:
                    # 734-739 read the child's type from its URN (urn.go:117-121 asserts the prefix).
                    raise CheckpointError(f"child resource {urn} is not a valid URN (the CLI panics on it)")
                continue
            later = any(other["urn"] == dep for other in resources[i + 1 :])
            raise CheckpointError(_missing(kind, urn, dep, key, later))
        seen.setdefault(urn, []).append(state)
    for urn, states in seen.items():  # 814-831
        deletes = sum(1 for s in states if s["delete"])
        if len(states) > 1 and deletes not in (len(states) - 1, len(states)):
            raise CheckpointError(f"duplicate resource {urn} (not marked for deletion)")
    uuids: dict[str, int] = {}
    for i, snippet in enumerate(deployment["snippets"]):  # 833-844
        if not snippet["uuid"]:
            raise CheckpointError(f"snippet at index {i} missing required 'uuid' field")
        if snippet["uuid"] in uuids:
            raise CheckpointError(
                f'duplicate snippet uuid "{snippet["uuid"]}" at indexes {uuids[snippet["uuid"]]} and {i}'
            )
        uuids[snippet["uuid"]] = i


def _dependencies(state: Mapping[str, Any]) -> Iterator[tuple[str, str, str]]:
    """State.GetAllDependencies (pkg/resource/state.go:366-392); property keys sorted (Go's map order
    is random, so which of two broken property dependencies is named first is not fixed there)."""
    if state["parent"]:
        yield "parent", state["parent"], ""
    yield from (("dependency", d, "") for d in state["dependencies"] if d)
    for key in sorted(state["propertyDependencies"]):
        yield from (("property", d, key) for d in state["propertyDependencies"][key] if d)
    if state["deletedWith"]:
        yield "deletedWith", state["deletedWith"], ""
    yield from (("replaceWith", d, "") for d in state["replaceWith"] if d)


def _missing(kind: str, urn: str, dep: str, key: str, later: bool) -> str:
    """The messages of snapshot.go:723-807, for a reference that does not appear earlier."""
    if kind == "parent":  # 723-731
        return (
            f"child resource {urn}'s parent {dep} comes after it"
            if later
            else (f"child resource {urn} refers to missing parent {dep}")
        )
    if kind == "dependency":  # 744-759
        return f"resource {urn}'s dependency {dep} " + (
            "comes after it" if later else "refers to missing resource"
        )
    if kind == "property":  # 760-775
        return f"resource {urn}'s property dependency {dep} (from property {key}) " + (
            "comes after it" if later else "refers to missing resource"
        )
    if kind == "deletedWith":  # 776-791
        return f"resource {urn} is specified as being deleted with {dep}, " + (
            "which comes after it" if later else "which is missing"
        )
    return f"resource {urn} is specified as being replaced with {dep}, " + (  # 792-807
        "which comes after it" if later else "which is missing"
    )


def check_stack(deployment: Mapping[str, Any], stack: str) -> None:
    """io.go:523-538: every resource's URN names the stack being imported into."""
    for state in deployment["resources"]:
        parts = _urn_parts(state["urn"])
        if parts is None:  # URN.Stack() asserts the prefix (urn.go:117-126)
            raise CheckpointError(f"resource '{state['urn']}' is not a valid URN (the CLI panics on it)")
        if parts[0] != stack:
            raise CheckpointError(
                f"resource '{state['urn']}' is from a different stack ({parts[0]} != {stack})"
            )


def validate_deployment(doc: Mapping[str, Any], *, stack: str | None = None) -> None:
    """Raise CheckpointError unless ``pulumi stack import`` (into ``stack``, when given) would accept
    ``doc``, the ``{"version": 3, "deployment": {...}}`` that ``pulumi stack export`` prints, and unless
    it passes the schema files. Pending operations may stay: the CLI accepts and then drops them."""
    deployment = decode_deployment(doc)
    validate_schema(doc)
    if stack is not None:
        check_stack(deployment, stack)
    verify_integrity(deployment)
