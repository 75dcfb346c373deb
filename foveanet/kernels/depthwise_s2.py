"""3x3 depthwise convolution at stride 2 with padding 1 (MobileNet's downsampling layers),
on the input's four stride phases, each as wide as the output.

    y[n, c, h, w]  = b[c] + sum_{i,j} w[c, 3i+j] * x[n, c, 2h + i - 1, 2w + j - 1]   (0 outside)
    dX[n, c, r, q] = sum of w[c, 3i+j] * dY[n, c, h, w] over 2h + i - 1 = r, 2w + j - 1 = q
    dW[c, 3i+j]    = sum_{n,h,w} dY[n, c, h, w] * x[n, c, 2h + i - 1, 2w + j - 1]

Row 2h + i - 1 is row h + ro(i) of phase pr(i): (pr, ro) = (1, -1), (0, 0), (1, 0) for
i = 0, 1, 2, and the same for columns. Phase (pr, pc) holds x[pr::2, pc::2] in rows of Wo
numbers (zero where the phase has a column fewer), so, as in ``depthwise_flat.py``, tap
(i, j) is one offset into a flat buffer and the nine taps are one pass over the Ho*Wo
outputs; the taps with ro or co = -1 read past a row's start into the row above, where a
copy of the phase with its last column zeroed gives 0 (six buffers a plane: phase rows
pr = 0, 1 times the three tap columns). dW is the nine sums over the same buffers; dX
gathers each of its four phases from dY (its taps in the order t of the NumPy engine)
and writes the phases' cells back in place. Products fused into their adds as in
``depthwise_flat.py``.
"""
from __future__ import annotations

import numpy as np
from numba import njit

from foveanet.kernels.depthwise_flat import _dots9, _gather9, _stack, _stacked, _unstack

__all__ = ["depthwise_s2_forward", "depthwise_s2_backward"]

_ABOVE = 2  # zero rows before a buffer's data: reads at row -1, and -2 past a row's start


# Rows at least this wide are split into their phases through a view of each row, whose
# stride-2 loop the compiler vectorises; narrower rows stay indexed, where a view's set-up
# costs more than it saves. The phase split of every plane of (8, C, W, W) float32 with
# 8*C*W*W ~ 2.4M, one thread, median ms, indexed / views: W 4 3.4-4.8 / 4.3-6.1; 8 1.9 /
# 1.9; 14 1.65 / 1.27; 16 1.5 / 1.8; 28 1.45-1.57 / 1.35-1.51; 56 1.36-1.60 / 0.72-0.74;
# 112 1.40-1.58 / 0.46-0.53 (AMD EPYC)
_VIEW_MIN_WIDTH = 48


