"""Which array module holds an array, and which kernels run on it.

An op asks ``array_module(x)`` for the module to create arrays with (``xp``, as Chainer's
``get_array_module``) and ``kernels(x)`` for the fast paths its backend brings. A kernel
that is None means "run the reference": the op's own formulas, written with ``xp``, which
is also what every fast path is tested against. ``FOVEANET_KERNELS`` (or ``set_kernels``)
chooses: 'default' (the compiled Numba kernels where foveanet has them, else the NumPy
engines), 'numba' (the same, said explicitly), 'numpy' (the NumPy engines only) or
'reference' (the op's formulas only).
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

from foveanet.backend.devices import device_array_module

KERNEL_CHOICES = ("default", "numba", "numpy", "reference")


def array_module(*arrays):
    """The array module (``numpy`` or ``cupy``) that ``arrays`` live in; NumPy for
    anything that is not a device array (lists, scalars, NumPy arrays).

    An op calls it once at the top (``xp = array_module(x)``) and creates its arrays with
    ``xp``, as Chainer's ``get_array_module``.

    Args:
        *arrays: the op's inputs (arrays, lists, scalars).

    Returns:
        module: ``numpy``, or ``cupy`` when one of them is a CuPy array (the stand-in's
        module for its arrays, see ``backend.standin``).

    Example::

        >>> fn.backend.array_module(np.zeros(3)) is np
        True
        >>> fn.backend.array_module([1, 2], 3.0).__name__
        'numpy'
    """
    for a in arrays:
        if not isinstance(a, np.ndarray):
            found = device_array_module(a)
            if found is not None:
                return found[0]
    return np


def _run_whole(channels: int, size: int, job) -> None:
    job(slice(0, channels))


def _nothing() -> None:
    return None


def _matmul(a, b):
    return a @ b


@dataclass(frozen=True)
class KernelSet:
    """What a backend brings beyond its array module.

    ``conv``: an object with the four entry points of ``backend/cpu/conv``
    (forward, backward, transpose_forward, transpose_backward), or None for the reference
    im2col.

    ``before_gemm()``: called before a Function that declares ``uses_blas`` runs (forward
    or backward), e.g. to give BLAS its threads back after a parallel region.

    ``each_channel_block(channels, size, job)``: calls ``job(slice)`` over blocks covering
    ``channels`` (batch norm's per-channel passes; ``size`` the elements in all), in
    parallel where the backend can; the reference makes one block.

    ``matmul(a, b)``: the 2-d product ``a @ b`` for a layer's GEMM (the CPU's runs the rows
    of ``a`` on its own threads).

    ``compiled``: the namespace of compiled kernels (``foveanet.kernels.load()``), or None
    where the op's NumPy code runs.

    ``cols``: ``im2col(x, g)`` and ``col2im(cols, g)`` for the reference convolution, or
    None for ``functional/im2col.py``'s (a GPU's: one kernel each, ``backend/cuda``).

    ``max_pool``: ``forward(x4, geo, keep) -> (y, flat argmax or None)``,
    ``backward(g, argmax, geo) -> dx`` and ``handles(dtype)``, or None for the op's own
    formulas.

    Args:
        name: the name the set goes by (``'cpu'``, ``'reference'``).
        conv: the convolution engines (default None: the reference im2col).
        before_gemm: the hook run before a GEMM (default: does nothing).
        each_channel_block: the channel-block runner (default: one block, in this thread).
        compiled: the compiled kernels (default None: none).
        matmul: the layer GEMM (default: ``a @ b``).
        cols: the reference convolution's im2col/col2im (default None: its own).
        max_pool: the max-pooling kernels (default None: the op's formulas).

    Example::

        >>> ks = fn.backend.KernelSet("mine")
        >>> ks.conv is None
        True
        >>> ks.each_channel_block(64, 1000, print)
        slice(0, 64, None)
    """

    name: str
    conv: object = None
    before_gemm: Callable[[], None] = _nothing
    each_channel_block: Callable = _run_whole
    compiled: object = None
    matmul: Callable = _matmul
    cols: object = None
    max_pool: object = None


REFERENCE = KernelSet("reference")

_choice = os.environ.get("FOVEANET_KERNELS", "default") or "default"
if _choice not in KERNEL_CHOICES:
    raise ValueError(f"FOVEANET_KERNELS: expected one of {', '.join(KERNEL_CHOICES)}, "
                     f"got {_choice!r}")
_cpu: dict = {}  # choice -> the CPU's set for it


def _cpu_kernels() -> KernelSet:
    from foveanet.backend.cpu import kernels as cpu

    if _choice == "numpy":
        _cpu["numpy"] = cpu.KERNELS
    else:  # compiling is lazy: each kernel on its first call, or from Numba's cache
        _cpu[_choice] = cpu.with_compiled()
    return _cpu[_choice]


def kernels(a=None) -> KernelSet:
    """The kernel set for the backend that holds ``a`` (the CPU's for NumPy arrays).

    Under ``set_kernels('reference')`` (or ``FOVEANET_KERNELS=reference``) it is the
    reference set, whose kernels are all None; under 'numpy' the CPU's set without the
    compiled kernels (``compiled`` None).

    Args:
        a: an array of the op (default None: the CPU's set).

    Returns:
        KernelSet: the fast paths to use, or the references.

    Example::

        >>> with fn.backend.use_kernels("default"):
        ...     ks = fn.backend.kernels(np.zeros(3))
        >>> ks.name, ks.conv is None
        ('cpu', False)
        >>> with fn.backend.use_kernels("reference"):
        ...     ks = fn.backend.kernels(np.zeros(3))
        >>> ks.name, ks.conv is None
        ('reference', True)
    """
    if _choice == "reference":
        return REFERENCE
    if a is not None:
        xp = array_module(a)
        if xp is not np:  # CuPy's kernels (backend/cuda); the stand-in runs the references
            return _cuda_kernels() if xp.__name__ == "cupy" else REFERENCE
    ks = _cpu.get(_choice)
    return ks if ks is not None else _cpu_kernels()


def _cuda_kernels() -> KernelSet:
    from foveanet.backend.cuda.kernels import KERNELS

    return KERNELS


def get_kernels() -> str:
    """The kernels in use: 'default', 'numba', 'numpy' or 'reference' (see ``set_kernels``).

    The choice starts as ``FOVEANET_KERNELS`` (default ``'default'``) and changes with
    ``set_kernels`` or inside ``use_kernels``.

    Returns:
        str: ``'default'``, ``'numba'``, ``'numpy'`` or ``'reference'``.

    Example::

        >>> with fn.backend.use_kernels("reference"):
        ...     print(fn.backend.get_kernels())
        reference
    """
    return _choice


def set_kernels(choice: str) -> None:
    """Run the fast paths ('default'), or only NumPy's ('numpy'), or only the formulas.

    'default' runs the compiled kernels (``foveanet.kernels``, Numba) where foveanet has
    them and the NumPy engines elsewhere; without Numba it warns once, at the first op,
    and runs NumPy's. 'numba' is the same choice said explicitly. 'numpy' runs the NumPy
    engines only, 'reference' the op's formulas only (what every fast path is tested
    against). The choice holds for the whole process until set again; ``use_kernels`` sets it
    for one block.

    Args:
        choice: ``'default'``, ``'numba'``, ``'numpy'`` or ``'reference'``.

    Raises:
        ValueError: another ``choice``.

    Example::

        >>> before = fn.backend.get_kernels()
        >>> fn.backend.set_kernels("reference")
        >>> fn.backend.get_kernels(), fn.backend.kernels().name
        ('reference', 'reference')
        >>> fn.backend.set_kernels(before)
        >>> fn.backend.set_kernels("fast")
        Traceback (most recent call last):
            ...
        ValueError: set_kernels: expected one of default, numba, numpy, reference, got 'fast'
    """
    global _choice
    if choice not in KERNEL_CHOICES:
        raise ValueError(f"set_kernels: expected one of {', '.join(KERNEL_CHOICES)}, "
                         f"got {choice!r}")
    _choice = choice


@contextlib.contextmanager
def use_kernels(choice: str):
    """``with use_kernels('reference'): ...`` runs the block on the chosen kernels.

    The previous choice comes back on exit, also after an exception.

    Args:
        choice: ``'default'``, ``'numba'``, ``'numpy'`` or ``'reference'``.

    Example::

        >>> x, w = fn.randn(1, 2, 5, 5), fn.randn(3, 2, 3, 3)
        >>> fast = F.conv2d(x, w)
        >>> with fn.backend.use_kernels("reference"):
        ...     ref = F.conv2d(x, w)
        >>> ref.shape, np.allclose(fast.numpy(), ref.numpy(), atol=1e-5)
        ((1, 3, 3, 3), True)
    """
    before = _choice
    set_kernels(choice)
    try:
        yield
    finally:
        set_kernels(before)
