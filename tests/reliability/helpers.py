"""Deployments run like ``pulumi up`` (a fresh provider host per run, state kept between runs), and
the checks every reliability scenario ends with: converged, consistent, secret-free.

``Deployment`` plays the engine's checkpoint: whatever a run did before it failed (or its host was
killed) stays in the state, and the next run starts from it with a new host process, as the next
``pulumi up`` would.
"""

from __future__ import annotations

import json
import shutil
import socket
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from pulumi_tiktok_audiences import constants
from pulumi_tiktok_audiences.client import TikTokClient
from pulumi_tiktok_audiences.emulator import (
    DEFAULT_ADVERTISER_ID,
    DEFAULT_APP_ID,
    DEFAULT_SEED,
    IN_PROCESS_BASE_URL,
    Emulator,
    PopulationConfig,
    RunningServer,
    Seed,
    TokenSeed,
)
from pulumi_tiktok_audiences.provider import spec_from_props
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TIMEOUT_KEY, TOKEN_KEY
from tests.harness.engine import Engine, EngineError, PendingOperation, ResourceState, RunResult
from tests.harness.host import HostError, ProviderHost

SECRET_TOKEN = "tok-RELIABILITY-9f3c2a7d51e84b06"
PROJECT = "tiktok-reliability"
PROGRAM = Path(__file__).with_name("program.py")


def reliability_seed() -> Seed:
    """The default world, SECRET_TOKEN granted the default token's advertisers, sizes immediate."""
    grant = TokenSeed(token=SecretStr(SECRET_TOKEN), advertiser_ids=DEFAULT_SEED.tokens[0].advertiser_ids)
    return Seed(
        tokens=(*DEFAULT_SEED.tokens, grant),
        advertisers=DEFAULT_SEED.advertisers,
        population=PopulationConfig(calculating_seconds=0, growth_seconds=0),
    )


@dataclass(frozen=True)
class Declared:
    """One audience of the program (an entry of audiences.json)."""

    resource: str
    name: str
    event: str = "PURCHASE"
    lookback_days: int = 30
    advertiser_id: str = DEFAULT_ADVERTISER_ID
    app_id: str = DEFAULT_APP_ID

    def inputs(self) -> dict[str, Any]:
        """What AppActivityAudience sends the provider for this entry (program.py)."""
        return {
            "advertiser_id": self.advertiser_id,
            "name": self.name,
            "app_ids": [self.app_id],
            "include": [{"event": self.event, "lookback_days": self.lookback_days}],
        }


def audiences(count: int, prefix: str = "aud") -> list[Declared]:
    return [Declared(f"{prefix}-{i:03d}", f"{prefix} audience {i:03d}") for i in range(count)]


def write_project(project_dir: Path, declared: Iterable[Declared]) -> None:
    """A Pulumi project that deploys ``declared``."""
    project_dir.mkdir(parents=True, exist_ok=True)
    (project_dir / "Pulumi.yaml").write_text(f"name: {PROJECT}\nruntime: python\n", encoding="utf-8")
    shutil.copyfile(PROGRAM, project_dir / "__main__.py")
    declare(project_dir, declared)


def declare(project_dir: Path, declared: Iterable[Declared]) -> None:
    """Change what the program declares (the user's edit between runs)."""
    text = json.dumps([asdict(d) for d in declared], indent=1)
    (project_dir / "audiences.json").write_text(text, encoding="utf-8")


