"""3x3 depthwise convolution at stride 1 with the output as wide as the input (padding 1,
or d at dilation d): every tap one offset into the flat plane, all nine in one pass.

    y[n, c, h, w]  = b[c] + sum_t w[c, t] * x[n, c, h + ro(t), w + co(t)]     (0 outside)
    dX[n, c, r, q] = sum_t w[c, t] * dY[n, c, r - ro(t), q - co(t)]
    dW[c, t]       = sum_{n,h,w} dY[n, c, h, w] * x[n, c, h + ro(t), w + co(t)]
    with ro(t) = i*dh - pt and co(t) = j*dw - pl for the tap t = (i, j) = divmod(t, 3).

Forward and dX are the same gather: dst[h, w] = sum_t v[t] * src[h + R[t], w + Q[t]]
(dX: src = dY, R = -ro, Q = -co). A row of dst is as long as a row of src, so cell
k = h*W + w reads the flat src at k + R*W + Q: each tap is one contiguous stream over the
whole plane and the nine taps are one loop that the vector units run end to end, with no
junk columns and no copy out (``depthwise.py``'s grid kernel pays both, and a loop per
28-wide row leaves it to the scalar remainder). A read whose column falls off a row lands
in the neighbouring row, in columns that no window of that tap column reads otherwise:
one copy of the plane per tap column (three), with those columns zeroed and zero rows
above and below for the vertical padding, makes every such read 0 without a branch.

Forward and dX add the taps in order t = 0..8, as the NumPy engine does, each product
fused into its add (float64: NumPy's numbers to a few units in the last place); dW sums
the nine products of a plane in nine vector partial sums in one pass, then the images in
float64. Planes smaller than about a thousand numbers run several images of one channel
a pass (``_stack``).
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["depthwise_flat_forward", "depthwise_flat_backward"]


@njit(cache=True, nogil=True)
def _rows(Hs, Hd, rmin, rmax):
    """(rows above, buffer rows): zero rows before and after the Hs rows of src, enough
    for every read of Hd rows of dst at row offsets rmin..rmax, plus the row a read that
    falls off a row's end reaches."""
    above = max(0, -rmin) + 1
    below = max(0, Hd - 1 + rmax - (Hs - 1)) + 1
    return above, above + Hs + below


@njit(cache=True, nogil=True)
def _fill(src, bufs, front, W, q0, dq):
    """Copy the flat plane ``src`` into each tap column's buffer at ``front``, then zero
    the columns that column's taps reach only by falling off a row (tap column j reads
    at column offset q0 + j*dq)."""
    n = src.shape[0]
    for j in range(3):
        b = bufs[j, front:front + n]
        for k in range(n):
            b[k] = src[k]
        q = q0 + j * dq
        lo, hi = (W + q, W) if q < 0 else (0, q)
        for r in range(n // W):
            for k in range(r * W + lo, r * W + hi):
                b[k] = 0


@njit(cache=True, nogil=True, fastmath={"contract"})
def _gather9(d, a0, a1, a2, a3, a4, a5, a6, a7, a8, v, s, bb, lo, hi):
    """d = clamp((sum_t v[t] * a_t) * s + bb, lo, hi), the taps added in order, each
    product fused into its add (the pass is bound by the floating-point units: 3x3 128
    @28 b16, one thread, nine-tap passes 0.80 ms with a multiply and an add, 0.35 fused)."""
    v0, v1, v2, v3, v4, v5, v6, v7, v8 = v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]
    for k in range(d.shape[0]):
        u = v0 * a0[k]
        u = u + v1 * a1[k]
        u = u + v2 * a2[k]
        u = u + v3 * a3[k]
        u = u + v4 * a4[k]
        u = u + v5 * a5[k]
        u = u + v6 * a6[k]
        u = u + v7 * a7[k]
        u = u + v8 * a8[k]
        d[k] = min(max(u * s + bb, lo), hi)


