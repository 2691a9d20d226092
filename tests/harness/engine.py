"""A test engine that behaves like Pulumi's: real programs, a fresh real provider host per operation.

The Pulumi CLI (and with it the Go engine) cannot be installed here. This harness plays the
engine's part so that a Pulumi program (the root program or an example) runs end to end, the
program in this process through the SDK's own entry point (``run_in_stack`` over the SDK's mock
monitor, which stands in for the resource monitor), every dynamic resource through the SDK's
real provider host (``python -m pulumi.dynamic``, :class:`ProviderHost`) over gRPC.
docs/how-it-works/test-engine.md describes it for readers; tests/e2e/test_engine.py pins each point.

Each behaviour imitates the engine source named beside it (pulumi/pulumi at 1b5949891b):

* one fresh host per operation (``preview``, the preview half of ``up``, its update half,
  ``refresh``, ``destroy``), configured with the whole stack config, secrets marked
  (pkg/resource/deploy/target.go ``GetPackageConfig``; plugin host per deployment); refresh and
  destroy (no program run) configure it with the config saved at the last update, the default
  provider's inputs in the checkpoint, so a token rotated in config waits for the next ``up``;
* steps run in parallel within the dependency order: the SDK sends each registration once its
  inputs resolved, from a pool of ``--parallel`` workers, GOMAXPROCS x 4 or ``PULUMI_PARALLEL``
  (pkg/cmd/pulumi/operations/up.go ``defaultParallel``); Check and Diff run one registration at a
  time unless ``PULUMI_PARALLEL_DIFF`` (step_generator.go ``diff``); the host serves 4 at once;
* Check(olds=old inputs, news) -> Diff(id, old *outputs*, checked) -> same | update | replace;
  a DIFF_UNKNOWN answer falls back to comparing inputs (step_generator.go ``diffResource``);
  ``ignore_changes`` copies old input values into the news before Check and Diff
  (``processIgnoreChanges``); a "same" step stores the new inputs and keeps the old outputs
  (step.go ``SameStep``);
* preview never calls Create or Update: the dynamic host does not announce preview support, so
  the engine answers with the new inputs as the state (provider_plugin.go Create/Update,
  ``supportsPreview``); outputs that are not inputs are unknown, a created or replaced resource
  has an unknown id, an updated one keeps its id;
* a replacement calls Check again without olds, then creates before it deletes: the old
  resource is marked ``delete`` and deleted after the program finished (step_generator.go
  ``continueStepsFromDiff``, ``GenerateDeletes``), unless delete-before-replace, where the
  resource option wins over the provider's answer: the dependents a Diff with unknown inputs
  says would be replaced are deleted first (``calculateDependentReplacements``), then the
  resource; each stays in the state as ``pending_replacement`` until it is created again
  (step.go ``DeleteStep``), a dependent with Check without olds and no Diff (``recreating``); a
  protected resource is never replaced (the engine's error, in preview the whole preview fails
  after it finished);
* ``--replace URN`` (and a tainted resource) skips Diff: replace keys ``["id"]``, Check without
  olds on the program's values even under ``ignore_changes`` (``goal.Properties``), Create,
  delete at the end (step_generator.go ``isTargetedReplace``, ``diff``);
* ``--target URN``: other resources keep their old state without Check or Diff, even when they
  depend on a replaced target, whose old resource is still deleted at the end; new ones are not
  created; ``--target-dependents`` takes in what depends on a target; deletes are limited to the
  targets and their dependents (``isTargetedForUpdate``, ``NewUntargetedSameStep``,
  ``GenerateDeletes``, deployment_executor.go ``checkTargets``);
* a resource found under none of its URN or ``aliases`` in the state is created; the old URN
  is then deleted at the end like any resource the program no longer declares
  (``getOldResource``, ``GenerateDeletes``); a child of a parent found under an alias is also
  looked for under the aliases the parent's implies (``generateAliases``, ``inheritedChildAlias``);
* deletes run dependents first, in parallel by antichains (``ScheduleDeletes``); a protected
  resource refuses deletion (the others go on), a ``retain_on_delete`` one and one
  ``deleted_with`` a resource deleted in the same run leave the state with no Delete call
  (step.go ``DeleteStep.Apply``);
* after a failed step no new step starts, running ones finish (step_executor.go
  ``cancelDueToError``); with ``--continue-on-error`` the others go on, and deletes skip what a
  failed resource depends on (deployment_executor.go ``performPostSteps``);
* secrets are stripped before every provider call (the host answers Configure with
  ``acceptSecrets: false``) and outputs are marked secret afterwards only where an input of the
  same name held a secret (provider_plugin.go ``annotateSecrets``);
* refresh = Read(id, old outputs, old inputs); an empty id drops the resource, returned inputs
  replace the stored ones, then Diff(id, olds=new outputs, news=the *old* inputs) to show the
  drift (step.go ``RefreshStep.Apply``); ``up --refresh`` refreshes in the update's deployment,
  with the provider process that goes on to serve the update when the config did not change;
* a crash of the CLI (``Crash``) or ``pulumi cancel`` (:meth:`Engine.cancel`) leaves the
  checkpoint as pkg/backend/snapshot.go writes it: completed steps saved, each step begun and not
  ended as a pending operation (``markOperationPending``); the next snapshot write keeps only the
  old ``creating`` operations (pending updates and deletes are dropped); a failed step ends its
  operation (``createSnapshotMutation.End``);
* ``refresh(import_pending_creates=...)`` only rewrites the operation to ``importing`` with the
  id (pkg/cmd/pulumi/operations/refresh.go ``pendingCreatesToImports``), which nothing reads and
  the refresh's snapshot write drops: the resource is recorded nowhere and the next ``up``
  creates it again; ``clear_pending_creates`` drops the pending creates;
* :meth:`Engine.stack_export` / :meth:`Engine.stack_import` are ``pulumi stack export`` / ``import``
  (apitype ``DeploymentV3``; import checks what tests/harness/checkpoint.py checks and drops all
  pending operations: pkg/cmd/pulumi/stack/io.go ``SaveSnapshot``), secrets as ciphertext;
  ``state_delete`` / ``state_taint`` / ``state_unprotect`` are ``pulumi state delete | taint |
  unprotect`` (pkg/cmd/pulumi/state, pkg/resource/edit ``DeleteResource``).

Not modelled: replace_on_changes (the dynamic host returns no detailed diff, so it has no effect),
``replace_with``, ``--exclude``, ``get``/``import``, ``refresh --run-program``, plans, policy packs
and hooks. Non-dynamic resources (components, other providers' types) are echoed: inputs become
outputs.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import os
import re
import runpy
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import yaml
from google.protobuf import empty_pb2
from pulumi.output import Unknown
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockEngine, MockMonitor, MockResourceArgs, Mocks, MockSettings
from pulumi.runtime.proto import provider_pb2, resource_pb2
from pulumi.runtime.settings import SETTINGS, configure, set_root_resource
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tests.harness.checkpoint import (
    CheckpointError,
    check_stack,
    decode_deployment,
    validate_schema,
    verify_integrity,
)
from tests.harness.host import HostError, ProviderHost, secret
from tests.harness.snapshot import (
    PROVIDER_KEY,
    STACK_TYPE,
    PendingOperation,
    ResourceState,
    SnapshotError,
    is_secret,
    read_untyped_deployment,
    untyped_deployment,
)

T = TypeVar("T")


class EngineError(Exception):
    """What the engine would report and stop on (check failures, protect, a failed step)."""


class InterruptedDeploymentError(EngineError):
    """The CLI died (an injected :class:`Crash`, or ``pulumi cancel``): the checkpoint holds what
    it had saved."""


class _CanceledError(EngineError):
    """A step not started because an earlier one failed (step_executor.go ``cancelDueToError``)."""


def default_parallel() -> int:
    """The CLI's default ``--parallel`` (pkg/cmd/pulumi/operations/up.go ``defaultParallel``):
    ``PULUMI_PARALLEL`` when set, else GOMAXPROCS (the CPUs here) x 4. The SDK's registrations run
    on a pool of this many threads, and the step executor runs this many steps at once."""
    value = os.environ.get("PULUMI_PARALLEL", "")
    if value.isdigit() and int(value) > 0:
        return int(value)
    return (os.cpu_count() or 1) * 4


def _env_flag(name: str) -> bool:
    """A boolean environment setting as the CLI reads it (sdk/go/common/util/env: 1 or true)."""
    return os.environ.get(name, "").lower() in ("1", "true")


# -- secrets and unknowns on the wire --------------------------------------------------------------


def contains_secrets(value: Any) -> bool:
    if is_secret(value):
        return True
    if isinstance(value, dict):
        return any(contains_secrets(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_secrets(v) for v in value)
    return False


def reveal(value: Any) -> Any:
    """``value`` as a provider that does not accept secrets sees it: secrets unwrapped, unknowns
    as the wire sentinel (provider_plugin.go ``MarshalProperties(KeepSecrets: acceptSecrets)``)."""
    if is_secret(value):
        return reveal(value["value"])
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def _wire(value: Any) -> Any:
    """``value`` for the SDK: secrets kept, unknowns as the wire sentinel."""
    if isinstance(value, Unknown):
        return rpc.UNKNOWN
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def annotate_secrets(outs: dict[str, Any], ins: Mapping[str, Any]) -> dict[str, Any]:
    """Mark as secret each output whose input of the same name holds a secret, recursing into
    objects (provider_plugin.go ``annotateSecrets``); nothing else becomes secret."""
    for key, in_value in ins.items():
        if key not in outs:
            continue
        out_value = outs[key]
        plain_objects = isinstance(out_value, dict) and isinstance(in_value, dict)
        if plain_objects and not is_secret(out_value) and not is_secret(in_value):
            annotate_secrets(out_value, in_value)
        elif not is_secret(out_value) and contains_secrets(in_value):
            outs[key] = secret(out_value)
    return outs


_PATH_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def ignore_changes(news: Mapping[str, Any], olds: Mapping[str, Any], paths: Iterable[str]) -> dict[str, Any]:
    """The news with each ignored path reset to its old value, or removed where the old inputs
    have none (step_generator.go ``processIgnoreChanges``, ``PropertyPath.Reset``)."""
    result: dict[str, Any] = _copy(dict(news))
    for path in paths:
        keys: list[str | int] = [m[1] if m[1] else int(m[2]) for m in _PATH_PART.finditer(path)]
        old: Any = olds
        for key in keys:
            old = _child(old, key)
        *parents, last = keys
        target: Any = result
        for key in parents:
            target = _child(target, key)
        if isinstance(target, dict) and isinstance(last, str):
            if old is _MISSING:
                target.pop(last, None)
            else:
                target[last] = _copy(old)
        elif (
            isinstance(target, list) and isinstance(last, int) and last < len(target) and old is not _MISSING
        ):
            target[last] = _copy(old)
    return result


_MISSING = object()


def _child(value: Any, key: str | int) -> Any:
    if isinstance(value, dict) and isinstance(key, str):
        return value.get(key, _MISSING)
    if isinstance(value, list) and isinstance(key, int) and key < len(value):
        return value[key]
    return _MISSING


def _copy(value: T) -> T:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [_copy(v) for v in value]  # type: ignore[return-value]
    return value


@dataclass(frozen=True)
class Call:
    """One request sent to a provider host: its operation (preview | update | refresh | destroy),
    which host served it (a new number per operation) and whether Check had olds."""

    op: str  # check | diff | create | update | delete | read
    urn: str
    id: str = ""
    operation: str = ""
    host: int = 0
    olds: bool = False


@dataclass(frozen=True)
class Crash:
    """Kill the CLI at the provider call ``op`` (create | update | delete) of resource ``name``:
    before the request was sent, or after the provider answered but before the checkpoint saved it."""

    op: str
    name: str
    after: bool = True


@dataclass
class RunResult:
    """What one operation did: the step per URN, the stack outputs and the engine's warnings."""

    steps: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def urns(self, step: str) -> list[str]:
        return [urn for urn, kind in self.steps.items() if kind == step]


