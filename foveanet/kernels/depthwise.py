"""Depthwise convolution (groups == channels) as compiled loops over each channel's plane.

    y[n, c, h, w]  = b[c] + sum_{i,j} w[c, i*kw + j] * xpad[n, c, h*sh + i*dh, w*sw + j*dw]
    dX[n, c, r, q] = sum of w[c, t] * dY[n, c, h, w] over the taps t that read (r, q)
    dW[c, t]       = sum_{n,h,w} dY[n, c, h, w] * xpad_tap(t)[n, c, h, w]

Each channel's padded plane is split into its sh*sw stride phases (rows r = hq*sh + ph,
columns q = wq*sw + pw; one phase for stride 1), each a flat buffer with rows of Wq
numbers. Tap (i, j) then reads one phase at a fixed offset, so every tap is one
contiguous multiply-add over Ho*Wq numbers (the Wq - Wo last of each row are junk,
dropped): a loop long enough for the vector units, where a loop per output row left a
28-wide row mostly to the scalar remainder (3x3 128 @28 b16 forward, one thread: 26 ms
per row, 4 ms on the grid) and a strided one did not vectorise at all (stride 2: 3x3 96
@56 b8 fwd+bwd 17.6 ms on strided rows).

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
def _axpy(dst, a, src):
    """dst += a * src. The loops index from 0 over slices: an index like ``k + off`` could
    be negative as far as Numba knows, and its wraparound check stops vectorisation
    (840-long tap, 2048 planes: 20 ms -> 0.9 ms)."""
    for k in range(dst.shape[0]):
        dst[k] = dst[k] + a * src[k]


@njit(cache=True, nogil=True, inline="always")
def _axpy3(dst, a, x, b, y, c, z):
    """dst = ((dst + a*x) + b*y) + c*z: three taps in one pass, in the order of three."""
    for k in range(dst.shape[0]):
        dst[k] = ((dst[k] + a * x[k]) + b * y[k]) + c * z[k]


@njit(cache=True, nogil=True, inline="always")
def _fma(dst, a, b):
    """dst += a * b, elementwise."""
    for k in range(dst.shape[0]):
        dst[k] = dst[k] + a[k] * b[k]


@njit(cache=True, nogil=True)
def _grid(H, W, Ho, Wo, kh, kw, sh, sw, dh, dw):
    """(Hq, Wq, size): the rows and the width of one phase, and its buffer size with the
    slack that the last tap's offset reads past the end."""
    Hq = Ho + ((kh - 1) * dh) // sh
    Wq = Wo + ((kw - 1) * dw) // sw
    return Hq, Wq, Hq * Wq + ((kw - 1) * dw) // sw


