"""Direct convolution (one group, stride 1) as compiled loops on the padded grid, with no
cols buffer: for layers with few channels, where im2col copies kh*kw times the input for
a GEMM too thin to hide the copy (LeNet-5: 1->6 and 6->16, 5x5, batch 128).

    y[n, o, h, w]  = b[o] + sum_{c,i,j} w[o, c, i, j] * xpad[n, c, h + i*dh, w + j*dw]
    dX             = the full correlation of dY with the flipped kernel, cropped
    dW[o, c, i, j] = sum_{n,h,w} dY[n, o, h, w] * xpad[n, c, h + i*dh, w + j*dw]

Each image's padded planes are flat rows of Wp numbers, and the output is computed on the
padded grid (Ho rows of Wp, the last Wp - Wo of each junk and dropped): tap (i, j) is
then one contiguous multiply-add over Ho*Wp numbers at offset i*dh*Wp + j*dw, long
enough for the vector units (the depthwise kernel's trick, ``depthwise.py``). One pass
takes a kernel row's kw taps for four output rows at once, so each input number loaded
feeds 4*kw multiply-adds (6->16 5x5 @14 b128 forward, one thread: one output per pass
4.46 ms, four 1.15 ms). Output counts that are not a multiple of four run on zero weights.

Forward and dX add the taps in a fixed order (as fused multiply-adds); dW's dot products let the compiler
reassociate (vector partial sums; NaN and inf keep their meaning), so dW differs from a
sequential sum by float round-off. A call covers the images [n0, n1): the caller runs batch blocks on its
threads and adds the blocks' dW.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["direct_forward", "direct_backward"]

B = 4  # output rows per pass


@njit(cache=True, nogil=True, inline="always")
def _rows(dst, w, src, kw, dw):
    """dst[q, k] += sum_j w[q, j] * src[k + j*dw] for the B rows q: kw 3 and 5 spelled
    out (with dilation 1) so that the loop over k is the one the compiler vectorises.
    Every access indexes ``dst`` and ``src`` themselves, at literal offsets: with a view per
    row the compiler's overlap checks between nine arrays, and with ``k + dw`` Numba's
    negative-index check, stopped the vector loop (6->16 5x5 forward 1.15 -> 2.5-3.6 ms)."""
    L = dst.shape[1]
    if kw == 5 and dw == 1:
        a0, a1, a2, a3, a4 = w[0, 0], w[0, 1], w[0, 2], w[0, 3], w[0, 4]
        b0, b1, b2, b3, b4 = w[1, 0], w[1, 1], w[1, 2], w[1, 3], w[1, 4]
        c0, c1, c2, c3, c4 = w[2, 0], w[2, 1], w[2, 2], w[2, 3], w[2, 4]
        e0, e1, e2, e3, e4 = w[3, 0], w[3, 1], w[3, 2], w[3, 3], w[3, 4]
        for k in range(L):
            x0, x1, x2, x3, x4 = src[k], src[k + 1], src[k + 2], src[k + 3], src[k + 4]
            dst[0, k] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3 + a4 * x4
            dst[1, k] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3 + b4 * x4
            dst[2, k] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3 + c4 * x4
            dst[3, k] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3 + e4 * x4
    elif kw == 3 and dw == 1:
        a0, a1, a2 = w[0, 0], w[0, 1], w[0, 2]
        b0, b1, b2 = w[1, 0], w[1, 1], w[1, 2]
        c0, c1, c2 = w[2, 0], w[2, 1], w[2, 2]
        e0, e1, e2 = w[3, 0], w[3, 1], w[3, 2]
        for k in range(L):
            x0, x1, x2 = src[k], src[k + 1], src[k + 2]
            dst[0, k] += a0 * x0 + a1 * x1 + a2 * x2
            dst[1, k] += b0 * x0 + b1 * x1 + b2 * x2
            dst[2, k] += c0 * x0 + c1 * x1 + c2 * x2
            dst[3, k] += e0 * x0 + e1 * x1 + e2 * x2
    else:
        for j in range(kw):
            a, b, c, e = w[0, j], w[1, j], w[2, j], w[3, j]
            s = src[j * dw:j * dw + L]
            for k in range(L):
                x = s[k]
                dst[0, k] += a * x
                dst[1, k] += b * x
                dst[2, k] += c * x
                dst[3, k] += e * x


@njit(cache=True, nogil=True, inline="always")
def _rows2(dst, w, src, kw, dw):
    """``_rows`` for the first two rows only: a last block with one or two rows (LeNet-5's
    six maps are a block of four and one of two) skips the two rows of zero weights."""
    L = dst.shape[1]
    if kw == 5 and dw == 1:
        a0, a1, a2, a3, a4 = w[0, 0], w[0, 1], w[0, 2], w[0, 3], w[0, 4]
        b0, b1, b2, b3, b4 = w[1, 0], w[1, 1], w[1, 2], w[1, 3], w[1, 4]
        for k in range(L):
            x0, x1, x2, x3, x4 = src[k], src[k + 1], src[k + 2], src[k + 3], src[k + 4]
            dst[0, k] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3 + a4 * x4
            dst[1, k] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3 + b4 * x4
    elif kw == 3 and dw == 1:
        a0, a1, a2 = w[0, 0], w[0, 1], w[0, 2]
        b0, b1, b2 = w[1, 0], w[1, 1], w[1, 2]
        for k in range(L):
            x0, x1, x2 = src[k], src[k + 1], src[k + 2]
            dst[0, k] += a0 * x0 + a1 * x1 + a2 * x2
            dst[1, k] += b0 * x0 + b1 * x1 + b2 * x2
    else:
        for j in range(kw):
            a, b = w[0, j], w[1, j]
            s = src[j * dw:j * dw + L]
            for k in range(L):
                x = s[k]
                dst[0, k] += a * x
                dst[1, k] += b * x


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dots(out, g, src, kw, dw, zero):
    """out[q, j] += sum_k g[q, k] * src[k + j*dw] for the B rows q of ``g``; ``zero`` of
    the arrays' dtype (a literal 0 would make float32 sums float64, 7x slower)."""
    L = g.shape[1]
    for j in range(kw):
        t0 = t1 = t2 = t3 = zero
        s = src[j * dw:j * dw + L]
        for k in range(L):
            x = s[k]
            t0 += g[0, k] * x
            t1 += g[1, k] * x
            t2 += g[2, k] * x
            t3 += g[3, k] * x
        out[0, j] += t0
        out[1, j] += t1
        out[2, j] += t2
        out[3, j] += t3


