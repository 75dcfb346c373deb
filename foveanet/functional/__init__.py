"""Operations of a CNN, one file per family; re-exported as ``foveanet.nn.functional``."""
# TEMPORARY while the families are being written in parallel: import those present.
# Replaced by explicit imports once all files exist.
import importlib as _il
from pathlib import Path as _P

for _m in ("linear", "activation", "conv", "pooling", "normalization", "dropout", "loss",
           "sparse", "shape"):
    if (_P(__file__).parent / f"{_m}.py").exists():
        _mod = _il.import_module(f"foveanet.functional.{_m}")
        globals().update({k: getattr(_mod, k) for k in getattr(_mod, "__all__", [])})