@njit(cache=True, nogil=True, inline="always")
def _tap(t, kw, sh, sw, dh, dw, Wq):
    """Tap t's phase and its offset in that phase's flat buffer."""
    i, j = t // kw, t % kw
    return ((i * dh) % sh) * sw + (j * dw) % sw, ((i * dh) // sh) * Wq + (j * dw) // sw


@njit(cache=True, nogil=True)
def _split(src, phases, pt, pl, sh, sw, Hq, Wq):
    """The plane ``src`` (H, W), padded by pt/pl, into its zero-bordered phase buffers."""
    H, W = src.shape
    for r in range(H):
        hq, ph = divmod(r + pt, sh)
        if hq >= Hq:
            break
        for pw in range(sw):
            q0 = (pw - pl) % sw         # the first input column of phase pw
            wq0 = (q0 + pl) // sw
            m = min((W - q0 + sw - 1) // sw, Wq - wq0)
            if m <= 0:
                continue
            base = hq * Wq + wq0
            dst = phases[ph * sw + pw, base:base + m]
            cells = src[r, q0::sw]
            for k in range(m):
                dst[k] = cells[k]


@njit(cache=True, nogil=True)
def _merge(phases, dst, pt, pl, sh, sw, Hq, Wq):
    """Inverse of _split for gradients: the input's cells, padding dropped; cells that no
    window reads get 0."""
    H, W = dst.shape
    for r in range(H):
        hq, ph = divmod(r + pt, sh)
        if hq >= Hq:
            dst[r] = 0
            continue
        for pw in range(sw):
            q0 = (pw - pl) % sw
            wq0 = (q0 + pl) // sw
            n = (W - q0 + sw - 1) // sw
            m = max(0, min(n, Wq - wq0))
            cells = dst[r, q0::sw]
            base = hq * Wq + wq0
            src = phases[ph * sw + pw, base:base + m]
            for k in range(m):
                cells[k] = src[k]
            for k in range(m, n):
                cells[k] = 0


@njit(cache=True, nogil=True)
def depthwise_forward(x, w, scale, bias, y, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl, lo, hi):
    """y[:, c0:c1] of the depthwise conv of ``x`` (N, C, H, W); ``w`` (C, kh*kw); times
    ``scale`` (C,) (ones for none) plus ``bias`` (C,) (zeros for none); ``pt``/``pl`` the
    top/left padding; then clamped to [lo, hi]
    (+-inf: no clamp) in the pass that copies the rows out: ReLU6 of an inference
    block costs no pass of its own."""
    N, _, H, W = x.shape
    Ho, Wo = y.shape[2], y.shape[3]
    Hq, Wq, size = _grid(H, W, Ho, Wo, kh, kw, sh, sw, dh, dw)
    phases = np.zeros((sh * sw, size), x.dtype)
    L = Ho * Wq
    acc = np.empty(L, x.dtype)
    for n in range(N):
        for c in range(c0, c1):
            _split(x[n, c], phases, pt, pl, sh, sw, Hq, Wq)
            acc[:] = 0
            if kw == 3:  # one pass per kernel row: acc read and written a third as often
                for i in range(kh):
                    t = i * 3
                    p0, o0 = _tap(t, kw, sh, sw, dh, dw, Wq)
                    p1, o1 = _tap(t + 1, kw, sh, sw, dh, dw, Wq)
                    p2, o2 = _tap(t + 2, kw, sh, sw, dh, dw, Wq)
                    _axpy3(acc, w[c, t], phases[p0, o0:o0 + L], w[c, t + 1],
                           phases[p1, o1:o1 + L], w[c, t + 2], phases[p2, o2:o2 + L])
            else:
                for t in range(kh * kw):
                    p, off = _tap(t, kw, sh, sw, dh, dw, Wq)
                    _axpy(acc, w[c, t], phases[p, off:off + L])
            out = y[n, c]
            s, b = scale[c], bias[c]
            for oh in range(Ho):
                row, src = out[oh], acc[oh * Wq:oh * Wq + Wo]
                for k in range(Wo):
                    row[k] = min(max(src[k] * s + b, lo), hi)


@njit(cache=True, nogil=True)
def depthwise_backward(gy, x, w, dx, dwt, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl):
    """dx[:, c0:c1] (when dx is not empty) and dwt[c0:c1] (C, kh*kw; when dwt is not
    empty) of the depthwise conv, from dY ``gy`` (N, C, Ho, Wo)."""
    N, Ho, Wo = gy.shape[0], gy.shape[2], gy.shape[3]
    need_x, need_w = dx.shape[0] > 0, dwt.shape[0] > 0
    H, W = (dx.shape[2], dx.shape[3]) if need_x else (x.shape[2], x.shape[3])
    Hq, Wq, size = _grid(H, W, Ho, Wo, kh, kw, sh, sw, dh, dw)
    T, L = kh * kw, Ho * Wq
    phases = np.zeros((sh * sw, size), gy.dtype)
    dphases = np.empty((sh * sw, size), gy.dtype)
    gg = np.zeros(L, gy.dtype)      # dY on the grid: the junk columns stay 0
    lanes = np.empty((T, L), gy.dtype)
    for c in range(c0, c1):
        lanes[:, :] = 0
        for n in range(N):
            g = gy[n, c]
            for oh in range(Ho):
                gg[oh * Wq:oh * Wq + Wo] = g[oh]
            if need_w:
                _split(x[n, c], phases, pt, pl, sh, sw, Hq, Wq)
            if need_x:
                dphases[:, :] = 0
            for t in range(T):
                p, off = _tap(t, kw, sh, sw, dh, dw, Wq)
                if need_x:
                    _axpy(dphases[p, off:off + L], w[c, t], gg)
                if need_w:
                    _fma(lanes[t], gg, phases[p, off:off + L])
            if need_x:
                _merge(dphases, dx[n, c], pt, pl, sh, sw, Hq, Wq)
        if need_w:
            for t in range(T):
                total = 0.0
                for k in range(L):
                    total += lanes[t, k]
                dwt[c, t] = total
