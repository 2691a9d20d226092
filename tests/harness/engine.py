"""A test engine that behaves like Pulumi's: real programs, a fresh real provider host per operation.

The Pulumi CLI (and with it the Go engine) cannot be installed here. This harness plays the
engine's part so that a Pulumi program (the root program or an example) runs end to end, the
program in this process through the SDK's own entry point (``run_in_stack`` over the SDK's mock
monitor, which stands in for the resource monitor), every dynamic resource through the SDK's
real provider host (``python -m pulumi.dynamic``, :class:`ProviderHost`) over gRPC.

Each behaviour imitates the engine source named beside it (paths in pulumi/pulumi, v3.259+):

* one fresh host per operation (``preview``, the preview half of ``up``, its update half,
  ``refresh``, ``destroy``), configured with the whole stack config, secrets marked
  (pkg/resource/deploy/target.go ``GetPackageConfig``; plugin host per deployment);
* steps run in parallel within the dependency order: the SDK sends each registration once its
  inputs resolved, from a thread pool of ``--parallel`` (16) workers
  (pulumi/automation/_server.py ``set_default_executor``); the host serves 4 at once;
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
  resource is deleted after the program finished (step_generator.go ``continueStepsFromDiff``,
  ``GenerateDeletes``), unless delete-before-replace, where the resource option wins over the
  provider's answer; a protected resource is never replaced (the engine's error, in preview the
  whole preview fails after it finished);
* ``--replace URN`` skips Diff: replace keys ``["id"]``, Check without olds, Create, delete at
  the end (step_generator.go ``isTargetedReplace``, ``diff``);
* a resource found under none of its URN or ``aliases`` in the state is created; the old URN
  is then deleted at the end like any resource the program no longer declares
  (``getOldResource``, ``GenerateDeletes``);
* deletes run dependents first, in parallel by antichains (``ScheduleDeletes``); a protected
  resource refuses deletion, a ``retain_on_delete`` one leaves the state with no Delete call
  (step.go ``DeleteStep.Apply``);
* secrets are stripped before every provider call (the host answers Configure with
  ``acceptSecrets: false``) and outputs are marked secret afterwards only where an input of the
  same name held a secret (provider_plugin.go ``annotateSecrets``);
* refresh = Read(id, old outputs, old inputs); an empty id drops the resource, returned inputs
  replace the stored ones, then Diff(id, olds=new outputs, news=old inputs) to show the drift
  (step.go ``RefreshStep.Apply``);
* a crash of the CLI (``Crash``) at a chosen provider call leaves the checkpoint as
  pkg/backend/snapshot.go writes it: completed steps saved, each step begun and not ended as a
  pending operation (``markOperationPending``); pending creates survive later deployments until
  ``refresh(import_pending_creates=...)`` (pkg/cmd/pulumi/operations/refresh.go
  ``pendingCreatesToImports``) or ``refresh(clear_pending_creates=True)``; a failed step ends its
  operation (``createSnapshotMutation.End``);
* :meth:`Engine.export` prints the checkpoint as ``pulumi stack export`` does (apitype
  ``DeploymentV3``, ``ResourceV3``, ``OperationV2``), secrets as ciphertext.

Not modelled: replace_on_changes (the dynamic host returns no detailed diff, so it has no effect),
dependents replaced along with a delete-before-replace, ``get``/``import``, ``--target``.
Non-dynamic resources (components, other providers' types) are echoed: inputs become outputs.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import re
import runpy
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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

from tests.harness.host import HostError, ProviderHost, secret

PROVIDER_KEY = "__provider"
STACK_TYPE = "pulumi:pulumi:Stack"
DEFAULT_PROVIDER_TYPE = "pulumi:providers:pulumi-python"
PARALLEL = 16
"""The CLI's default ``--parallel``: the SDK's registrations run on a pool of this many threads."""

T = TypeVar("T")


class EngineError(Exception):
    """What the engine would report and stop on (check failures, protect, a failed step)."""


class InterruptedDeploymentError(EngineError):
    """The CLI died (an injected :class:`Crash`): the checkpoint holds what it had saved."""


# -- secrets and unknowns on the wire --------------------------------------------------------------


def is_secret(value: Any) -> bool:
    return bool(rpc.is_rpc_secret(value))


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


# -- the checkpoint ----------------------------------------------------------------------------------


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

    @property
    def dynamic(self) -> bool:
        return PROVIDER_KEY in self.outputs or PROVIDER_KEY in self.inputs

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[1]

    def export(self, provider_ref: str) -> dict[str, Any]:
        """This resource as ``pulumi stack export`` prints it."""
        data: dict[str, Any] = {"urn": self.urn, "custom": self.custom, "type": self.type}
        optional = {
            "delete": self.delete,
            "id": self.id,
            "inputs": _export_value(self.inputs),
            "outputs": _export_value(self.outputs),
            "parent": self.parent,
            "protect": self.protect,
            "dependencies": self.dependencies,
            "provider": provider_ref if self.custom and self.dynamic else "",
            "retainOnDelete": self.retain_on_delete,
        }
        data.update({k: v for k, v in optional.items() if v})
        return data


@dataclass(frozen=True)
class PendingOperation:
    """A step begun and never ended (apitype ``OperationV2``): ``creating``, ``updating``, ``deleting``."""

    resource: ResourceState
    type: str


def _export_value(value: Any) -> Any:
    """Secrets as ``pulumi stack export`` prints them without ``--show-secrets``: ciphertext only."""
    if is_secret(value):
        digest = hashlib.sha256(repr(value["value"]).encode()).hexdigest()
        return {rpc._special_sig_key: rpc._special_secret_sig, "ciphertext": f"v1:{digest}"}
    if isinstance(value, dict):
        return {k: _export_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_export_value(v) for v in value]
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
        self.env = dict(env or {})
        self.on_host = on_host
        self.forked_hosts = forked_hosts
        self.edit = edit
        self.state: dict[str, ResourceState] = {}
        self.pending_deletes: list[ResourceState] = []
        self.pending_operations: list[PendingOperation] = []
        self.calls: list[Call] = []
        self.host_logs: list[str] = []
        self._hosts = 0
        self._lock = threading.Lock()
        self._run: _Run | None = None

    # -- operations ------------------------------------------------------------------------------
    def up(
        self, *, replace: Iterable[str] = (), skip_preview: bool = False, crash: Crash | None = None
    ) -> RunResult:
        """``pulumi up``: its preview (own host; an error stops here), then the update (a new host):
        run the program, apply its steps, then delete what it no longer declares and what was replaced."""
        targets = self._targets(replace)
        if not skip_preview:
            self.preview(replace=targets)
        with self._host("update") as host:
            run = _Run("update", host, targets, crash)
            run.result.warnings.extend(self._pending_warnings())
            self._run_program(run)
            doomed = [
                s for urn, s in self.state.items() if urn not in run.next_state and urn not in run.claimed
            ]
            self.state = {**run.next_state, **{s.urn: s for s in doomed}}
            self._delete_all(run, [*doomed, *self.pending_deletes])
            return run.result

    def preview(self, *, replace: Iterable[str] = ()) -> RunResult:
        """``pulumi preview``: Check and Diff only; state and the remote side stay untouched."""
        with self._host("preview") as host:
            run = _Run("preview", host, self._targets(replace), None)
            run.result.warnings.extend(self._pending_warnings())
            self._run_program(run)
            doomed = [
                s for urn, s in self.state.items() if urn not in run.next_state and urn not in run.claimed
            ]
            self._delete_all(run, [*doomed, *self.pending_deletes])
            if run.errors:
                raise EngineError("\n".join(run.errors))
            return run.result

    def refresh(
        self, *, import_pending_creates: Iterable[tuple[str, str]] = (), clear_pending_creates: bool = False
    ) -> RunResult:
        """``pulumi refresh``: Read every resource (an empty id means it is gone), then Diff with olds
        and news swapped. ``import_pending_creates`` [(URN, ID)] records what a pending create
        really made, ``clear_pending_creates`` drops the pending creates (refresh.go)."""
        result = RunResult()
        imports = dict(import_pending_creates)
        kept: list[PendingOperation] = []
        for op in self.pending_operations:
            if op.type == "creating" and op.resource.urn in imports:
                res = op.resource
                imported = ResourceState(
                    res.urn, res.type, imports.pop(res.urn), res.inputs, {}, res.custom, res.parent,
                    list(res.dependencies), res.protect, res.retain_on_delete,
                )  # fmt: skip
                replaced = self.state.get(res.urn)
                if replaced is not None:  # a replacement's create: the old one waits for its delete
                    replaced.delete = True  # as CreateReplacementStep marks it (step.go)
                    self.pending_deletes.append(replaced)
                self.state[res.urn] = imported
            elif not (clear_pending_creates and op.type == "creating"):
                kept.append(op)
        self.pending_operations = kept
        result.warnings.extend(f'"{urn}" did not correspond to a pending create' for urn in imports)
        with self._host("refresh") as host:
            run = _Run("refresh", host, frozenset(), None)
            resources = [s for s in [*self.state.values(), *self.pending_deletes] if s.custom and s.dynamic]
            outcomes = self._parallel(resources, lambda s: self._refresh_one(run, s))
        gone = [s for s, alive in zip(resources, outcomes, strict=True) if not alive]
        self.state = {urn: s for urn, s in self.state.items() if not any(s is g for g in gone)}
        self.pending_deletes = [s for s in self.pending_deletes if not any(s is g for g in gone)]
        for resource, alive in zip(resources, outcomes, strict=True):
            result.steps[resource.urn] = "read" if alive else "gone"
        return result

    def destroy(self) -> RunResult:
        """``pulumi destroy``: delete everything, dependents first."""
        with self._host("destroy") as host:
            run = _Run("destroy", host, frozenset(), None)
            self._delete_all(run, [*self.state.values(), *self.pending_deletes])
            return run.result

    def export(self) -> dict[str, Any]:
        """The checkpoint as ``pulumi stack export`` prints it (apitype ``UntypedDeployment``, v3)."""
        stack_urn = f"urn:pulumi:{self.stack}::{self.project}::{STACK_TYPE}::{self.project}-{self.stack}"
        provider_urn = f"urn:pulumi:{self.stack}::{self.project}::{DEFAULT_PROVIDER_TYPE}::default"
        provider_id = "00000000-0000-4000-8000-000000000000"
        ref = f"{provider_urn}::{provider_id}"
        base = [
            {"urn": stack_urn, "custom": False, "type": STACK_TYPE},
            {"urn": provider_urn, "custom": True, "id": provider_id, "type": DEFAULT_PROVIDER_TYPE},
        ]
        resources = [s.export(ref) for s in [*self.state.values(), *self.pending_deletes]]
        pending = [{"resource": op.resource.export(ref), "type": op.type} for op in self.pending_operations]
        deployment: dict[str, Any] = {
            "manifest": {"time": "2025-01-01T00:00:00Z", "magic": "", "version": "v3.259.0"},
            "secrets_providers": {"type": "passphrase", "state": {"salt": "v1:test"}},
            "resources": base + resources,
        }
        if pending:
            deployment["pending_operations"] = pending
        return {"version": 3, "deployment": deployment}

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
    def _host(self, operation: str) -> Iterator[ProviderHost]:
        """A new provider host for one operation, configured with the stack config (secrets marked)."""
        host = ProviderHost(
            project=self.project, cwd=self.project_dir, env=self.env, forked=self.forked_hosts
        )
        self._hosts += 1
        host.number = self._hosts
        try:
            host.configure({k: secret(v) if k in self.secret_keys else v for k, v in self.config.items()})
            if self.on_host is not None:
                self.on_host(host, operation)
            yield host
        finally:
            self.host_logs.append(host.close())

    def _targets(self, names_or_urns: Iterable[str]) -> frozenset[str]:
        """URNs of ``--replace`` targets, given as URNs or resource names."""
        targets = set()
        for item in names_or_urns:
            if item.startswith("urn:"):
                targets.add(item)
            else:
                targets.add(self.resource(item).urn)
        return frozenset(targets)

    def _pending_warnings(self) -> list[str]:
        """The warning the CLI prints before deploying over pending operations."""
        count = len(self.pending_operations)
        message = f"Attempting to deploy or update resources with {count} pending operations from previous"
        message += " deployment."
        return [message] if count else []

    def _record(self, run: _Run, op: str, urn: str, id_: str = "", olds: bool = False) -> None:
        with self._lock:
            self.calls.append(Call(op, urn, id_, run.operation, run.host.number, olds))

    # -- program runs ----------------------------------------------------------------------------
    def _run_program(self, run: _Run) -> None:
        self._run = run
        try:
            # The SDK keeps its settings, root stack and config in context variables: a copy of
            # the context gives each run a fresh SDK (as a new process would) and leaves the
            # caller's, e.g. other tests' set_mocks, untouched.
            run.result.outputs = contextvars.copy_context().run(self._execute, run.operation == "preview")
        except BaseException as exc:
            if run.operation == "update":
                # The checkpoint keeps every completed step (snapshot.go): new states, and the old
                # ones of resources this run did not get to.
                self.state.update(run.next_state)
            if run.crashed:
                raise InterruptedDeploymentError(f"the deployment was interrupted at {run.crash}") from exc
            raise
        finally:
            self._run = None
        if run.crashed:  # the crash hit a step whose failure the program did not see
            self.state.update(run.next_state)
            raise InterruptedDeploymentError(f"the deployment was interrupted at {run.crash}")

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
        loop.set_default_executor(ThreadPoolExecutor(max_workers=PARALLEL))
        loop.set_exception_handler(_quiet_unretrieved)
        _sync_await(run_in_stack(self._program))
        return monitor.stack_outputs

    def _program(self) -> None:
        """The program, run as the language host runs a project directory."""
        runpy.run_path(str(self.project_dir), run_name="__main__")

    def _old_resource(self, run: _Run, goal: Registration) -> ResourceState | None:
        """The state under the goal's URN, else under its first alias not taken (``getOldResource``)."""
        with self._lock:
            if goal.urn in run.next_state:
                raise EngineError(f"Duplicate resource URN {goal.urn!r}")
            for urn in (goal.urn, *goal.aliases):
                old = self.state.get(urn)
                if old is not None and urn not in run.claimed:
                    run.claimed.add(urn)
                    return old
            return None

    def _register(self, goal: Registration) -> tuple[str, dict[str, Any]]:
        run = self._run
        assert run is not None, "registration outside a program run"
        old = self._old_resource(run, goal)
        if not (goal.custom and PROVIDER_KEY in goal.inputs):
            return self._echo(run, goal, old)
        preview = run.operation == "preview"
        news = goal.inputs
        if old is not None and goal.ignore_changes:
            news = ignore_changes(news, old.inputs, goal.ignore_changes)
        targeted = old is not None and (goal.urn in run.replace or old.urn in run.replace)
        checked = self._check(run, goal.urn, {} if old is None or targeted else old.inputs, news)
        if old is None:
            run.result.steps[goal.urn] = "create"
            if preview:
                return "", checked
            new_id, outputs = self._create(run, goal, checked)
            return new_id, self._save(run, goal, new_id, checked, outputs)
        if targeted:
            step, dbr = "replace", False  # isTargetedReplace: DiffSome, replace keys ["id"], no Diff call
        else:
            step, dbr = self._plan(run, goal.urn, old, checked)
        run.result.steps[goal.urn] = step
        if step == "same":
            if not preview:
                self._save(run, goal, old.id, checked, old.outputs)
            return old.id, old.outputs
        if step == "update":
            if preview:
                return old.id, checked  # provider_plugin.go Update: no preview support, inputs as state
            outputs = self._provider_step(
                run, "update", goal.urn, old, lambda: self._update(run, goal, old, checked)
            )
            return old.id, self._save(run, goal, old.id, checked, outputs)
        if goal.protect and old.protect:
            run.errors.append(_protected_replace(goal.urn))
            if not preview:
                raise EngineError(run.errors[-1])
        if not targeted:
            checked = self._check(run, goal.urn, {}, goal.inputs)
        if goal.delete_before_replace is not None:
            dbr = goal.delete_before_replace  # the resource option wins over the provider's answer
        if preview:
            return "", checked
        if dbr:
            self._delete_one(run, old, replacing=True)
            with self._lock:
                self.state.pop(old.urn, None)
        new_id, outputs = self._create(run, goal, checked)
        if not dbr:
            old.delete = True  # deleted after the program, once dependents moved to the new one
            with self._lock:
                self.pending_deletes.append(old)
        return new_id, self._save(run, goal, new_id, checked, outputs)

    def _save(
        self, run: _Run, goal: Registration, id_: str, inputs: dict[str, Any], outputs: dict[str, Any]
    ) -> dict[str, Any]:
        state = ResourceState(
            goal.urn, goal.type, id_, inputs, outputs, goal.custom, goal.parent, goal.dependencies,
            goal.protect, goal.retain_on_delete,
        )  # fmt: skip
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
        """(same | update | replace, delete_before_replace) from the provider's Diff."""
        diff = run.host.diff(urn, old.id, reveal(old.outputs), reveal(checked))
        self._record(run, "diff", urn, old.id)
        if diff.changes == provider_pb2.DiffResponse.DIFF_NONE:
            return "same", False
        if diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN and reveal(old.inputs) == reveal(checked):
            return "same", False  # the engine's own input diff found nothing
        return ("replace" if diff.replaces else "update"), diff.delete_before_replace

    def _create(self, run: _Run, goal: Registration, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        pending = ResourceState(
            goal.urn, goal.type, "", inputs, {}, goal.custom, goal.parent, goal.dependencies,
            goal.protect, goal.retain_on_delete,
        )  # fmt: skip

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
        crash in between leaves the pending operation behind; a failure ends it."""
        operation = PendingOperation(
            resource, {"create": "creating", "update": "updating"}.get(op, "deleting")
        )
        crash = run.crash
        hit = crash is not None and crash.op == op and urn.endswith(f"::{crash.name}")
        with self._lock:
            if run.crashed:
                raise InterruptedDeploymentError("the CLI is gone")
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
            raise
        with self._lock:
            if run.crashed or hit:
                run.crashed = True  # the answer came, the checkpoint never saw it
                raise InterruptedDeploymentError(f"interrupted after {op} of {urn}")
            self.pending_operations.remove(operation)
        return value

    # -- deletes ---------------------------------------------------------------------------------
    def _delete_all(self, run: _Run, doomed: list[ResourceState]) -> None:
        """Delete ``doomed`` dependents first, each antichain in parallel (``ScheduleDeletes``);
        stop after an antichain with a failure (the failed resources stay in the state)."""
        for level in _antichains(doomed):
            for resource in level:
                if not resource.delete:  # a replaced resource's delete belongs to its "replace" step
                    run.result.steps[resource.urn] = "delete"
            errors = [e for e in self._parallel(level, lambda s: self._try_delete(run, s)) if e]
            if errors:
                if run.operation == "preview":
                    run.errors.extend(errors)
                else:
                    raise EngineError("\n".join(errors))
        if run.crashed:
            raise InterruptedDeploymentError(f"the deployment was interrupted at {run.crash}")

    def _try_delete(self, run: _Run, resource: ResourceState) -> str:
        try:
            self._delete_one(run, resource, replacing=resource.delete)
        except InterruptedDeploymentError:
            return ""
        except (EngineError, HostError) as exc:
            return str(exc)
        return ""

    def _delete_one(self, run: _Run, old: ResourceState, *, replacing: bool) -> None:
        if not replacing and old.protect:
            raise EngineError(_protected_delete(old.urn))
        if run.operation == "preview":
            return
        if old.custom and old.dynamic and not old.retain_on_delete:

            def delete() -> None:
                run.host.delete(old.urn, old.id, reveal(old.outputs))
                self._record(run, "delete", old.urn, old.id)

            self._provider_step(run, "delete", old.urn, old, delete)
        with self._lock:
            if old.delete:
                self.pending_deletes = [s for s in self.pending_deletes if s is not old]
            elif self.state.get(old.urn) is old:
                del self.state[old.urn]

    def _refresh_one(self, run: _Run, old: ResourceState) -> bool:
        """Read then Diff with olds and news swapped (step.go ``RefreshStep.Apply``); False when gone."""
        new_id, outputs, inputs = run.host.read(old.urn, old.id, reveal(old.outputs), reveal(old.inputs))
        self._record(run, "read", old.urn, old.id)
        if not new_id:
            return False
        old.id = new_id
        old.outputs = annotate_secrets(outputs, old.inputs)
        if inputs is not None:
            old.inputs = annotate_secrets(inputs, old.inputs)
        run.host.diff(old.urn, old.id, reveal(old.outputs), reveal(old.inputs))
        self._record(run, "diff", old.urn, old.id)
        return True

    @staticmethod
    def _parallel(items: list[ResourceState], fn: Callable[[ResourceState], T]) -> list[T]:
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
            return list(pool.map(fn, items))


def _quiet_unretrieved(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """Drop asyncio's report of a failed program's futures whose errors nobody retrieved (the run
    already raised the error). Reported whenever the garbage collector runs, possibly inside an
    ast.parse (pytest rewriting an import), its traceback formatting parses too, and CPython 3.11
    then fails the outer parse with "AST constructor recursion depth mismatch"."""
    if "never retrieved" not in str(context.get("message", "")):
        loop.default_exception_handler(context)


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


@dataclass
class _Run:
    operation: str  # preview | update | refresh | destroy
    host: ProviderHost
    replace: frozenset[str]
    crash: Crash | None
    next_state: dict[str, ResourceState] = field(default_factory=dict)
    claimed: set[str] = field(default_factory=set)
    result: RunResult = field(default_factory=RunResult)
    errors: list[str] = field(default_factory=list)
    crashed: bool = False


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
        for deps in request.propertyDependencies.values():
            dependencies.update(deps.urns)
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
