"""Depthwise convolution (one input channel per output channel): the sum over kernel taps
of per-channel scaled, shifted views of the padded input, with no cols buffer.

    y[n, c]    = b[c] + sum_{i,j} w[c, 0, i, j] * xpad[n, c, h*s + i*d, w*s + j*d]
    dW[c, i, j] = sum_{n,h,w} dY[n, c] * xpad[n, c, h*s + i*d, w*s + j*d]
    dXpad[tap(i, j)] += w[c, i, j] * dY

The taps run on blocks of channels that stay in cache (route.DEPTHWISE_BLOCK_BYTES), and
the blocks are parallel tasks. With the compiled kernels (``foveanet.kernels.depthwise``)
each block is one loop nest over its channels' planes instead (route.py says why): 3x3 layers
at stride 1 as wide as their input (``flat``) and at stride 2 padding 1 (``stride2``) on
kernels that run the nine taps in one pass over whole planes, the others on the grid kernel.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import epilogue, route
from foveanet.geometry import ConvGeom


def pad_nchw(x: np.ndarray, g: ConvGeom) -> np.ndarray:
    t, b, l, r = g.pads
    if not (t or b or l or r):
        return x
    out = np.zeros((g.N, g.C, g.Hp, g.Wp), dtype=x.dtype)
    out[:, :, t:t + g.H, l:l + g.W] = x
    return out


def _tap(xpad: np.ndarray, g: ConvGeom, i: int, j: int) -> np.ndarray:
    h0, w0 = i * g.dh, j * g.dw
    return xpad[:, :, h0:h0 + g.sh * (g.Ho - 1) + 1:g.sh, w0:w0 + g.sw * (g.Wo - 1) + 1:g.sw]


def depthwise_forward(xpad: np.ndarray, w: np.ndarray, g: ConvGeom, bias=None) -> np.ndarray:
    """y[n, c] = b[c] + sum_{i,j} w[c, 0, i, j] * xpad[n, c, h*s + i*d, w*s + j*d]."""
    taps = w.reshape(1, g.C, g.kh * g.kw, 1, 1)
    y = np.empty((g.N, g.C, g.Ho, g.Wo), dtype=xpad.dtype)
    np.multiply(_tap(xpad, g, 0, 0), taps[:, :, 0], out=y)
    tmp = np.empty_like(y)
    for t in range(1, g.kh * g.kw):
        np.multiply(_tap(xpad, g, *divmod(t, g.kw)), taps[:, :, t], out=tmp)
        y += tmp
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def depthwise_backward(gy: np.ndarray, xpad, w, g: ConvGeom, need_x: bool, need_w: bool):
    """dW[c, 0, i, j] = sum_{n,h,w} dY * x_tap(i, j);  dX_pad[tap(i, j)] += w[c, i, j] * dY."""
    T = g.kh * g.kw
    dxp = np.zeros((g.N, g.C, g.Hp, g.Wp), dtype=gy.dtype) if need_x else None
    dw = np.empty((g.C, T), dtype=gy.dtype) if need_w else None
    taps = w.reshape(1, g.C, T, 1, 1) if need_x else None  # w is not kept when dX is not needed
    tmp = np.empty_like(gy)
    for t in range(T):
        i, j = divmod(t, g.kw)
        if need_w:
            dw[:, t] = np.einsum("nchw,nchw->c", gy, _tap(xpad, g, i, j))
        if need_x:
            np.multiply(gy, taps[:, :, t], out=tmp)
            _tap(dxp, g, i, j)[...] += tmp
    if need_x:
        t, l = g.pads[0], g.pads[2]
        dxp = np.ascontiguousarray(dxp[:, :, t:t + g.H, l:l + g.W])
    return dxp, (dw.reshape(g.C, 1, g.kh, g.kw) if need_w else None)


def _channel_blocks(g: ConvGeom, itemsize: int) -> list:
    n = max(1, route.DEPTHWISE_BLOCK_BYTES // max(1, g.N * g.Hp * g.Wp * itemsize))
    n = min(n, -(-g.C // threads.workers()))
    return [(c0, min(c0 + n, g.C)) for c0 in range(0, g.C, n)]


def _block_geom(g: ConvGeom, c: int) -> ConvGeom:
    return ConvGeom(g.N, c, g.H, g.W, c, c, g.kh, g.kw, (g.sh, g.sw), (g.dh, g.dw), g.pads,
                g.Ho, g.Wo)


def _compiled_args(g: ConvGeom) -> tuple:
    return g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pads[0], g.pads[2]


def flat(g: ConvGeom) -> bool:
    """Whether the compiled layer runs on ``kernels/depthwise_flat.py`` (nine taps a pass
    over whole planes): 3x3 at stride 1 with the output as wide as the input (padding 1,
    or d at dilation d), each row longer than every tap column's offset. Against the grid
    kernel (``kernels/depthwise.py``), 3x3 128 @28 b16, one thread, thread CPU time, min
    of 21: forward 2.4 -> 1.05 ms, dX 2.8 -> 1.06, dW 2.9 -> 0.97."""
    return (g.kh == 3 and g.kw == 3 and g.sh == 1 and g.sw == 1 and g.Wo == g.W
            and g.Co == g.C == g.G and max(g.pads[2], 2 * g.dw - g.pads[2]) < g.W)


def stride2(g: ConvGeom) -> bool:
    """Whether the compiled layer runs on ``kernels/depthwise_s2.py`` (the stride phases
    as wide as the output, nine taps a pass): 3x3, stride 2, padding 1 at the top and
    left, the output ceil(H/2) x ceil(W/2). Against the grid kernel, 3x3 s2 96 @56 b8,
    as above: forward 2.3 -> 1.35 ms, dX 2.7 -> 1.5, dW 2.5 -> 1.4."""
    return (g.kh == 3 and g.kw == 3 and g.sh == 2 and g.sw == 2 and g.dh == 1 and g.dw == 1
            and g.pads[0] == 1 and g.pads[2] == 1 and g.Ho == (g.H + 1) // 2
            and g.Wo == (g.W + 1) // 2 and g.Co == g.C == g.G and min(g.H, g.W) >= 2)


# At inference a smaller input stays one block: a second thread's hand-over (~70 us,
# bench_region) costs more than it saves. One image, 3x3, wall us median, 1 / 2 threads,
# Intel Xeon: 32 @112 s1 (401k elements) 298 / 403; 144 @56 s1 305 / 308; 576 @14 114 /
# 189; 960 @7 111 / 172; but 96 @112 s2 (1.2M) 786 / 547. Training splits every layer:
# with the threshold the MobileNetV2 b32 step lost 8% (0.99 -> 0.92 of torch).
DEPTHWISE_SPLIT_MIN_ELEMENTS = 1 << 20


def _compiled_blocks(g: ConvGeom, inference: bool = False) -> list:
    if inference and g.N * g.C * g.H * g.W < DEPTHWISE_SPLIT_MIN_ELEMENTS:
        return [(0, g.C)]
    n = -(-g.C // threads.workers())
    return [(c0, min(c0 + n, g.C)) for c0 in range(0, g.C, n)]


def depthwise(x: np.ndarray, w: np.ndarray, g: ConvGeom, bias=None, compiled=None,
              clamp=None, scale=None, inference: bool = False) -> np.ndarray:
    """Depthwise conv of NCHW ``x`` in channel blocks (backward needs ``x`` and ``w``);
    ``compiled``: the namespace of ``foveanet.kernels`` (None: the NumPy taps). For
    inference ``scale`` (C,) multiplies the conv before the bias is added, and ``clamp``
    (lo, hi) clamps the output (None: neither); ``inference``: no backward follows (a small
    input then stays one block)."""
    y = np.empty((g.N, g.C, g.Ho, g.Wo), dtype=x.dtype)
    if compiled is not None:
        blocks = _compiled_blocks(g, inference)
        x, wt = np.ascontiguousarray(x), np.ascontiguousarray(w).reshape(g.C, g.kh * g.kw)
        b = np.zeros(g.C, x.dtype) if bias is None else np.ascontiguousarray(bias, x.dtype)
        s = np.ones(g.C, x.dtype) if scale is None else np.ascontiguousarray(scale, x.dtype)
        lo, hi = (x.dtype.type(v) for v in ((-np.inf, np.inf) if clamp is None else clamp))
        if flat(g):
            x3, y3 = x.reshape(g.N, g.C, -1), y.reshape(g.N, g.C, -1)
            threads.each(blocks, lambda blk: compiled.depthwise_flat_forward(
                x3, wt, s, b, y3, blk[0], blk[1], g.H, g.W, g.dh, g.dw, g.pads[0],
                g.pads[2], lo, hi))
            return y
        if stride2(g):
            x3, y3 = x.reshape(g.N, g.C, -1), y.reshape(g.N, g.C, -1)
            threads.each(blocks, lambda blk: compiled.depthwise_s2_forward(
                x3, wt, s, b, y3, blk[0], blk[1], g.H, g.W, lo, hi))
            return y
        threads.each(blocks, lambda blk: compiled.depthwise_forward(
            x, wt, s, b, y, blk[0], blk[1], *_compiled_args(g), lo, hi))
        return y
    if scale is not None:
        return epilogue.epilogue(depthwise(x, w, g), scale, bias, clamp)

    def job(block):
        c0, c1 = block
        gc = _block_geom(g, c1 - c0)
        b = None if bias is None else bias[c0:c1]
        y[:, c0:c1] = depthwise_forward(pad_nchw(x[:, c0:c1], gc), w[c0:c1], gc, b)

    threads.each(_channel_blocks(g, x.dtype.itemsize), job)
    if clamp is not None:
        np.clip(y, *clamp, out=y)
    return y


def depthwise_grads(gy: np.ndarray, x, w, g: ConvGeom, need_x: bool, need_w: bool,
                    compiled=None):
    """(dX, dW) of ``depthwise`` in the same channel blocks."""
    dx = np.empty((g.N, g.C, g.H, g.W), dtype=gy.dtype) if need_x else None
    dw = np.empty((g.C, 1, g.kh, g.kw), dtype=gy.dtype) if need_w else None
    if compiled is not None:
        none4, none2 = np.empty((0, 0, 0, 0), gy.dtype), np.empty((0, 0), gy.dtype)
        gy = np.ascontiguousarray(gy)
        xs = np.ascontiguousarray(x) if need_w else none4
        wt = np.ascontiguousarray(w).reshape(g.C, -1) if need_x else none2
        dxs = dx if need_x else none4
        dws = dw.reshape(g.C, g.kh * g.kw) if need_w else none2
        if flat(g) or stride2(g):
            # both kernels take planes as flat rows: (N, C, H*W)
            none3 = none4.reshape(0, 0, 0)
            gy3 = gy.reshape(g.N, g.C, -1)
            xs3 = xs.reshape(g.N, g.C, -1) if need_w else none3
            dxs3 = dx.reshape(g.N, g.C, -1) if need_x else none3
            if flat(g):
                threads.each(_compiled_blocks(g), lambda blk: compiled.depthwise_flat_backward(
                    gy3, xs3, wt, dxs3, dws, blk[0], blk[1], g.H, g.W, g.dh, g.dw, g.pads[0],
                    g.pads[2]))
            else:
                threads.each(_compiled_blocks(g), lambda blk: compiled.depthwise_s2_backward(
                    gy3, xs3, wt, dxs3, dws, blk[0], blk[1], g.H, g.W))
            return dx, dw
        threads.each(_compiled_blocks(g), lambda blk: compiled.depthwise_backward(
            gy, xs, wt, dxs, dws, blk[0], blk[1], *_compiled_args(g)))
        return dx, dw

    def job(block):
        c0, c1 = block
        gc = _block_geom(g, c1 - c0)
        xpad = pad_nchw(x[:, c0:c1], gc) if need_w else None
        bx, bw = depthwise_backward(gy[:, c0:c1], xpad, None if w is None else w[c0:c1], gc,
                                    need_x, need_w)
        if need_x:
            dx[:, c0:c1] = bx
        if need_w:
            dw[c0:c1] = bw

    threads.each(_channel_blocks(g, gy.dtype.itemsize), job)
    return dx, dw
