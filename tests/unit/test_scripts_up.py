"""``scripts/up`` on a fresh machine: without ``pulumi`` it installs a pinned CLI into the project with
Pulumi's installer, then runs the main job; without network it says so in one line and exits 1.

A stand-in ``curl`` on PATH serves a stand-in install.sh (or fails as curl does without network); the
install.sh records its arguments and writes a stand-in ``pulumi`` that records its own. The project is a
copy of the script beside a stub virtualenv, so nothing is installed for real.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
PINNED = "3.272.0"

FAKE_INSTALLER = r"""#!/bin/sh
# Pulumi's installer, as far as scripts/up uses it: --version V --install-root R --no-edit-path.
echo "$@" > "$UP_TEST_LOG/installer-argv"
root=""
while [ $# -gt 0 ]; do
    case "$1" in
        --install-root) root="$2"; shift 2 ;;
        --version) shift 2 ;;
        *) shift ;;
    esac
done
mkdir -p "$root/bin"
cat > "$root/bin/pulumi" <<'PULUMI'
#!/bin/sh
echo "$@" >> "$UP_TEST_LOG/pulumi-argv"
echo "$PULUMI_BACKEND_URL" > "$UP_TEST_LOG/backend"
PULUMI
chmod +x "$root/bin/pulumi"
"""

FAKE_CURL = r"""#!/bin/sh
# curl -fsSL ... -o FILE URL: copy the stand-in installer to FILE, or fail as curl does offline.
echo "$@" > "$UP_TEST_LOG/curl-argv"
if [ -n "$UP_TEST_OFFLINE" ]; then
    echo "curl: (6) Could not resolve host: get.pulumi.com" >&2
    exit 6
fi
out=""
while [ $# -gt 0 ]; do
    case "$1" in
        -o) out="$2"; shift 2 ;;
        *) shift ;;
    esac
done
cp "$UP_TEST_INSTALLER" "$out"
"""


def _executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """scripts/up in a project whose virtualenv already has the package (a stub python)."""
    folder = tmp_path / "project"
    (folder / "scripts").mkdir(parents=True)
    shutil.copy2(ROOT / "scripts" / "up", folder / "scripts" / "up")
    (folder / ".venv" / "bin").mkdir(parents=True)
    _executable(folder / ".venv" / "bin" / "python", "#!/bin/sh\nexit 0\n")
    return folder


def run_up(project: Path, tmp_path: Path, *, offline: bool = False) -> subprocess.CompletedProcess[str]:
    log = tmp_path / "log"
    log.mkdir(exist_ok=True)
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir(exist_ok=True)
    _executable(stand_ins / "curl", FAKE_CURL)
    installer = _executable(tmp_path / "install.sh", FAKE_INSTALLER)
    system = [d for d in ("/usr/local/bin", "/usr/bin", "/bin") if Path(d).is_dir()]
    assert not any((Path(d) / "pulumi").exists() for d in system), "a real pulumi would be found first"
    env = {
        "PATH": os.pathsep.join([str(stand_ins), *system]),
        "HOME": str(tmp_path),
        "UP_TEST_LOG": str(log),
        "UP_TEST_INSTALLER": str(installer),
        **({"UP_TEST_OFFLINE": "1"} if offline else {}),
    }
    return subprocess.run(
        ["bash", str(project / "scripts" / "up")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_pulumi_it_installs_the_pinned_cli_into_the_project_then_runs_the_main_job(
    project: Path, tmp_path: Path
) -> None:
    run = run_up(project, tmp_path)
    assert run.returncode == 0, run.stderr
    log = tmp_path / "log"
    assert "https://get.pulumi.com/install.sh" in (log / "curl-argv").read_text()
    installer_argv = (log / "installer-argv").read_text().split()
    assert installer_argv[installer_argv.index("--version") + 1] == PINNED
    assert installer_argv[installer_argv.index("--install-root") + 1] == str(project / ".pulumi-cli")
    assert "--no-edit-path" in installer_argv
    assert (project / ".pulumi-cli" / "bin" / "pulumi").exists()
    assert (log / "pulumi-argv").read_text().splitlines() == [
        "stack select dev --create --non-interactive",
        "up --yes --refresh --non-interactive",
    ]
    assert (log / "backend").read_text().strip() == f"file://{project}/.pulumi-state"
    assert f"Installing the Pulumi CLI {PINNED} into .pulumi-cli/" in run.stderr

    (log / "installer-argv").unlink()
    again = run_up(project, tmp_path)  # the installed CLI is used from then on: no second install
    assert again.returncode == 0, again.stderr
    assert not (log / "installer-argv").exists()


def test_without_pulumi_and_without_network_it_says_so_in_one_line_and_exits_1(
    project: Path, tmp_path: Path
) -> None:
    run = run_up(project, tmp_path, offline=True)
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert "no network" in lines[0]
    assert "Pulumi CLI is missing" in lines[0]
    assert not (project / ".pulumi-cli").exists()
    assert not (tmp_path / "log" / "pulumi-argv").exists()
