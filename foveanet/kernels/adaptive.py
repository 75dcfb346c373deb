"""Adaptive max pooling as one compiled scan per window, keeping the argmax for backward.

    y[p, i, j]   = max of plane p over rows [rs[i], re[i]) and columns [cs[j], ce[j])
    idx[p, i, j] = the flat index (row * W + col) in the plane of that max: the first
                   maximum in row-major order, the last NaN when the window holds one
    dX[p, idx]  += dY[p, i, j]   (in output order: windows that share a cell add)

The NumPy engine (``functional/adaptive_pooling.py``) gathers one strided copy per window
cell and makes a running-argmax pass over each: XML-CNN's 8 chunks over 499 positions are
~63 passes over (32, 128, 8) gathers. Here each window is one scan of its cells. A call
covers the planes [p0, p1).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["adaptive_max_forward", "adaptive_max_backward"]


@njit(cache=True, nogil=True)
def adaptive_max_forward(x, y, idx, rs, re, cs, ce, p0, p1):
    """y[p0:p1] and idx[p0:p1] of the adaptive max pooling of ``x`` (P, H, W)."""
    W = x.shape[2]
    for p in range(p0, p1):
        src = x[p]
        for i in range(y.shape[1]):
            for j in range(y.shape[2]):
                m = src[rs[i], cs[j]]
                a = rs[i] * W + cs[j]
                for r in range(rs[i], re[i]):
                    row = src[r]
                    for c in range(cs[j], ce[j]):
                        v = row[c]
                        if v > m or np.isnan(v):
                            m = v
                            a = r * W + c
                y[p, i, j] = m
                idx[p, i, j] = a


@njit(cache=True, nogil=True)
def adaptive_max_backward(gx, g, idx, p0, p1):
    """gx[p0:p1] (P, H*W, zeros on entry) += g (P, OH*OW) at the argmax ``idx``."""
    for p in range(p0, p1):
        dst, src, at = gx[p], g[p], idx[p]
        for o in range(src.shape[0]):
            dst[at[o]] += src[o]
