"""Patch-major im2col for convolutions on small feature maps: one row per output pixel.

``_im2col`` builds cols channel-major, ``(C*kh*kw, N*Ho*Wo)``; every run of its strided copy
is one output row, ``Wo`` numbers long. On a 7x7 or 14x14 map those runs are 28 to 56 bytes
and the copy is all loop overhead. Here the input is padded channels-last, ``(N, Hp, Wp, C)``,
so that for one output pixel and one kernel row the ``kw`` taps of all ``C`` channels are
``kw*C`` consecutive numbers (768 bytes for 64 channels): cols are ``(N*Ho*Wo, kh*kw*C)`` and

    Y^T  = cols @ W_pm                   W_pm[(i, j, c), o] = W[o, c, i, j]
    dW_pm = cols^T @ dY^T                dY^T: dY channels-last, (N*Ho*Wo, Co)
    dX   = the same conv of dY with the flipped kernel (stride 1), else _im2col's col2im

Min of 20, 1 thread, SkylakeX kernels, forward (dW) against _im2col: 32->32 @28 b8
1.07 -> 0.86 ms (1.03 -> 0.91), 64->64 @14 b16 1.70 -> 1.24 (1.70 -> 1.32), 128->128 @7
b32 3.38 -> 2.25 (3.26 -> 2.28); but 64->64 @56 b1 1.32 -> 1.37 and 12->12 @64 b2 0.26 ->
0.44, where rows are long and channels few: those stay on _im2col (see ``applies``).
Sub-batches and tasks as in _im2col; one group only.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from foveanet.backend import parallel
from foveanet.functional._im2col import (
    Geom, add_into, adjoint_geom, batch_chunks, conv_data, nchw_copy, to_cn, w_matrix,
)

MAX_WIDTH = 28
MIN_CHANNELS = 16


def applies(g: Geom) -> bool:
    return g.G == 1 and g.Wo <= MAX_WIDTH and g.C >= MIN_CHANNELS and g.kh * g.kw > 1


def pad_nhwc(x: np.ndarray, g: Geom) -> np.ndarray:
    """NCHW -> channels-last ``(N, Hp, Wp, C)`` with zero borders, in one copy."""
    t, b, l, r = g.pads
    out = np.empty((g.N, g.Hp, g.Wp, g.C), dtype=x.dtype)
    out[:, :t] = 0
    out[:, g.Hp - b:] = 0
    out[:, :, :l] = 0
    out[:, :, g.Wp - r:] = 0
    out[:, t:t + g.H, l:l + g.W] = x.transpose(0, 2, 3, 1)
    return out


def patches(xp: np.ndarray, g: Geom) -> np.ndarray:
    """``(N, Hp, Wp, C)`` -> ``cols (N*Ho*Wo, kh*kw*C)``, ``cols[(n, h, w), (i, j, c)] =
    xp[n, h*sh + i*dh, w*sw + j*dw, c]``: a strided view, one copy."""
    sN, sH, sW, sC = xp.strides
    view = as_strided(xp, (g.N, g.Ho, g.Wo, g.kh, g.kw, g.C),
                      (sN, sH * g.sh, sW * g.sw, sH * g.dh, sW * g.dw, sC), writeable=False)
    return np.ascontiguousarray(view).reshape(g.N * g.Ho * g.Wo, g.kh * g.kw * g.C)


def w_patch_major(w4: np.ndarray) -> np.ndarray:
    """``(Co, C, kh, kw)`` -> ``(kh*kw*C, Co)``, rows in the order of ``patches``' columns."""
    Co, C, kh, kw = w4.shape
    return np.ascontiguousarray(w4.transpose(2, 3, 1, 0)).reshape(kh * kw * C, Co)


def _to_nchw(yt: np.ndarray, g: Geom, bias=None, out=None) -> np.ndarray:
    """``(N*Ho*Wo, Co)`` -> NCHW (into ``out``); the bias add rides on the copy."""
    return nchw_copy(yt.reshape(g.N, g.Ho, g.Wo, g.Co).transpose(0, 3, 1, 2), bias, out)


def conv_forward(x: np.ndarray, w4: np.ndarray, g: Geom, bias=None):
    """(y NCHW, what backward needs for dW): the cols when the batch is one chunk, else x."""
    wp = w_patch_major(w4)
    chunks = batch_chunks(g, x.dtype.itemsize)
    if len(chunks) == 1:
        cols = patches(pad_nhwc(x, g), g)
        return _to_nchw(cols @ wp, g, bias), cols
    y = np.empty((g.N, g.Co, g.Ho, g.Wo), dtype=x.dtype)

    def job(chunk):
        n0, n1 = chunk
        gc = g.with_batch(n1 - n0)
        _to_nchw(patches(pad_nhwc(x[n0:n1], gc), gc) @ wp, gc, bias, out=y[n0:n1])

    parallel.each(chunks, job)
    return y, x


def conv_backward(gy: np.ndarray, kept, w4, g: Geom, need_x: bool, need_w: bool):
    """(dX NCHW, dW (Co, C, kh, kw)) from NCHW ``gy``; ``kept`` from conv_forward (for dW),
    ``w4`` the weight (for dX)."""
    ga = adjoint_geom(g) if need_x else None
    w_adj = w_patch_major(w4[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)) if ga is not None else None
    wm = w_matrix(w4, 1) if need_x and ga is None else None

    def data_grad(gy_part, gc, out):
        if ga is None:  # strided: _im2col's GEMM + col2im
            return conv_data(to_cn(gy_part), wm, gc, out=out)
        gac = ga.with_batch(gc.N)
        return _to_nchw(patches(pad_nhwc(gy_part, gac), gac) @ w_adj, gac, out=out)

    def weight_grad(gy_part, cols):
        return cols.T @ np.ascontiguousarray(gy_part.transpose(0, 2, 3, 1)).reshape(-1, g.Co)

    chunks = batch_chunks(g, gy.dtype.itemsize)
    if need_w and kept.ndim == 2 or len(chunks) == 1:
        dx = data_grad(gy, g, None) if need_x else None
        dw = None
        if need_w:
            cols = kept if kept.ndim == 2 else patches(pad_nhwc(kept, g), g)
            dw = weight_grad(gy, cols)
        return dx, _w_from_patch_major(dw, g)
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=gy.dtype) if need_x else None

    def job(chunk):
        n0, n1 = chunk
        gc = g.with_batch(n1 - n0)
        if need_x:
            data_grad(gy[n0:n1], gc, dx[n0:n1])
        if need_w:
            return weight_grad(gy[n0:n1], patches(pad_nhwc(kept[n0:n1], gc), gc))

    if not need_w:
        parallel.each(chunks, job)
        return dx, None
    return dx, _w_from_patch_major(parallel.each(chunks, job, fold=add_into), g)


def _w_from_patch_major(dw, g: Geom):
    if dw is None:
        return None
    return np.ascontiguousarray(dw.reshape(g.kh, g.kw, g.C, g.Co).transpose(3, 2, 0, 1))
