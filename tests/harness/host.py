"""Drive the Pulumi SDK's real dynamic-provider host over gRPC, the way the engine does.

The Pulumi CLI cannot be installed here, so tests start ``python -u -m pulumi.dynamic`` (the
exact process the engine's ``pulumi-python`` plugin shim starts), read the port it prints, and
send engine-shaped requests. Properties are encoded with the SDK's own ``rpc`` module, on a
private event loop (``asyncio.run`` would break ``@pulumi.runtime.test`` in the same process).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2
from pulumi.runtime import rpc
from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

from tests.harness.forkserver import ForkedProcess, ForkServer

UNKNOWN = rpc.UNKNOWN
REPO_ROOT = Path(__file__).resolve().parents[2]


def secret(value: Any) -> dict[str, Any]:
    """The wire form of a secret value (what the engine sends for ``--secret`` config)."""
    return {rpc._special_sig_key: rpc._special_secret_sig, "value": value}


def encode(props: Mapping[str, Any]) -> struct_pb2.Struct:
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(rpc.serialize_properties(dict(props), {}))
    finally:
        loop.close()


def encode_raw(props: Mapping[str, Any]) -> struct_pb2.Struct:
    """Encode without the SDK's serializer so that wire sentinels (unknowns, secrets) pass as is."""
    struct = struct_pb2.Struct()
    struct.update(dict(props))
    return struct


def decode(struct: struct_pb2.Struct) -> dict[str, Any]:
    result: dict[str, Any] = rpc.deserialize_properties(struct, keep_unknowns=True)
    return result


@dataclass
class CheckResult:
    inputs: dict[str, Any]
    failures: list[tuple[str, str]]


@dataclass
class DiffResult:
    changes: int  # provider_pb2.DiffResponse.DIFF_NONE / DIFF_SOME / DIFF_UNKNOWN
    replaces: list[str]
    delete_before_replace: bool


class HostError(Exception):
    """A gRPC error from the host; ``details`` is what the engine would show the user."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(f"{code.name}: {details}")
        self.code = code
        self.details = details


class ProviderHost:
    """One ``python -m pulumi.dynamic`` process and a stub to talk to it."""

    def __init__(
        self,
        *,
        project: str = "tiktok-test",
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        forked: bool = False,
    ) -> None:
        """Start the host; ``forked`` takes it from the warm fork server (see forkserver.py)."""
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("TIKTOK_")}
        full_env["PULUMI_PROJECT"] = project
        full_env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO_ROOT), full_env.get("PYTHONPATH", "")) if p
        )
        full_env.update(env or {})
        self._output: tuple[Path, Path] | None = None
        self.process: subprocess.Popen[bytes] | ForkedProcess
        if forked:
            line = self._fork(Path(cwd or os.getcwd()), full_env)
        else:
            self.process = subprocess.Popen(
                [sys.executable, "-u", "-m", "pulumi.dynamic", "127.0.0.1:0"],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
                env=full_env,
            )
            assert self.process.stdout is not None
            line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            self.process.kill()
            raise RuntimeError(f"provider host did not start: {line!r} {self._stderr()[-2000:]}")
        self.port = int(line)
        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.port}")
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = provider_pb2_grpc.ResourceProviderStub(self.channel)
        self.number = 0
        """Which host of its engine this is (1 for the first operation's, then 2, ...)."""

    def _fork(self, cwd: Path, env: dict[str, str]) -> str:
        """A child of the fork server; its first line of output (the port), as from a pipe."""
        handles = [tempfile.mkstemp(prefix="provider-host-", suffix=s) for s in (".out", ".err")]
        for fd, _ in handles:
            os.close(fd)
        stdout, stderr = (Path(path) for _, path in handles)
        self._output = (stdout, stderr)
        self.process = ForkServer.get().spawn(cwd, env, stdout, stderr)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            text = stdout.read_text(encoding="utf-8")
            if "\n" in text or self.process.poll() is not None:
                return text.split("\n", 1)[0].strip()
            time.sleep(0.002)
        return ""

    def _stderr(self) -> str:
        """Everything the host wrote to stderr (it must be stopped first)."""
        if self._output is None:
            assert isinstance(self.process, subprocess.Popen)
            _, err = self.process.communicate(timeout=10)
            return err.decode(errors="replace")
        stdout, stderr = self._output
        text = stderr.read_text(encoding="utf-8", errors="replace")
        stdout.unlink(missing_ok=True)
        stderr.unlink(missing_ok=True)
        return text

    # -- engine calls ------------------------------------------------------------------------
    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self.stub, method)(request, timeout=120)
        except grpc.RpcError as err:
            raise HostError(err.code(), err.details() or "") from None

    def configure(self, config: Mapping[str, Any]) -> None:
        self._call(
            "Configure",
            provider_pb2.ConfigureRequest(args=encode_raw(config), acceptSecrets=True, acceptResources=True),
        )

    def check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, raw: bool = False
    ) -> CheckResult:
        enc = encode_raw if raw else encode
        resp = self._call("Check", provider_pb2.CheckRequest(urn=urn, olds=enc(olds), news=enc(news)))
        return CheckResult(decode(resp.inputs), [(f.property, f.reason) for f in resp.failures])

    def diff(
        self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any], *, raw: bool = False
    ) -> DiffResult:
        enc = encode_raw if raw else encode
        resp = self._call("Diff", provider_pb2.DiffRequest(id=id_, urn=urn, olds=enc(olds), news=enc(news)))
        return DiffResult(resp.changes, list(resp.replaces), resp.deleteBeforeReplace)

    def create(self, urn: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        resp = self._call("Create", provider_pb2.CreateRequest(urn=urn, properties=encode(props)))
        return resp.id, decode(resp.properties)

    def read(
        self, urn: str, id_: str, props: Mapping[str, Any], inputs: Mapping[str, Any] | None = None
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        req = provider_pb2.ReadRequest(id=id_, urn=urn, properties=encode(props), inputs=encode(inputs or {}))
        resp = self._call("Read", req)
        new_inputs = decode(resp.inputs) if resp.HasField("inputs") else None
        return resp.id, decode(resp.properties), new_inputs

    def update(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        resp = self._call(
            "Update", provider_pb2.UpdateRequest(id=id_, urn=urn, olds=encode(olds), news=encode(news))
        )
        return decode(resp.properties)

    def delete(self, urn: str, id_: str, props: Mapping[str, Any]) -> None:
        self._call("Delete", provider_pb2.DeleteRequest(id=id_, urn=urn, properties=encode(props)))

    # -- life cycle --------------------------------------------------------------------------
    def close(self) -> str:
        """Stop the host; return what it wrote to stderr (for secret scans)."""
        self.channel.close()
        self.process.kill()
        self.process.wait(timeout=10)
        return self._stderr()

    def __enter__(self) -> ProviderHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
