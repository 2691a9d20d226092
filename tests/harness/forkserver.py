"""Start provider hosts by forking a warm process instead of a cold ``python -m pulumi.dynamic``.

A cold host costs about half a second of CPU before its first answer (importing pulumi, grpc and
the provider package); a test engine starts one per operation, so a scenario matrix would spend
most of its time there. The fork server imports those modules once and then forks a child per
host that runs ``pulumi.dynamic`` as ``python -u -m pulumi.dynamic`` would (``runpy`` with
``__main__``, the project directory first on ``sys.path`` and as working directory, the host's
environment). A child shares no runtime state with other hosts: the server never runs provider
code, so every cache, configuration and client starts empty, as in a fresh process.

Protocol (one JSON line per host on the server's stdin; the server answers the child's pid):
``{"cwd": ..., "env": {...}, "stdout": <file>, "stderr": <file>}``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

WARM_MODULES = (
    "dill",
    "grpc",
    "pulumi",
    "pulumi.dynamic",
    "pulumi.runtime",
    "pulumi_tiktok_audiences.provider",
    "pulumi_tiktok_audiences.client",
    "pulumi_tiktok_audiences.throttle",
)
"""What every host imports before its first answer (its ``configure`` builds a TikTok client)."""


def _serve() -> None:
    """The server's loop: fork one host per request; children are reaped by the kernel."""
    import io
    import runpy

    for module in WARM_MODULES:
        __import__(module)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    for line in sys.stdin:
        request = json.loads(line)
        sys.stdout.flush()
        pid = os.fork()
        if pid:
            sys.stdout.write(f"{pid}\n")
            sys.stdout.flush()
            continue
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(os.open(request["stdout"], os.O_WRONLY | os.O_APPEND), 1)
        os.dup2(os.open(request["stderr"], os.O_WRONLY | os.O_APPEND), 2)
        sys.stdout = io.TextIOWrapper(io.FileIO(1, "w", closefd=False), write_through=True)  # python -u
        sys.stderr = io.TextIOWrapper(io.FileIO(2, "w", closefd=False), write_through=True)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.path[0] = request["cwd"]
        sys.argv = ["pulumi.dynamic", "127.0.0.1:0"]
        try:
            runpy.run_module("pulumi.dynamic", run_name="__main__", alter_sys=True)
        finally:
            os._exit(1)


class ForkedProcess:
    """The parts of ``subprocess.Popen`` the tests use, for a child of the fork server."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                self.returncode = -signal.SIGKILL
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = time.monotonic() + (timeout if timeout is not None else 3600)
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout or 0)
            time.sleep(0.005)
        assert self.returncode is not None
        return self.returncode


class ForkServer:
    """One warm server per test process, started on first use."""

    _instance: ForkServer | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        from tests.harness.host import REPO_ROOT

        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-u", "-c", "from tests.harness.forkserver import _serve; _serve()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=REPO_ROOT,
            env=env,
        )

    @classmethod
    def get(cls) -> ForkServer:
        with cls._lock:
            if cls._instance is None or cls._instance.process.poll() is not None:
                cls._instance = ForkServer()
            return cls._instance

    def spawn(self, cwd: Path, env: dict[str, str], stdout: Path, stderr: Path) -> ForkedProcess:
        request: dict[str, Any] = {"cwd": str(cwd), "env": env, "stdout": str(stdout), "stderr": str(stderr)}
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        with self._lock:
            self.process.stdin.write((json.dumps(request) + "\n").encode())
            self.process.stdin.flush()
            line = self.process.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError(f"the fork server did not answer with a pid: {line!r}")
        return ForkedProcess(int(line))
