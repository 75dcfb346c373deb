"""Adaptive max pooling as one compiled scan per window, keeping the argmax for backward.

    y[p, i, j]   = max of plane p over rows [rs[i], re[i]) and columns [cs[j], ce[j])
    idx[p, i, j] = the flat index (row * W + col) in the plane of that max: the first
                   maximum in row-major order, the last NaN when the window holds one
    dX[p, idx]  += dY[p, i, j]   (in output order: windows that share a cell add)

The NumPy engine (``functional/adaptive_pooling.py``) gathers one strided copy per window
cell and makes a running-argmax pass over each: XML-CNN's 8 chunks over 499 positions are
~63 passes over (32, 128, 8) gathers. Here each window is a few scans of its cells. A call
covers the planes [p0, p1).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["adaptive_max_forward", "adaptive_max_backward"]


@njit(cache=True, nogil=True)
def _has_nan(row, c0, c1):
    """Whether row[c0:c1] holds a NaN (an or over compares: vectorised without fast-math)."""
    bad = False
    for c in range(c0, c1):
        bad |= row[c] != row[c]
    return bad


@njit(cache=True, nogil=True)
def _row_max(row, c0, c1, m):
    """max(m, max of row[c0:c1]) for a row known to hold no NaN."""
    for c in range(c0, c1):
        v = row[c]
        m = v if v > m else m
    return m


@njit(cache=True, nogil=True)
def _window(src, r0, r1, c0, c1):
    """(max, flat index) of src[r0:r1, c0:c1]: the first maximum, or the last NaN.

    Three tight passes (any NaN; the max; the first cell equal to it) beat one scan that
    keeps the index and tests for NaN at every cell: XML-CNN's (4096, 499) in 8 windows,
    one thread, process CPU time, min of 21: 8.2 -> 3.7 ms."""
    W = src.shape[1]
    nan = False
    for r in range(r0, r1):
        nan |= _has_nan(src[r], c0, c1)
    if nan:
        for r in range(r1 - 1, r0 - 1, -1):
            for c in range(c1 - 1, c0 - 1, -1):
                if src[r, c] != src[r, c]:
                    return src[r, c], r * W + c
    m = src[r0, c0]
    for r in range(r0, r1):
        m = _row_max(src[r], c0, c1, m)
    for r in range(r0, r1):
        c = _first(src[r], c0, c1, m)
        if c < c1:
            return src[r, c], r * W + c   # the cell's own value: +0 and -0 compare equal
    return m, r0 * W + c0   # not reached: m is one of the cells


@njit(cache=True, nogil=True)
def _first(row, c0, c1, m):
    """The first c in [c0, c1) with row[c] == m, else c1."""
    for c in range(c0, c1):
        if row[c] == m:
            return c
    return c1


@njit(cache=True, nogil=True)
def adaptive_max_forward(x, y, idx, rs, re, cs, ce, p0, p1):
    """y[p0:p1] and idx[p0:p1] of the adaptive max pooling of ``x`` (P, H, W)."""
    for p in range(p0, p1):
        src = x[p]
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                y[p, i, j], idx[p, i, j] = _window(src, rs[i], re[i], cs[j], ce[j])


@njit(cache=True, nogil=True)
def adaptive_max_backward(gx, g, idx, p0, p1):
    """gx[p0:p1] (P, H*W, zeros on entry) += g (P, OH*OW) at the argmax ``idx``."""
    for p in range(p0, p1):
        dst, src, at = gx[p], g[p], idx[p]
        for o in range(src.shape[0]):
            dst[at[o]] += src[o]
