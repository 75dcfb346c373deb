"""1-d, stride-1 convolutions over many channels (text CNNs) as k row GEMMs, no im2col.

Text CNNs have C ~ 300 embedding channels, L ~ 500 tokens, k = 2..8. With the sequence
stored as rows (N*Lp, C), tap j of every output row r is input row r + j*d, a contiguous
block, so y = sum_j X[jd : jd+R] @ W_j^T: k plain GEMMs and no im2col copy (k times the
input). An embedding's output seen transposed, (N, L, C) as (N, C, L), already is those
rows, unpadded: then nothing is copied in, and dX goes back in that layout.

The work is cut into sequences (forward, dX) or groups of sequences (dW), each a task on
foveanet's threads with BLAS at one thread, so a sequence's k partial products add up in a
buffer that stays in cache, and its transposed copy into (Co, Lo) comes from cache too.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend.cpu import threads
from foveanet.geometry import ConvGeom

# Rows of dY and X per dW task (whole sequences): fewer rows make thinner GEMMs (K), more
# leave fewer tasks to share out, one group leaves a thread idle. conv1d C300 -> 128 on an
# embedding's (32, 500, 300) output seen transposed, fwd+bwd, 2 threads, chrt -f 1, wall ms
# median of 7 (torch in brackets), load 3.7-4.7, 1024 / 2048 / 4096 / 8192 / all rows:
# k2 25.2 / 24.6 / 24.8 / 25.1 / 40.0 (29-30); k8 80.1 / 83.7 / 87.9 / 88.0 / 144 (78-96).
DW_GROUP_ROWS = 2048

# Sequences shorter than this (an SE block's 1x1 maps are one-row sequences) run as one GEMM
# over the whole batch: a task per sequence would hand BLAS single rows (gemv), which costs a
# call per sample and sums in another order than the GEMM every other engine uses (the
# MobileNetV3 eval comparison with torch at 1e-4 relative failed by 2% of the tolerance).
SHORT_SEQUENCE = 16


def to_rows(x: np.ndarray, g: ConvGeom) -> np.ndarray:
    """(N, C, 1, L) -> rows (N*Lp, C): a view of an unpadded input whose memory is already
    (N, L, C), else a zero-padded copy."""
    if g.Wp == g.W:
        v = x.reshape(g.N, g.C, g.W).transpose(0, 2, 1)
        if v.flags.c_contiguous:
            return v.reshape(g.N * g.W, g.C)
    l = g.pads[2]
    out = np.zeros((g.N, g.Wp, g.C), dtype=x.dtype)
    out[:, l:l + g.W] = x.reshape(g.N, g.C, g.W).transpose(0, 2, 1)
    return out.reshape(g.N * g.Wp, g.C)


def _taps(rows, wt, g: ConvGeom, out=None):
    """sum_j rows[jd : jd + Lo] @ wt[j] for one sequence's rows (Lp, C): (Lo, Co)."""
    lo, d = rows.shape[0] - g.dw * (g.kw - 1), g.dw
    y = np.matmul(rows[:lo], wt[0], out=out)
    if g.kw > 1:
        t = np.empty_like(y)
        for j in range(1, g.kw):
            y += np.matmul(rows[j * d:j * d + lo], wt[j], out=t)
    return y


def rows_forward(xr: np.ndarray, w: np.ndarray, g: ConvGeom, bias=None) -> np.ndarray:
    # (k, C, Co): each tap a contiguous matrix, else matmul leaves BLAS for a slow loop
    wt = np.ascontiguousarray(w.reshape(g.Co, g.C, g.kw).transpose(2, 1, 0))
    out = np.empty((g.N, g.Co, 1, g.Wo), dtype=xr.dtype)
    b = None if bias is None else bias.reshape(-1, 1)

    if g.Wp < SHORT_SEQUENCE:
        y = np.empty((g.N * g.Wp, g.Co), dtype=xr.dtype)
        R = g.N * g.Wp - g.dw * (g.kw - 1)  # the last rows read past no sequence
        _taps(xr, wt, g, out=y[:R])
        yt = y.reshape(g.N, g.Wp, g.Co)[:, :g.Wo].transpose(0, 2, 1)
        if b is None:
            out[:, :, 0] = yt
        else:
            np.add(yt, b, out=out[:, :, 0])
        return out

    def sequence(n):
        y = _taps(xr[n * g.Wp:(n + 1) * g.Wp], wt, g)[:g.Wo].T
        if b is None:
            out[n, :, 0] = y
        else:
            np.add(y, b, out=out[n, :, 0])

    threads.each(range(g.N), sequence)
    return out


def rows_backward(gy: np.ndarray, xr, w, g: ConvGeom, need_x: bool, need_w: bool):
    """dW[:, :, j] = dY_rows^T @ X[jd : jd+R];  dX[jd : jd+R] += dY_rows @ W_j."""
    N, Wp, Wo, d, k = g.N, g.Wp, g.Wo, g.dw, g.kw
    gy3 = gy.reshape(N, g.Co, Wo)
    dx = dw = None
    if need_w:
        per = max(1, min(N, DW_GROUP_ROWS // Wp))

        def group(n0):
            n1 = min(N, n0 + per)
            gr = np.zeros((n1 - n0, Wp, g.Co), dtype=gy.dtype)
            gr[:, :Wo] = gy3[n0:n1].transpose(0, 2, 1)
            R = (n1 - n0) * Wp - d * (k - 1)  # the last rows read past no sequence
            gt = gr.reshape(-1, g.Co)[:R].T
            part = np.empty((k, g.Co, g.C), dtype=gy.dtype)
            for j in range(k):
                np.matmul(gt, xr[n0 * Wp + j * d:n0 * Wp + j * d + R], out=part[j])
            return part

        dw = (threads.each(range(0, N, per), group, fold=np.add) if N
              else np.zeros((k, g.Co, g.C), dtype=gy.dtype)).transpose(1, 2, 0)
    if need_x:
        wt = np.ascontiguousarray(w.reshape(g.Co, g.C, k).transpose(2, 0, 1))  # (k, Co, C)
        l = g.pads[2]
        same = Wp == g.W  # dX as rows (N, L, C), seen as (N, C, L)
        if same and k == 1 and Wp < SHORT_SEQUENCE:  # 1x1 maps: one GEMM over the batch
            gr = np.ascontiguousarray(gy3.transpose(0, 2, 1)).reshape(N * Wo, g.Co)
            return (gr @ wt[0]).reshape(N, g.W, g.C).transpose(0, 2, 1), dw
        dxr = np.empty((N, g.W, g.C) if same else (N, g.C, g.W), dtype=gy.dtype)

        def sequence(n):
            gs = np.ascontiguousarray(gy3[n].T)      # (Lo, Co)
            rows = dxr[n] if same else np.empty((Wp, g.C), dtype=gy.dtype)
            np.matmul(gs, wt[0], out=rows[:Wo])
            rows[Wo:] = 0
            t = np.empty((Wo, g.C), dtype=gy.dtype)
            for j in range(1, k):
                rows[j * d:j * d + Wo] += np.matmul(gs, wt[j], out=t)
            if not same:
                dxr[n] = rows[l:l + g.W].T

        threads.each(range(N), sequence)
        dx = dxr.transpose(0, 2, 1) if same else dxr
    return dx, dw
