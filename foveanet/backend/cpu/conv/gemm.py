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

from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import route
from foveanet.geometry import ConvGeom


def pad_cn(x: np.ndarray, g: ConvGeom) -> np.ndarray:
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


def row_stride(P: int, itemsize: int) -> int:
    """Elements between the rows of a ``(K, P)`` GEMM operand.

    A row length that is a multiple of 1 KiB maps every row of a packed panel to the same
    cache sets, and OpenBLAS's sgemm with such a right operand runs at half speed or less.
    Those rows get 64 bytes of slack. ``W(Co, K) @ cols(K, P)``, 1 thread, SkylakeX kernels,
    GFLOP/s without / with the slack: 12x108 @ P=8192 (U-Net's first level) 67 / 145;
    24x216 @ 4096 97 / 173; 64x576 @ 2048 159 / 212; P = 1000, 3000 or 8200 unchanged.
    """
    return P + 64 // itemsize if (P * itemsize) % 1024 == 0 else P


def im2col(xpad: np.ndarray, g: ConvGeom) -> np.ndarray:
    """Padded ``(C, N, Hp, Wp)`` -> ``cols (C*kh*kw, N*Ho*Wo)``: a strided view, one copy.

    ``cols[(c, i, j), (n, h, w)] = xpad[c, n, h*sh + i*dh, w*sw + j*dw]``. The result's rows
    may be ``row_stride`` apart rather than contiguous: a 2-d view that BLAS takes as it is.
    """
    sC, sN, sH, sW = xpad.strides
    view = as_strided(xpad, (g.C, g.kh, g.kw, g.N, g.Ho, g.Wo),
                      (sC, sH * g.dh, sW * g.dw, sN, sH * g.sh, sW * g.sw), writeable=False)
    K, P = g.C * g.kh * g.kw, g.N * g.Ho * g.Wo
    ld = row_stride(P, xpad.itemsize)
    if ld == P:
        return np.ascontiguousarray(view).reshape(K, P)
    cols = np.empty((K, ld), dtype=xpad.dtype)[:, :P]
    np.copyto(cols.reshape(g.C, g.kh, g.kw, g.N, g.Ho, g.Wo), view)
    return cols


def col2im(cols: np.ndarray, g: ConvGeom) -> np.ndarray:
    """Adjoint of im2col: ``(C*kh*kw, N*Ho*Wo)`` -> padded ``(C, N, Hp, Wp)`` by kh*kw
    strided adds (each tap scatters onto a strided window; overlapping windows sum).

    When the kernel tiles the output exactly (kernel == stride, no dilation: the 2x2/2
    up-convolution of U-Net) no two taps meet, and the scatter is one interleaving copy.
    """
    c6 = cols.reshape(g.C, g.kh, g.kw, g.N, g.Ho, g.Wo)
    if (g.kh, g.kw) == (g.sh, g.sw) and g.dh == g.dw == 1:
        out = np.empty((g.C, g.N, g.Hp, g.Wp), dtype=cols.dtype)
        Hc, Wc = g.Ho * g.sh, g.Wo * g.sw
        out[:, :, Hc:] = 0
        out[:, :, :Hc, Wc:] = 0
        out[:, :, :Hc, :Wc].reshape(g.C, g.N, g.Ho, g.kh, g.Wo, g.kw)[...] = \
            c6.transpose(0, 3, 4, 1, 5, 2)
        return out
    out = np.zeros((g.C, g.N, g.Hp, g.Wp), dtype=cols.dtype)
    h_span = g.sh * (g.Ho - 1) + 1
    w_span = g.sw * (g.Wo - 1) + 1
    for i in range(g.kh):
        for j in range(g.kw):
            h0, w0 = i * g.dh, j * g.dw
            out[:, :, h0:h0 + h_span:g.sh, w0:w0 + w_span:g.sw] += c6[:, i, j]
    return out


