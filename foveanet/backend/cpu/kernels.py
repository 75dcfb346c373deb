"""The CPU's kernel sets: the convolution engines, the BLAS hold, and channel blocks; with
Numba, also the compiled kernels of ``foveanet.kernels`` (a leaf package)."""
from __future__ import annotations

import dataclasses

import numpy as np

from foveanet.backend.arrays import KernelSet
from foveanet.backend.cpu import conv, threads

# Batch norm's statistics are per channel, so its passes split into channel blocks with no
# shared output: on a big batch they run as parallel tasks. vgg_small training step (b128,
# 2 workers): batch norm 36 -> ~20 ms of ~265 ms.
CHANNEL_BLOCKS_MIN_ELEMENTS = 1 << 18


def each_channel_block(channels: int, size: int, job) -> None:
    """``job(slice)`` over one block of channels per worker (one block for small arrays)."""
    workers = threads.workers() if size >= CHANNEL_BLOCKS_MIN_ELEMENTS else 1
    bounds = np.linspace(0, channels, min(workers, channels) + 1).astype(int)
    threads.each([slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])], job)


KERNELS = KernelSet("cpu", conv=conv, before_gemm=threads.release_blas,
                    each_channel_block=each_channel_block, matmul=threads.matmul)


_with_compiled: KernelSet | None = None


def with_compiled() -> KernelSet:
    """KERNELS plus the compiled kernels, or KERNELS itself when Numba is missing (then
    ``foveanet.kernels.load`` has warned once)."""
    global _with_compiled
    if _with_compiled is None:
        from foveanet import kernels as compiled_kernels

        ks = compiled_kernels.load()
        _with_compiled = KERNELS if ks is None else dataclasses.replace(
            KERNELS, conv=conv.WithCompiled(ks), compiled=ks)
    return _with_compiled