def project_name(project_dir: Path) -> str:
    """The project name from ``Pulumi.yaml`` (stack outputs and URNs carry it)."""
    data = yaml.safe_load((project_dir / "Pulumi.yaml").read_text(encoding="utf-8"))
    return str(data["name"])


def stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """The plain config of ``Pulumi.<stack>.yaml`` (values as the engine hands them over: text)."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    config: dict[str, str] = {}
    for key, value in (data.get("config") or {}).items():
        if isinstance(value, dict):
            raise EngineError(f"{path}: {key} is encrypted or structured; pass it to the Engine instead")
        config[str(key)] = value if isinstance(value, str) else yaml.safe_dump(value).strip()
    return config


def _protected_delete(urn: str) -> str:
    """The engine's words (step.go ``deleteProtectedError``)."""
    return (
        f'resource "{urn}" cannot be deleted\nbecause it is protected. To unprotect the resource, either '
        "remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`, or use "
        f'the command:\n`pulumi state unprotect "{urn}"`'
    )


def _protected_replace(urn: str) -> str:
    """The engine's words (step_generator.go ``continueStepsFromDiff``)."""
    return (
        f'unable to replace resource "{urn}"\nas it is currently marked for protection. To unprotect the '
        "resource, remove the `protect` flag from the resource in your Pulumi program and run `pulumi up`"
    )


@dataclass(frozen=True)
class Registration:
    """One registration: what the program asked for (resource_pb2.RegisterResourceRequest).

    Tests may change it through ``Engine.edit`` as a user would by editing the program's resource
    options or names (an alias, ``protect``, a new logical name) without rewriting its text."""

    urn: str
    type: str
    name: str
    custom: bool
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    protect: bool
    retain_on_delete: bool
    ignore_changes: tuple[str, ...]
    delete_before_replace: bool | None
    aliases: tuple[str, ...]
    additional_secret_outputs: tuple[str, ...]
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    deleted_with: str = ""

    def state(self, id_: str, inputs: dict[str, Any], outputs: dict[str, Any]) -> ResourceState:
        """The checkpoint's record of this resource after a step."""
        return ResourceState(
            self.urn, self.type, id_, inputs, outputs, self.custom, self.parent, list(self.dependencies),
            self.protect, self.retain_on_delete, property_dependencies=dict(self.property_dependencies),
            deleted_with=self.deleted_with,
        )  # fmt: skip

    def secure(self, outputs: dict[str, Any], inputs: Mapping[str, Any]) -> dict[str, Any]:
        """Outputs marked secret by name from the inputs (``annotateSecrets``) and by the
        ``additional_secret_outputs`` option (step.go ``CreateStep``/``UpdateStep``)."""
        annotate_secrets(outputs, inputs)
        for key in self.additional_secret_outputs:
            if key in outputs and not is_secret(outputs[key]):
                outputs[key] = secret(outputs[key])
        return outputs


