"""Which array module holds an array, and which kernels run on it.

An op asks ``array_module(x)`` for the module to create arrays with (``xp``, as Chainer's
``get_array_module``) and ``kernels(x)`` for the fast paths its backend brings. A kernel
that is None means "run the reference": the op's own formulas, written with ``xp``, which
is also what every fast path is tested against. ``FOVEANET_KERNELS=reference`` (or
``set_kernels("reference")``) runs the whole library on the references.
"""
from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from typing import Callable

import numpy as np

KERNEL_CHOICES = ("default", "reference")


def array_module(*arrays):
    """The array module (``numpy``, later ``cupy``) that ``arrays`` live in; NumPy for
    anything that is not a device array (lists, scalars, NumPy arrays)."""
    for a in arrays:
        if hasattr(a, "__cuda_array_interface__"):  # a CuPy array
            import cupy

            return cupy
    return np


def _run_whole(channels: int, size: int, job) -> None:
    job(slice(0, channels))


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class KernelSet:
    """What a backend brings beyond its array module.

    ``conv``: an object with the four entry points of ``backend/cpu/conv`` (forward,
    backward, transpose_forward, transpose_backward), or None for the reference im2col.
    ``before_gemm()``: called before a Function that declares ``uses_blas`` runs (forward
    or backward), e.g. to give BLAS its threads back after a parallel region.
    ``each_channel_block(channels, size, job)``: calls ``job(slice)`` over blocks covering
    ``channels`` (batch norm's per-channel passes; ``size`` the elements in all), in
    parallel where the backend can; the reference makes one block.
    """

    name: str
    conv: object = None
    before_gemm: Callable[[], None] = _nothing
    each_channel_block: Callable = _run_whole


REFERENCE = KernelSet("reference")

_choice = os.environ.get("FOVEANET_KERNELS", "default") or "default"
if _choice not in KERNEL_CHOICES:
    raise ValueError(f"FOVEANET_KERNELS: expected one of {', '.join(KERNEL_CHOICES)}, "
                     f"got {_choice!r}")
_cpu: KernelSet | None = None


def _cpu_kernels() -> KernelSet:
    global _cpu
    if _cpu is None:
        from foveanet.backend.cpu.kernels import KERNELS

        _cpu = KERNELS
    return _cpu


def kernels(a=None) -> KernelSet:
    """The kernel set for the backend that holds ``a`` (the CPU's for NumPy arrays)."""
    if _choice == "reference":
        return REFERENCE
    if a is not None and array_module(a) is not np:
        return REFERENCE  # a GPU backend brings its own kernels; until then, the references
    return _cpu if _cpu is not None else _cpu_kernels()


def get_kernels() -> str:
    """'default' (each backend's fast paths) or 'reference' (the ops' own formulas)."""
    return _choice


def set_kernels(choice: str) -> None:
    """Run the fast paths ('default') or only the reference formulas ('reference')."""
    global _choice
    if choice not in KERNEL_CHOICES:
        raise ValueError(f"set_kernels: expected one of {', '.join(KERNEL_CHOICES)}, "
                         f"got {choice!r}")
    _choice = choice


@contextlib.contextmanager
def use_kernels(choice: str):
    """``with use_kernels('reference'): ...`` runs the block on the chosen kernels."""
    before = _choice
    set_kernels(choice)
    try:
        yield
    finally:
        set_kernels(before)
