"""The `pulumi` floor in pyproject.toml is the lowest SDK whose API the provider uses, proven by running it.

The floor's SDK is installed (pip, from PyPI) in front of the project's other dependencies, and its
own ``python -m pulumi.dynamic`` host runs Check, Create and Read against the emulator. The version
just below the floor is run too: its Read must fail (``ReadResult`` takes the refreshed inputs only
from 3.216; reference: pulumi-dynamic-providers.md §9.6), so the floor cannot be lowered.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

from pulumi_tiktok_audiences.emulator import RunningServer
from pulumi_tiktok_audiences.settings import ENDPOINT_KEY, TOKEN_KEY
from tests.contract.helpers import BLOB, PROJECT, PROVIDER_KEY, SECRET_TOKEN, declared, urn
from tests.harness.host import REPO_ROOT, HostError, ProviderHost, secret

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


def _floor() -> tuple[int, int]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    requirement = next(d for d in pyproject["project"]["dependencies"] if re.match(r"pulumi\s*>=", d))
    major, minor = re.findall(r">=\s*(\d+)\.(\d+)", requirement)[0]
    return int(major), int(minor)


def _pip_install(version: str, target: Path) -> None:
    command = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target)]
    subprocess.run([*command, f"pulumi=={version}"], check=True, timeout=120)


def _kept_install(version: str, cache: Path) -> Path:
    """``pulumi==version`` installed once into pytest's cache folder (``.pytest_cache``, kept across runs).
    pip writes into a private folder that is renamed into place once complete, so a run stopped midway,
    or another run installing the same version at once, never leaves a half-installed SDK there."""
    kept = cache / f"pulumi-{version}"
    if not (kept / f"pulumi-{version}.dist-info").is_dir():
        private = Path(tempfile.mkdtemp(dir=cache, prefix=".installing-"))
        _pip_install(version, private)
        try:
            private.rename(kept)
        except OSError:  # another run put it there first
            shutil.rmtree(private)
    return kept


@pytest.fixture(scope="module")
def sdk(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``pulumi`` at the floor and just below it, each in a directory of its own (no other packages);
    kept in pytest's cache when it is on, else installed into the run's temporary folder."""
    major, minor = _floor()
    cache = getattr(pytestconfig, "cache", None)  # None under -p no:cacheprovider
    sdks: dict[str, Path] = {}
    for version in (f"{major}.{minor}.0", f"{major}.{minor - 1}.0"):
        if cache is not None:
            sdks[version] = _kept_install(version, cache.mkdir("pulumi-sdk"))
        else:
            sdks[version] = tmp_path_factory.mktemp(f"pulumi-{version}")
            _pip_install(version, sdks[version])
    return sdks


def _host(sdk_dir: Path, server: RunningServer) -> ProviderHost:
    host = ProviderHost(project=PROJECT, env={"PYTHONPATH": os.pathsep.join((str(sdk_dir), str(REPO_ROOT)))})
    host.configure({TOKEN_KEY: secret(SECRET_TOKEN), ENDPOINT_KEY: server.url})
    return host


def _version_in(sdk_dir: Path) -> str:
    code = "import importlib.metadata as m; print(m.version('pulumi'))"
    env = {**os.environ, "PYTHONPATH": str(sdk_dir)}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True
    ).stdout


def test_the_floor_sdk_runs_check_create_and_read(sdk: dict[str, Path], server: RunningServer) -> None:
    version, sdk_dir = next(iter(sdk.items()))
    assert _version_in(sdk_dir).strip() == version
    with _host(sdk_dir, server) as host:
        checked = host.check(urn("floor"), {}, {**declared(name="Floor"), PROVIDER_KEY: BLOB})
        assert checked.failures == []
        id_, outs = host.create(urn("floor"), checked.inputs)
        read_id, read_outs, read_inputs = host.read(urn("floor"), id_, outs, checked.inputs)
    assert read_id == id_
    assert read_outs["audience_id"] == id_
    assert read_inputs is not None
    assert read_inputs["name"] == "Floor"


def test_the_sdk_below_the_floor_cannot_read(sdk: dict[str, Path], server: RunningServer) -> None:
    below = list(sdk.values())[1]
    with _host(below, server) as host:
        checked = host.check(urn("below"), {}, {**declared(name="Below floor"), PROVIDER_KEY: BLOB}).inputs
        id_, outs = host.create(urn("below"), checked)
        with pytest.raises(HostError, match="ReadResult"):
            host.read(urn("below"), id_, outs, checked)
        host.delete(urn("below"), id_, outs)
