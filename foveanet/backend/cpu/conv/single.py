"""One image at inference: a convolution's GEMM cut across the threads, with the epilogue
(bias, eval batch norm's scale, a residual, a clamp) run on each piece while it is in cache.

``gemm`` and ``patches`` parallelise over batch chunks, and one image is one chunk: its
im2col copy and the epilogue passes ran on one thread and the GEMM was cut into 16-64-row
blocks of the weight, each of which packs the whole cols matrix again. Here the output
``Y (Co, Ho*Wo) = W (Co, K) @ cols (K, Ho*Wo)`` is cut along the operand that is larger:

- *bands* of output rows, where the cols outweigh the weight (early layers, large maps):
  each task copies the cols of its own rows (im2col of a band of the padded input), runs
  its GEMM into its own columns of Y, and applies the epilogue to them;
- *blocks* of output channels, where the weight is larger (late layers, 14x14 and 7x7
  maps): the cols are copied once, each task multiplies its rows of W and applies the
  epilogue to its rows of Y.

Either way no two tasks write the same memory, and each output number is one GEMM's dot
product in the same order as in the one-thread GEMM. ``route.single`` says where this runs,
with the measurements.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import route
from foveanet.backend.cpu.conv.gemm import pad_cn, row_stride
from foveanet.geometry import ConvGeom


def band_cols(xpad: np.ndarray, g: ConvGeom, h0: int, h1: int) -> np.ndarray:
    """The cols of output rows [h0, h1) of image 0: ``(C*kh*kw, (h1-h0)*Wo)`` from the padded
    channel-major ``(C, 1, Hp, Wp)`` input (gemm.im2col restricted to a band)."""
    sC, _, sH, sW = xpad.strides
    base = xpad[:, 0, h0 * g.sh:]
    nb = h1 - h0
    view = as_strided(base, (g.C, g.kh, g.kw, nb, g.Wo),
                      (sC, sH * g.dh, sW * g.dw, sH * g.sh, sW * g.sw), writeable=False)
    K, P = g.C * g.kh * g.kw, nb * g.Wo
    cols = np.empty((K, row_stride(P, xpad.itemsize)), dtype=xpad.dtype)[:, :P]
    np.copyto(cols.reshape(g.C, g.kh, g.kw, nb, g.Wo), view)
    return cols


def _epilogue(y, rows, scale, bias, residual, clamp) -> None:
    """In place on the 2-d piece ``y`` (its channels ``rows`` of Co): ``y * scale + bias +
    residual``, clamped; ``residual`` is the same piece of the residual input."""
    if scale is not None:
        y *= scale[rows, None]
    if bias is not None:
        y += bias[rows, None]
    if residual is not None:
        y += residual
    if clamp is not None:
        lo, hi = clamp
        if hi == np.inf:
            np.maximum(y, y.dtype.type(lo), out=y)
        else:
            np.clip(y, lo, hi, out=y)


def forward(x: np.ndarray, w4: np.ndarray, g: ConvGeom, bias=None, scale=None, clamp=None,
            residual=None) -> np.ndarray:
    """``clamp(conv(x, w) * scale[o] + bias[o] + residual)`` for one NCHW image (each term
    optional; ``residual`` NCHW of the output's shape), on the threads as the module
    docstring says."""
    y = np.empty((1, g.Co, g.Ho, g.Wo), dtype=x.dtype)
    ym = y.reshape(g.Co, g.Ho * g.Wo)
    rm = None if residual is None else residual.reshape(g.Co, g.Ho * g.Wo)
    wm = w4.reshape(g.Co, -1)
    xpad = pad_cn(x, g)
    n = threads.workers()
    if route.single_bands(g):
        count = route.single_band_count(g, n)
        step = -(-g.Ho // count)

        def band(h0):
            h1 = min(h0 + step, g.Ho)
            c0, c1 = h0 * g.Wo, h1 * g.Wo
            out = ym[:, c0:c1]
            np.matmul(wm, band_cols(xpad, g, h0, h1), out=out)
            _epilogue(out, slice(None), scale, bias, None if rm is None else rm[:, c0:c1], clamp)

        threads.each(range(0, g.Ho, step), band)
        return y
    cols = band_cols(xpad, g, 0, g.Ho)
    step = route.single_block_rows(g, n)

    def block(o0):
        rows = slice(o0, min(o0 + step, g.Co))
        out = ym[rows]
        np.matmul(wm[rows], cols, out=out)
        _epilogue(out, rows, scale, bias, None if rm is None else rm[rows], clamp)

    threads.each(range(0, g.Co, step), block)
    return y
