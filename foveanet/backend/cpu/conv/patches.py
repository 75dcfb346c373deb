"""Patch-major im2col for convolutions on small feature maps: one row per output pixel.

``gemm`` builds cols channel-major, ``(C*kh*kw, N*Ho*Wo)``; every run of its strided copy
is one output row, ``Wo`` numbers long. On a 7x7 or 14x14 map those runs are 28 to 56 bytes
and the copy is all loop overhead. Here the input is padded channels-last, ``(N, Hp, Wp, C)``,
so that for one output pixel and one kernel row the ``kw`` taps of all ``C`` channels are
``kw*C`` consecutive numbers (768 bytes for 64 channels): cols are ``(N*Ho*Wo, kh*kw*C)`` and

    Y^T  = cols @ W_r^T                  W_r[o, (i, j, c)] = W[o, c, i, j]
    dW_r = dY_cn @ cols                  dY_cn: dY channel-major, (Co, N*Ho*Wo)
    dX   = the same conv of dY with the flipped kernel (stride 1), else gemm's col2im

The weight is only ever rearranged within each output channel's own (C, kh, kw) block,
never transposed as a whole: a whole-array transpose to (kh*kw*C, Co) walks W with a
stride of C*kh*kw numbers and took 3.6 ms for ResNet-18's 512x512x3x3 weight, against
0.6 ms for ``w_rows`` and 1.3 ms for that layer's whole GEMM at batch 1 (1 thread). Even
so, where the weight outweighs the cols, ``route.patches`` leaves the conv to ``gemm``,
and it keeps the convs with long rows and few channels there too.
Sub-batches and tasks as in ``gemm``; one group only.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv.gemm import (
    ConvGeom, add_into, adjoint_geom, batch_chunks, conv_data, nchw_copy, to_cn, w_matrix,
)

def pad_nhwc(x: np.ndarray, g: ConvGeom) -> np.ndarray:
    """NCHW -> channels-last ``(N, Hp, Wp, C)`` with zero borders, in one copy."""
    t, b, l, r = g.pads
    out = np.empty((g.N, g.Hp, g.Wp, g.C), dtype=x.dtype)
    out[:, :t] = 0
    out[:, g.Hp - b:] = 0
    out[:, :, :l] = 0
    out[:, :, g.Wp - r:] = 0
    out[:, t:t + g.H, l:l + g.W] = x.transpose(0, 2, 3, 1)
    return out


def patches(xpad: np.ndarray, g: ConvGeom) -> np.ndarray:
    """``(N, Hp, Wp, C)`` -> ``cols (N*Ho*Wo, kh*kw*C)``, ``cols[(n, h, w), (i, j, c)] =
    xpad[n, h*sh + i*dh, w*sw + j*dw, c]``: a strided view, one copy."""
    sN, sH, sW, sC = xpad.strides
    view = as_strided(xpad, (g.N, g.Ho, g.Wo, g.kh, g.kw, g.C),
                      (sN, sH * g.sh, sW * g.sw, sH * g.dh, sW * g.dw, sC), writeable=False)
    return np.ascontiguousarray(view).reshape(g.N * g.Ho * g.Wo, g.kh * g.kw * g.C)


def w_rows(w4: np.ndarray) -> np.ndarray:
    """``(Co, C, kh, kw)`` -> ``(Co, kh*kw*C)``, each row in the order of ``patches``' columns."""
    Co, C, kh, kw = w4.shape
    return np.ascontiguousarray(w4.reshape(Co, C, kh * kw).transpose(0, 2, 1)).reshape(Co, -1)


def w_adjoint(w4: np.ndarray) -> np.ndarray:
    """The flipped-kernel conv's ``(kh*kw*Co, C)``: ``[(i, j, o), c] = W[o, c, kh-1-i, kw-1-j]``
    (c runs along W's own rows: a local rearrangement too)."""
    Co, C, kh, kw = w4.shape
    return np.ascontiguousarray(w4[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)).reshape(kh * kw * Co, C)


