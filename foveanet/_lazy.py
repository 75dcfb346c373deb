"""Public names that load on first use (PEP 562), so that importing a package runs nothing.

``import foveanet`` must leave the host process as it found it, and
``foveanet.backend.cpu.tune_process()`` must be reachable before NumPy loads (OpenBLAS
reads its settings then); so ``foveanet``, ``foveanet.backend`` and ``foveanet.backend.cpu``
name their contents here and import each on its first use.
"""
from __future__ import annotations

import importlib
import sys


def lazy_exports(package: str, names: dict[str, str], modules: dict[str, str] | None = None):
    """``(__getattr__, __dir__)`` for ``package``: ``names[attr]`` is the module that
    defines ``attr``, ``modules[attr]`` a module to expose as ``attr``. A loaded name is
    cached on the package, so the lookup runs once."""
    modules = modules or {}

    def __getattr__(attr: str):
        if attr in modules:
            value = importlib.import_module(modules[attr])
        elif attr in names:
            value = getattr(importlib.import_module(names[attr]), attr)
        else:
            raise AttributeError(f"module {package!r} has no attribute {attr!r}")
        setattr(sys.modules[package], attr, value)
        return value

    def __dir__():
        return sorted(set(vars(sys.modules[package])) | set(names) | set(modules))

    return __getattr__, __dir__
