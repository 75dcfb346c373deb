"""One image at inference through Winograd F(2x2, 3x3), cut across the threads.

The math is ``winograd.py``'s (``M_ab = U_ab @ V_ab`` for the 16 positions (a, b), U the
transformed weight, V the transformed input tiles); the transforms here are compiled
kernels (``kernels/winograd.py``) that run on each task's own piece without the GIL, and the
output transform applies the epilogue (scale, shift, residual, clamp) as it writes. As in
``single.py`` the work is cut along the larger operand:

- *bands* of tile rows, where the tiles outnumber the output channels (56x56, 28x28 maps):
  U once, then each task transforms its band's input, runs the 16 GEMMs (Co, C) @ (C, band)
  and writes its output rows;
- *blocks* of output channels, where the weight is larger (14x14, 7x7 maps): V once, then
  each task transforms its channels' weights, runs the 16 GEMMs (block, C) @ (C, tiles) and
  writes its channels.

16/36 of im2col's multiply-adds, no cols copy, one parallel region per conv. A read-only
weight's U is made once and kept (``packed.py``); then blocks only slice it.
``route.winograd_one`` says where it runs, with the measurements.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import packed, route
from foveanet.backend.cpu.conv.winograd import weight_u
from foveanet.geometry import ConvGeom


def forward(x: np.ndarray, w4: np.ndarray, g: ConvGeom, compiled, bias=None, scale=None,
            clamp=None, residual=None) -> np.ndarray:
    """``clamp(conv(x, w) * scale[o] + bias[o] + residual)`` for one NCHW image (3x3,
    stride 1, one group; each term optional), on the threads as the module docstring says."""
    dt = x.dtype
    th, tw = route.winograd_tiles(g)
    y = np.empty((1, g.Co, g.Ho, g.Wo), dtype=dt)
    xi = np.ascontiguousarray(x[0])
    w = np.ascontiguousarray(w4, dtype=dt)
    s = np.ones(g.Co, dt) if scale is None else np.ascontiguousarray(scale, dt)
    b = np.zeros(g.Co, dt) if bias is None else np.ascontiguousarray(bias, dt)
    lo, hi = (dt.type(v) for v in ((-np.inf, np.inf) if clamp is None else clamp))
    res = None if residual is None else np.ascontiguousarray(residual[0], dt)
    none = np.zeros((1, 1, 1), dt)
    n = threads.workers()
    frozen = packed.read_only(w)
    if route.winograd_one_bands(g):
        # NumPy's GEMM with kron(G, G): 0.15 ms at 128x128, compiled 0.2
        u = packed.kept(w, "winograd_u", lambda: weight_u(w))
        step = -(-th // route.winograd_one_band_count(g, n, dt.itemsize))

        def band(i0):
            i1 = min(i0 + step, th)
            v = np.empty((16, g.C, (i1 - i0) * tw), dtype=dt)
            compiled.winograd_input(xi, g.pads[0], g.pads[2], i0, i1, tw, v)
            compiled.winograd_output(np.matmul(u, v), i0, i1, tw, s, b,
                                     none if res is None else res, res is not None, lo, hi, y[0])

        threads.each(range(0, th, step), band)
        return y
    v = np.empty((16, g.C, th * tw), dtype=dt)
    compiled.winograd_input(xi, g.pads[0], g.pads[2], 0, th, tw, v)
    step = route.winograd_one_block_rows(g, n)
    u_all = packed.kept(w, "winograd_u", lambda: weight_u(w)) if frozen else None

    def block(o0):
        o1 = min(o0 + step, g.Co)
        if u_all is not None:
            u = u_all[:, o0:o1]
        else:  # each task transforms its own channels' weights
            u = np.empty((16, o1 - o0, g.C), dtype=dt)
            compiled.winograd_weight(w, o0, o1, u)
        compiled.winograd_output(np.matmul(u, v), 0, th, tw, s[o0:o1], b[o0:o1],
                                 none if res is None else res[o0:o1], res is not None, lo, hi,
                                 y[0, o0:o1])

    threads.each(range(0, g.Co, step), block)
    return y