@dataclass
class Deployment:
    """One stack: its state, and a fresh provider host for every run (``pulumi up``)."""

    project_dir: Path
    endpoint: str
    timeout_seconds: float | None = None
    state: dict[str, ResourceState] = field(default_factory=dict)
    pending_deletes: list[ResourceState] = field(default_factory=list)
    pending_operations: list[PendingOperation] = field(default_factory=list)
    host_logs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    provider_calls: int = 0

    def _engine(self, on_host: Callable[[ProviderHost], None] | None = None) -> Engine:
        config = {ENDPOINT_KEY: self.endpoint, TOKEN_KEY: SECRET_TOKEN}
        if self.timeout_seconds is not None:
            config[TIMEOUT_KEY] = str(self.timeout_seconds)
        arm = None if on_host is None else (lambda host, _operation: on_host(host))
        engine = Engine(
            self.project_dir, config=config, secret_keys={TOKEN_KEY}, on_host=arm, killed_with_host=True
        )
        engine.state, engine.pending_deletes = self.state, self.pending_deletes
        engine.pending_operations = self.pending_operations
        return engine

    def _keep(self, engine: Engine) -> None:
        self.state, self.pending_deletes = engine.state, engine.pending_deletes
        self.pending_operations = engine.pending_operations
        self.provider_calls += len(engine.calls)
        self.host_logs.extend(engine.host_logs)

    def up(self, on_host: Callable[[ProviderHost], None] | None = None) -> RunResult | None:
        """One ``pulumi up``; None when it failed (the error is kept in ``errors``).

        ``on_host`` sees the run's host before the program starts (crash tests arm a kill switch).
        The preview half is skipped (``pulumi up --skip-preview``): it calls no API and these
        scenarios count calls and kill hosts at API requests.
        """
        engine = self._engine(on_host)
        try:
            return engine.up(skip_preview=True)
        except (HostError, EngineError) as exc:
            self.errors.append(str(exc))
            return None
        finally:
            self._keep(engine)

    @property
    def pending_creates(self) -> list[PendingOperation]:
        """The checkpoint's pending ``creating`` operations (an interrupted run leaves them)."""
        return [op for op in self.pending_operations if op.type == "creating"]

    def stack_export(self) -> dict[str, Any]:
        """The checkpoint as ``pulumi stack export`` prints it."""
        return self._engine().stack_export()

    def stack_import(self, document: dict[str, Any]) -> list[str]:
        """``pulumi stack import`` of ``document``; the warnings it printed."""
        engine = self._engine()
        try:
            return engine.stack_import(document)
        finally:
            self._keep(engine)

    def refresh(self) -> None:
        """``pulumi refresh``."""
        engine = self._engine()
        try:
            engine.refresh()
        finally:
            self._keep(engine)

    def converge(self, max_runs: int) -> int:
        """Run ``up`` until one succeeds; the number of runs it took (AssertionError past max_runs)."""
        for run in range(1, max_runs + 1):
            if self.up() is not None:
                return run
        raise AssertionError(f"not converged in {max_runs} runs; errors: {self.errors}")

    def texts(self) -> list[str]:
        """Everything a user or a log collector could see: state, outputs, host output, errors."""
        states = [repr(s) for s in (*self.state.values(), *self.pending_deletes)]
        return [*states, *self.host_logs, *self.errors]


def deploy_in_own_process(project_dir: Path, endpoint: str) -> tuple[int, list[str], list[str]]:
    """Converge one stack (at most 2 runs) in a process of its own; (runs, audience ids, texts).

    Several deployments at once each need their own process, as with the real CLI: the Pulumi
    SDK's program runtime keeps process-wide state and cannot run two programs in parallel threads.
    """
    deployment = Deployment(project_dir, endpoint)
    runs = deployment.converge(max_runs=2)
    return runs, [s.id for s in deployment.state.values()], deployment.texts()


def assert_converged(deployment: Deployment, emulator: Emulator, declared: list[Declared]) -> None:
    """The declared audiences exist, each once, equal to the state; nothing else is live unless the
    user was told its id (the provider names an equal audience it does not take: recovery.py).

    Such an orphan is the documented limit of a create whose answer is lost and whose lookup fails
    too: taking it by guess could delete a live audience, so it is reported instead.
    """
    live = {a["audience_id"]: a for a in emulator.audiences()}
    state = {s.urn.rsplit("::", 1)[1]: s for s in deployment.state.values()}
    assert not deployment.pending_deletes
    assert sorted(state) == sorted(d.resource for d in declared)
    held = {s.id for s in state.values()}
    assert held <= set(live), "lost audiences"
    told = "\n".join([*deployment.host_logs, *deployment.errors])
    assert sorted(i for i in set(live) - held if i not in told) == [], "orphans the user was never told of"
    names = Counter(a["name"] for i, a in live.items() if i in held)
    assert not [n for n, c in names.items() if c > 1], "duplicate audiences"
    for d in declared:
        resource = state[d.resource]
        remote = live[resource.id]
        spec = spec_from_props(resource.inputs)
        assert remote["name"] == d.name == resource.outputs["name"], "lost rename"
        assert remote["rule_spec"] == spec.to_rule_spec()
        assert spec.include[0].lookback_days == d.lookback_days
        assert resource.outputs["audience_id"] == resource.id