def _to_nchw(yt: np.ndarray, g: ConvGeom, bias=None, out=None) -> np.ndarray:
    """``(N*Ho*Wo, Co)`` -> NCHW (into ``out``); the bias add rides on the copy."""
    return nchw_copy(yt.reshape(g.N, g.Ho, g.Wo, g.Co).transpose(0, 3, 1, 2), bias, out)


def gemm_nchw(cols: np.ndarray, wr: np.ndarray, g: ConvGeom, bias=None, out=None) -> np.ndarray:
    """``cols @ W_r^T`` as NCHW (``W_r^T`` is a view: BLAS reads it transposed)."""
    return _to_nchw(cols @ wr.T, g, bias, out)


def conv_forward(x: np.ndarray, w4: np.ndarray, g: ConvGeom, bias=None):
    """(y NCHW, what backward needs for dW): the cols when the batch is one chunk, else x."""
    wr = w_rows(w4)
    chunks = batch_chunks(g, x.dtype.itemsize)
    if len(chunks) == 1:
        cols = patches(pad_nhwc(x, g), g)
        return gemm_nchw(cols, wr, g, bias), cols
    y = np.empty((g.N, g.Co, g.Ho, g.Wo), dtype=x.dtype)

    def job(chunk):
        n0, n1 = chunk
        gc = g.with_batch(n1 - n0)
        gemm_nchw(patches(pad_nhwc(x[n0:n1], gc), gc), wr, gc, bias, out=y[n0:n1])

    threads.each(chunks, job)
    return y, x


def conv_backward(gy: np.ndarray, kept, w4, g: ConvGeom, need_x: bool, need_w: bool):
    """(dX NCHW, dW (Co, C, kh, kw)) from NCHW ``gy``; ``kept`` from conv_forward (for dW),
    ``w4`` the weight (for dX)."""
    ga = adjoint_geom(g) if need_x else None
    w_adj = w_adjoint(w4) if ga is not None else None
    wm = w_matrix(w4, 1) if need_x and ga is None else None

    def data_grad(gy_part, gc, out):
        if ga is None:  # strided: gemm's GEMM + col2im
            return conv_data(gy_part, wm, gc, out=out)
        gac = ga.with_batch(gc.N)
        return _to_nchw(patches(pad_nhwc(gy_part, gac), gac) @ w_adj, gac, out=out)

    def weight_grad(gy_part, cols):
        return to_cn(gy_part) @ cols

    chunks = batch_chunks(g, gy.dtype.itemsize)
    if need_w and kept.ndim == 2 or len(chunks) == 1:
        dx = data_grad(gy, g, None) if need_x else None
        dw = None
        if need_w:
            cols = kept if kept.ndim == 2 else patches(pad_nhwc(kept, g), g)
            dw = weight_grad(gy, cols)
        return dx, _w_from_rows(dw, g)
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=gy.dtype) if need_x else None

    def job(chunk):
        n0, n1 = chunk
        gc = g.with_batch(n1 - n0)
        if need_x:
            data_grad(gy[n0:n1], gc, dx[n0:n1])
        if need_w:
            return weight_grad(gy[n0:n1], patches(pad_nhwc(kept[n0:n1], gc), gc))

    if not need_w:
        threads.each(chunks, job)
        return dx, None
    return dx, _w_from_rows(threads.each(chunks, job, fold=add_into), g)


def _w_from_rows(dw, g: ConvGeom):
    """``(Co, kh*kw*C)`` -> ``(Co, C, kh, kw)``, per output channel like ``w_rows``."""
    if dw is None:
        return None
    return np.ascontiguousarray(dw.reshape(g.Co, g.kh * g.kw, g.C).transpose(0, 2, 1)).reshape(
        g.Co, g.C, g.kh, g.kw)
