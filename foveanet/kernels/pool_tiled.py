"""Max pooling whose windows tile the input (kernel = stride, no padding, no dilation):
LeNet's and VGG's 2x2 / 2 pools, the common case in training.

    y[n, c, i, j]   = max over p < kh, q < kw of x[n, c, i*kh + p, j*kw + q]
    idx[n, c, i, j] = flat index (row * W + col) of that max in the input plane: the first
                      maximum in row-major order, the last NaN when the window holds one
                      (PyTorch's rules, as ``pooling.py``)
    dX[n, c, r, s]  = dY[n, c, r // kh, s // kw] if r * W + s is that window's idx, else 0
                      (rows and columns past the last whole window: 0)

The general kernel (``pooling.py``) builds each output row with a vectorised pass per
window cell over strided slices, then zeroes dX and scatters into it; on a tiling it lost
to NumPy's running maximum. Tiling windows allow one scalar pass that reads each input cell
once, and a backward that writes every cell of dX exactly once, without the zeroing pass:
one thread, thread CPU time, forward / fwd+bwd, NumPy views -> this (``kernels/route.py``
has the figures): LeNet-5's first pool (128, 6, 28, 28) 0.85 / 2.43 -> 0.48 / 1.06 ms.
A call covers the channels [c0, c1).

2x2 windows take a pass of their own: the four cells as four loads, the maximum and its
index chosen by selects rather than branches, so the compiler runs it on vectors over an
output row; the backward writes each window's four cells the same way. One thread, median
of 50 wall ms, forward / backward, the general tiling -> 2x2 (``python -m
benchmarks.bench_pool --tiled``): (128, 6, 28, 28) 0.80 / 0.57 -> 0.35 / 0.21; (128, 16,
10, 10) 0.25 / 0.23 -> 0.14 / 0.11; (128, 32, 28, 28) 4.40 / 3.03 -> 1.89 / 1.18.
"""
from __future__ import annotations

from numba import njit

__all__ = ["max_pool_tiled_forward", "max_pool_tiled_backward"]


@njit(cache=True, nogil=True)
def max_pool_tiled_forward(x, y, idx, c0, c1, kh, kw):
    """y[:, c0:c1] and idx[:, c0:c1] (int32, or an empty array: values only) of the tiled
    max pooling of ``x`` (N, C, H, W) with windows kh x kw; y is (N, C, H // kh, W // kw)."""
    if kh == 2 and kw == 2 and idx.shape[0] > 0:
        _forward_2x2(x, y, idx, c0, c1)
    else:
        _forward_any(x, y, idx, c0, c1, kh, kw)


@njit(cache=True, nogil=True)
def _forward_any(x, y, idx, c0, c1, kh, kw):
    """max_pool_tiled_forward for any window: a scalar scan of each."""
    N, _, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    keep = idx.shape[0] > 0
    for n in range(N):
        for c in range(c0, c1):
            src = x[n, c]
            dst = y[n, c]
            for oh in range(Ho):
                r0 = oh * kh
                for ow in range(Wo):
                    q0 = ow * kw
                    best = src[r0, q0]
                    at = r0 * W + q0
                    for p in range(kh):
                        row = src[r0 + p]
                        for q in range(kw):
                            v = row[q0 + q]
                            if v > best or v != v:  # NaN: taken, a later one wins
                                best = v
                                at = (r0 + p) * W + q0 + q
                    dst[oh, ow] = best
                    if keep:
                        idx[n, c, oh, ow] = at


@njit(cache=True, nogil=True)
def max_pool_tiled_backward(gy, idx, dx, c0, c1, kh, kw):
    """dx[:, c0:c1] (N, C, H, W), every cell written: dY at each window's argmax, 0 elsewhere."""
    if kh == 2 and kw == 2:
        _backward_2x2(gy, idx, dx, c0, c1)
    else:
        _backward_any(gy, idx, dx, c0, c1, kh, kw)


@njit(cache=True, nogil=True)
def _backward_any(gy, idx, dx, c0, c1, kh, kw):
    """max_pool_tiled_backward for any window."""
    N, _, Ho, Wo = gy.shape
    H, W = dx.shape[2], dx.shape[3]
    for n in range(N):
        for c in range(c0, c1):
            g = gy[n, c]
            at = idx[n, c]
            out = dx[n, c]
            for oh in range(Ho):
                for p in range(kh):
                    r = oh * kh + p
                    row = out[r]
                    for ow in range(Wo):
                        a = at[oh, ow] - r * W
                        v = g[oh, ow]
                        for q in range(kw):
                            s = ow * kw + q
                            row[s] = v if s == a else 0
                    for s in range(Wo * kw, W):
                        row[s] = 0
            for r in range(Ho * kh, H):
                for s in range(W):
                    out[r, s] = 0


@njit(cache=True, nogil=True)
def _forward_2x2(x, y, idx, c0, c1):
    """max_pool_tiled_forward for 2x2 windows (with the argmax)."""
    W = x.shape[3]
    Ho, Wo = y.shape[2], y.shape[3]
    for n in range(x.shape[0]):
        for c in range(c0, c1):
            for oh in range(Ho):
                top, bottom = x[n, c, 2 * oh], x[n, c, 2 * oh + 1]
                row, at_row = y[n, c, oh], idx[n, c, oh]
                base = 2 * oh * W
                for ow in range(Wo):
                    a, b = top[2 * ow], top[2 * ow + 1]
                    d, e = bottom[2 * ow], bottom[2 * ow + 1]
                    # a later cell wins where it is larger or NaN (bitwise |: no branch)
                    best, at = a, 0
                    t = (b > best) | (b != b)
                    best, at = (b, 1) if t else (best, at)
                    t = (d > best) | (d != d)
                    best, at = (d, W) if t else (best, at)
                    t = (e > best) | (e != e)
                    best, at = (e, W + 1) if t else (best, at)
                    row[ow] = best
                    at_row[ow] = base + 2 * ow + at


@njit(cache=True, nogil=True)
def _backward_2x2(gy, idx, dx, c0, c1):
    """max_pool_tiled_backward for 2x2 windows."""
    Ho, Wo = gy.shape[2], gy.shape[3]
    H, W = dx.shape[2], dx.shape[3]
    for n in range(gy.shape[0]):
        for c in range(c0, c1):
            for oh in range(Ho):
                top, bottom = dx[n, c, 2 * oh], dx[n, c, 2 * oh + 1]
                g, at_row = gy[n, c, oh], idx[n, c, oh]
                base = 2 * oh * W
                for ow in range(Wo):
                    a = at_row[ow] - base - 2 * ow   # 0, 1, W or W + 1
                    v = g[ow]
                    top[2 * ow] = v if a == 0 else 0
                    top[2 * ow + 1] = v if a == 1 else 0
                    bottom[2 * ow] = v if a == W else 0
                    bottom[2 * ow + 1] = v if a == W + 1 else 0
                for s in range(2 * Wo, W):
                    top[s] = 0
                    bottom[s] = 0
            for r in range(2 * Ho, H):
                for s in range(W):
                    dx[n, c, r, s] = 0
