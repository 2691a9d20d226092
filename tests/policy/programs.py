"""Run a Pulumi program (the root program or an example) as a preview and collect what the
engine would hand the policy pack: each resource's checked inputs and options.

The program runs under the SDK's mocks (``pulumi.runtime.set_mocks``, preview mode); a monitor
subclass keeps each registration's ``protect`` option and dependencies. Each dynamic resource's
inputs then go through its own provider's ``check``, unpickled from ``__provider`` and configured
with the stack config, because the engine analyzes the inputs that Check returned
(step_generator.go: ``inputs = resp.Properties`` before ``analyzeAll``). In a preview the engine
creates nothing, so a resource's outputs for AnalyzeStack are those inputs.
"""

from __future__ import annotations

import base64
import runpy
from pathlib import Path
from typing import Any

import dill
import pulumi
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockMonitor

from tests.harness.engine import project_name, stack_config
from tests.policy.analyzer import Resource

PROVIDER_KEY = "__provider"


class _Monitor(MockMonitor):
    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.options: dict[str, tuple[bool, list[str]]] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.options[request.name] = (bool(request.protect), list(request.dependencies))
        return super().RegisterResource(request)


class _Mocks(pulumi.runtime.Mocks):
    """Preview: every resource is planned, not created; its outputs are its inputs."""

    def __init__(self) -> None:
        self.registered: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        self.registered.append(args)
        return None, dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        raise NotImplementedError(args.token)


def checked_inputs(inputs: dict[str, Any], config: dict[str, str], project: str) -> dict[str, Any]:
    """What the provider host's Check returns for these inputs (the provider the program chose)."""
    provider = dill.loads(base64.b64decode(inputs[PROVIDER_KEY]))
    provider.configure(ConfigureRequest(Config(config, project)))
    result = provider.check({}, inputs)
    assert not result.failures, result.failures
    return {**result.inputs, PROVIDER_KEY: inputs[PROVIDER_KEY]}


def preview(project_dir: Path, stack: str, config: dict[str, str] | None = None) -> list[Resource]:
    """The resources of ``pulumi preview`` of the project on ``stack``, as the engine sees them;
    ``config``: the stack's config where no ``Pulumi.<stack>.yaml`` holds it."""
    project = project_name(project_dir)
    config = stack_config(project_dir, stack) if config is None else config
    mocks = _Mocks()
    monitor = _Monitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=True, monitor=monitor)
    set_all_config(config)

    @pulumi.runtime.test
    def run() -> None:
        runpy.run_path(str(project_dir), run_name="__main__")

    run()
    resources = []
    for args in mocks.registered:
        protect, dependencies = monitor.options[args.name]
        props = dict(args.inputs)
        if PROVIDER_KEY in props:
            props = checked_inputs(props, config, project)
        resources.append(Resource(args.typ, args.name, props, protect=protect, dependencies=dependencies))
    return resources
