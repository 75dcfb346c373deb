"""Max pooling as one compiled scan per window, keeping the argmax for backward.

    y[n, c, i, j]  = max over (p, q) of x[n, c, i*sh + p*dh - pt, j*sw + q*dw - pl]
                     (cells outside the input skipped: padding counts as -inf)
    idx[n, c, i, j] = the flat index (row * W + col) in the input plane of that max:
                     the first maximum in row-major scan order, the last NaN when the
                     window holds a NaN, and the window's first cell inside the input
                     when every cell is -inf (PyTorch's rules)
    dX[n, c, idx]  += dY[n, c, i, j]   (in output order: windows that share a cell add)

The NumPy engine (``functional/pooling.py``) makes kh + kw passes over strided views for
the values and as many again for the argmax, each a trip through memory; here each window
is read once, from cache. A call covers the channels [c0, c1).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["max_pool_forward", "max_pool_backward"]


@njit(cache=True, nogil=True)
def max_pool_forward(x, y, idx, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl):
    """y[:, c0:c1] and idx[:, c0:c1] (int32, or empty: values only) of the max pooling of
    ``x`` (N, C, H, W); ``pt``/``pl`` the top/left padding."""
    N, _, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    keep = idx.shape[0] > 0
    for n in range(N):
        for c in range(c0, c1):
            src = x[n, c]
            for oh in range(Ho):
                r0 = oh * sh - pt
                i0 = 0  # first kernel row inside the input
                while r0 + i0 * dh < 0:
                    i0 += 1
                i1 = kh
                while i1 > i0 and r0 + (i1 - 1) * dh >= H:
                    i1 -= 1
                for ow in range(Wo):
                    q0 = ow * sw - pl
                    j0 = 0
                    while q0 + j0 * dw < 0:
                        j0 += 1
                    j1 = kw
                    while j1 > j0 and q0 + (j1 - 1) * dw >= W:
                        j1 -= 1
                    best = -np.inf
                    at = (r0 + i0 * dh) * W + q0 + j0 * dw
                    for i in range(i0, i1):
                        r = r0 + i * dh
                        row = src[r]
                        for j in range(j0, j1):
                            v = row[q0 + j * dw]
                            if v > best or v != v:  # NaN: taken, and a later one wins
                                best = v
                                at = r * W + q0 + j * dw
                    y[n, c, oh, ow] = best
                    if keep:
                        idx[n, c, oh, ow] = at


@njit(cache=True, nogil=True)
def max_pool_backward(gy, idx, dx, c0, c1):
    """dx[:, c0:c1] (N, C, H, W) = dY routed to each window's argmax ``idx``."""
    N, _, Ho, Wo = gy.shape
    for n in range(N):
        for c in range(c0, c1):
            plane = dx[n, c].reshape(-1)
            plane[:] = 0
            g = gy[n, c]
            at = idx[n, c]
            for oh in range(Ho):
                for ow in range(Wo):
                    plane[at[oh, ow]] += g[oh, ow]
