"""Max pooling as one compiled scan per window, keeping the argmax for backward.

    y[n, c, i, j]  = max over (p, q) of x[n, c, i*sh + p*dh - pt, j*sw + q*dw - pl]
                     (cells outside the input skipped: padding counts as -inf)
    idx[n, c, i, j] = the flat index (row * W + col) in the input plane of that max:
                     the first maximum in row-major scan order, the last NaN when the
                     window holds a NaN, and the window's first cell inside the input
                     when every cell is -inf (PyTorch's rules)
    dX[n, c, idx]  += dY[n, c, i, j]   (in output order: windows that share a cell add)

The NumPy engine (``functional/pooling.py``) makes kh + kw passes over strided views for
the values and as many again for the argmax, each a trip through memory; here each output
row is built in cache. A call covers the channels [c0, c1).

Values only (inference: no backward, no indices), ``max_pool_values`` reduces separably:
the kernel rows first, over whole input rows (contiguous, vectorised), then the kernel
columns of that row maximum at the stride.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["max_pool_forward", "max_pool_values", "max_pool_backward"]


@njit(cache=True, nogil=True)
def max_pool_forward(x, y, idx, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl):
    """y[:, c0:c1] and idx[:, c0:c1] (int32, or empty: values only) of the max pooling of
    ``x`` (N, C, H, W); ``pt``/``pl`` the top/left padding.

    One output row at a time: every window cell (i, j) in row-major order is one
    compare-and-select pass over the row's outputs, a loop over plain slices that the
    compiler vectorises (a scalar scan per window ran LeNet's 2x2 pool 13x slower than
    NumPy's running maximum over strided views)."""
    N, _, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    keep = idx.shape[0] > 0
    best = np.empty(Wo, x.dtype)
    at = np.empty(Wo, np.int32)
    for n in range(N):
        for c in range(c0, c1):
            src = x[n, c]
            for oh in range(Ho):
                r0 = oh * sh - pt
                i0 = 0  # the first kernel row inside the input
                while r0 + i0 * dh < 0:
                    i0 += 1
                best[:] = -np.inf
                if keep:  # an all -inf window reports its first cell inside the input
                    for ow in range(Wo):
                        q = ow * sw - pl
                        while q < 0:
                            q += dw
                        at[ow] = (r0 + i0 * dh) * W + q
                for i in range(i0, kh):
                    r = r0 + i * dh
                    if r >= H:
                        break
                    row = src[r]
                    for j in range(kw):
                        q0 = j * dw - pl
                        w_lo = max(0, -(q0 // sw))
                        w_hi = min(Wo, (W - 1 - q0) // sw + 1)
                        if w_hi <= w_lo:
                            continue
                        m = w_hi - w_lo
                        cells = row[w_lo * sw + q0::sw][:m]
                        b = best[w_lo:w_hi]
                        if keep:
                            a = at[w_lo:w_hi]
                            first = r * W + w_lo * sw + q0
                            for k in range(m):
                                v = cells[k]
                                take = (v > b[k]) | (v != v)  # NaN: taken, a later one wins
                                b[k] = v if take else b[k]
                                a[k] = first + k * sw if take else a[k]
                        else:
                            for k in range(m):
                                v = cells[k]
                                take = (v > b[k]) | (v != v)
                                b[k] = v if take else b[k]
                y[n, c, oh] = best
                if keep:
                    idx[n, c, oh] = at


@njit(cache=True, nogil=True)
def max_pool_values(x, y, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl):
    """y[:, c0:c1] of the max pooling of ``x`` (N, C, H, W), values only: per output row,
    ``rows[w]`` = max over the kernel rows inside the input, then ``y[.., ow]`` = max of
    ``rows`` at ``ow*sw + j*dw - pl`` over the kernel columns inside it. NaN propagates.

    Both passes run over whole rows without a branch per cell (the outputs whose windows
    reach the padding are done apart), so the compiler vectorises them."""
    N, _, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    rows = np.empty(W, x.dtype)
    # the outputs whose every kernel column is inside the input: [lo, hi)
    lo = min(Wo, max(0, -(-pl // sw)))
    hi = max(lo, min(Wo, (W - 1 + pl - (kw - 1) * dw) // sw + 1))
    for n in range(N):
        for c in range(c0, c1):
            src, dst = x[n, c], y[n, c]
            for oh in range(Ho):
                r0 = oh * sh - pt
                i0 = 0
                while r0 + i0 * dh < 0:
                    i0 += 1
                i1 = kh
                while r0 + (i1 - 1) * dh >= H:
                    i1 -= 1
                rows[:] = src[r0 + i0 * dh]
                for i in range(i0 + 1, i1):
                    row = src[r0 + i * dh]
                    for k in range(W):
                        v = row[k]
                        rows[k] = v if (v > rows[k]) | (v != v) else rows[k]
                out = dst[oh]
                for ow in range(lo, hi):
                    out[ow] = rows[ow * sw - pl]
                for j in range(1, kw):
                    q = j * dw - pl
                    for ow in range(lo, hi):
                        v = rows[ow * sw + q]
                        out[ow] = v if (v > out[ow]) | (v != v) else out[ow]
                for e in range(lo + Wo - hi):  # the edges: 0..lo and hi..Wo
                    ow = e if e < lo else hi + e - lo
                    m = -np.inf
                    for j in range(kw):
                        q = ow * sw + j * dw - pl
                        if 0 <= q < W:
                            v = rows[q]
                            m = v if (v > m) | (v != v) else m
                    out[ow] = m


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
