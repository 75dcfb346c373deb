"""Winograd F(2x2, 3x3) transforms for one image at inference, in pieces a thread runs.

``backend/cpu/conv/winograd.py`` states the math (``Y = A^T [(G g G^T) * (B^T d B)] A`` per
2x2 output tile ``Y`` and the 4x4 input patch ``d`` under it) and runs it with NumPy passes
over whole planes. These kernels make each transform one pass that a thread runs on its
own band of tile rows (or block of output channels) without the GIL, the output's epilogue
included:

    winograd_weight:  U[(a, b), o, c] = (G w[o, c] G^T)[a, b]
    winograd_input:   V[(a, b), c, p] = (B^T d_{c,p} B)[a, b]
    winograd_output:  y[o, 2i + r, 2j + s] = clamp((A^T M_{o,p} A)[r, s] * scale[o]
                                                   + shift[o] + residual[o, 2i + r, 2j + s])

with p = (i - i0) * tw + j the tile's column in the band (tile rows i0 <= i < i1, tw tiles
across) and the rows/columns of the patch beyond the zero-padded input read as 0.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["winograd_input", "winograd_output", "winograd_weight"]


@njit(cache=True, nogil=True)
def winograd_input(x, pt, pl, i0, i1, tw, v):
    """``x`` (C, H, W), padded by ``pt`` rows on top and ``pl`` columns on the left ->
    ``v`` (16, C, (i1 - i0) * tw): B^T d B of every tile in tile rows [i0, i1).

    d B along each padded input row first (columns 2j..2j+3 of a tile: e0 - e1, o0 + e1,
    e1 - o0, o0 - o1 with e/o the even/odd columns), once per row although two tile rows
    share it, then B^T along the rows (d0 - d2, d1 + d2, d2 - d1, d1 - d3): every inner
    loop runs over the tiles of a row at unit stride (what LLVM vectorises). Rows and the
    four outputs of d B are views, copied and written at indices counted from 0: indexed
    from ``q0`` into 3-D arrays the loops stayed scalar (one image, one thread, median ms:
    64 @56 0.50 -> 0.37, 128 @28 0.36 -> 0.28, 256 @14 0.26 -> 0.24, AMD EPYC)."""
    C, H, W = x.shape
    wb = 2 * tw + 2
    nr = 2 * (i1 - i0) + 2               # the padded rows the band reads
    row = np.zeros(wb, dtype=x.dtype)
    db = np.empty((nr, 4, tw), dtype=x.dtype)
    q0 = max(0, pl)                      # the first buffer column holding an input column
    q1 = min(wb, W + pl)                 # one past the last
    for c in range(C):
        for k in range(nr):
            r = 2 * i0 - pt + k
            if 0 <= r < H:
                src, dst = x[c, r, q0 - pl:q1 - pl], row[q0:q1]
                for q in range(q1 - q0):
                    dst[q] = src[q]
            else:
                row[:] = 0
            b0, b1, b2, b3 = db[k, 0], db[k, 1], db[k, 2], db[k, 3]
            for j in range(tw):
                e0, o0, e1, o1 = row[2 * j], row[2 * j + 1], row[2 * j + 2], row[2 * j + 3]
                b0[j] = e0 - e1
                b1[j] = o0 + e1
                b2[j] = e1 - o0
                b3[j] = o0 - o1
        for i in range(i0, i1):
            k = 2 * (i - i0)
            p0 = (i - i0) * tw
            for b in range(4):
                d0, d1, d2, d3 = db[k, b], db[k + 1, b], db[k + 2, b], db[k + 3, b]
                v0, v1 = v[b, c, p0:p0 + tw], v[4 + b, c, p0:p0 + tw]
                v2, v3 = v[8 + b, c, p0:p0 + tw], v[12 + b, c, p0:p0 + tw]
                for j in range(tw):
                    v0[j] = d0[j] - d2[j]
                    v1[j] = d1[j] + d2[j]
                    v2[j] = d2[j] - d1[j]
                    v3[j] = d1[j] - d3[j]


@njit(cache=True, nogil=True)
def winograd_output(m, i0, i1, tw, scale, shift, residual, has_residual, lo, hi, y):
    """``m`` (16, Co, (i1 - i0) * tw) -> the output rows [2 i0, 2 i1) of ``y`` (Co, Ho, Wo):
    A^T M A per tile (A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]), times ``scale[o]``, plus
    ``shift[o]`` and (with ``has_residual``) ``residual`` (y's shape), clamped to [lo, hi].

    M A along the columns of every tile of a row at once, A^T along the rows into one output
    row, then the epilogue over that row: unit-stride inner loops."""
    Co, Ho, Wo = y.shape
    ma = np.empty((4, 2, tw), dtype=m.dtype)
    out = np.empty(2 * tw, dtype=m.dtype)
    for o in range(Co):
        sc, sh = scale[o], shift[o]
        for i in range(i0, i1):
            p0 = (i - i0) * tw
            for a in range(4):
                m0, m1 = m[4 * a, o, p0:p0 + tw], m[4 * a + 1, o, p0:p0 + tw]
                m2, m3 = m[4 * a + 2, o, p0:p0 + tw], m[4 * a + 3, o, p0:p0 + tw]
                s0, s1 = ma[a, 0], ma[a, 1]
                for j in range(tw):
                    s0[j] = m0[j] + m1[j] + m2[j]
                    s1[j] = m1[j] - m2[j] - m3[j]
            for r in range(2):
                row = 2 * i + r
                if row >= Ho:
                    break
                for cs in range(2):
                    t0, t1, t2, t3 = ma[0, cs], ma[1, cs], ma[2, cs], ma[3, cs]
                    if r == 0:
                        for j in range(tw):
                            out[2 * j + cs] = t0[j] + t1[j] + t2[j]
                    else:
                        for j in range(tw):
                            out[2 * j + cs] = t1[j] - t2[j] - t3[j]
                dst = y[o, row]
                if has_residual:
                    res = residual[o, row]
                    for q in range(Wo):
                        dst[q] = min(max(out[q] * sc + sh + res[q], lo), hi)
                else:
                    for q in range(Wo):
                        dst[q] = min(max(out[q] * sc + sh, lo), hi)


@njit(cache=True, nogil=True)
def winograd_weight(w, o0, o1, u):
    """``w`` (Co, C, 3, 3) -> ``u`` (16, o1 - o0, C): U[(a, b), o - o0, c] = (G w[o, c] G^T)[a, b]
    for the output channels [o0, o1), G = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2],
    [0, 0, 1]] (w G^T along each kernel row, then G along the columns).

    One output channel's 16 rows go to a small buffer first: written straight into ``u``
    the 16 stores of a (o, c) are C*Co numbers apart, a power of two in every ResNet layer,
    so they land in one cache set (512x512: 12.6 ms against 2.6 ms for NumPy's GEMM)."""
    C = w.shape[1]
    wf = w.reshape(w.shape[0], C * 9)
    dst = np.empty((16, C), dtype=u.dtype)
    for o in range(o0, o1):
        src = wf[o]
        for c in range(C):
            k = 9 * c
            for b in range(4):
                # column b of (w G^T): rows i = 0, 1, 2
                if b == 0:
                    r0, r1, r2 = src[k], src[k + 3], src[k + 6]
                elif b == 3:
                    r0, r1, r2 = src[k + 2], src[k + 5], src[k + 8]
                elif b == 1:
                    r0 = (src[k] + src[k + 1] + src[k + 2]) * 0.5
                    r1 = (src[k + 3] + src[k + 4] + src[k + 5]) * 0.5
                    r2 = (src[k + 6] + src[k + 7] + src[k + 8]) * 0.5
                else:
                    r0 = (src[k] - src[k + 1] + src[k + 2]) * 0.5
                    r1 = (src[k + 3] - src[k + 4] + src[k + 5]) * 0.5
                    r2 = (src[k + 6] - src[k + 7] + src[k + 8]) * 0.5
                dst[b, c] = r0
                dst[4 + b, c] = (r0 + r1 + r2) * 0.5
                dst[8 + b, c] = (r0 - r1 + r2) * 0.5
                dst[12 + b, c] = r2
        u[:, o - o0, :] = dst
