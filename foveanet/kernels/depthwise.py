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
dW sums each tap's products per image in vector partial sums, then the images in float64. A call covers the channels
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
    """The plane ``src`` (H, W), padded by pt/pl, into its zero-bordered phase buffers.

    The copies (here, in _merge and in backward's layout of dY) index the arrays
    themselves: a slice per row cost as much again as the copy (dY of 3x3 128 @28 b16,
    1.6 M numbers: 1.1 ms with a slice per row, 0.6 ms indexed)."""
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
            base, row = hq * Wq + wq0, ph * sw + pw
            for k in range(m):
                phases[row, base + k] = src[r, q0 + k * sw]


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
            base, row = hq * Wq + wq0, ph * sw + pw
            for k in range(m):
                dst[r, q0 + k * sw] = phases[row, base + k]
            for k in range(m, n):
                dst[r, q0 + k * sw] = 0


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


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dot(a, b, zero):
    """sum(a * b) in vector partial sums (``zero``: a 0 of the arrays' dtype)."""
    total = zero
    for k in range(a.shape[0]):
        total += a[k] * b[k]
    return total


@njit(cache=True, nogil=True)
def depthwise_backward(gy, x, w, dx, dwt, c0, c1, kh, kw, sh, sw, dh, dw, pt, pl):
    """dx[:, c0:c1] (when dx is not empty) and dwt[c0:c1] (C, kh*kw; when dwt is not
    empty) of the depthwise conv, from dY ``gy`` (N, C, Ho, Wo).

    dW is one dot product per tap and image, summed over the batch in float64 (a pass
    of multiply-adds into per-tap lanes read and wrote twice as much: 3x3 128 @28 b16 dW
    6.2 -> 2.9 ms, one thread). At stride 1 with three taps a row, dX gathers each cell's
    three taps of a kernel row in one pass (``_axpy3``) from dY laid out with zeros
    before it, instead of scattering tap by tap: the same adds in the same order (4.4 ->
    2.5 ms there); other geometries scatter."""
    N, Ho, Wo = gy.shape[0], gy.shape[2], gy.shape[3]
    need_x, need_w = dx.shape[0] > 0, dwt.shape[0] > 0
    H, W = (dx.shape[2], dx.shape[3]) if need_x else (x.shape[2], x.shape[3])
    Hq, Wq, size = _grid(H, W, Ho, Wo, kh, kw, sh, sw, dh, dw)
    T, L = kh * kw, Ho * Wq
    gather = sh == 1 and sw == 1 and kw == 3
    front = (kh - 1) * dh * Wq + (kw - 1) * dw if gather else 0
    phases = np.zeros((sh * sw, size), gy.dtype)
    dphases = np.empty((sh * sw, size), gy.dtype)
    gext = np.zeros(front + max(L, size), gy.dtype)
    gg = gext[front:front + L]      # dY on the grid: the junk columns stay 0
    zero = np.zeros(1, gy.dtype)[0]
    totals = np.empty(T)
    for c in range(c0, c1):
        totals[:] = 0
        for n in range(N):
            for oh in range(Ho):
                base = front + oh * Wq
                for k in range(Wo):
                    gext[base + k] = gy[n, c, oh, k]
            if need_w:
                _split(x[n, c], phases, pt, pl, sh, sw, Hq, Wq)
                for t in range(T):
                    p, off = _tap(t, kw, sh, sw, dh, dw, Wq)
                    totals[t] += _dot(gg, phases[p, off:off + L], zero)
            if not need_x:
                continue
            if gather:  # dphase[q] = sum_t w[t] * gg[q - off(t)], a kernel row at a time
                d = dphases[0]
                d[:] = 0
                for i in range(kh):
                    b0 = front - i * dh * Wq
                    t = i * 3
                    _axpy3(d, w[c, t], gext[b0:b0 + size], w[c, t + 1],
                           gext[b0 - dw:b0 - dw + size], w[c, t + 2],
                           gext[b0 - 2 * dw:b0 - 2 * dw + size])
            else:
                dphases[:, :] = 0
                for t in range(T):
                    p, off = _tap(t, kw, sh, sw, dh, dw, Wq)
                    _axpy(dphases[p, off:off + L], w[c, t], gg)
            _merge(dphases, dx[n, c], pt, pl, sh, sw, Hq, Wq)
        if need_w:
            for t in range(T):
                dwt[c, t] = totals[t]
