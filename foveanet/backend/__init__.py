"""The array seam: which array module runs the numbers, the default dtype, and the RNG.

Everything above this layer asks here for ``xp`` instead of importing NumPy's RNG or
dtype defaults directly, so that a CuPy backend can later slot in through one module
(as Chainer's ``get_array_module`` does).
"""
from __future__ import annotations

import numpy as np

xp = np

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


def set_num_threads(n: int) -> None:
    """Use ``n`` threads inside one op (like ``torch.set_num_threads``): BLAS's threads for
    a large GEMM, and as many tasks for the sub-batches of a convolution
    (``backend.parallel``).

    LeNet-sized GEMMs gain little from a second BLAS thread on a 2-core machine, and when
    other work shares the cores OpenBLAS's threads spin waiting for each other: measured
    here under foreign load, a LeNet batch cost 9x the CPU time with 2 threads than with 1.
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    from threadpoolctl import threadpool_limits

    from foveanet.backend import parallel

    parallel.set_workers(int(n))  # first: it gives back a held BLAS count, overwritten below
    threadpool_limits(int(n), user_api="blas")  # applies process-wide until changed again


def get_num_threads() -> int:
    """The BLAS thread count NumPy's matrix products use now."""
    from threadpoolctl import threadpool_info

    from foveanet.backend import parallel

    held = parallel.held_blas_threads()  # held at 1 between parallel regions: report the real count
    if held is not None:
        return held
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return max(counts) if counts else 1