@njit(cache=True, nogil=True)
def _offsets(front, W, R0, dR, Q0, dQ):
    """Tap (i, j)'s offset in its column buffer: front + (R0 + i*dR) * W + Q0 + j*dQ."""
    o = np.empty(9, np.int64)
    for t in range(9):
        i, j = divmod(t, 3)
        o[t] = front + (R0 + i * dR) * W + Q0 + j * dQ
    return o


@njit(cache=True, nogil=True)
def _gather(bufs, o, v, d, s, bb, lo, hi):
    """d = the nine-tap gather from the column buffers, tap t at offset o[t]."""
    n = d.shape[0]
    _gather9(d, bufs[0, o[0]:o[0] + n], bufs[1, o[1]:o[1] + n], bufs[2, o[2]:o[2] + n],
             bufs[0, o[3]:o[3] + n], bufs[1, o[4]:o[4] + n], bufs[2, o[5]:o[5] + n],
             bufs[0, o[6]:o[6] + n], bufs[1, o[7]:o[7] + n], bufs[2, o[8]:o[8] + n],
             v, s, bb, lo, hi)


@njit(cache=True, nogil=True)
def _stack(N, pitch):
    """How many images' planes of one channel a pass stacks, each in its own block of
    ``pitch`` numbers (its zero rows around it): a pass of up to _STACK numbers. Small
    planes cost their calls and loop set-up more than their arithmetic (MobileNetV2 @64's
    layers at b32, one thread, fwd+bwd, a plane a pass -> stacked (torch): 384 @4 8.8 ->
    2.8 ms (1.2-1.4), 192 @8 5.3 -> 2.7 (2.0)); 28x28 planes (896 numbers with their
    zero rows) pay the copy out more than they save (fwd 1.05 -> 1.5 ms at 4 a pass)."""
    return max(1, min(N, _STACK // pitch))


_STACK = 1024


@njit(cache=True, nogil=True)
def _stacked(planes, n0, m, c, buf, pitch, n):
    """planes[n0:n0+m, c] (their first n numbers) copied into blocks of ``pitch`` of
    ``buf``: one run that a stacked pass reads."""
    for k in range(m):
        src, dst = planes[n0 + k, c], buf[k * pitch:k * pitch + n]
        for q in range(n):
            dst[q] = src[q]
    return buf[:(m - 1) * pitch + n]


@njit(cache=True, nogil=True)
def _unstack(buf, planes, n0, m, c, pitch, n):
    """The inverse of ``_stacked``: each block of ``buf`` back to its plane."""
    for k in range(m):
        out, src = planes[n0 + k, c], buf[k * pitch:k * pitch + n]
        for q in range(n):
            out[q] = src[q]


@njit(cache=True, nogil=True)
def depthwise_flat_forward(x, w, scale, bias, y, c0, c1, H, W, dh, dw, pt, pl, lo, hi):
    """y[:, c0:c1] of the conv of ``x`` (N, C, H*W); ``y`` (N, C, Ho*W); ``w`` (C, 9);
    times ``scale`` (C,) plus ``bias`` (C,), clamped to [lo, hi] in the same pass.
    Stacked planes are gathered into ``d`` and copied out; a lone plane straight to y."""
    N, n_out = x.shape[0], y.shape[2]
    above, rows = _rows(H, n_out // W, -pt, 2 * dh - pt)
    P = rows * W
    S = _stack(N, P)
    bufs = np.zeros((3, S * P), x.dtype)
    d = np.empty(S * P, x.dtype)
    o = _offsets(above * W, W, -pt, dh, -pl, dw)
    for c in range(c0, c1):
        for n0 in range(0, N, S):
            m = min(S, N - n0)
            for k in range(m):
                _fill(x[n0 + k, c], bufs, k * P + above * W, W, -pl, dw)
            if S == 1:
                _gather(bufs, o, w[c], y[n0, c], scale[c], bias[c], lo, hi)
                continue
            _gather(bufs, o, w[c], d[:(m - 1) * P + n_out], scale[c], bias[c], lo, hi)
            _unstack(d, y, n0, m, c, P, n_out)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dots9(z, g, a0, a1, a2, a3, a4, a5, a6, a7, a8):
    """The nine sums of g * a_t in one pass, each in vector partial sums of g's dtype
    (``z``: a 0 of it; float64 partial sums halve the vector width)."""
    s0 = s1 = s2 = s3 = s4 = s5 = s6 = s7 = s8 = z
    for k in range(g.shape[0]):
        u = g[k]
        s0 += u * a0[k]
        s1 += u * a1[k]
        s2 += u * a2[k]
        s3 += u * a3[k]
        s4 += u * a4[k]
        s5 += u * a5[k]
        s6 += u * a6[k]
        s7 += u * a7[k]
        s8 += u * a8[k]
    return s0, s1, s2, s3, s4, s5, s6, s7, s8


@njit(cache=True, nogil=True)
def depthwise_flat_backward(gy, x, w, dx, dwt, c0, c1, H, W, dh, dw, pt, pl):
    """dx[:, c0:c1] (N, C, H*W; when not empty) and dwt[c0:c1] (C, 9; when not empty)
    from dY ``gy`` (N, C, Ho*W), small planes stacked as in the forward."""
    N, n_out, n_in = gy.shape[0], gy.shape[2], H * W
    Ho = n_out // W
    need_x, need_w = dx.shape[0] > 0, dwt.shape[0] > 0
    xa, xrows = _rows(H, Ho, -pt, 2 * dh - pt)
    ga, grows = _rows(Ho, H, pt - 2 * dh, pt)
    P, Pg = xrows * W, grows * W
    S = min(_stack(N, P), _stack(N, Pg))
    xb = np.zeros((3, S * P), gy.dtype)
    gs = np.zeros(S * P, gy.dtype)       # dY stacked as x is (dW); its gaps stay 0
    gb = np.zeros((3, S * Pg), gy.dtype)
    d = np.empty(S * Pg, gy.dtype)
    totals = np.empty(9)
    e = np.array([1.0, 0.0, -np.inf, np.inf]).astype(gy.dtype)
    one, zero, lo, hi = e[0], e[1], e[2], e[3]
    ox = _offsets(xa * W, W, -pt, dh, -pl, dw)
    og = _offsets(ga * W, W, pt, -dh, pl, -dw)
    for c in range(c0, c1):
        totals[:] = 0
        for n0 in range(0, N, S):
            m = min(S, N - n0)
            if need_w:
                for k in range(m):
                    _fill(x[n0 + k, c], xb, k * P + xa * W, W, -pl, dw)
                if S == 1:
                    g = gy[n0, c]
                else:
                    g = _stacked(gy, n0, m, c, gs, P, n_out)
                L = g.shape[0]
                p = _dots9(zero, g, xb[0, ox[0]:ox[0] + L], xb[1, ox[1]:ox[1] + L],
                           xb[2, ox[2]:ox[2] + L], xb[0, ox[3]:ox[3] + L],
                           xb[1, ox[4]:ox[4] + L], xb[2, ox[5]:ox[5] + L],
                           xb[0, ox[6]:ox[6] + L], xb[1, ox[7]:ox[7] + L],
                           xb[2, ox[8]:ox[8] + L])
                for t in range(9):
                    totals[t] += p[t]
            if need_x:
                for k in range(m):
                    _fill(gy[n0 + k, c], gb, k * Pg + ga * W, W, pl, -dw)
                if S == 1:
                    _gather(gb, og, w[c], dx[n0, c], one, zero, lo, hi)
                    continue
                _gather(gb, og, w[c], d[:(m - 1) * Pg + n_in], one, zero, lo, hi)
                _unstack(d, dx, n0, m, c, Pg, n_in)
        if need_w:
            for t in range(9):
                dwt[c, t] = totals[t]