def consistency_problems(db_path: Path, emulator: Emulator) -> list[str]:
    """What is wrong with the emulator's database (empty when consistent)."""
    problems: list[str] = []
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as db:
        ids = [row[0] for row in db.execute("SELECT audience_id FROM audiences")]
        if len(ids) != len(set(ids)):
            problems.append("duplicate audience ids")
        (seq,) = db.execute("SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'audience_seq'").fetchone()
        if len(ids) > seq:
            problems.append(f"{len(ids)} audiences but the id sequence is at {seq}")
        without_create = db.execute(
            "SELECT audience_id FROM audiences a WHERE NOT EXISTS "
            "(SELECT 1 FROM history h WHERE h.audience_id = a.audience_id AND h.action = 'create')"
        ).fetchall()
        if without_create:
            problems.append(f"audiences without a create history row: {without_create[:5]}")
        dangling = db.execute(
            "SELECT DISTINCT audience_id FROM history"
            " WHERE audience_id NOT IN (SELECT audience_id FROM audiences)"
            " UNION SELECT DISTINCT audience_id FROM shares"
            " WHERE audience_id NOT IN (SELECT audience_id FROM audiences)"
        ).fetchall()
        if dangling:
            problems.append(f"history or shares of unknown audiences: {dangling[:5]}")
        owned: dict[str, set[str]] = {}
        for audience_id, advertiser_id in db.execute(
            "SELECT audience_id, advertiser_id FROM audiences WHERE deleted_time IS NULL"
        ):
            owned.setdefault(advertiser_id, set()).add(audience_id)
    with TikTokClient(SECRET_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as client:
        for advertiser_id, rows in owned.items():
            listed = [a.audience_id for a in client.list_audiences(advertiser_id, page_size=7)]
            if len(listed) != len(set(listed)) or not rows <= set(listed):
                problems.append(f"advertiser {advertiser_id}: the list does not match the rows")
    return problems


def database_bytes(db_path: Path) -> bytes:
    """The database file and its write-ahead log, as stored on disk."""
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*"))


def assert_secret_free(texts: Iterable[str], db_path: Path | None = None) -> None:
    """SECRET_TOKEN appears in none of ``texts`` nor in the emulator's database file."""
    leaked = [text[:200] for text in texts if SECRET_TOKEN in text]
    assert not leaked, f"the access token leaked: {leaked}"
    if db_path is not None:
        assert SECRET_TOKEN.encode() not in database_bytes(db_path)


def api_writes(emulator: Emulator) -> dict[str, int]:
    counts = emulator.request_counts()
    paths = (constants.PATH_RULE_CREATE, constants.PATH_UPDATE, constants.PATH_DELETE)
    return {p: counts.get(p, 0) for p in paths}


def create_directly(emulator: Emulator, declared: Declared) -> str:
    """An audience made through the API outside any deployment (what a killed run leaves behind)."""
    spec = spec_from_props(declared.inputs())
    with TikTokClient(SECRET_TOKEN, base_url=IN_PROCESS_BASE_URL, transport=emulator.transport()) as client:
        return client.create_rule_audience(spec.to_create_payload())


def raw_http(server: RunningServer, request: bytes, *, shutdown_write: bool = False) -> bytes:
    """Send bytes as they are, however malformed; return the whole answer."""
    with socket.create_connection((server.host, server.port), timeout=10) as sock:
        sock.sendall(request)
        if shutdown_write:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)