class Engine:
    """One stack of one Pulumi project, driven like ``pulumi up/preview/refresh/destroy``."""

    def __init__(
        self,
        project_dir: Path,
        *,
        stack: str = "dev",
        config: Mapping[str, str] | None = None,
        secret_keys: Collection[str] = (),
        env: Mapping[str, str] | None = None,
        on_host: Callable[[ProviderHost, str], None] | None = None,
        forked_hosts: bool = True,
        edit: Callable[[Registration], Registration] | None = None,
        killed_with_host: bool = False,
        parallel: int | None = None,
        parallel_diff: bool | None = None,
    ) -> None:
        self.project_dir = project_dir
        self.killed_with_host = killed_with_host
        """A provider host that dies takes the CLI with it (a killed process group: Ctrl-C, a CI
        runner stopped), so the step's pending operation stays in the checkpoint; otherwise the
        engine sees a failed step and ends it (snapshot.go)."""
        self.project = project_name(project_dir)
        self.stack = stack
        self.config = dict(stack_config(project_dir, stack) if config is None else config)
        self.secret_keys = frozenset(secret_keys)
        self.saved_config: tuple[dict[str, str], frozenset[str]] | None = None
        """The config the last update configured the provider with: the default provider's inputs in
        the checkpoint, what refresh and destroy configure it with (``nil`` before any update)."""
        self.env = dict(env or {})
        self.on_host = on_host
        self.forked_hosts = forked_hosts
        self.edit = edit
        self.parallel = parallel or default_parallel()
        self.parallel_diff = _env_flag("PULUMI_PARALLEL_DIFF") if parallel_diff is None else parallel_diff
        self.state: dict[str, ResourceState] = {}
        self.pending_deletes: list[ResourceState] = []
        self.pending_operations: list[PendingOperation] = []
        self.calls: list[Call] = []
        self.host_logs: list[str] = []
        self._hosts = 0
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._generator = threading.Lock()
        """The step generator: one registration's Check and Diff at a time (``PULUMI_PARALLEL_DIFF``)."""
        self._run: _Run | None = None

    # -- operations ------------------------------------------------------------------------------
    def up(
        self,
        *,
        replace: Iterable[str] = (),
        skip_preview: bool = False,
        crash: Crash | None = None,
        targets: Iterable[str] = (),
        target_dependents: bool = False,
        refresh: bool = False,
        continue_on_error: bool = False,
    ) -> RunResult:
        """``pulumi up``: its preview (own host; an error stops here), then the update (a new host):
        run the program, apply its steps, then delete what it no longer declares and what was replaced.

        ``refresh`` (``up --refresh``) refreshes first in the update's deployment: with the provider
        of the saved config, which goes on serving the update when the config is unchanged
        (deployment_executor.go ``Execute``, ``refresh``; providers registry)."""
        options = _Options(
            self._urns(replace), self._urns(targets, known=False), target_dependents, continue_on_error
        )
        if not skip_preview:
            self._preview(options)
        config = (dict(self.config), self.secret_keys)
        self._write_snapshot()
        with ExitStack() as hosts:
            if refresh:
                host = hosts.enter_context(self._host("update", *self._provider_config()))
                run = _Run("update", host, options, crash)
                with self._operation(run):
                    self._refresh_resources(run)
                if self._provider_config() != config:
                    run.host = hosts.enter_context(self._host("update", *config))
            else:
                run = _Run("update", hosts.enter_context(self._host("update", *config)), options, crash)
                run.result.warnings.extend(self._pending_warnings())
            self.saved_config = config
            with self._operation(run):
                self._run_program(run)
                self._check_targets(run)
                doomed = self._undeclared(run)
                self.state = {**run.next_state, **{s.urn: s for s in doomed}}
                self._delete_all(run, [*doomed, *self.pending_deletes])
            return run.result

    def preview(
        self, *, replace: Iterable[str] = (), targets: Iterable[str] = (), target_dependents: bool = False
    ) -> RunResult:
        """``pulumi preview``: Check and Diff only; state and the remote side stay untouched."""
        return self._preview(
            _Options(self._urns(replace), self._urns(targets, known=False), target_dependents)
        )

    def _preview(self, options: _Options) -> RunResult:
        with self._host("preview", dict(self.config), self.secret_keys) as host:
            run = _Run("preview", host, options, None)
            run.result.warnings.extend(self._pending_warnings())
            with self._operation(run):
                self._run_program(run)
                doomed = self._undeclared(run)
                self._delete_all(run, [*doomed, *self.pending_deletes])
            if run.errors:
                raise EngineError("\n".join(run.errors))
            return run.result

    def refresh(
        self, *, import_pending_creates: Iterable[tuple[str, str]] = (), clear_pending_creates: bool = False
    ) -> RunResult:
        """``pulumi refresh`` (pkg/cmd/pulumi/operations/refresh.go): first the checkpoint edits of its
        flags, then Read every resource (an empty id means it is gone) and Diff with olds and news
        swapped, with the provider configured from the saved config (no program runs).

        ``import_pending_creates`` [(URN, ID)] does what ``pendingCreatesToImports`` does: it sets the
        id and rewrites the operation to ``importing``. Nothing reads an ``importing`` operation, and
        the refresh's own snapshot write keeps only the ``creating`` ones (snapshot.go): the resource
        is in neither the state nor the pending operations afterwards, and the next ``up`` creates
        it again. ``clear_pending_creates`` drops the ``creating`` operations."""
        warnings = self._pending_creates_to_imports(dict(import_pending_creates))
        if clear_pending_creates:
            self.pending_operations = [op for op in self.pending_operations if op.type != "creating"]
        self._write_snapshot()
        with self._host("refresh", *self._provider_config()) as host:
            run = _Run("refresh", host, _Options(), None)
            run.result.warnings.extend(warnings)
            with self._operation(run):
                self._refresh_resources(run)
            return run.result

    def destroy(self, *, continue_on_error: bool = False) -> RunResult:
        """``pulumi destroy``: delete everything, dependents first, with the provider configured from
        the saved config (destroy.go without ``--run-program``)."""
        self._write_snapshot()
        with self._host("destroy", *self._provider_config()) as host:
            run = _Run("destroy", host, _Options(continue_on_error=continue_on_error), None)
            with self._operation(run):
                self._delete_all(run, [*self.state.values(), *self.pending_deletes])
            return run.result

    def cancel(self) -> None:
        """``pulumi cancel`` while an operation runs (pkg/cmd/pulumi/cancel/cancel.go; the service
        cancels the update, httpstate ``CancelCurrentUpdate``): the checkpoint takes no more writes,
        so the CLI stops at its next one. Steps in flight finish on the provider unseen and stay
        pending operations; no other step starts; the stack is free for the next operation."""
        with self._lock:
            if self._run is not None:
                self._run.crashed = self._run.canceled = True

    # -- the checkpoint, as the CLI edits it ------------------------------------------------------
    def stack_export(self) -> dict[str, Any]:
        """What ``pulumi stack export`` prints (apitype ``UntypedDeployment``, version 3): the
        resources in checkpoint order, the replaced ones marked ``delete`` after them, the pending
        operations, secrets as ciphertext."""
        config, secret_keys = self.saved_config or ({}, frozenset())
        provider_inputs = {k: secret(v) if k in secret_keys else v for k, v in config.items()}
        resources = [*self.state.values(), *self.pending_deletes]
        return untyped_deployment(
            self.stack, self.project, resources, self.pending_operations, provider_inputs
        )

    def stack_import(self, doc: Mapping[str, Any], *, force: bool = False) -> list[str]:
        """``pulumi stack import`` (pkg/cmd/pulumi/stack/stack_import.go): the deployment must decode
        as ``DeploymentV3`` (and pass the apitype schema files), name this stack in every URN and pass
        ``VerifyIntegrity``, else nothing changes (``--force`` turns the last two into warnings); then
        it replaces the checkpoint, dropping every pending operation with a warning
        (pkg/cmd/pulumi/stack/io.go ``SaveSnapshot``). Returns the warnings."""
        try:
            deployment = decode_deployment(doc)
            validate_schema(doc)
            imported = read_untyped_deployment(doc)
        except (CheckpointError, SnapshotError) as exc:
            raise EngineError(f"could not deserialize deployment: {exc}") from None
        problems: list[str] = []
        try:
            check_stack(deployment, self.stack)
        except CheckpointError as exc:
            problems.append(str(exc))
        try:
            verify_integrity(deployment)
        except CheckpointError as exc:
            problems.append(f"state file contains errors: {exc}")
        if problems and not force:
            advice = "importing this file could be dangerous; rerun with --force to proceed anyway"
            raise EngineError("\n".join([*problems, advice]))
        warnings = [*problems] + [
            f"removing pending operation '{op.type}' on '{op.resource.urn}' from snapshot"
            for op in imported.operations
        ]
        self.state = {s.urn: s for s in imported.resources if not s.delete}
        self.pending_deletes = [s for s in imported.resources if s.delete]
        self.pending_operations = []
        if imported.provider_inputs is not None:
            inputs = imported.provider_inputs
            keys = frozenset(k for k, v in inputs.items() if is_secret(v))
            self.saved_config = ({k: reveal(v) for k, v in inputs.items()}, keys)
        return warnings

    def state_delete(self, urn: str, *, force: bool = False, target_dependents: bool = False) -> None:
        """``pulumi state delete URN`` (pkg/cmd/pulumi/state/state_delete.go, pkg/resource/edit
        ``DeleteResource``): the resource leaves the checkpoint, nothing is deleted in the cloud;
        refused for a protected resource without ``force`` and for one others depend on without
        ``target_dependents`` (which then goes with them)."""
        condemned = self._state_resource(urn)
        everything = [*self.state.values(), *self.pending_deletes]
        dependents = _depending_on(condemned, everything, children=True)
        for resource in (condemned, *(dependents if target_dependents else ())):
            if resource.protect and not force:
                raise EngineError(
                    f"{resource.urn} can't be safely deleted because it is protected. "
                    "Re-run this command with --force to force deletion"
                )
        if dependents and not target_dependents:
            names = "".join(f' * "{d.name}" ({d.urn})\n' for d in dependents)
            raise EngineError(
                f"{urn} can't be safely deleted because the following resources depend on it:\n{names}"
                "\nDelete those resources first or pass --target-dependents."
            )
        gone = [condemned, *dependents]
        self.state = {u: s for u, s in self.state.items() if not any(s is g for g in gone)}
        self.pending_deletes = [s for s in self.pending_deletes if not any(s is g for g in gone)]

    def state_taint(self, urn: str) -> None:
        """``pulumi state taint URN`` (state_taint.go): the next update replaces it."""
        self._state_resource(urn).taint = True

    def state_unprotect(self, urn: str) -> None:
        """``pulumi state unprotect URN`` (state_unprotect.go)."""
        self._state_resource(urn).protect = False

    def _state_resource(self, urn: str) -> ResourceState:
        found = self.state.get(urn) or next((s for s in self.pending_deletes if s.urn == urn), None)
        if found is None:
            raise EngineError(f"No such resource {urn!r} exists in the current state")
        return found

    # -- queries for assertions ----------------------------------------------------------------
    def ops(self, *kinds: str) -> list[Call]:
        return [c for c in self.calls if c.op in kinds]

    def resource(self, name: str) -> ResourceState:
        """The state of the resource whose URN ends with ``::<name>``."""
        (found,) = [s for urn, s in self.state.items() if urn.endswith(f"::{name}")]
        return found

    def urn(self, name: str, type_: str) -> str:
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    # -- hosts -----------------------------------------------------------------------------------
    @contextmanager
    def _host(
        self, operation: str, config: Mapping[str, str], secret_keys: Collection[str]
    ) -> Iterator[ProviderHost]:
        """A new provider host for one operation, configured with ``config`` (secrets marked)."""
        host = ProviderHost(
            project=self.project, cwd=self.project_dir, env=self.env, forked=self.forked_hosts
        )
        self._hosts += 1
        host.number = self._hosts
        try:
            host.configure({k: secret(v) if k in secret_keys else v for k, v in config.items()})
            if self.on_host is not None:
                self.on_host(host, operation)
            yield host
        finally:
            self.host_logs.append(host.close())

    def _provider_config(self) -> tuple[dict[str, str], frozenset[str]]:
        """The config a deployment that runs no program configures the provider with: the one saved
        at the last update (the default provider's old inputs), else the current one."""
        return self.saved_config or (dict(self.config), self.secret_keys)

    def _urns(self, names_or_urns: Iterable[str], *, known: bool = True) -> frozenset[str]:
        """URNs of ``--replace`` / ``--target`` arguments, given as URNs or names of resources in the
        state (``known=False``: a URN need not be in the state; ``checkTargets`` reports it)."""
        urns = set()
        for item in names_or_urns:
            if item.startswith("urn:"):
                if known:
                    self._state_resource(item)
                urns.add(item)
            else:
                urns.add(self.resource(item).urn)
        return frozenset(urns)

    def _check_targets(self, run: _Run) -> None:
        """Every ``--target`` names a resource of the old state or of the program
        (deployment_executor.go ``checkTargets``)."""
        unknown = sorted(t for t in run.options.targets if t not in run.olds and t not in run.registered)
        if unknown:
            lines = "\n".join(f"Target '{t}' could not be found in the stack." for t in unknown)
            raise EngineError(f"{lines}\none or more targets could not be found in the stack")

    def _undeclared(self, run: _Run) -> list[ResourceState]:
        """The old resources the program no longer declares, under their URN or an alias
        (``GenerateDeletes``): deleted at the end of the run."""
        return [s for urn, s in self.state.items() if urn not in run.next_state and urn not in run.claimed]

    def _pending_warnings(self) -> list[str]:
        """The warning the CLI prints before deploying over pending operations."""
        count = len(self.pending_operations)
        message = f"Attempting to deploy or update resources with {count} pending operations from previous"
        message += " deployment."
        return [message] if count else []

    def _pending_creates_to_imports(self, imports: dict[str, str]) -> list[str]:
        """refresh.go ``pendingCreatesToImports``: each named pending create gets the id and the
        type ``importing``; the warning for the URNs matching none, as the CLI words it. Its list of
        unused URNs starts with as many empty strings as there were unused ones, so it is never one
        long and the CLI's one-URN wording is never printed."""
        edited: list[PendingOperation] = []
        for op in self.pending_operations:
            if op.type == "creating" and op.resource.urn in imports:
                resource = dataclasses.replace(op.resource, id=imports.pop(op.resource.urn))
                op = PendingOperation(resource, "importing")
            edited.append(op)
        self.pending_operations = edited
        if not imports:
            return []
        listed = '"\n- "'.join([""] * len(imports) + list(imports))
        return [f'warning: the following urns did not correspond to a pending create\n- "{listed}"']

    def _write_snapshot(self) -> None:
        """What the first snapshot write of a deployment keeps of the old pending operations: only
        the ``creating`` ones (pkg/backend/snapshot.go, "Track pending create operations from the base
        snapshot"); pending updates, deletes and imports are dropped."""
        self.pending_operations = [op for op in self.pending_operations if op.type == "creating"]

    def _record(self, run: _Run, op: str, urn: str, id_: str = "", olds: bool = False) -> None:
        with self._lock:
            self.calls.append(Call(op, urn, id_, run.operation, run.host.number, olds))

    @contextmanager
    def _operation(self, run: _Run) -> Iterator[None]:
        """``run`` is the operation under way (what registrations and ``cancel`` act on)."""
        with self._lock:
            self._run = run
            run.olds = set(self.state)
        try:
            yield
        finally:
            with self._lock:
                self._run = None
        if run.crashed:
            raise InterruptedDeploymentError(run.interruption())

    # -- program runs ----------------------------------------------------------------------------
    def _run_program(self, run: _Run) -> None:
        try:
            # The SDK keeps its settings, root stack and config in context variables: a copy of
            # the context gives each run a fresh SDK (as a new process would) and leaves the
            # caller's, e.g. other tests' set_mocks, untouched.
            run.result.outputs = contextvars.copy_context().run(self._execute, run.operation == "preview")
        except BaseException as exc:
            # A failed program ends while other registrations' steps still run: the deployment
            # waits for them (deployment_executor.go ``WaitForCompletion``).
            with self._idle:
                self._idle.wait_for(lambda: run.active == 0, timeout=600)
            if run.operation == "update":
                # The checkpoint keeps every completed step (snapshot.go): new states, and the old
                # ones of resources this run did not get to.
                self.state.update(run.next_state)
            if run.crashed:
                raise InterruptedDeploymentError(run.interruption()) from exc
            if isinstance(exc, _CanceledError) and run.failure is not None:
                raise run.failure from exc  # the error that stopped the deployment, not a later casualty
            raise
        if run.crashed:  # the crash hit a step whose failure the program did not see
            self.state.update(run.next_state)
            raise InterruptedDeploymentError(run.interruption())
        if run.failure is not None:  # --continue-on-error: the other steps ran; the update failed
            self.state.update(run.next_state)
            raise run.failure

    def _execute(self, preview: bool) -> dict[str, Any]:
        """Run the program under the SDK's mock monitor; return the stack outputs."""
        monitor = _Monitor(self)
        configure(
            MockSettings(
                monitor=monitor,
                monitor_features=set(monitor.GetDeploymentInfo(empty_pb2.Empty()).supportedFeatures),
                engine=MockEngine(None),
                project=self.project,
                stack=self.stack,
                dry_run=preview,
                organization="organization",
                root_directory=str(self.project_dir),
                callbacks=None,
            )
        )
        SETTINGS.outputs.clear()
        set_root_resource(None)  # type: ignore[arg-type]  # run_in_stack makes the run's Stack
        set_all_config(dict(self.config), sorted(self.secret_keys))
        loop = _ensure_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=self.parallel))
        loop.set_exception_handler(_quiet_unretrieved)
        _sync_await(run_in_stack(self._program))
        return monitor.stack_outputs

    def _program(self) -> None:
        """The program, run as the language host runs a project directory."""
        runpy.run_path(str(self.project_dir), run_name="__main__")

    def _old_resource(self, run: _Run, goal: Registration) -> ResourceState | None:
        """The state under the goal's URN, else under its first alias not taken (``getOldResource``)."""
        with self._lock:
            if goal.urn in run.registered:
                raise EngineError(f"Duplicate resource URN {goal.urn!r}")
            run.registered.add(goal.urn)
            for urn in (goal.urn, *goal.aliases, *self._inherited_aliases(run, goal)):
                old = self.state.get(urn)
                if old is not None and urn not in run.claimed:
                    run.claimed.add(urn)
                    if urn != goal.urn:
                        run.aliased[goal.urn] = urn
                    return old
            return None

    def _inherited_aliases(self, run: _Run, goal: Registration) -> list[str]:
        """The aliases a child gets from its parent's (step_generator.go ``generateAliases``, the
        parent's half): when the parent was found under an alias, the child is looked for under that
        parent, with the alias's name in place of the parent's at the start of its own name
        (``inheritedChildAlias``), for its URN and each of its aliases."""
        parent_alias = run.aliased.get(goal.parent)
        if parent_alias is None:
            return []
        parent_name = goal.parent.split("::", 3)[3]
        alias_name = parent_alias.split("::", 3)[3]
        qualified = parent_alias.split("::")[2]
        found = []
        for urn in (goal.urn, *goal.aliases):
            type_, name = urn.split("::")[2].rsplit("$", 1)[-1], urn.split("::", 3)[3]
            if name.startswith(parent_name):
                name = alias_name + name[len(parent_name) :]
            found.append(f"urn:pulumi:{self.stack}::{self.project}::{qualified}${type_}::{name}")
        return found

    @contextmanager
    def _step_generator(self) -> Iterator[None]:
        """Check and Diff run in the step generator, one registration at a time, unless
        ``PULUMI_PARALLEL_DIFF`` (step_generator.go ``diff``)."""
        if self.parallel_diff:
            yield
            return
        with self._generator:
            yield

    def _register(self, goal: Registration) -> tuple[str, dict[str, Any]]:
        run = self._run
        assert run is not None, "registration outside a program run"
        with self._lock:
            run.active += 1
        try:
            return self._register_step(run, goal)
        finally:
            with self._lock:
                run.active -= 1
                self._idle.notify_all()

    def _register_step(self, run: _Run, goal: Registration) -> tuple[str, dict[str, Any]]:
        run.stop_if_canceled()
        old = self._old_resource(run, goal)
        if not (goal.custom and PROVIDER_KEY in goal.inputs):
            return self._echo(run, goal, old)
        if not run.targeted(goal):
            return self._untargeted(run, goal, old)
        with self._step_generator():
            step = self._generate(run, goal, old)
        run.result.steps[goal.urn] = step.kind
        if run.operation != "preview":
            return self._apply(run, goal, old, step)
        if old is not None and step.kind == "same":
            return old.id, old.outputs
        if old is not None and step.kind == "update":
            return old.id, step.inputs  # provider_plugin.go Update: no preview support, inputs as state
        return "", step.inputs

    def _untargeted(
        self, run: _Run, goal: Registration, old: ResourceState | None
    ) -> tuple[str, dict[str, Any]]:
        """A resource outside ``--target``: its old state as it is, no Check (stubbed with the old
        inputs), no Diff (``NewUntargetedSameStep``); a new one is not created (``NewSkippedCreateStep``)."""
        if old is None:
            run.result.steps[goal.urn] = "skip"
            return "", {}
        run.result.steps[goal.urn] = "same"
        if run.operation != "preview":
            with self._lock:
                if not run.crashed:
                    run.next_state[old.urn] = old
        return old.id, old.outputs

    def _generate(self, run: _Run, goal: Registration, old: ResourceState | None) -> _Step:
        """The steps for one registration (step_generator.go ``generateSteps``): Check, Diff, and for a
        delete-before-replace the dependents that must go first."""
        if old is None:
            return _Step("create", self._check(run, goal.urn, {}, goal.inputs))
        if old.urn in run.recreate:
            # Deleted earlier in this run for a delete-before-replace: Check without olds, no Diff
            # (``continueStepsFromImport``, case 1 "recreating").
            return _Step("replace", self._check(run, goal.urn, {}, goal.inputs), recreated=True)
        targeted = goal.urn in run.options.replace or old.urn in run.options.replace or old.taint
        if targeted:
            # isTargetedReplace: Check without olds, with the program's values (goal.Properties),
            # then DiffSome with replace keys ["id"], no Diff call.
            checked = self._check(run, goal.urn, {}, goal.inputs)
            kind, dbr = "replace", False
        else:
            news = (
                ignore_changes(goal.inputs, old.inputs, goal.ignore_changes)
                if goal.ignore_changes
                else goal.inputs
            )
            checked = self._check(run, goal.urn, old.inputs, news)
            if goal.deleted_with and goal.deleted_with in run.replaced:
                # Its deleted_with resource is replaced (step_generator.go ``diff``).
                kind, dbr = "replace", False
            else:
                kind, dbr = self._plan(run, goal.urn, old, checked)
        if kind != "replace":
            return _Step(kind, checked)
        if goal.protect and old.protect:
            run.errors.append(_protected_replace(goal.urn))
            if run.operation != "preview":
                raise EngineError(run.errors[-1])
        if not targeted:
            checked = self._check(run, goal.urn, {}, goal.inputs)
        if goal.delete_before_replace is not None:
            dbr = goal.delete_before_replace  # the resource option wins over the provider's answer
        with self._lock:
            run.replaced.add(goal.urn)
        dependents = self._dependent_replacements(run, old) if dbr else []
        return _Step("replace", checked, dbr=dbr, dependents=dependents)

    def _apply(
        self, run: _Run, goal: Registration, old: ResourceState | None, step: _Step
    ) -> tuple[str, dict[str, Any]]:
        """Execute the steps of one registration (the step executor)."""
        checked = step.inputs
        if old is None or step.kind == "create":
            new_id, outputs = self._create(run, goal, checked)
            return new_id, self._save(run, goal, new_id, checked, outputs)
        if step.kind == "same":
            self._save(run, goal, old.id, checked, old.outputs)
            return old.id, old.outputs
        if step.kind == "update":
            outputs = self._provider_step(
                run, "update", goal.urn, old, lambda: self._update(run, goal, old, checked)
            )
            return old.id, self._save(run, goal, old.id, checked, outputs)
        if step.dbr:
            # Dependents first, in reverse dependency order, then the resource; each stays in the
            # state as pending_replacement until its replacement is created (step.go ``DeleteStep``).
            for dependent in reversed(step.dependents):
                self._delete_one(run, dependent, replacing=True, pending_replacement=True)
            if not old.pending_replacement:
                self._delete_one(run, old, replacing=True, pending_replacement=True)
        new_id, outputs = self._create(run, goal, checked)
        if not step.dbr and not step.recreated and not old.pending_replacement:
            old.delete = True  # deleted after the program, once dependents moved to the new one
            with self._lock:
                self.pending_deletes.append(old)
        return new_id, self._save(run, goal, new_id, checked, outputs)

    def _dependent_replacements(self, run: _Run, root: ResourceState) -> list[ResourceState]:
        """step_generator.go ``calculateDependentReplacements``: of the old state's transitive
        dependents of ``root`` not registered yet in this run, those whose provider's Diff, given
        the inputs that come from a replaced resource as unknowns, asks for a replacement (or that
        are deleted with one); in dependency order. They are deleted before ``root``."""
        with self._lock:
            ignore = run.registered | run.claimed
            candidates = [s for s in self.state.values() if s.urn not in ignore]
        replace_set = {root.urn}
        found: list[ResourceState] = []
        for dependent in _depending_on(root, candidates, children=False):
            if self._requires_replacement(run, dependent, replace_set):
                found.append(dependent)
                replace_set.add(dependent.urn)
        for dependent in found:
            if dependent.protect:
                raise EngineError(
                    f'unable to replace resource "{dependent.urn}" as part of replacing "{root.urn}" '
                    "as it is currently marked for protection. To unprotect the resource, remove the "
                    "`protect` flag from the resource in your Pulumi program and run `pulumi up`, or use "
                    "the command:\n"
                    f'`pulumi state unprotect "{dependent.urn}"`'
                )
        with self._lock:
            run.recreate.update(d.urn for d in found)
        return found

    def _requires_replacement(self, run: _Run, resource: ResourceState, replace_set: set[str]) -> bool:
        if not resource.custom:
            return False
        if resource.deleted_with in replace_set:
            return True
        unknown = {k for k, deps in resource.property_dependencies.items() if replace_set & set(deps)}
        if not unknown & set(resource.inputs):
            return False
        news = {k: Unknown() if k in unknown else v for k, v in resource.inputs.items()}
        diff = run.host.diff(resource.urn, resource.id, reveal(resource.outputs), reveal(news))
        self._record(run, "diff", resource.urn, resource.id)
        return bool(diff.replaces)

    def _save(
        self, run: _Run, goal: Registration, id_: str, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        state = goal.state(id_, inputs, outputs)
        with self._lock:
            if not run.crashed:
                run.next_state[goal.urn] = state
        return outputs

    def _echo(self, run: _Run, goal: Registration, old: ResourceState | None) -> tuple[str, dict[str, Any]]:
        """Resources of other providers (or components): inputs become outputs, no provider call."""
        resource_id = old.id if old else (goal.name if goal.custom else "")
        run.result.steps[goal.urn] = (
            "create" if old is None else ("same" if old.inputs == goal.inputs else "update")
        )
        if run.operation != "preview":
            self._save(run, goal, resource_id, dict(goal.inputs), dict(goal.inputs))
        return resource_id, dict(goal.inputs)

    def _check(self, run: _Run, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        result = run.host.check(urn, reveal(olds), reveal(news))
        self._record(run, "check", urn, olds=bool(olds))
        if result.failures:
            lines = "\n".join(f"  {prop}: {reason}" for prop, reason in result.failures)
            raise EngineError(f"{urn}: check failed:\n{lines}")
        return annotate_secrets(result.inputs, news)

    def _plan(self, run: _Run, urn: str, old: ResourceState, checked: dict[str, Any]) -> tuple[str, bool]:
        """(same | update | replace, delete_before_replace) from the provider's Diff; an old resource
        pending replacement is replaced whatever the Diff says (``continueStepsFromDiff``)."""
        diff = run.host.diff(urn, old.id, reveal(old.outputs), reveal(checked))
        self._record(run, "diff", urn, old.id)
        if old.pending_replacement:
            return "replace", diff.delete_before_replace
        if diff.changes == provider_pb2.DiffResponse.DIFF_NONE:
            return "same", False
        if diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN and reveal(old.inputs) == reveal(checked):
            return "same", False  # the engine's own input diff found nothing
        return ("replace" if diff.replaces else "update"), diff.delete_before_replace

    def _create(self, run: _Run, goal: Registration, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        pending = goal.state("", inputs, {})

        def create() -> tuple[str, dict[str, Any]]:
            new_id, outputs = run.host.create(goal.urn, reveal(inputs))
            self._record(run, "create", goal.urn, new_id)
            return new_id, goal.secure(outputs, inputs)

        return self._provider_step(run, "create", goal.urn, pending, create)

    def _update(
        self, run: _Run, goal: Registration, old: ResourceState, news: dict[str, Any]
    ) -> dict[str, Any]:
        outputs = run.host.update(old.urn, old.id, reveal(old.outputs), reveal(news))
        self._record(run, "update", old.urn, old.id)
        return goal.secure(outputs, news)

    def _provider_step(
        self, run: _Run, op: str, urn: str, resource: ResourceState, call: Callable[[], T]
    ) -> T:
        """One provider call between the checkpoint's begin and end of its step (snapshot.go): a
        crash in between leaves the pending operation behind; a failure ends it and, unless
        ``--continue-on-error``, lets no new step start (step_executor.go ``cancelDueToError``)."""
        operation = PendingOperation(
            resource, {"create": "creating", "update": "updating"}.get(op, "deleting")
        )
        crash = run.crash
        hit = crash is not None and crash.op == op and urn.endswith(f"::{crash.name}")
        with self._lock:
            if run.crashed:
                raise InterruptedDeploymentError("the CLI is gone")
            run.stop_if_canceled()
            self.pending_operations.append(operation)
            if hit and crash is not None and not crash.after:
                run.crashed = True
                raise InterruptedDeploymentError(f"interrupted before {op} of {urn}")
        try:
            value = call()
        except BaseException as exc:
            with self._lock:
                if (
                    self.killed_with_host
                    and isinstance(exc, HostError)
                    and exc.code == grpc.StatusCode.UNAVAILABLE
                ):
                    run.crashed = True
                if not run.crashed:
                    self.pending_operations.remove(operation)
                    run.fail(resource, exc)
            raise
        with self._lock:
            if run.crashed or hit:
                run.crashed = True  # the answer came, the checkpoint never saw it
                raise InterruptedDeploymentError(f"interrupted after {op} of {urn}")
            self.pending_operations.remove(operation)
        return value

    # -- deletes ---------------------------------------------------------------------------------
    def _delete_all(self, run: _Run, doomed: list[ResourceState]) -> None:
        """Delete ``doomed`` dependents first, each antichain in parallel (``ScheduleDeletes``). A
        failure lets no new delete start; with ``--continue-on-error`` the others go on, except
        those a failed resource depends on (``performPostSteps``). Under ``--target``, only targets
        and their dependents (``GenerateDeletes``), and a dependent only with ``--target-dependents``."""
        allowed = run.deletable(self.state.values())
        doomed = [s for s in doomed if allowed is None or s.urn in allowed]
        untargeted = [s.urn for s in doomed if allowed is not None and s.urn not in run.options.targets]
        if untargeted and not run.options.target_dependents:
            lines = "\n".join(
                f"Resource '{urn}' will be destroyed but was not specified in --target list.\nEither include "
                "resource in --target list or pass --target-dependents to proceed."
                for urn in untargeted
            )
            if run.operation == "preview":
                run.errors.append(lines)
                return
            raise EngineError(f"{lines}\ndelete untargeted resource")
        with self._lock:
            run.deletes.update(s.urn for s in doomed)
        errors: list[str] = []
        for level in _antichains(doomed):
            kept = _dependencies_of(run.failed, doomed)
            level = [s for s in level if s.urn not in kept or s.delete]
            for resource in level:
                if not resource.delete:  # a replaced resource's delete belongs to its "replace" step
                    run.result.steps[resource.urn] = "delete"
            errors.extend(e for e in self._parallel(level, lambda s: self._try_delete(run, s)) if e)
            if errors and run.operation == "preview":
                run.errors.extend(errors)
                errors = []
        if errors:
            raise EngineError("\n".join(errors))

    def _try_delete(self, run: _Run, resource: ResourceState) -> str:
        try:
            self._delete_one(run, resource, replacing=resource.delete)
        except (InterruptedDeploymentError, _CanceledError):
            return ""
        except EngineError as exc:  # protected: the others go on (cancelDueToError), its dependencies stay
            with self._lock:
                run.fail(resource, exc, stop=False)
            return str(exc)
        except HostError as exc:
            return str(exc)
        return ""

    def _delete_one(
        self, run: _Run, old: ResourceState, *, replacing: bool, pending_replacement: bool = False
    ) -> None:
        """step.go ``DeleteStep.Apply``: protect refuses (and does not stop the others); no Delete
        call for a ``retain_on_delete`` resource, for one ``deleted_with`` a resource deleted in this
        run, or for one already deleted by a delete-before-replace (``RemovePendingReplaceStep``)."""
        if not replacing and old.protect:
            raise EngineError(_protected_delete(old.urn))
        if run.operation == "preview":
            return
        with self._lock:
            deleted_with = old.deleted_with in run.deletes
        if (
            old.custom
            and old.dynamic
            and not (old.retain_on_delete or deleted_with or old.pending_replacement)
        ):

            def delete() -> None:
                run.host.delete(old.urn, old.id, reveal(old.outputs))
                self._record(run, "delete", old.urn, old.id)

            self._provider_step(run, "delete", old.urn, old, delete)
        with self._lock:
            if pending_replacement:
                old.pending_replacement = True
                run.deletes.add(old.urn)
            elif old.delete:
                self.pending_deletes = [s for s in self.pending_deletes if s is not old]
            elif self.state.get(old.urn) is old:
                del self.state[old.urn]

    # -- refresh ---------------------------------------------------------------------------------
    def _refresh_resources(self, run: _Run) -> None:
        """Refresh every custom resource of the state (none pending replacement: RefreshStep skips
        them); drop those gone."""
        resources = [
            s
            for s in [*self.state.values(), *self.pending_deletes]
            if s.custom and s.dynamic and not s.pending_replacement
        ]
        outcomes = self._parallel(resources, lambda s: self._refresh_one(run, s))
        gone = [s for s, alive in zip(resources, outcomes, strict=True) if not alive]
        self.state = {urn: s for urn, s in self.state.items() if not any(s is g for g in gone)}
        self.pending_deletes = [s for s in self.pending_deletes if not any(s is g for g in gone)]
        for resource, alive in zip(resources, outcomes, strict=True):
            run.result.steps[resource.urn] = "read" if alive else "gone"

    def _refresh_one(self, run: _Run, old: ResourceState) -> bool:
        """Read, then Diff with the refreshed inputs and outputs as olds and the old inputs as news
        (step.go ``RefreshStep.Apply``); False when gone."""
        new_id, outputs, inputs = run.host.read(old.urn, old.id, reveal(old.outputs), reveal(old.inputs))
        self._record(run, "read", old.urn, old.id)
        if not new_id:
            return False
        old_inputs = old.inputs
        old.id = new_id
        old.outputs = annotate_secrets(outputs, old_inputs)
        if inputs is not None:
            old.inputs = annotate_secrets(inputs, old_inputs)
        run.host.diff(old.urn, old.id, reveal(old.outputs), reveal(old_inputs))
        self._record(run, "diff", old.urn, old.id)
        return True

    def _parallel(self, items: list[ResourceState], fn: Callable[[ResourceState], T]) -> list[T]:
        """``fn`` over ``items`` on ``--parallel`` workers (the step executor's)."""
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=self.parallel) as pool:
            return list(pool.map(fn, items))


def _quiet_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop asyncio's report of a failed program's futures whose errors nobody retrieved (the run
    already raised the error). Reported whenever the garbage collector runs, possibly inside an
    ast.parse (pytest rewriting an import), its traceback formatting parses too, and CPython 3.11
    then fails the outer parse with "AST constructor recursion depth mismatch"."""
    if "never retrieved" not in str(context.get("message", "")):
        loop.default_exception_handler(context)


def _edges(resource: ResourceState | Registration, *, children: bool) -> set[str]:
    """The URNs ``resource`` (in the state, or as the program registers it) depends on
    (State.GetAllDependencies: dependencies, property dependencies, deleted_with, and its parent
    when ``children``)."""
    edges = {*resource.dependencies, resource.deleted_with}
    edges.update(urn for urns in resource.property_dependencies.values() for urn in urns)
    if children:
        edges.add(resource.parent)
    return edges - {""}


def _depending_on(
    root: ResourceState, resources: list[ResourceState], *, children: bool
) -> list[ResourceState]:
    """What depends on ``root``, directly or not, in the order of ``resources``
    (graph.DependencyGraph ``DependingOn``)."""
    reached = {root.urn}
    found: list[ResourceState] = []
    grew = True
    while grew:
        grew = False
        for resource in resources:
            if resource.urn in reached or not _edges(resource, children=children) & reached:
                continue
            found.append(resource)
            reached.add(resource.urn)
            grew = True
    return found


def _dependencies_of(failed: list[ResourceState], among: list[ResourceState]) -> set[str]:
    """The URNs among ``among`` that failed resources depend on, directly or not: their deletes
    are skipped after a failure under ``--continue-on-error`` (``performPostSteps``)."""
    by_urn = {s.urn: s for s in among if not s.delete}
    wanted: set[str] = set()
    frontier = list(failed)
    while frontier:
        for urn in _edges(frontier.pop(), children=True):
            if urn in by_urn and urn not in wanted:
                wanted.add(urn)
                frontier.append(by_urn[urn])
    return wanted


def _antichains(resources: list[ResourceState]) -> list[list[ResourceState]]:
    """``resources`` in delete order: each list holds resources nothing after it depends on."""
    dependents: list[set[int]] = [set() for _ in resources]
    for j, r in enumerate(resources):
        for i, target in enumerate(resources):
            if i != j and target.urn != r.urn and target.urn in {*r.dependencies, r.parent}:
                dependents[i].add(j)
    levels: list[list[ResourceState]] = []
    done: set[int] = set()
    remaining = list(range(len(resources)))
    while remaining:
        level = [i for i in remaining if dependents[i] <= done] or remaining[-1:]
        levels.append([resources[i] for i in level])
        done.update(level)
        remaining = [i for i in remaining if i not in done]
    return levels


class _NoMocks(Mocks):
    """The monitor answers registrations itself; invokes are not supported."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        raise EngineError(f"{args.name}: reading existing resources (get/import) is not supported")

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise EngineError(f"invoke {args.token} is not supported by the test engine")


@dataclass(frozen=True)
class _Options:
    """The flags of one operation: ``--replace``, ``--target``, ``--target-dependents``,
    ``--continue-on-error``."""

    replace: frozenset[str] = frozenset()
    targets: frozenset[str] = frozenset()
    target_dependents: bool = False
    continue_on_error: bool = False


@dataclass
class _Step:
    """What the step generator decided for one registration."""

    kind: str  # create | same | update | replace
    inputs: dict[str, Any]
    dbr: bool = False
    dependents: list[ResourceState] = field(default_factory=list)
    """Old resources deleted before this one (delete-before-replace), recreated when they register."""
    recreated: bool = False
    """Deleted earlier in this run for a dependency's delete-before-replace: only a create is left."""


@dataclass
class _Run:
    operation: str  # preview | update | refresh | destroy
    host: ProviderHost
    options: _Options
    crash: Crash | None
    next_state: dict[str, ResourceState] = field(default_factory=dict)
    olds: set[str] = field(default_factory=set)
    registered: set[str] = field(default_factory=set)
    claimed: set[str] = field(default_factory=set)
    aliased: dict[str, str] = field(default_factory=dict)
    """The old URN each resource was found under, when an alias (the step generator's ``aliases``)."""
    replaced: set[str] = field(default_factory=set)
    recreate: set[str] = field(default_factory=set)
    deletes: set[str] = field(default_factory=set)
    """URNs deleted in this run (the step generator's ``deletes``: ``deleted_with`` looks here)."""
    targets_actual: set[str] = field(default_factory=set)
    active: int = 0
    """Registrations being handled (their steps may outlive a failed program)."""
    result: RunResult = field(default_factory=RunResult)
    errors: list[str] = field(default_factory=list)
    failed: list[ResourceState] = field(default_factory=list)
    failure: Exception | None = None
    stopped: bool = False
    crashed: bool = False
    canceled: bool = False

    def fail(self, resource: ResourceState, exc: BaseException, *, stop: bool = True) -> None:
        """A step failed: unless ``--continue-on-error`` no new step starts (``cancelDueToError``)."""
        self.failed.append(resource)
        if self.failure is None and isinstance(exc, Exception):
            self.failure = exc
        if stop and not self.options.continue_on_error:
            self.stopped = True

    def stop_if_canceled(self) -> None:
        if self.crashed:
            raise InterruptedDeploymentError(self.interruption())
        if self.stopped:
            raise _CanceledError("not started: an earlier step failed")

    def interruption(self) -> str:
        if self.canceled:
            return "the update was canceled (pulumi cancel)"
        return f"the deployment was interrupted at {self.crash}"

    def targeted(self, goal: Registration) -> bool:
        """Included in an operation under ``--target`` (step_generator.go ``isTargetedForUpdate``): a
        target, or with ``--target-dependents`` a resource that depends on one included."""
        if not self.options.targets:
            return True
        if goal.urn in self.options.targets or (
            self.options.target_dependents and _edges(goal, children=True) & self.targets_actual
        ):
            self.targets_actual.add(goal.urn)
            return True
        return False

    def deletable(self, states: Iterable[ResourceState]) -> set[str] | None:
        """Under ``--target``, the URNs a delete may touch: the targets and what depends on them,
        children included (``determineAllowedResourcesToDeleteFromTargets``); None: all."""
        if not self.options.targets:
            return None
        everything = list(states)
        allowed = set(self.options.targets)
        for target in everything:
            if target.urn in self.options.targets:
                allowed.update(d.urn for d in _depending_on(target, everything, children=True))
        return allowed


class _Monitor(MockMonitor):
    """The SDK's mock monitor as the engine's resource monitor: each registration becomes the
    engine's step, with its URN, options and unknowns; it also keeps the stack outputs."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(_NoMocks())
        self.engine = engine
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == STACK_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object, keep_unknowns=True)
        dependencies = {*request.dependencies}
        property_dependencies = {key: sorted(deps.urns) for key, deps in request.propertyDependencies.items()}
        for urns in property_dependencies.values():
            dependencies.update(urns)
        goal = Registration(
            urn=urn,
            type=request.type,
            name=request.name,
            custom=bool(request.custom),
            inputs=inputs,
            parent=request.parent,
            dependencies=sorted(dependencies),
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            ignore_changes=tuple(request.ignoreChanges),
            delete_before_replace=request.deleteBeforeReplace if request.deleteBeforeReplaceDefined else None,
            aliases=(*request.aliasURNs, *(self._alias_urn(request, alias) for alias in request.aliases)),
            additional_secret_outputs=tuple(request.additionalSecretOutputs),
            property_dependencies={k: v for k, v in property_dependencies.items() if v},
            deleted_with=request.deletedWith,
        )
        if self.engine.edit is not None:
            goal = self.engine.edit(goal)
        id_, state = self.engine._register(goal)
        obj = _sync_await(rpc.serialize_properties(_wire(state), {}))
        return resource_pb2.RegisterResourceResponse(urn=goal.urn, id=id_, object=obj)

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """The URN an alias names (an URN, or a spec defaulting to the resource's name and type)."""
        if alias.urn:
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name)

    def RegisterResourceOutputs(self, request: Any) -> Any:
        if f"::{STACK_TYPE}::" in request.urn:
            _ensure_event_loop()
            self.stack_outputs = rpc.deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """As the engine names resources: the stack is not part of its children's type chain."""
        if parent and parent.split("::")[2] == STACK_TYPE:
            parent = ""
        result: str = super().make_urn(parent, type_, name)
        return result
