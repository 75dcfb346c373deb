"""1-d, stride-1 convolutions over many channels (text CNNs) as k row GEMMs, no im2col.

Text CNNs have C ~ 300 embedding channels, L ~ 500 tokens, k = 2..8. With the sequence
stored as rows (N*Lp, C), tap j of every output row r is input row r + j*d, a contiguous
block, so y = sum_j X[jd : jd+R] @ W_j^T: k plain GEMMs and no im2col copy (k times the
input). Rows that straddle two sequences are computed and dropped: d(k-1) per sequence.
"""
from __future__ import annotations

import numpy as np

from foveanet.geometry import ConvGeom


def to_rows(x: np.ndarray, g: ConvGeom) -> np.ndarray:
    """(N, C, 1, L) -> zero-padded rows (N*Lp, C)."""
    l = g.pads[2]
    out = np.zeros((g.N, g.Wp, g.C), dtype=x.dtype)
    out[:, l:l + g.W] = x.reshape(g.N, g.C, g.W).transpose(0, 2, 1)
    return out.reshape(g.N * g.Wp, g.C)


def rows_forward(xr: np.ndarray, w: np.ndarray, g: ConvGeom, bias=None) -> np.ndarray:
    R = g.N * g.Wp - g.dw * (g.kw - 1)
    # (k, C, Co): each tap a contiguous matrix, else matmul leaves BLAS for a slow loop
    wt = np.ascontiguousarray(w.reshape(g.Co, g.C, g.kw).transpose(2, 1, 0))
    y = np.empty((g.N * g.Wp, g.Co), dtype=xr.dtype)
    np.matmul(xr[:R], wt[0], out=y[:R])
    for j in range(1, g.kw):
        y[:R] += xr[j * g.dw:j * g.dw + R] @ wt[j]
    yt = y.reshape(g.N, g.Wp, g.Co)[:, :g.Wo].transpose(0, 2, 1)
    out = np.empty((g.N, g.Co, 1, g.Wo), dtype=xr.dtype)
    if bias is None:
        np.copyto(out[:, :, 0], yt)
    else:
        np.add(yt, bias.reshape(1, -1, 1), out=out[:, :, 0])
    return out


def rows_backward(gy: np.ndarray, xr, w, g: ConvGeom, need_x: bool, need_w: bool):
    """dW[:, :, j] = dY_rows^T @ X[jd : jd+R];  dX[jd : jd+R] += dY_rows @ W_j."""
    R = g.N * g.Wp - g.dw * (g.kw - 1)
    gr = np.zeros((g.N, g.Wp, g.Co), dtype=gy.dtype)
    gr[:, :g.Wo] = gy.reshape(g.N, g.Co, g.Wo).transpose(0, 2, 1)
    gr = gr.reshape(-1, g.Co)[:R]
    dx = dw = None
    if need_w:
        dwt = np.empty((g.kw, g.Co, g.C), dtype=gy.dtype)
        for j in range(g.kw):
            np.matmul(gr.T, xr[j * g.dw:j * g.dw + R], out=dwt[j])
        dw = dwt.transpose(1, 2, 0)
    if need_x:
        wt = np.ascontiguousarray(w.reshape(g.Co, g.C, g.kw).transpose(2, 0, 1))
        dxr = np.zeros((g.N * g.Wp, g.C), dtype=gy.dtype)
        for j in range(g.kw):
            dxr[j * g.dw:j * g.dw + R] += gr @ wt[j]
        l = g.pads[2]
        dx = np.ascontiguousarray(dxr.reshape(g.N, g.Wp, g.C)[:, l:l + g.W].transpose(0, 2, 1))
    return dx, dw