@njit(cache=True, nogil=True)
def _pad_into(xn, xg, pt, pl, Wp):
    """Image ``xn`` (C, H, W) into the interior of its zero-bordered flat planes ``xg``."""
    C, H, W = xn.shape
    for c in range(C):
        for r in range(H):
            dst = xg[c, (r + pt) * Wp + pl:(r + pt) * Wp + pl + W]
            src = xn[c, r]
            for k in range(W):
                dst[k] = src[k]


@njit(cache=True, nogil=True)
def _blocked(w, flip):
    """w (Co, C, kh, kw) as (ceil(Co/B)*B, C, kh, kw) with zero rows; flip: the flipped
    kernel of the transposed map, (ceil(C/B)*B, Co, kh, kw) with w[o, c, kh-1-i, kw-1-j]."""
    Co, C, kh, kw = w.shape
    rows, cols = (C, Co) if flip else (Co, C)
    out = np.zeros((-(-rows // B) * B, cols, kh, kw), w.dtype)
    for o in range(Co):
        for c in range(C):
            for i in range(kh):
                for j in range(kw):
                    if flip:
                        out[c, o, kh - 1 - i, kw - 1 - j] = w[o, c, i, j]
                    else:
                        out[o, c, i, j] = w[o, c, i, j]
    return out


@njit(cache=True, nogil=True, fastmath={"contract"})
def _grid_conv(acc, wb, o0, rows, planes, kh, kw, dh, dw, Wp):
    """acc (B, M) = the outputs o0..o0+B-1 (of ``rows``) of the conv of the flat
    ``planes`` (Cin, S) with ``wb`` (., Cin, kh, kw) on the grid of width Wp. ``acc`` is a whole C-ordered
    array and every source a 1-d slice: on a 2-d view of a larger buffer the compiler
    does not know the inner stride is 1 and gathers (dW 0.9 -> 6 ms on LeNet's C1).
    ``contract``: each multiply and its add become one fused multiply-add (same order,
    one rounding fewer); 64 images, one thread, forward / dX, plain -> fused: 6->16 5x5
    @14 0.77 / 1.33 -> 0.68 / 1.03 ms, 1->6 5x5 p2 @28 0.36 / 1.02 -> 0.27 / 0.81."""
    acc[:, :] = 0
    two = rows - o0 <= 2
    for c in range(planes.shape[0]):
        for i in range(kh):
            if two:
                _rows2(acc, wb[o0:o0 + B, c, i], planes[c, i * dh * Wp:], kw, dw)
            else:
                _rows(acc, wb[o0:o0 + B, c, i], planes[c, i * dh * Wp:], kw, dw)


@njit(cache=True, nogil=True)
def direct_forward(x, w, bias, y, n0, n1, dh, dw, pt, pl, lo, hi):
    """y[n0:n1] of the conv of ``x`` (N, C, H, W) with ``w`` (Co, C, kh, kw), plus ``bias``
    (Co,), clamped to [lo, hi] (+-inf: no clamp; (0, inf): ReLU) in the copy-out."""
    C = x.shape[1]
    Co, _, kh, kw = w.shape
    Ho, Wo = y.shape[2], y.shape[3]
    Hp, Wp = Ho + (kh - 1) * dh, Wo + (kw - 1) * dw
    wb = _blocked(w, False)
    xg = np.zeros((C, Hp * Wp + (kw - 1) * dw), x.dtype)
    acc = np.empty((B, Ho * Wp), x.dtype)
    for n in range(n0, n1):
        _pad_into(x[n], xg, pt, pl, Wp)
        for o0 in range(0, Co, B):
            _grid_conv(acc, wb, o0, Co, xg, kh, kw, dh, dw, Wp)
            for q in range(min(B, Co - o0)):
                out = y[n, o0 + q]
                b = bias[o0 + q]
                for h in range(Ho):
                    row, src = out[h], acc[q, h * Wp:h * Wp + Wo]
                    for k in range(Wo):
                        row[k] = min(max(src[k] + b, lo), hi)


@njit(cache=True, nogil=True)
def direct_backward(gy, x, w, dx, dwt, n0, n1, dh, dw, pt, pl):
    """dx[n0:n1] (when dx is not empty) and dwt (Co, C, kh, kw; when not empty: this
    block's dW, added to what dwt holds) from dY ``gy`` (N, Co, Ho, Wo)."""
    Co, C, kh, kw = w.shape
    Ho, Wo = gy.shape[2], gy.shape[3]
    need_x, need_w = dx.shape[0] > 0, dwt.shape[0] > 0
    Hp, Wp = Ho + (kh - 1) * dh, Wo + (kw - 1) * dw
    L, ew, eh = Ho * Wp, (kw - 1) * dw, (kh - 1) * dh * Wp
    Cob = -(-Co // B) * B
    # dX is the conv of dY on the grid (zero junk columns) with the flipped kernel, read
    # from eh + ew before each output cell: gext holds that many zeros in front (a row's
    # left overhang lands in the previous row's junk columns, zeros too)
    gext = np.zeros((Co, eh + Hp * Wp + ew), gy.dtype)
    gw = np.zeros((Cob // B, B, L), gy.dtype)    # dY on the grid, B rows per block, for dW
    xg = np.zeros((C, Hp * Wp + ew), gy.dtype)
    acc = np.empty((B, Hp * Wp), gy.dtype)
    dwb = np.zeros((Cob, C, kh, kw), gy.dtype)
    wf = _blocked(w, True)
    zero = np.zeros(1, gy.dtype)[0]
    for n in range(n0, n1):
        for o in range(Co):
            for h in range(Ho):
                src = gy[n, o, h]
                ge = gext[o, eh + ew + h * Wp:eh + ew + h * Wp + Wo]
                gb = gw[o // B, o % B, h * Wp:h * Wp + Wo]
                for k in range(Wo):
                    ge[k] = src[k]
                    gb[k] = src[k]
        if need_w:
            _pad_into(x[n], xg, pt, pl, Wp)
            for o0 in range(0, Co, B):
                g = gw[o0 // B]
                for c in range(C):
                    for i in range(kh):
                        _dots(dwb[o0:o0 + B, c, i], g, xg[c, i * dh * Wp:], kw, dw, zero)
        if need_x:
            H, W = dx.shape[2], dx.shape[3]
            for c0 in range(0, C, B):
                _grid_conv(acc, wf, c0, C, gext, kh, kw, dh, dw, Wp)
                for q in range(min(B, C - c0)):
                    for r in range(H):
                        dst = dx[n, c0 + q, r]
                        src = acc[q, (r + pt) * Wp + pl:(r + pt) * Wp + pl + W]
                        for k in range(W):
                            dst[k] = src[k]
    if need_w:
        for o in range(Co):
            dwt[o] += dwb[o]
