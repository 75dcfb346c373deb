"""Winograd F(2x2, 3x3) transforms for one image at inference, over a band of tile rows.

``backend/cpu/conv/winograd.py`` states the math (``Y = A^T [(G g G^T) * (B^T d B)] A`` per
2x2 output tile ``Y`` and the 4x4 input patch ``d`` under it) and runs it with NumPy passes
over whole planes. These two kernels make each transform one pass that a thread runs on its
own band of tile rows without the GIL, the output's epilogue included:

    winograd_input:   V[(a, b), c, p] = (B^T d_{c,p} B)[a, b]
    winograd_output:  y[o, 2i + r, 2j + s] = clamp((A^T M_{o,p} A)[r, s] * scale[o]
                                                   + shift[o] + residual[o, 2i + r, 2j + s])

with p = (i - i0) * tw + j the tile's column in the band (tile rows i0 <= i < i1, tw tiles
across) and the rows/columns of the patch beyond the zero-padded input read as 0.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["winograd_input", "winograd_output"]


@njit(cache=True, nogil=True)
def winograd_input(x, pt, pl, i0, i1, tw, v):
    """``x`` (C, H, W), padded by ``pt`` rows on top and ``pl`` columns on the left ->
    ``v`` (16, C, (i1 - i0) * tw): B^T d B of every tile in tile rows [i0, i1).

    B^T d along the rows first (d0 - d2, d1 + d2, d2 - d1, d1 - d3 of the patch's four
    rows, as whole padded rows), then along the columns, two columns a tile."""
    C, H, W = x.shape
    wb = 2 * tw + 2
    rows = np.zeros((4, wb), dtype=x.dtype)
    t = np.empty((4, wb), dtype=x.dtype)
    q0 = max(0, pl)                      # the first buffer column holding an input column
    q1 = min(wb, W + pl)                 # one past the last
    for c in range(C):
        for i in range(i0, i1):
            for k in range(4):
                r = 2 * i - pt + k
                if 0 <= r < H:
                    for q in range(q0, q1):
                        rows[k, q] = x[c, r, q - pl]
                else:
                    for q in range(q0, q1):
                        rows[k, q] = 0
            for q in range(wb):
                d0, d1, d2, d3 = rows[0, q], rows[1, q], rows[2, q], rows[3, q]
                t[0, q] = d0 - d2
                t[1, q] = d1 + d2
                t[2, q] = d2 - d1
                t[3, q] = d1 - d3
            p0 = (i - i0) * tw
            for a in range(4):
                for j in range(tw):
                    e0, e1, e2, e3 = t[a, 2 * j], t[a, 2 * j + 1], t[a, 2 * j + 2], t[a, 2 * j + 3]
                    v[4 * a, c, p0 + j] = e0 - e2
                    v[4 * a + 1, c, p0 + j] = e1 + e2
                    v[4 * a + 2, c, p0 + j] = e2 - e1
                    v[4 * a + 3, c, p0 + j] = e1 - e3


@njit(cache=True, nogil=True)
def winograd_output(m, i0, i1, tw, scale, shift, residual, has_residual, lo, hi, y):
    """``m`` (16, Co, (i1 - i0) * tw) -> the output rows [2 i0, 2 i1) of ``y`` (Co, Ho, Wo):
    A^T M A per tile (A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]), times ``scale[o]``, plus
    ``shift[o]`` and (with ``has_residual``) ``residual`` (y's shape), clamped to [lo, hi]."""
    Co, Ho, Wo = y.shape
    s = np.empty((2, 4), dtype=m.dtype)
    for o in range(Co):
        sc, sh = scale[o], shift[o]
        for i in range(i0, i1):
            p0 = (i - i0) * tw
            for j in range(tw):
                p = p0 + j
                for a in range(4):
                    m0, m1, m2, m3 = m[4 * a, o, p], m[4 * a + 1, o, p], m[4 * a + 2, o, p], m[4 * a + 3, o, p]
                    s[0, a] = m0 + m1 + m2
                    s[1, a] = m1 - m2 - m3
                for cs in range(2):
                    col = 2 * j + cs
                    if col >= Wo:
                        break
                    top = s[cs, 0] + s[cs, 1] + s[cs, 2]
                    bottom = s[cs, 1] - s[cs, 2] - s[cs, 3]
                    for r in range(2):
                        row = 2 * i + r
                        if row >= Ho:
                            break
                        val = (top if r == 0 else bottom) * sc + sh
                        if has_residual:
                            val += residual[o, row, col]
                        y[o, row, col] = min(max(val, lo), hi)
