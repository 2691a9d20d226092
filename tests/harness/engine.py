"""A mini Pulumi engine: real programs, the real dynamic-provider host, state kept between runs.

The Pulumi CLI (and with it the Go engine) cannot be installed here. This harness plays the
engine's part so that a Pulumi program (the root program or an example) runs end to end:

* the program runs in this process through the SDK's own entry point (``run_in_stack``, as the
  Python language host does), with ``runpy.run_path(<project dir>, run_name="__main__")``, stack
  config set by ``set_all_config`` and the SDK's mock monitor (``pulumi.runtime.mocks``) standing
  in for the engine's resource monitor;
* every registration of a dynamic resource (an input named ``__provider``) becomes the engine's
  step, sent over gRPC to ``python -m pulumi.dynamic`` (:class:`ProviderHost`): Check(old inputs,
  new inputs) -> Diff(id, old *outputs*, checked inputs) -> Create | Update(id, old outputs, news) |
  replace | same. "Same" keeps the old outputs (and stores the new inputs), as the engine's
  SameStep does; a replacement is create-before-delete (Check again with no olds, Create, and
  Delete of the old resource after the program finished) unless the provider or the resource
  option asks for delete-before-replace;
* resources the program no longer registers are deleted after a successful run, dependents
  first (reverse registration order); after a failed run nothing is deleted and resources
  replaced in it stay pending deletion until the next successful run, like the engine;
* ``refresh()`` sends Read(id, old outputs, old inputs) and drops resources whose read returns an
  empty id; ``destroy()`` deletes everything in reverse order; ``preview()`` runs Check and
  Diff only;
* the provider host gets the whole stack config in Configure (secrets marked secret), as the
  engine does for dynamic providers.

Where it differs from the engine: registrations are handled one at a time (the engine runs
independent steps in parallel); no ``ignore_changes``/``replace_on_changes``/aliases/protect/import/get;
non-dynamic resources (components, other providers' types) are echoed (inputs become outputs);
unknown values in preview become None (the mock monitor drops them); the host is started by the
test, not per run (Configure is cached per provider blob in a host process, so use one host per
provider configuration).
"""

from __future__ import annotations

import contextvars
import runpy
import threading
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import empty_pb2
from pulumi.runtime import rpc
from pulumi.runtime.config import set_all_config
from pulumi.runtime.mocks import MockEngine, MockMonitor, MockResourceArgs, Mocks, MockSettings
from pulumi.runtime.proto import provider_pb2
from pulumi.runtime.settings import SETTINGS, configure, set_root_resource
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tests.harness.host import ProviderHost, secret

PROVIDER_KEY = "__provider"
STACK_TYPE = "pulumi:pulumi:Stack"


class EngineError(Exception):
    """What the engine would report and stop on (check failures, unsupported operations)."""


@dataclass
class ResourceState:
    """One resource in the state file: what the engine keeps between runs."""

    urn: str
    type: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]

    @property
    def dynamic(self) -> bool:
        return PROVIDER_KEY in self.outputs or PROVIDER_KEY in self.inputs


@dataclass(frozen=True)
class Call:
    """One request sent to the provider host, in the order the engine sent them."""

    op: str  # check | diff | create | update | delete | read
    urn: str
    id: str = ""


@dataclass
class RunResult:
    """What one operation did: the step per URN and, for program runs, the stack outputs."""

    steps: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

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


