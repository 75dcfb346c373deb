"""A convolution's epilogue for inference: per-channel scale and shift, then a clamp, in one
pass over the output, in place.

    y[c, k] = min(max(y[c, k] * scale[c] + shift[c], lo), hi)

Eval-mode batch norm after a conv is exactly such a scale and shift (``models/fold.py``),
and ReLU6 the clamp: NumPy makes three passes of it (multiply, add, clip). A call covers
the rows [r0, r1) of the (C, L) output: the caller runs row blocks on its threads.
"""
from __future__ import annotations

from numba import njit

__all__ = ["affine_clamp"]


@njit(cache=True, nogil=True)
def affine_clamp(y, scale, shift, lo, hi, r0, r1):
    """Rows r0..r1 of the 2-d ``y`` (C, L): ``min(max(y * scale[c] + shift[c], lo), hi)``."""
    for c in range(r0, r1):
        row, s, b = y[c], scale[c], shift[c]
        for k in range(row.shape[0]):
            row[k] = min(max(row[k] * s + b, lo), hi)
