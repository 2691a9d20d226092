"""Run the policy pack as the Pulumi CLI does and talk to it as the engine does, over gRPC.

The CLI cannot be installed here, so this module stands in for it, step by step, from the engine
source (github.com/pulumi/pulumi):

* Start: for a Python pack the language host's RunPlugin runs ``python -u -m pulumi.policy
  <engine address> <pack dir>`` with the pack directory as working directory and PULUMI_PROJECT,
  PULUMI_STACK, PULUMI_DRY_RUN, PULUMI_ORGANIZATION and PULUMI_CONFIG in the environment
  (sdk/python/cmd/pulumi-language-python/main.go, RunPlugin). The pack (pulumi_policy's
  PolicyPack) prints its port on stdout; the engine dials it (sdk/policy_proxy.go, Attach). The pack
  never dials the engine address (pulumi/policy/__main__.py only parses it), so a placeholder does.
* Set-up: ConfigureStack (the proxy forwards it), GetAnalyzerInfo, then the policy config is
  reconciled: each schema property's ``default``, then the file given to ``--policy-pack-config``
  (a level string or an object with ``enforcementLevel``), then validated per policy against
  ``{"type": "object", "properties": ..., "required": ...}`` plus an injected ``enforcementLevel``
  enum; any error stops the run before Configure (pkg/resource/analyzer/config.go
  ReconcilePolicyPackConfig, pkg/engine/update.go, pkg/resource/plugin/analyzer_plugin.go
  GetAnalyzerInfo and Configure).
* Analyze: per resource, its checked inputs marshalled with KeepUnknowns, KeepSecrets and
  SkipInternalKeys, so ``__provider`` is left out, secrets travel as secret-signature objects and
  unknowns as the unknown sentinel; options (protect, parent, ...) and the provider resource (for
  dynamic resources the default ``pulumi-python`` provider, whose inputs are the stack config with
  its secrets) come along (step_generator.go analyzeAll, analyzer_plugin.go Analyze/marshalProvider).
* AnalyzeStack: once, after all steps, with every resource's *outputs*, parent, dependencies and
  property dependencies (step_generator.go AnalyzeResources).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import jsonschema
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from pulumi_tiktok_audiences.policies import PACK_DIR
from tests.harness.host import REPO_ROOT, encode_raw

PROJECT = "tiktok-audiences"
ENGINE_PLACEHOLDER = "127.0.0.1:1"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
LEVEL_NAMES = {analyzer_pb2.ADVISORY: "advisory", analyzer_pb2.MANDATORY: "mandatory"}
PROVIDER_URN_TYPE = "pulumi:providers:pulumi-python"


class ConfigRejectedError(Exception):
    """The engine refused the policy config before running anything; ``errors`` as it prints them."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


