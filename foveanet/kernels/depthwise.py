"""Depthwise convolution (groups == channels) as compiled loops over each channel's plane.

    y[n, c, h, w]  = b[c] + sum_{i,j} w[c, i*kw + j] * xpad[n, c, h*sh + i*dh, w*sw + j*dw]
    dX[n, c, r, q] = sum of w[c, t] * dY[n, c, h, w] over the taps t that read (r, q)
    dW[c, t]       = sum_{n,h,w} dY[n, c, h, w] * xpad_tap(t)[n, c, h, w]

Stride 1 runs on the padded grid: one channel's padded plane is copied into a buffer with
rows of Wp numbers, and each tap is then one contiguous multiply-add over Ho*Wp numbers
(the Wp - Wo last of each row are junk, dropped), a loop long enough for the vector units;
per output row, a 28-wide row left most of it to the scalar remainder loop (3x3 128 @28
b16 forward, one thread: 26 ms per row, 4.0 ms on the grid). Other strides walk the rows.

The sums run tap by tap in the order of the NumPy engine (``backend/cpu/conv/depthwise.py``),
so forward and dX are the same numbers as NumPy's in float64 (the padding adds zeros).
dW sums each lane over the batch first, then the lanes in float64: elementwise loops that
the compiler vectorises without reordering a reduction. A call covers the channels
[c0, c1): the caller runs channel blocks on its threads.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["depthwise_forward", "depthwise_backward"]


@njit(cache=True, nogil=True, inline="always")
def _span(n: int, out: int, s: int, off: int):
    """Outputs o in [lo, hi) whose input o*s + off lies in [0, n)."""
    lo = max(0, -(off // s))
    hi = min(out, (n - 1 - off) // s + 1)
    return lo, max(lo, hi)


@njit(cache=True, nogil=True, inline="always")
def _axpy(dst, a, src):
    """dst += a * src. The loops index from 0 over slices: an index like ``k + off`` could
    be negative as far as Numba knows, and its wraparound check stops vectorisation
    (840-long tap, 2048 planes: 20 ms -> 0.9 ms)."""
    for k in range(dst.shape[0]):
        dst[k] = dst[k] + a * src[k]


@njit(cache=True, nogil=True, inline="always")
def _fma(dst, a, b):
    """dst += a * b, elementwise."""
    for k in range(dst.shape[0]):
        dst[k] = dst[k] + a[k] * b[k]


@njit(cache=True, nogil=True, inline="always")
def _pad_plane(src, buf, pt, pl, Wp):
    """The plane ``src`` (H, W) into the flat zeroed-border buffer ``buf`` of rows Wp."""
    H, W = src.shape
    for r in range(H):
        base = (r + pt) * Wp + pl
        buf[base:base + W] = src[r]


@njit(cache=True, nogil=True)
def depthwise_forward(x, w, bias, y, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl):
    """y[:, c0:c1] of the depthwise conv of ``x`` (N, C, H, W); ``w`` (C, kh*kw);
    ``bias`` (C,) or empty; ``pt``/``pl`` the top/left padding."""
    N, _, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    has_bias = bias.shape[0] > 0
    if sh == 1 and sw == 1:
        Wp = max(W + pl, Wo + (kw - 1) * dw)
        Hp = max(H + pt, Ho + (kh - 1) * dh)
        xp = np.zeros(Hp * Wp + (kw - 1) * dw, x.dtype)
        acc = np.empty(Ho * Wp, x.dtype)
        L = Ho * Wp
        for n in range(N):
            for c in range(c0, c1):
                _pad_plane(x[n, c], xp, pt, pl, Wp)
                acc[:] = 0
                for t in range(kh * kw):
                    off = (t // kw) * dh * Wp + (t % kw) * dw
                    _axpy(acc, w[c, t], xp[off:off + L])
                out = y[n, c]
                for oh in range(Ho):
                    out[oh] = acc[oh * Wp:oh * Wp + Wo]
                if has_bias:
                    out += bias[c]
        return
    for n in range(N):
        for c in range(c0, c1):
            out = y[n, c]
            src = x[n, c]
            out[:, :] = 0
            for i in range(kh):
                h_lo, h_hi = _span(H, Ho, sh, i * dh - pt)
                for j in range(kw):
                    w_lo, w_hi = _span(W, Wo, sw, j * dw - pl)
                    wt = w[c, i * kw + j]
                    q0 = j * dw - pl
                    if w_hi == w_lo:
                        continue
                    for oh in range(h_lo, h_hi):
                        row = src[oh * sh + i * dh - pt, w_lo * sw + q0::sw]
                        _axpy(out[oh, w_lo:w_hi], wt, row[:w_hi - w_lo])
            if has_bias:
                out += bias[c]


@njit(cache=True, nogil=True)
def _grid_backward(gy, x, w, dx, dwt, c0, c1, kh, kw, dh, dw, pt, pl):
    N, Ho, Wo = gy.shape[0], gy.shape[2], gy.shape[3]
    need_x, need_w = dx.shape[0] > 0, dwt.shape[0] > 0
    H, W = (dx.shape[2], dx.shape[3]) if need_x else (x.shape[2], x.shape[3])
    Wp = max(W + pl, Wo + (kw - 1) * dw)
    Hp = max(H + pt, Ho + (kh - 1) * dh)
    T, L = kh * kw, Ho * Wp
    size = Hp * Wp + (kw - 1) * dw
    xp = np.zeros(size, gy.dtype)
    dxp = np.empty(size, gy.dtype)
    gg = np.zeros(L, gy.dtype)      # dY on the grid: the junk columns stay 0
    lanes = np.empty((T, L), gy.dtype)
    for c in range(c0, c1):
        lanes[:, :] = 0
        for n in range(N):
            g = gy[n, c]
            for oh in range(Ho):
                gg[oh * Wp:oh * Wp + Wo] = g[oh]
            if need_w:
                _pad_plane(x[n, c], xp, pt, pl, Wp)
            if need_x:
                dxp[:] = 0
            for t in range(T):
                off = (t // kw) * dh * Wp + (t % kw) * dw
                if need_x:
                    _axpy(dxp[off:off + L], w[c, t], gg)
                if need_w:
                    _fma(lanes[t], gg, xp[off:off + L])
            if need_x:
                dst = dx[n, c]
                for r in range(H):
                    base = (r + pt) * Wp + pl
                    dst[r] = dxp[base:base + W]
        if need_w:
            for t in range(T):
                total = 0.0
                for k in range(L):
                    total += lanes[t, k]
                dwt[c, t] = total


@njit(cache=True, nogil=True)
def _rows_backward(gy, x, w, dx, dwt, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl):
    N, Ho, Wo = gy.shape[0], gy.shape[2], gy.shape[3]
    need_x, need_w = dx.shape[0] > 0, dwt.shape[0] > 0
    H, W = (dx.shape[2], dx.shape[3]) if need_x else (x.shape[2], x.shape[3])
    lanes = np.zeros((kh * kw, Wo), gy.dtype)
    for c in range(c0, c1):
        lanes[:, :] = 0
        for n in range(N):
            g = gy[n, c]
            if need_x:
                dst = dx[n, c]
                dst[:, :] = 0
            for i in range(kh):
                h_lo, h_hi = _span(H, Ho, sh, i * dh - pt)
                for j in range(kw):
                    w_lo, w_hi = _span(W, Wo, sw, j * dw - pl)
                    t = i * kw + j
                    q0 = j * dw - pl
                    m = w_hi - w_lo
                    if m == 0:
                        continue
                    for oh in range(h_lo, h_hi):
                        r = oh * sh + i * dh - pt
                        if need_x:
                            _axpy(dst[r, w_lo * sw + q0::sw][:m], w[c, t], g[oh, w_lo:w_hi])
                        if need_w:
                            _fma(lanes[t, w_lo:w_hi], g[oh, w_lo:w_hi],
                                 x[n, c, r, w_lo * sw + q0::sw][:m])
        if need_w:
            for t in range(kh * kw):
                total = 0.0
                for ow in range(Wo):
                    total += lanes[t, ow]
                dwt[c, t] = total


@njit(cache=True, nogil=True)
def depthwise_backward(gy, x, w, dx, dwt, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl):
    """dx[:, c0:c1] (when dx is not empty) and dwt[c0:c1] (C, kh*kw; when dwt is not
    empty) of the depthwise conv, from dY ``gy`` (N, C, Ho, Wo)."""
    if sh == 1 and sw == 1:
        _grid_backward(gy, x, w, dx, dwt, c0, c1, kh, kw, dh, dw, pt, pl)
    else:
        _rows_backward(gy, x, w, dx, dwt, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl)
