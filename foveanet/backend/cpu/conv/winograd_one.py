"""One image at inference through Winograd F(2x2, 3x3), cut into bands of tile rows.

The math is ``winograd.py``'s; here each band is one task that runs, on its own memory and
without the GIL but for the GEMM's call,

    V_band = winograd_input(x)                 (16, C, tiles of the band)   compiled
    M_band = U @ V_band                        16 GEMMs (Co, C) @ (C, tiles)
    y rows = winograd_output(M_band)           with the epilogue (scale, shift, residual,
                                               clamp) as each output is written      compiled

so one parallel region per conv, as in ``single.py``'s bands, for 16/36 of im2col's
multiply-adds and no cols copy. ``route.winograd_one`` says where it runs, with the
measurements.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import route
from foveanet.backend.cpu.conv.winograd import weight_u
from foveanet.geometry import ConvGeom

_NO_RESIDUAL = np.zeros((1, 1, 1), dtype=np.float32)


def forward(x: np.ndarray, w4: np.ndarray, g: ConvGeom, compiled, bias=None, scale=None,
            clamp=None, residual=None) -> np.ndarray:
    """``clamp(conv(x, w) * scale[o] + bias[o] + residual)`` for one NCHW image (3x3,
    stride 1, one group; each term optional), on the threads in bands of tile rows."""
    dt = x.dtype
    th, tw = route.winograd_tiles(g)
    u = weight_u(w4)
    y = np.empty((1, g.Co, g.Ho, g.Wo), dtype=dt)
    xi = np.ascontiguousarray(x[0])
    s = np.ones(g.Co, dt) if scale is None else np.ascontiguousarray(scale, dt)
    b = np.zeros(g.Co, dt) if bias is None else np.ascontiguousarray(bias, dt)
    lo, hi = (dt.type(v) for v in ((-np.inf, np.inf) if clamp is None else clamp))
    res = _NO_RESIDUAL.astype(dt) if residual is None else np.ascontiguousarray(residual[0], dt)
    step = -(-th // route.winograd_one_bands(g, threads.workers()))

    def band(i0):
        i1 = min(i0 + step, th)
        v = np.empty((16, g.C, (i1 - i0) * tw), dtype=dt)
        compiled.winograd_input(xi, g.pads[0], g.pads[2], i0, i1, tw, v)
        m = np.matmul(u, v)
        compiled.winograd_output(m, i0, i1, tw, s, b, res, residual is not None, lo, hi, y[0])

    threads.each(range(0, th, step), band)
    return y
