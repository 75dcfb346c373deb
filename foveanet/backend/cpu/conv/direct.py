"""The direct-conv engine: ``foveanet.kernels.direct``'s compiled loops run on batch blocks
(one per worker), for one-group stride-1 layers with few input taps per output (route.py
says which: LeNet-5's first layer, a grayscale image's first 3x3). No cols buffer: the
forward keeps only the input for dW. Where ``kernels/route.py`` says so, the forward or the
backward (dX and dW) runs batch-last instead (``foveanet.kernels.direct_batch``), on blocks of
at most DIRECT_BATCH_MAX_IMAGES images.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend.cpu import threads
from foveanet.geometry import ConvGeom
from foveanet.kernels import route


def _blocks(g: ConvGeom, batch_last: bool) -> list:
    """Image ranges: one per worker where the work is worth the hand-over
    (``route.direct_split``), and none larger than DIRECT_BATCH_MAX_IMAGES for the
    batch-last kernels."""
    count = threads.workers() if route.direct_split(g) else 1
    if batch_last:
        count = max(count, -(-g.N // route.DIRECT_BATCH_MAX_IMAGES))
    n = -(-g.N // count)
    return [(n0, min(n0 + n, g.N)) for n0 in range(0, g.N, n)]


def forward(x: np.ndarray, w: np.ndarray, g: ConvGeom, bias, compiled, clamp=None) -> np.ndarray:
    """y (N, Co, Ho, Wo) of the conv of NCHW ``x`` with ``w`` (Co, C, kh, kw) + ``bias``,
    clamped to ``clamp`` = (lo, hi) (an inference layer's ReLU or ReLU6) as it is written."""
    x, w = np.ascontiguousarray(x), np.ascontiguousarray(w)
    b = np.zeros(g.Co, x.dtype) if bias is None else np.ascontiguousarray(bias, x.dtype)
    y = np.empty((g.N, g.Co, g.Ho, g.Wo), dtype=x.dtype)
    lo, hi = (x.dtype.type(v) for v in ((-np.inf, np.inf) if clamp is None else clamp))
    batch_last = route.direct_batch(g)
    kernel = compiled.direct_batch_forward if batch_last else compiled.direct_forward
    threads.each(_blocks(g, batch_last), lambda blk: kernel(
        x, w, b, y, blk[0], blk[1], g.dh, g.dw, g.pads[0], g.pads[2], lo, hi))
    return y


def grads(gy: np.ndarray, x, w, g: ConvGeom, need_x: bool, need_w: bool, compiled):
    """(dX, dW) of ``forward``; each batch block adds into its own dW, and the blocks'
    are summed in block order."""
    gy, w = np.ascontiguousarray(gy), np.ascontiguousarray(w)
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=gy.dtype) if need_x else None
    none4 = np.empty((0, 0, 0, 0), gy.dtype)
    xs = np.ascontiguousarray(x) if need_w else none4
    batch_last = route.direct_batch(g)
    kernel = compiled.direct_batch_backward if batch_last else compiled.direct_backward

    def job(blk):
        dwt = np.zeros(w.shape, gy.dtype) if need_w else none4
        kernel(gy, xs, w, none4 if dx is None else dx, dwt, blk[0], blk[1],
               g.dh, g.dw, g.pads[0], g.pads[2])
        return dwt

    dw = threads.each(_blocks(g, batch_last), job, fold=_add_into)
    return dx, (dw if need_w else None)


def _add_into(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    total += part
    return total