def adjoint_geom(g: ConvGeom) -> ConvGeom | None:
    """dX of a stride-1 conv as a direct conv: the full correlation of dY with the flipped
    kernel, i.e. dY padded by d(k-1) - p on each side, convolved into C channels. None
    where route.adjoint says it does not pay, or where the padding exceeds d(k-1)."""
    if not route.adjoint(g):
        return None
    eh, ew = g.dh * (g.kh - 1), g.dw * (g.kw - 1)
    t, b, l, r = g.pads
    pads = (eh - t, eh - b, ew - l, ew - r)
    if min(pads) < 0:
        return None
    return ConvGeom(g.N, g.Co, g.Ho, g.Wo, g.C, g.G, g.kh, g.kw, (1, 1), (g.dh, g.dw), pads)


def flipped_w_matrix(wm: np.ndarray, g: ConvGeom) -> np.ndarray:
    """``W_mat (G, Co/G, C/G*kh*kw)`` -> the adjoint conv's ``(G, C/G, Co/G*kh*kw)``:
    W_adj[g, c, (o, i, j)] = W[g, o, c, kh-1-i, kw-1-j]."""
    G = g.G
    w5 = wm.reshape(G, g.Co // G, g.C // G, g.kh, g.kw)[:, :, :, ::-1, ::-1]
    return np.ascontiguousarray(w5.transpose(0, 2, 1, 3, 4)).reshape(G, g.C // G, -1)


def conv_data(gy: np.ndarray, wm: np.ndarray, g: ConvGeom, out=None, w_adj=None) -> np.ndarray:
    """dX as contiguous NCHW (into ``out`` if given) from NCHW ``dY`` and ``W_mat``
    (``w_adj``: its flipped_w_matrix, when the caller already has it)."""
    ga = adjoint_geom(g)
    if ga is None:
        return unpad_nchw(col2im(gemm_data(to_cn(gy), wm), g), g, out=out)
    w_adj = flipped_w_matrix(wm, g) if w_adj is None else w_adj
    return conv_gemm(gy, w_adj, ga, out=out)[0]


# ------------------------------------------------------------- the padded-grid im2col
# For a stride-1 conv the output can be computed on the padded grid: Ho rows of Wp pixels,
# of which the last Wp - Wo of each row are junk and dropped. Then cols row (c, i, j) of
# image n is ONE contiguous run of the flattened padded input, Ho*Wp numbers from offset
# i*dh*Wp + j*dw, instead of Ho runs of Wo (route.grid says where that pays).


def pad_grid(x: np.ndarray, g: ConvGeom) -> np.ndarray:
    """NCHW -> the flat buffer of the padded ``(C, N, Hp, Wp)`` input plus d(kw-1) zeros:
    the last taps' runs read that far past the end (into junk columns only)."""
    size = g.C * g.N * g.Hp * g.Wp
    buf = np.empty(size + g.dw * (g.kw - 1), dtype=x.dtype)
    buf[size:] = 0
    t, b, l, r = g.pads
    xpad = buf[:size].reshape(g.C, g.N, g.Hp, g.Wp)
    xpad[:, :, :t] = 0
    xpad[:, :, g.Hp - b:] = 0
    xpad[:, :, :, :l] = 0
    xpad[:, :, :, g.Wp - r:] = 0
    xpad[:, :, t:t + g.H, l:l + g.W] = x.transpose(1, 0, 2, 3)
    return buf


def im2col_grid(buf: np.ndarray, g: ConvGeom) -> np.ndarray:
    """``pad_grid``'s buffer -> ``cols (C*kh*kw, N*Ho*Wp)``: ``cols[(c, i, j), (n, q)] =
    flat[c, n, q + i*dh*Wp + j*dw]``, where q = h*Wp + w indexes the padded grid."""
    s = buf.itemsize
    img = g.Hp * g.Wp
    view = as_strided(buf, (g.C, g.kh, g.kw, g.N, g.Ho * g.Wp),
                      (g.N * img * s, g.dh * g.Wp * s, g.dw * s, img * s, s), writeable=False)
    K, P = g.C * g.kh * g.kw, g.N * g.Ho * g.Wp
    ld = row_stride(P, s)
    cols = np.empty((K, ld), dtype=buf.dtype)[:, :P]
    np.copyto(cols.reshape(g.C, g.kh, g.kw, g.N, g.Ho * g.Wp), view)
    return cols


def to_grid(gy: np.ndarray, g: ConvGeom) -> np.ndarray:
    """NCHW ``dY`` -> ``(Co, N*Ho*Wp)`` on the padded grid, zero in the junk columns (so
    they add nothing to dW)."""
    out = np.empty((g.Co, g.N, g.Ho, g.Wp), dtype=gy.dtype)
    out[..., g.Wo:] = 0
    out[..., :g.Wo] = gy.transpose(1, 0, 2, 3)
    return out.reshape(g.Co, -1)


def cols_for(x: np.ndarray, g: ConvGeom) -> np.ndarray:
    """The cols of NCHW ``x`` in the layout ``g`` uses (grid or plain)."""
    return im2col_grid(pad_grid(x, g), g) if route.grid(g) else im2col(pad_cn(x, g), g)


def dy_for(gy: np.ndarray, g: ConvGeom) -> np.ndarray:
    """``dY`` as the matrix that meets ``cols_for``'s cols in dW."""
    return to_grid(gy, g) if route.grid(g) else to_cn(gy)


def conv_gemm(x: np.ndarray, wm: np.ndarray, g: ConvGeom, bias=None, out=None):
    """(y NCHW, cols): im2col, the GEMM and the copy to NCHW (+ bias) for one chunk."""
    cols = cols_for(x, g)
    ym = gemm_forward(cols, wm)
    if route.grid(g):
        view = ym.reshape(g.Co, g.N, g.Ho, g.Wp)[..., :g.Wo].transpose(1, 0, 2, 3)
        return nchw_copy(view, bias, out), cols
    return from_cn(ym, g, bias, out), cols


# ----------------------------------------------------------- sub-batches (cache blocking)
# Cut into sub-batches of about route.CHUNK_BYTES of cols, the buffer stays in cache
# between the copy and the GEMM; backward recomputes each chunk's cols from the saved input.


def batch_chunks(g: ConvGeom, itemsize: int) -> list[tuple[int, int]]:
    """[(n0, n1), ...] covering the batch: chunks of about CHUNK_BYTES of cols, and at
    least one per worker when the layer is big enough to share."""
    return split_batch(g.N, g.C * g.kh * g.kw * g.Ho * g.Wo * itemsize, route.CHUNK_BYTES)


def split_batch(N: int, per_image: int, chunk_bytes: int) -> list[tuple[int, int]]:
    """[(n0, n1), ...] covering N images of ``per_image`` bytes of buffer each, in chunks
    of about ``chunk_bytes``; a multiple of the workers when the whole is worth sharing."""
    per_image = max(1, per_image)
    count = -(-N // max(1, chunk_bytes // per_image))
    if per_image * N >= route.PARALLEL_MIN_BYTES:  # a multiple of the workers, for balance
        W = threads.workers()
        count = min(N, -(-count // W) * W)
    n = -(-N // count)
    return [(n0, min(n0 + n, N)) for n0 in range(0, N, n)]


def conv_forward(x: np.ndarray, wm: np.ndarray, g: ConvGeom, bias=None):
    """Direct conv of NCHW ``x`` -> (y NCHW, what backward needs for dW).

    The second is the whole batch's cols when the batch is one chunk (backward reuses it),
    else ``x`` itself (backward recomputes each chunk's cols).
    """
    chunks = batch_chunks(g, x.dtype.itemsize)
    if len(chunks) == 1:
        return conv_gemm(x, wm, g, bias)
    y = np.empty((g.N, g.Co, g.Ho, g.Wo), dtype=x.dtype)

    def job(chunk):
        n0, n1 = chunk
        conv_gemm(x[n0:n1], wm, g.with_batch(n1 - n0), bias, out=y[n0:n1])

    threads.each(chunks, job)
    return y, x


def conv_backward(gy: np.ndarray, kept, wm, g: ConvGeom, need_x: bool, need_w: bool):
    """(dX NCHW, dW (G, Co/G, K)) from NCHW ``gy``; ``kept`` is conv_forward's second
    result (2-d cols, or the 4-d input), needed only for dW; ``wm`` only for dX."""
    if need_w and kept.ndim == 2 or len(chunks := batch_chunks(g, gy.dtype.itemsize)) == 1:
        dx = conv_data(gy, wm, g) if need_x else None
        if need_w:
            cols = kept if kept.ndim == 2 else cols_for(kept, g)
            return dx, gemm_weight(dy_for(gy, g), cols, g.G)
        return dx, None
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=gy.dtype) if need_x else None
    w_adj = flipped_w_matrix(wm, g) if need_x and adjoint_geom(g) is not None else None

    def job(chunk):
        n0, n1 = chunk
        gc = g.with_batch(n1 - n0)
        if need_x:
            conv_data(gy[n0:n1], wm, gc, out=dx[n0:n1], w_adj=w_adj)
        if need_w:  # a fresh array per chunk: the fold may add into it
            return gemm_weight(dy_for(gy[n0:n1], gc), cols_for(kept[n0:n1], gc), g.G)

    if not need_w:
        threads.each(chunks, job)
        return dx, None
    return dx, threads.each(chunks, job, fold=add_into)


def add_into(total: np.ndarray, part: np.ndarray) -> np.ndarray:
    total += part
    return total


def unpad_nchw(xpad: np.ndarray, g: ConvGeom, out=None) -> np.ndarray:
    """Padded channel-major ``(C, N, Hp, Wp)`` -> contiguous NCHW ``(N, C, H, W)`` (into
    ``out`` if given)."""
    t, l = g.pads[0], g.pads[2]
    view = xpad[:, :, t:t + g.H, l:l + g.W].transpose(1, 0, 2, 3)
    if out is None:
        return np.ascontiguousarray(view)
    np.copyto(out, view)
    return out


def to_cn(y: np.ndarray) -> np.ndarray:
    """NCHW ``(N, Co, Ho, Wo)`` -> ``(Co, N*Ho*Wo)`` matrix (a copy unless already CN)."""
    N, Co = y.shape[:2]
    return np.ascontiguousarray(y.transpose(1, 0, 2, 3)).reshape(Co, -1)


def from_cn(ym: np.ndarray, g: ConvGeom, bias=None, out=None) -> np.ndarray:
    """``(Co, N*Ho*Wo)`` -> contiguous NCHW (into ``out`` if given); the bias add rides on
    the layout copy. One image is NCHW already: ``ym`` itself, bias added in place (the
    copy was 11% of MobileNetV2's b1 forward, 1x1 convs)."""
    if g.N == 1 and out is None and ym.flags.c_contiguous:
        if bias is not None:
            ym += bias.reshape(-1, 1)
        return ym.reshape(1, g.Co, g.Ho, g.Wo)
    return nchw_copy(ym.reshape(g.Co, g.N, g.Ho, g.Wo).transpose(1, 0, 2, 3), bias, out)


def nchw_copy(view: np.ndarray, bias=None, out=None) -> np.ndarray:
    """An NCHW-shaped view copied into a contiguous array (``out`` if given), + bias per channel."""
    if out is None:
        out = np.empty(view.shape, dtype=view.dtype)
    if bias is None:
        np.copyto(out, view)
    else:
        np.add(view, bias.reshape(1, -1, 1, 1), out=out)
    return out


def _grouped(mat: np.ndarray, G: int) -> np.ndarray:
    return mat.reshape(G, mat.shape[0] // G, mat.shape[1])


def w_matrix(w: np.ndarray, G: int) -> np.ndarray:
    """Weight ``(Co, C/G, kh, kw)`` -> ``(G, Co/G, C/G*kh*kw)``, matching im2col's rows."""
    return w.reshape(G, w.shape[0] // G, -1)


def gemm_forward(cols: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """y = W @ cols per group -> ``(Co, N*P)``; one GEMM when G = 1, else a batched one."""
    G = wm.shape[0]
    if G == 1:  # on the pool's threads, not BLAS's (threads.matmul says why)
        return threads.matmul(wm[0], cols)
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
