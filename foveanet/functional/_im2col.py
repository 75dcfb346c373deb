"""The GEMM engine behind every convolution: padding, im2col, col2im, and the three GEMMs.

Internal layout, chosen by measurement (benchmarks/bench_conv.py, see the commit message):
the padded input is stored channel-major, ``(C, N, Hp, Wp)``, so that im2col yields one
``(C*kh*kw, N*Ho*Wo)`` matrix and the whole batch is ONE GEMM ``W(Co, K) @ cols(K, N*P)``.
Against a per-sample NCHW GEMM it wins when the spatial size is small (LeNet), and against
an NHWC ``cols(N*P, K) @ W(K, Co)`` layout it copies less, because every run of the strided
copy keeps a contiguous inner row (``Wo`` with stride 1).

Everything here works on 4-d arrays; conv1d enters with H = 1.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided


class Geom:
    """Sizes of one convolution seen as the map  x (N, C, H, W) -> y (N, Co, Ho, Wo).

    For a transposed convolution the same object describes the *adjoint* direct conv:
    its ``x`` is the transposed conv's output and its ``y`` the transposed conv's input.
    """

    __slots__ = ("N", "C", "H", "W", "Co", "G", "kh", "kw", "sh", "sw", "dh", "dw",
                 "pads", "Hp", "Wp", "Ho", "Wo")

    def __init__(self, N, C, H, W, Co, G, kh, kw, stride, dilation, pads, Ho=None, Wo=None):
        self.N, self.C, self.H, self.W, self.Co, self.G = N, C, H, W, Co, G
        self.kh, self.kw = kh, kw
        self.sh, self.sw = stride
        self.dh, self.dw = dilation
        self.pads = pads  # (top, bottom, left, right)
        self.Hp = H + pads[0] + pads[1]
        self.Wp = W + pads[2] + pads[3]
        # floor((n + 2p - d(k-1) - 1) / s) + 1
        self.Ho = (self.Hp - self.dh * (kh - 1) - 1) // self.sh + 1 if Ho is None else Ho
        self.Wo = (self.Wp - self.dw * (kw - 1) - 1) // self.sw + 1 if Wo is None else Wo


def pad_cn(x: np.ndarray, g: Geom) -> np.ndarray:
    """NCHW ``x`` -> channel-major padded ``(C, N, Hp, Wp)``: one copy, only borders zeroed.

    Without padding the transposed view is returned as is: im2col reads it through strides.
    """
    t, b, l, r = g.pads
    xt = x.transpose(1, 0, 2, 3)
    if not (t or b or l or r):
        return xt
    out = np.empty((g.C, g.N, g.Hp, g.Wp), dtype=x.dtype)
    out[:, :, :t] = 0
    out[:, :, g.Hp - b:] = 0
    out[:, :, :, :l] = 0
    out[:, :, :, g.Wp - r:] = 0
    out[:, :, t:t + g.H, l:l + g.W] = xt
    return out


def im2col(xp: np.ndarray, g: Geom) -> np.ndarray:
    """Padded ``(C, N, Hp, Wp)`` -> ``cols (C*kh*kw, N*Ho*Wo)``: a strided view, one copy.

    ``cols[(c, i, j), (n, h, w)] = xp[c, n, h*sh + i*dh, w*sw + j*dw]``.
    """
    sC, sN, sH, sW = xp.strides
    view = as_strided(xp, (g.C, g.kh, g.kw, g.N, g.Ho, g.Wo),
                      (sC, sH * g.dh, sW * g.dw, sN, sH * g.sh, sW * g.sw), writeable=False)
    return np.ascontiguousarray(view).reshape(g.C * g.kh * g.kw, g.N * g.Ho * g.Wo)


def col2im(cols: np.ndarray, g: Geom) -> np.ndarray:
    """Adjoint of im2col: ``(C*kh*kw, N*Ho*Wo)`` -> padded ``(C, N, Hp, Wp)`` by kh*kw
    strided adds (each tap scatters onto a strided window; overlapping windows sum)."""
    c6 = cols.reshape(g.C, g.kh, g.kw, g.N, g.Ho, g.Wo)
    out = np.zeros((g.C, g.N, g.Hp, g.Wp), dtype=cols.dtype)
    h_span = g.sh * (g.Ho - 1) + 1
    w_span = g.sw * (g.Wo - 1) + 1
    for i in range(g.kh):
        for j in range(g.kw):
            h0, w0 = i * g.dh, j * g.dw
            out[:, :, h0:h0 + h_span:g.sh, w0:w0 + w_span:g.sw] += c6[:, i, j]
    return out


def unpad_nchw(xp: np.ndarray, g: Geom) -> np.ndarray:
    """Padded channel-major ``(C, N, Hp, Wp)`` -> contiguous NCHW ``(N, C, H, W)``."""
    t, l = g.pads[0], g.pads[2]
    return np.ascontiguousarray(xp[:, :, t:t + g.H, l:l + g.W].transpose(1, 0, 2, 3))


def to_cn(y: np.ndarray) -> np.ndarray:
    """NCHW ``(N, Co, Ho, Wo)`` -> ``(Co, N*Ho*Wo)`` matrix (a copy unless already CN)."""
    N, Co = y.shape[:2]
    return np.ascontiguousarray(y.transpose(1, 0, 2, 3)).reshape(Co, -1)


def from_cn(ym: np.ndarray, g: Geom, bias=None) -> np.ndarray:
    """``(Co, N*Ho*Wo)`` -> contiguous NCHW; the bias add rides on the layout copy."""
    yt = ym.reshape(g.Co, g.N, g.Ho, g.Wo).transpose(1, 0, 2, 3)
    out = np.empty((g.N, g.Co, g.Ho, g.Wo), dtype=ym.dtype)
    if bias is None:
        np.copyto(out, yt)
    else:
        np.add(yt, bias.reshape(1, -1, 1, 1), out=out)
    return out


def _grouped(mat: np.ndarray, G: int) -> np.ndarray:
    return mat.reshape(G, mat.shape[0] // G, mat.shape[1])


def w_matrix(w: np.ndarray, G: int) -> np.ndarray:
    """Weight ``(Co, C/G, kh, kw)`` -> ``(G, Co/G, C/G*kh*kw)``, matching im2col's rows."""
    return w.reshape(G, w.shape[0] // G, -1)


def gemm_forward(cols: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """y = W @ cols per group -> ``(Co, N*P)``; one GEMM when G = 1, else a batched one."""
    G = wm.shape[0]
    if G == 1:
        return wm[0] @ cols
    return np.matmul(wm, _grouped(cols, G)).reshape(-1, cols.shape[1])


def gemm_data(gm: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """dcols = W^T @ dY per group -> ``(C*kh*kw, N*P)`` (col2im of it is dX)."""
    G = wm.shape[0]
    if G == 1:
        return wm[0].T @ gm
    return np.matmul(wm.transpose(0, 2, 1), _grouped(gm, G)).reshape(-1, gm.shape[1])


def gemm_weight(gm: np.ndarray, cols: np.ndarray, G: int) -> np.ndarray:
    """dW = dY @ cols^T per group -> ``(G, Co/G, C/G*kh*kw)``.

    Computed as (cols @ dY^T)^T: OpenBLAS's kernels for this long-K product run 20-60%
    faster with the taller cols as the left operand (min of 9, SkylakeX kernels: LeNet C3
    0.66 -> 0.28 ms, C1 1.26 -> 0.95, 3x3 64->64 @56 b8 6.9 -> 5.4, 64->128 @32 b32
    14.9 -> 12.2; Haswell kernels 3-35%). The transposed result is small, a view suffices.
    """
    if G == 1:
        return (cols @ gm.T).T[None]
    return np.matmul(_grouped(cols, G), _grouped(gm, G).transpose(0, 2, 1)).transpose(0, 2, 1)


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
    taps = w.reshape(1, g.C, T, 1, 1)
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
