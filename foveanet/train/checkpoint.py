"""Run-directory files: atomic JSON, flat weight files and the resumable checkpoint.

Weights and checkpoints go through ``foveanet.save``: arrays become safetensors tensors and
everything else (epochs, learning rates, the RNG's 128-bit state, the history) JSON in the
header.  JSON keeps Python floats and ints exactly (shortest round-trip repr, arbitrary-size
ints), which is what makes a resumed run bitwise identical: a learning rate squeezed
through float32 would not be.

Every file is written to a temporary name in the same directory, flushed and renamed over
the old one, so a process killed at any instant leaves either the previous complete file
or the new complete file, never a torn one.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import signal
from pathlib import Path

import numpy as np

__all__ = ["atomic_write_bytes", "write_json", "save_weights", "load_weights",
           "save_checkpoint", "load_checkpoint"]

CHECKPOINT_FORMAT = "foveanet-train-checkpoint-1"

# Test-only fault injection: FOVEANET_TEST_DIE_IN_SAVE="checkpoint.safetensors:3" makes the
# process SIGKILL itself during the 3rd write of that file (":N" left out: the 1st), once the
# temporary file is complete but before the rename, the worst moment for a crash.  Never
# set in normal use.
DIE_ENV = "FOVEANET_TEST_DIE_IN_SAVE"
_writes: dict = {}


def _should_die(path: Path) -> bool:
    spec = os.environ.get(DIE_ENV)
    if not spec:
        return False
    name, _, nth = spec.partition(":")
    if name != path.name:
        return False
    _writes[name] = _writes.get(name, 0) + 1
    return _writes[name] == int(nth or 1)


def _maybe_die(path: Path):
    if _should_die(path):
        os.kill(os.getpid(), signal.SIGKILL)


@contextlib.contextmanager
def _die_before_rename(path: Path):
    """Arm the fault injection around a ``foveanet.save`` call (a no-op unless the test
    variable names this file)."""
    if not os.environ.get(DIE_ENV, "").startswith(path.name):
        yield
        return
    real = os.replace

    def replace(src, dst, *a, **k):
        if Path(dst).name == path.name:
            _maybe_die(path)
        return real(src, dst, *a, **k)

    os.replace = replace
    try:
        yield
    finally:
        os.replace = real


def atomic_write_bytes(path, data: bytes) -> None:
    from foveanet.serialization import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, data, before_replace=lambda: _maybe_die(path))


def write_json(path, obj) -> None:
    """Strict JSON (RFC 8259), atomically: an inf or NaN (a diverged loss) is written as
    ``null``, since ``NaN`` is not JSON and most readers other than Python's refuse it."""
    text = json.dumps(_finite(obj), indent=2, default=_json_default, allow_nan=False)
    atomic_write_bytes(path, (text + "\n").encode())


def _finite(o):
    """``o`` with every non-finite float replaced by None (containers rebuilt as needed)."""
    if isinstance(o, float):  # np.float64 too: it subclasses float
        return o if math.isfinite(o) else None
    if isinstance(o, np.floating):
        return float(o) if np.isfinite(o) else None
    if isinstance(o, np.ndarray) and o.dtype.kind == "f":
        return [_finite(v) for v in o.tolist()]
    if isinstance(o, dict):
        return {k: _finite(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_finite(v) for v in o]
    return o


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def _host(obj):
    """``obj`` with every GPU tensor or array copied to the host (containers rebuilt where
    one is): a file written from a GPU run then loads on a machine without one."""
    from foveanet.autograd.tensor import Tensor
    from foveanet.backend import devices

    if isinstance(obj, Tensor):
        return obj if isinstance(obj.data, np.ndarray) else Tensor(devices.to_host(obj.data))
    if isinstance(obj, dict):
        out = {k: _host(v) for k, v in obj.items()}
        return obj if all(out[k] is obj[k] for k in obj) else type(obj)(out)
    if isinstance(obj, (list, tuple)):
        out = [_host(v) for v in obj]
        return obj if all(a is b for a, b in zip(out, obj)) else type(obj)(out)
    if not isinstance(obj, (np.ndarray, str, bytes, int, float)) and hasattr(obj, "shape") \
            and devices.device_array_module(obj) is not None:
        return devices.to_host(obj)
    return obj


def save_weights(state_dict, path) -> None:
    """A flat ``name -> array`` file with the module's (PyTorch) key names, loadable by
    ``safetensors.torch.load_file`` and ``model.load_state_dict``."""
    from foveanet.serialization import save

    path = Path(path)
    with _die_before_rename(path):
        save(_host(dict(state_dict)), path)


def load_weights(path) -> dict:
    """name -> Tensor."""
    from foveanet.serialization import load

    return load(path)


def save_checkpoint(state: dict, path) -> None:
    from foveanet.serialization import save

    path = Path(path)
    with _die_before_rename(path):
        save(_host({"format": CHECKPOINT_FORMAT, **state}), path)


def load_checkpoint(path) -> dict:
    from foveanet.serialization import load

    path = Path(path)
    st = load(path)
    if not isinstance(st, dict) or st.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path}: not a foveanet training checkpoint")
    return st