class Engine:
    """One stack of one Pulumi project, driven like ``pulumi up/preview/refresh/destroy``."""

    def __init__(
        self,
        project_dir: Path,
        host: ProviderHost,
        *,
        stack: str = "dev",
        config: Mapping[str, str] | None = None,
        secret_keys: Collection[str] = (),
    ) -> None:
        self.project_dir = project_dir
        self.project = project_name(project_dir)
        self.stack = stack
        self.host = host
        self.config = dict(stack_config(project_dir, stack) if config is None else config)
        self.secret_keys = frozenset(secret_keys)
        self.state: dict[str, ResourceState] = {}
        self.pending_deletes: list[ResourceState] = []
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._run: _Run | None = None
        host.configure({k: secret(v) if k in self.secret_keys else v for k, v in self.config.items()})

    # -- operations ------------------------------------------------------------------------------
    def up(self) -> RunResult:
        """``pulumi up``: run the program, apply its steps, then delete what it no longer declares."""
        run = self._run_program(preview=False)
        unregistered = [s for urn, s in self.state.items() if urn not in run.next_state]
        self.state = {**run.next_state, **{s.urn: s for s in unregistered}}
        for old in reversed(unregistered):  # each leaves the state once it is really gone
            self._delete(old)
            del self.state[old.urn]
            run.result.steps[old.urn] = "delete"
        self._delete_pending()
        return run.result

    def preview(self) -> RunResult:
        """``pulumi preview``: Check and Diff only; state and the remote side stay untouched."""
        run = self._run_program(preview=True)
        for urn in self.state:
            run.result.steps.setdefault(urn, "delete")
        return run.result

    def refresh(self) -> RunResult:
        """``pulumi refresh``: Read every resource; an empty id means it is gone."""
        result = RunResult()
        for urn, old in list(self.state.items()):
            if not old.dynamic:
                continue
            new_id, outputs, inputs = self.host.read(urn, old.id, old.outputs, old.inputs)
            self.calls.append(Call("read", urn, old.id))
            if not new_id:
                del self.state[urn]
                result.steps[urn] = "gone"
                continue
            old.id, old.outputs = new_id, outputs
            if inputs is not None:
                old.inputs = inputs
            result.steps[urn] = "read"
        return result

    def destroy(self) -> RunResult:
        """``pulumi destroy``: delete everything, dependents first."""
        result = RunResult()
        for old in reversed(list(self.state.values())):
            self._delete(old)
            del self.state[old.urn]
            result.steps[old.urn] = "delete"
        self._delete_pending()
        return result

    def _delete_pending(self) -> None:
        """Delete the resources replaced create-before-delete, newest first."""
        while self.pending_deletes:
            self._delete(self.pending_deletes[-1])
            self.pending_deletes.pop()

    # -- queries for assertions ----------------------------------------------------------------
    def ops(self, *kinds: str) -> list[Call]:
        return [c for c in self.calls if c.op in kinds]

    def resource(self, name: str) -> ResourceState:
        """The state of the resource whose URN ends with ``::<name>``."""
        (found,) = [s for urn, s in self.state.items() if urn.endswith(f"::{name}")]
        return found

    # -- program runs ----------------------------------------------------------------------------
    def _run_program(self, *, preview: bool) -> _Run:
        run = _Run(preview=preview)
        self._run = run
        try:
            # The SDK keeps its settings, root stack and config in context variables: a copy of
            # the context gives each run a fresh SDK (as a new process would) and leaves the
            # caller's, e.g. other tests' set_mocks, untouched.
            run.result.outputs = contextvars.copy_context().run(self._execute, preview)
        except BaseException:
            # A failed run keeps what it did, like the engine's partial snapshot.
            self.state.update(run.next_state)
            raise
        finally:
            self._run = None
        return run

    def _execute(self, preview: bool) -> dict[str, Any]:
        """Run the program under the SDK's mock monitor; return the stack outputs."""
        monitor = _Monitor(_EngineMocks(self))
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
        _sync_await(run_in_stack(self._program))
        return monitor.stack_outputs

    def _program(self) -> None:
        """The program, run as the language host runs a project directory."""
        runpy.run_path(str(self.project_dir), run_name="__main__")

    def _register(
        self, urn: str, args: MockResourceArgs, delete_before_replace: bool
    ) -> tuple[str, dict[str, Any]]:
        with self._lock:
            run = self._run
            assert run is not None, "registration outside a program run"
            if urn in run.next_state:
                raise EngineError(f"Duplicate resource URN {urn!r}")
            old = self.state.get(urn)
            if PROVIDER_KEY not in args.inputs:
                return self._echo(run, urn, args, old)
            checked = self._check(urn, old.inputs if old else {}, args.inputs)
            if old is None:
                run.result.steps[urn] = "create"
                if run.preview:
                    return "", checked
                new_id, outputs = self._create(urn, checked)
                run.next_state[urn] = ResourceState(urn, args.typ, new_id, checked, outputs)
                return new_id, outputs
            step, dbr = self._plan(urn, old, checked)
            run.result.steps[urn] = step
            if run.preview:
                return old.id, old.outputs if step == "same" else {**old.outputs, **checked}
            if step == "same":
                run.next_state[urn] = ResourceState(urn, args.typ, old.id, checked, old.outputs)
                return old.id, old.outputs
            if step == "update":
                outputs = self.host.update(urn, old.id, old.outputs, checked)
                self.calls.append(Call("update", urn, old.id))
                run.next_state[urn] = ResourceState(urn, args.typ, old.id, checked, outputs)
                return old.id, outputs
            delete_first = dbr or delete_before_replace
            if delete_first:
                self._delete(old)
                del self.state[urn]
            checked = self._check(urn, {}, args.inputs)
            new_id, outputs = self._create(urn, checked)
            if not delete_first:
                self.pending_deletes.append(old)  # deleted after the program, once dependents moved
            run.next_state[urn] = ResourceState(urn, args.typ, new_id, checked, outputs)
            return new_id, outputs

    def _echo(
        self, run: _Run, urn: str, args: MockResourceArgs, old: ResourceState | None
    ) -> tuple[str, dict[str, Any]]:
        """Resources of other providers (or components): inputs become outputs, no provider call."""
        resource_id = old.id if old else (args.name if args.custom else "")
        run.result.steps[urn] = (
            "create" if old is None else ("same" if old.inputs == args.inputs else "update")
        )
        run.next_state[urn] = ResourceState(urn, args.typ, resource_id, dict(args.inputs), dict(args.inputs))
        return resource_id, dict(args.inputs)

    def _check(self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        result = self.host.check(urn, olds, news)
        self.calls.append(Call("check", urn))
        if result.failures:
            lines = "\n".join(f"  {prop}: {reason}" for prop, reason in result.failures)
            raise EngineError(f"{urn}: check failed:\n{lines}")
        return result.inputs

    def _plan(self, urn: str, old: ResourceState, checked: dict[str, Any]) -> tuple[str, bool]:
        """(same | update | replace, delete_before_replace) from the provider's Diff."""
        diff = self.host.diff(urn, old.id, old.outputs, checked)
        self.calls.append(Call("diff", urn, old.id))
        if diff.changes == provider_pb2.DiffResponse.DIFF_NONE:
            return "same", False
        if diff.changes == provider_pb2.DiffResponse.DIFF_UNKNOWN and old.inputs == checked:
            return "same", False  # the engine's own input diff found nothing
        return ("replace" if diff.replaces else "update"), diff.delete_before_replace

    def _create(self, urn: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        new_id, outputs = self.host.create(urn, inputs)
        self.calls.append(Call("create", urn, new_id))
        return new_id, outputs

    def _delete(self, old: ResourceState) -> None:
        if old.dynamic:
            self.host.delete(old.urn, old.id, old.outputs)
            self.calls.append(Call("delete", old.urn, old.id))


@dataclass
class _Run:
    preview: bool
    next_state: dict[str, ResourceState] = field(default_factory=dict)
    result: RunResult = field(default_factory=RunResult)


class _EngineMocks(Mocks):
    """The SDK's mock hooks, answered by the engine (the URN comes from the monitor)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.current = threading.local()

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        if args.resource_id:
            raise EngineError(f"{args.name}: reading existing resources (get/import) is not supported")
        return self.engine._register(self.current.urn, args, self.current.delete_before_replace)

    def call(self, args: Any) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        raise EngineError(f"invoke {args.token} is not supported by the mini engine")


class _Monitor(MockMonitor):
    """The SDK's mock monitor, plus what an engine needs: the URN and options of each
    registration, and the stack outputs."""

    def __init__(self, mocks: _EngineMocks) -> None:
        super().__init__(mocks)
        self.engine_mocks = mocks
        self.stack_outputs: dict[str, Any] = {}

    def RegisterResource(self, request: Any) -> Any:
        with self._registration(request):
            return super().RegisterResource(request)

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

    @contextmanager
    def _registration(self, request: Any) -> Iterator[None]:
        current = self.engine_mocks.current
        current.urn = self.make_urn(request.parent, request.type, request.name)
        current.delete_before_replace = bool(request.deleteBeforeReplace)
        try:
            yield
        finally:
            del current.urn, current.delete_before_replace
