"""The defaults every layer shares: the dtype of float data that comes without one, and the
global random generator (init, dropout, shuffling, augmentation draw from it)."""
from __future__ import annotations

import numpy as np

_default_dtype = np.dtype(np.float32)
_rng = np.random.default_rng()
_seed: int | None = None

FLOAT_DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))


def get_default_dtype() -> np.dtype:
    """The dtype given to float data that comes without one (float32, like PyTorch).

    Python floats passed to ``fn.tensor``, the creation functions (``fn.zeros``,
    ``fn.randn``, ...) and new layers' parameters take it.

    Returns:
        np.dtype: float16, float32 or float64.

    Example::

        >>> fn.get_default_dtype()
        dtype('float32')
        >>> fn.tensor([1.5]).dtype, fn.zeros(1).dtype
        (dtype('float32'), dtype('float32'))
    """
    return _default_dtype


def set_default_dtype(dtype) -> None:
    """Set the dtype given to float data that comes without one (``torch.set_default_dtype``).

    Applies to tensors and parameters created afterwards; existing ones keep theirs.

    Args:
        dtype: a float dtype: float16, float32 or float64 (anything ``np.dtype`` accepts).

    Raises:
        TypeError: ``dtype`` is not one of the three float dtypes.

    Example::

        >>> fn.set_default_dtype(fn.float64)
        >>> fn.tensor([1.5]).dtype, nn.Linear(2, 1).weight.dtype
        (dtype('float64'), dtype('float64'))
        >>> fn.set_default_dtype(fn.float32)   # back to the default
        >>> fn.set_default_dtype(fn.int64)
        Traceback (most recent call last):
            ...
        TypeError: set_default_dtype: expected a float dtype (float16/32/64), got int64
    """
    global _default_dtype
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"set_default_dtype: expected a float dtype (float16/32/64), got {dtype}")
    _default_dtype = dtype


def manual_seed(seed: int) -> np.random.Generator:
    """Seed the global generator used by init, dropout, shuffling and augmentation.

    Seeding replaces the generator with a new one, so the same seed replays the same draws.
    The streams differ from PyTorch's (another generator), not the distributions.

    Args:
        seed: a Python or NumPy int.

    Returns:
        np.random.Generator: the new global generator.

    Example::

        >>> _ = fn.manual_seed(3)
        >>> a = fn.rand(3)
        >>> _ = fn.manual_seed(3)
        >>> np.array_equal(fn.rand(3).numpy(), a.numpy())
        True
        >>> fn.manual_seed(3).integers(0, 100, size=3)
        array([81,  8, 17])
    """
    global _rng, _seed
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"manual_seed: expected an int, got {type(seed).__name__}")
    _seed = int(seed)
    _rng = np.random.default_rng(_seed)
    return _rng


def initial_seed() -> int | None:
    """The seed last given to ``manual_seed``, or None when it was never called.

    Returns:
        int or None: the seed.

    Example::

        >>> _ = fn.manual_seed(42)
        >>> fn.initial_seed()
        42
    """
    return _seed


def generator() -> np.random.Generator:
    """The global generator (re-fetch it after ``manual_seed``: seeding replaces it).

    Returns:
        np.random.Generator: the generator ``nn.init``, dropout and the random creation
        functions draw from.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> g = fn.backend.generator()
        >>> g.integers(0, 10, size=4)
        array([8, 6, 5, 2])
        >>> _ = fn.manual_seed(0)
        >>> fn.backend.generator() is g
        False
        >>> fn.backend.generator().integers(0, 10, size=4)
        array([8, 6, 5, 2])
    """
    return _rng


def get_rng_state() -> dict:
    """A JSON-serialisable snapshot of the global generator, for checkpoints.

    ``set_rng_state`` with it replays the draws made after the snapshot.

    Returns:
        dict: the bit generator's state (``'bit_generator'``, ``'state'``, ...).

    Example::

        >>> state = fn.get_rng_state()
        >>> state["bit_generator"]
        'PCG64'
        >>> a = fn.randn(3)
        >>> fn.set_rng_state(state)
        >>> np.array_equal(fn.randn(3).numpy(), a.numpy())
        True
    """
    return _rng.bit_generator.state


def set_rng_state(state: dict) -> None:
    """Restore the global generator to a snapshot taken by ``get_rng_state``.

    Args:
        state: the dict from ``get_rng_state()``, also after a JSON round trip.

    Example::

        >>> import json
        >>> saved = json.dumps(fn.get_rng_state())
        >>> a = fn.randn(3)
        >>> fn.set_rng_state(json.loads(saved))
        >>> np.array_equal(fn.randn(3).numpy(), a.numpy())
        True
    """
    _rng.bit_generator.state = state


def is_float(dtype) -> bool:
    """Whether ``dtype`` is a floating-point dtype.

    Args:
        dtype: anything ``np.dtype`` accepts (a NumPy dtype or type, a name).

    Returns:
        bool: True for float16, float32, float64 (and other NumPy floats).

    Example::

        >>> fn.backend.is_float(fn.float16), fn.backend.is_float("float64")
        (True, True)
        >>> fn.backend.is_float(fn.int64), fn.backend.is_float(fn.tensor([1]).dtype)
        (False, False)
    """
    return np.dtype(dtype).kind == "f"
