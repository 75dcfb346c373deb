"""The two convolution shapes that skip im2col: depthwise (one input channel per output
channel) and 1-d stride-1 convs over many channels (text CNNs). Both share ``Geom`` with
the GEMM engine in ``_im2col``."""
from __future__ import annotations

import numpy as np

from foveanet.backend import parallel
from foveanet.functional._im2col import Geom


# ------------------------------------------------------------------ depthwise (C/G == 1)
# One input channel per output channel: im2col would copy kh*kw times the input to feed
# C GEMMs of a single row each. Summing kh*kw shifted, per-channel scaled views of the
# padded input needs no cols buffer and measured faster (benchmarks/bench_conv.py, case e).


def pad_nchw(x: np.ndarray, g: Geom) -> np.ndarray:
    t, b, l, r = g.pads
    if not (t or b or l or r):
        return x
    out = np.zeros((g.N, g.C, g.Hp, g.Wp), dtype=x.dtype)
    out[:, :, t:t + g.H, l:l + g.W] = x
    return out


def _tap(xp: np.ndarray, g: Geom, i: int, j: int) -> np.ndarray:
    h0, w0 = i * g.dh, j * g.dw
    return xp[:, :, h0:h0 + g.sh * (g.Ho - 1) + 1:g.sh, w0:w0 + g.sw * (g.Wo - 1) + 1:g.sw]


def depthwise_forward(xp: np.ndarray, w: np.ndarray, g: Geom, bias=None) -> np.ndarray:
    """y[n, c] = b[c] + sum_{i,j} w[c, 0, i, j] * xp[n, c, h*s + i*d, w*s + j*d]."""
    taps = w.reshape(1, g.C, g.kh * g.kw, 1, 1)
    y = np.empty((g.N, g.C, g.Ho, g.Wo), dtype=xp.dtype)
    np.multiply(_tap(xp, g, 0, 0), taps[:, :, 0], out=y)
    tmp = np.empty_like(y)
    for t in range(1, g.kh * g.kw):
        np.multiply(_tap(xp, g, *divmod(t, g.kw)), taps[:, :, t], out=tmp)
        y += tmp
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def depthwise_backward(gy: np.ndarray, xp, w, g: Geom, need_x: bool, need_w: bool):
    """dW[c, 0, i, j] = sum_{n,h,w} dY * x_tap(i, j);  dX_pad[tap(i, j)] += w[c, i, j] * dY."""
    T = g.kh * g.kw
    dxp = np.zeros((g.N, g.C, g.Hp, g.Wp), dtype=gy.dtype) if need_x else None
    dw = np.empty((g.C, T), dtype=gy.dtype) if need_w else None
    taps = w.reshape(1, g.C, T, 1, 1) if need_x else None  # w is not kept when dX is not needed
    tmp = np.empty_like(gy)
    for t in range(T):
        i, j = divmod(t, g.kw)
        if need_w:
            dw[:, t] = np.einsum("nchw,nchw->c", gy, _tap(xp, g, i, j))
        if need_x:
            np.multiply(gy, taps[:, :, t], out=tmp)
            _tap(dxp, g, i, j)[...] += tmp
    if need_x:
        t, l = g.pads[0], g.pads[2]
        dxp = np.ascontiguousarray(dxp[:, :, t:t + g.H, l:l + g.W])
    return dxp, (dw.reshape(g.C, 1, g.kh, g.kw) if need_w else None)


# Channel blocks: every tap re-reads the input and re-writes the output, so the kh*kw
# passes run on blocks of channels that stay in cache (about BLOCK_BYTES of padded input),
# and the blocks are parallel tasks. 3x3, 128 channels @28 b16 fwd+bwd, min of 7, one
# thread: whole 26.5 ms -> blocks 19.2 ms.
BLOCK_BYTES = 1 << 20


def _channel_blocks(g: Geom, itemsize: int) -> list:
    n = max(1, BLOCK_BYTES // max(1, g.N * g.Hp * g.Wp * itemsize))
    n = min(n, -(-g.C // parallel.workers()))
    return [(c0, min(c0 + n, g.C)) for c0 in range(0, g.C, n)]


def _block_geom(g: Geom, c: int) -> Geom:
    return Geom(g.N, c, g.H, g.W, c, c, g.kh, g.kw, (g.sh, g.sw), (g.dh, g.dw), g.pads,
                g.Ho, g.Wo)


def depthwise(x: np.ndarray, w: np.ndarray, g: Geom, bias=None) -> np.ndarray:
    """Depthwise conv of NCHW ``x`` in channel blocks (backward needs ``x`` and ``w``)."""
    y = np.empty((g.N, g.C, g.Ho, g.Wo), dtype=x.dtype)

    def job(block):
        c0, c1 = block
        gc = _block_geom(g, c1 - c0)
        b = None if bias is None else bias[c0:c1]
        y[:, c0:c1] = depthwise_forward(pad_nchw(x[:, c0:c1], gc), w[c0:c1], gc, b)

    parallel.each(_channel_blocks(g, x.dtype.itemsize), job)
    return y


def depthwise_grads(gy: np.ndarray, x, w, g: Geom, need_x: bool, need_w: bool):
    """(dX, dW) of :func:`depthwise` in the same channel blocks."""
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=gy.dtype) if need_x else None
    dw = np.empty((g.C, 1, g.kh, g.kw), dtype=gy.dtype) if need_w else None

    def job(block):
        c0, c1 = block
        gc = _block_geom(g, c1 - c0)
        xp = pad_nchw(x[:, c0:c1], gc) if need_w else None
        bx, bw = depthwise_backward(gy[:, c0:c1], xp, None if w is None else w[c0:c1], gc,
                                    need_x, need_w)
        if need_x:
            dx[:, c0:c1] = bx
        if need_w:
            dw[c0:c1] = bw

    parallel.each(_channel_blocks(g, gy.dtype.itemsize), job)
    return dx, dw


# ------------------------------------------------------------ 1-d, stride 1, one group
# Text CNNs (C ~ 300 embedding channels, L ~ 500 tokens, k = 2..8): with the sequence stored
# as rows (N*Lp, C), tap j of every output row r is input row r + j*d, a contiguous block.
# So y = sum_j X[jd : jd+R] @ W_j^T: k plain GEMMs and no im2col copy (k times the input).
# Rows that straddle two sequences are computed and dropped: d(k-1) per sequence.


def to_rows(x: np.ndarray, g: Geom) -> np.ndarray:
    """(N, C, 1, L) -> zero-padded rows (N*Lp, C)."""
    l = g.pads[2]
    out = np.zeros((g.N, g.Wp, g.C), dtype=x.dtype)
    out[:, l:l + g.W] = x.reshape(g.N, g.C, g.W).transpose(0, 2, 1)
    return out.reshape(g.N * g.Wp, g.C)


def rows_forward(xr: np.ndarray, w: np.ndarray, g: Geom, bias=None) -> np.ndarray:
    R = g.N * g.Wp - g.dw * (g.kw - 1)
    parallel.release_blas()  # these GEMMs run outside tasks, on BLAS's threads
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


def rows_backward(gy: np.ndarray, xr, w, g: Geom, need_x: bool, need_w: bool):
    """dW[:, :, j] = dY_rows^T @ X[jd : jd+R];  dX[jd : jd+R] += dY_rows @ W_j."""
    parallel.release_blas()
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