class AnalyzerError(Exception):
    """A gRPC error from the pack; ``details`` is what the engine shows the user."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


@dataclass(frozen=True)
class Diagnostic:
    policy: str
    level: str
    message: str
    urn: str


@dataclass
class Resource:
    """One resource as the engine knows it: type, name, properties and options."""

    type: str
    name: str
    props: dict[str, Any]
    protect: bool = False
    dependencies: list[str] = field(default_factory=list)
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)


def urn(stack: str, type_: str, name: str, project: str = PROJECT) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_}::{name}"


def marshal(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Properties as MarshalProperties(KeepUnknowns, KeepSecrets, SkipInternalKeys) sends them.

    Secrets given as secret-signature objects pass unchanged; ``pulumi.output.Unknown`` values
    become the unknown sentinel; top-level nulls are absent, as in the engine's property maps.
    """

    def wire(value: Any) -> Any:
        if isinstance(value, Unknown):
            return rpc.UNKNOWN
        if isinstance(value, Mapping):
            return {k: wire(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [wire(v) for v in value]
        return value

    return encode_raw({k: wire(v) for k, v in props.items() if not k.startswith("__") and v is not None})


class PolicyAnalyzer:
    """The pack's process, started like the CLI starts it, and the engine's calls to it."""

    def __init__(
        self,
        *,
        stack: str = "dev",
        project: str = PROJECT,
        dry_run: bool = True,
        stack_config: Mapping[str, str] | None = None,
        provider_inputs: Mapping[str, Any] | None = None,
        pack_dir: Path = PACK_DIR,
    ) -> None:
        self.stack, self.project = stack, project
        self.provider_inputs = dict(provider_inputs or {})
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TIKTOK_", "PULUMI_"))}
        env.update(
            PULUMI_PROJECT=project,
            PULUMI_STACK=stack,
            PULUMI_DRY_RUN=str(dry_run).lower(),
            PULUMI_ORGANIZATION="organization",
            PULUMI_CONFIG=json.dumps(dict(stack_config or {})),
            PYTHONPATH=os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        )
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", ENGINE_PLACEHOLDER, str(pack_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=pack_dir,
            env=env,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.process.kill()
            _, err = self.process.communicate(timeout=10)
            raise RuntimeError(f"policy pack did not start: {line!r} {err.decode()[-3000:]}")
        self.channel = grpc.insecure_channel(f"127.0.0.1:{line}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = analyzer_pb2_grpc.AnalyzerStub(self.channel)
        self._call(
            "ConfigureStack",
            analyzer_pb2.AnalyzerStackConfigureRequest(
                stack=stack,
                project=project,
                organization="organization",
                dry_run=dry_run,
                config=dict(stack_config or {}),
            ),
        )
        self.info = self._call("GetAnalyzerInfo", empty_pb2.Empty())

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=60)
        except grpc.RpcError as err:
            raise AnalyzerError(err.code(), err.details() or "") from None

    # -- configuration -------------------------------------------------------------------------
    def schemas(self) -> dict[str, dict[str, Any]]:
        """Each policy's config schema as the engine builds it (convertSchema, with enforcementLevel)."""
        result = {}
        for policy in self.info.policies:
            schema = json_format.MessageToDict(policy.configSchema)
            properties = dict(schema.get("properties", {}))
            properties["enforcementLevel"] = {"type": "string", "enum": list(LEVELS)}
            result[policy.name] = {"type": "object", "properties": properties}
            if schema.get("required"):
                result[policy.name]["required"] = schema["required"]
        return result

    def configure(self, file_config: Mapping[str, Any] | None = None) -> dict[str, dict[str, Any]]:
        """What ``--policy-pack-config FILE`` does: reconcile, validate, then Configure the pack."""
        levels = {p.name: LEVEL_NAMES.get(p.enforcementLevel, "disabled") for p in self.info.policies}
        schemas = self.schemas()
        config: dict[str, dict[str, Any]] = {}
        for name, schema in schemas.items():
            defaults = {k: v["default"] for k, v in schema["properties"].items() if "default" in v}
            config[name] = {"enforcementLevel": levels[name], **defaults}
        for name, given in (file_config or {}).items():
            if isinstance(given, str):
                if given not in LEVELS:
                    raise ConfigRejectedError(
                        [f'parsing enforcement level for "{name}": "{given}" is not valid']
                    )
                given = {"enforcementLevel": given}
            if not isinstance(given, Mapping):
                raise ConfigRejectedError(
                    [f'parsing "{name}": {given} is not a valid value; must be a string or object']
                )
            if name == "all":
                for policy in config.values():
                    policy["enforcementLevel"] = given["enforcementLevel"]
                continue
            level = given.get("enforcementLevel")
            if level is not None and level not in LEVELS:
                raise ConfigRejectedError([f'parsing enforcement level for "{name}": "{level}" is not valid'])
            config.setdefault(name, {}).update(given)
        errors = [
            f"{name}: {error.message}"
            for name, schema in schemas.items()
            for error in jsonschema.Draft7Validator(schema).iter_errors(config[name])
        ]
        if errors:
            raise ConfigRejectedError(sorted(errors))
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, values in config.items():
            properties = {k: v for k, v in values.items() if k != "enforcementLevel"}
            level = analyzer_pb2.EnforcementLevel.Value(str(values["enforcementLevel"]).upper())
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=encode_raw(properties))
            )
        self._call("Configure", request)
        return config

    # -- analysis ------------------------------------------------------------------------------
    def _provider(self) -> analyzer_pb2.AnalyzerProviderResource:
        return analyzer_pb2.AnalyzerProviderResource(
            urn=urn(self.stack, PROVIDER_URN_TYPE, "default", self.project),
            type=PROVIDER_URN_TYPE,
            name="default",
            properties=marshal(self.provider_inputs),
        )

    def analyze(self, resource: Resource) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeRequest(
            urn=urn(self.stack, resource.type, resource.name, self.project),
            type=resource.type,
            name=resource.name,
            properties=marshal(resource.props),
            options=analyzer_pb2.AnalyzerResourceOptions(protect=resource.protect),
            provider=self._provider(),
        )
        return self._diagnostics(self._call("Analyze", request))

    def analyze_stack(self, resources: Sequence[Resource]) -> list[Diagnostic]:
        request = analyzer_pb2.AnalyzeStackRequest(
            resources=[
                analyzer_pb2.AnalyzerResource(
                    urn=urn(self.stack, r.type, r.name, self.project),
                    type=r.type,
                    name=r.name,
                    properties=marshal(r.props),
                    options=analyzer_pb2.AnalyzerResourceOptions(protect=r.protect),
                    provider=self._provider(),
                    dependencies=r.dependencies,
                    propertyDependencies={
                        k: analyzer_pb2.AnalyzerPropertyDependencies(urns=v)
                        for k, v in r.property_dependencies.items()
                    },
                )
                for r in resources
            ]
        )
        return self._diagnostics(self._call("AnalyzeStack", request))

    @staticmethod
    def _diagnostics(response: Any) -> list[Diagnostic]:
        return [
            Diagnostic(
                d.policyName, LEVEL_NAMES.get(d.enforcementLevel, str(d.enforcementLevel)), d.message, d.urn
            )
            for d in response.diagnostics
        ]

    # -- life cycle ----------------------------------------------------------------------------
    def close(self) -> str:
        """Stop the pack; return what it wrote to stderr."""
        self.channel.close()
        self.process.kill()
        _, err = self.process.communicate(timeout=10)
        return err.decode(errors="replace")

    def __enter__(self) -> PolicyAnalyzer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
