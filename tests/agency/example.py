"""The agency example's modules (examples/agency: agency.py, deploy.py), imported for tests.

They are scripts beside a Pulumi program, not a package: ``deploy.py`` and the program import
``agency`` by that name, so it is registered under it (as running ``python deploy.py`` would).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from tests.harness.host import REPO_ROOT

AGENCY_DIR = REPO_ROOT / "examples" / "agency"


def _load(name: str) -> ModuleType:
    if name in sys.modules and Path(sys.modules[name].__file__ or "").parent == AGENCY_DIR:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, AGENCY_DIR / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


agency = _load("agency")
deploy = _load("deploy")
