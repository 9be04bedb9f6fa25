"""The real Kafka broker and PostgreSQL server, started by the project's own deploy scripts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]


def load_deploy_module(relative: str) -> ModuleType:
    """Load a stand-alone deploy script (they are stdlib-only, so the run command can use them)."""
    path = REPO / relative
    name = "oversight_deploy_" + path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
