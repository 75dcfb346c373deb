"""The defaults every layer shares: the dtype of float data that comes without one, and the
global random generator (init, dropout, shuffling, augmentation draw from it)."""
from __future__ import annotations

import numpy as np

_default_dtype = np.dtype(np.float32)
_rng = np.random.default_rng()
_seed: int | None = None

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def get_default_dtype() -> np.dtype:
    """The dtype given to float data that comes without one (float32, like PyTorch)."""
    return _default_dtype


def set_default_dtype(dtype) -> None:
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: expected a float dtype (float16/32/64), got {dtype}")
    _default_dtype = dtype


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator used by init, dropout, shuffling and augmentation."""
    global _rng, _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: expected an int, got {type(seed).__name__}")
    _seed = int(seed)
    _rng = np.random.default_rng(_seed)
    return _rng


def initial_seed() -> int | None:
    return _seed


def generator() -> np.random.Generator:
    """The global generator (re-fetch it after ``manual_seed``: seeding replaces it)."""
    return _rng


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the global generator, for checkpoints."""
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    _rng.bit_generator.state = state


def is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"