@njit(cache=True, nogil=True)
def _fill(src, bufs, at, H, W, Wo):
    """bufs[3*pr + j] = phase (pr, pc(j)) of the plane ``src`` (H*W flat) from row _ABOVE
    of the block at ``at``, pc = 1, 0, 1 for j = 0, 1, 2; buffer j = 0's last column
    stays 0. Rows narrower than _VIEW_MIN_WIDTH are indexed, not sliced (MobileNetV2
    @64's 576 @4 s2 b32 fwd+bwd, one thread, 9.5 -> 3.9 ms)."""
    m = W // 2
    for pr in range(2):
        b0, b1, b2 = bufs[3 * pr], bufs[3 * pr + 1], bufs[3 * pr + 2]
        for hq in range((H - pr + 1) // 2):
            r = (2 * hq + pr) * W
            base = at + (_ABOVE + hq) * Wo
            if W >= _VIEW_MIN_WIDTH:
                s = src[r:r + 2 * m]
                d0, d1, d2 = b0[base:base + m], b1[base:base + m], b2[base:base + m]
                for q in range(m):
                    e, o = s[2 * q], s[2 * q + 1]
                    d1[q] = e
                    d2[q] = o
                    d0[q] = o
            else:
                for q in range(m):
                    e, o = src[r + 2 * q], src[r + 2 * q + 1]
                    b1[base + q] = e
                    b2[base + q] = o
                    b0[base + q] = o
            if W % 2:
                b1[base + m] = src[r + W - 1]
            else:
                b0[base + m - 1] = 0


@njit(cache=True, nogil=True)
def _offsets(Wo):
    """Tap t's buffer and its offset there: rows and columns (pr, ro) = (1, -1), (0, 0),
    (1, 0) for i, j = 0, 1, 2."""
    buf, off = np.empty(9, np.int64), np.empty(9, np.int64)
    for t in range(9):
        i, j = divmod(t, 3)
        pr, ro = (1, -1) if i == 0 else ((0, 0) if i == 1 else (1, 0))
        co = -1 if j == 0 else 0
        buf[t] = 3 * pr + j
        off[t] = (_ABOVE + ro) * Wo + co
    return buf, off


@njit(cache=True, nogil=True)
def _gather(bufs, bi, o, v, d, s, bb, lo, hi):
    """d = the nine-tap gather, tap t from buffer bi[t] at offset o[t]."""
    n = d.shape[0]
    _gather9(d, bufs[bi[0], o[0]:o[0] + n], bufs[bi[1], o[1]:o[1] + n],
             bufs[bi[2], o[2]:o[2] + n], bufs[bi[3], o[3]:o[3] + n],
             bufs[bi[4], o[4]:o[4] + n], bufs[bi[5], o[5]:o[5] + n],
             bufs[bi[6], o[6]:o[6] + n], bufs[bi[7], o[7]:o[7] + n],
             bufs[bi[8], o[8]:o[8] + n], v, s, bb, lo, hi)


@njit(cache=True, nogil=True)
def depthwise_s2_forward(x, w, scale, bias, y, c0, c1, H, W, lo, hi):
    """y[:, c0:c1] (N, C, Ho*Wo) of the conv of ``x`` (N, C, H*W); ``w`` (C, 9); times
    ``scale`` (C,) plus ``bias`` (C,), clamped to [lo, hi] in the same pass. Small planes
    of one channel are stacked, a block of their zero rows each, as in ``depthwise_flat``
    (576 @4 b32 fwd+bwd, one thread: 13.4 ms a plane a pass, torch 1.6)."""
    N = x.shape[0]
    Ho, Wo = (H + 1) // 2, (W + 1) // 2
    n = Ho * Wo
    P = (_ABOVE + Ho + 2) * Wo
    S = _stack(N, P)
    bufs = np.zeros((6, S * P), x.dtype)
    d = np.empty(S * P, x.dtype)
    bi, o = _offsets(Wo)
    for c in range(c0, c1):
        for n0 in range(0, N, S):
            m = min(S, N - n0)
            for k in range(m):
                _fill(x[n0 + k, c], bufs, k * P, H, W, Wo)
            if S == 1:
                _gather(bufs, bi, o, w[c], y[n0, c], scale[c], bias[c], lo, hi)
                continue
            _gather(bufs, bi, o, w[c], d[:(m - 1) * P + n], scale[c], bias[c], lo, hi)
            _unstack(d, y, n0, m, c, P, n)


@njit(cache=True, nogil=True, fastmath={"contract"})
def _axpy(d, v, a, first):
    """d = v*a (``first``) or d += v*a."""
    if first:
        for k in range(d.shape[0]):
            d[k] = v * a[k]
    else:
        for k in range(d.shape[0]):
            d[k] = d[k] + v * a[k]


@njit(cache=True, nogil=True)
def _input_grad(gy, n0, S, c, gb, Pg, d, wc, dx, H, W, Ho, Wo):
    """dx[n0:n0+S, c] (H*W flat planes) from dY ``gy[n0:n0+S, c]`` (Ho*Wo), a block of
    Pg numbers an image: dY in gb[1] from the block's row 1 and again in gb[0] with its
    first column zeroed (the taps at column offset +1 read past a row's end into the next
    row's first cell); the two column phases of a phase row gathered into d[0] and d[1],
    then written to their cells in one interleaved pass."""
    for k in range(S):
        g, at = gy[n0 + k, c], k * Pg + Wo
        b0, b1 = gb[0, at:at + Ho * Wo], gb[1, at:at + Ho * Wo]
        for q in range(Ho * Wo):
            b0[q] = g[q]
            b1[q] = g[q]
        for r in range(Ho):
            b0[r * Wo] = 0
    m = W // 2
    for pr in range(2):
        rows = (H - pr + 1) // 2
        n = (S - 1) * Pg + rows * Wo
        for pc in range(2):
            first = True
            for i in range(3):
                if (i != 1) != (pr == 1):
                    continue
                dr = 1 if i == 0 else 0      # the phase's row hq reads dY's row hq - ro
                for j in range(3):
                    if (j != 1) != (pc == 1):
                        continue
                    b = 0 if j == 0 else 1
                    o = (1 + dr) * Wo + (1 if j == 0 else 0)
                    _axpy(d[pc, :n], wc[3 * i + j], gb[b, o:o + n], first)
                    first = False
        e, o = d[0], d[1]
        for k in range(S):
            out = dx[n0 + k, c]
            for hq in range(rows):
                r, at = (2 * hq + pr) * W, k * Pg + hq * Wo
                if W >= _VIEW_MIN_WIDTH:   # as in _fill
                    row, er, orow = out[r:r + 2 * m], e[at:at + m], o[at:at + m]
                    for q in range(m):
                        row[2 * q] = er[q]
                        row[2 * q + 1] = orow[q]
                else:
                    for q in range(m):
                        out[r + 2 * q] = e[at + q]
                        out[r + 2 * q + 1] = o[at + q]
                if W % 2:
                    out[r + W - 1] = e[at + m]


@njit(cache=True, nogil=True)
def depthwise_s2_backward(gy, x, w, dx, dwt, c0, c1, H, W):
    """dx[:, c0:c1] (N, C, H*W; when not empty) and dwt[c0:c1] (C, 9; when not empty)
    from dY ``gy`` (N, C, Ho*Wo)."""
    N = gy.shape[0]
    Ho, Wo = (H + 1) // 2, (W + 1) // 2
    n = Ho * Wo
    need_x, need_w = dx.shape[0] > 0, dwt.shape[0] > 0
    P, Pg = (_ABOVE + Ho + 2) * Wo, (Ho + 3) * Wo
    S = min(_stack(N, P), _stack(N, Pg))
    bufs = np.zeros((6, S * P), gy.dtype)
    gs = np.zeros(S * P, gy.dtype)       # dY stacked as x is (dW); its gaps stay 0
    gb = np.zeros((2, S * Pg), gy.dtype)
    d = np.empty((2, S * Pg), gy.dtype)
    bi, o = _offsets(Wo)
    zero = np.zeros(1, gy.dtype)[0]
    totals = np.empty(9)
    for c in range(c0, c1):
        totals[:] = 0
        for n0 in range(0, N, S):
            m = min(S, N - n0)
            if need_w:
                for k in range(m):
                    _fill(x[n0 + k, c], bufs, k * P, H, W, Wo)
                if S == 1:
                    g = gy[n0, c]
                else:
                    g = _stacked(gy, n0, m, c, gs, P, n)
                L = g.shape[0]
                p = _dots9(zero, g, bufs[bi[0], o[0]:o[0] + L], bufs[bi[1], o[1]:o[1] + L],
                           bufs[bi[2], o[2]:o[2] + L], bufs[bi[3], o[3]:o[3] + L],
                           bufs[bi[4], o[4]:o[4] + L], bufs[bi[5], o[5]:o[5] + L],
                           bufs[bi[6], o[6]:o[6] + L], bufs[bi[7], o[7]:o[7] + L],
                           bufs[bi[8], o[8]:o[8] + L])
                for t in range(9):
                    totals[t] += p[t]
            if need_x:
                _input_grad(gy, n0, m, c, gb, Pg, d, w[c], dx, H, W, Ho, Wo)
        if need_w:
            for t in range(9):
                dwt[c, t] = totals[t]
