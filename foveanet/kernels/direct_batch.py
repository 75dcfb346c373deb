"""Direct convolution (one group, stride 1) with the batch as the vector dimension: the
forward, dX and dW of ``direct.py``'s layers where its padded grid wastes the most.

    y[n, o, h, w]  = b[o] + sum_{c,i,j} w[o, c, i, j] * xpad[n, c, h + i*dh, w + j*dw]
    dX             = the correlation of dY (zero-bordered) with the kernel flipped, cropped
    dW[o, c, i, j] = sum_{n,h,w} dY[n, o, h, w] * xpad[n, c, h + i*dh, w + j*dw]

``direct.py`` computes each image on its padded grid, Ho rows of Wp = Wo + (kw-1)*dw
numbers, and drops the last (kw-1)*dw of each row: on LeNet-5's C3 (6->16 5x5, 14x14 in,
10x10 out) that is 4 of every 14 multiply-adds; its dX runs every kernel row over every
grid row, the (kh-1)*dh rows of zeros above and below dY included. Here a block of Nb
images is copied once into (C, Hp, Wp*Nb) planes, image index fastest, so that the numbers
one output needs from its kw taps are Nb apart and a tap is one contiguous multiply-add
over a whole output row of Nb images, none of it junk; dX takes, for each of its rows, only
the kernel rows that land inside dY. The cost is the copy into that layout (and out of it),
which pays where the layer has enough input taps per output (``kernels/route.py`` holds
the measurements).

The forward and dX take B = 4 rows per pass over a row with a kernel row's kw taps (as
``direct.py`` does; a last block of one or two rows runs a two-row pass), adding the taps in
a fixed order with fused multiply-adds; dW keeps 4 x kw dot products of a row in registers
at once and lets the compiler reassociate them (vector partial sums), so it differs from a
sequential sum by float round-off. A call covers the images [n0, n1); the caller runs
blocks of images on its threads and adds the blocks' dW.
"""
from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["direct_batch_forward", "direct_batch_backward"]

B = 4  # rows per pass: output channels (forward, dW), input channels (dX)


@njit(cache=True, nogil=True, inline="always")
def _rows(acc, h, w, src, kw, dw, L, N):
    """acc[q, h, k] += sum_j w[q, j] * src[k + j*dw*N] for k < L and the B rows q.
    kw 3 and 5 spelled out so the loop over k is the one the compiler vectorises; the
    tap offset goes through max(., 0) so that it is known not to be a negative index
    (Numba's wrap-around check on a plain ``k + s`` stopped the vector loop: C3's forward,
    64 images, 0.42 -> 1.1-1.2 ms, its dX 0.60 -> 1.8)."""
    s = max(dw * N, 0)
    if kw == 5:
        a0, a1, a2, a3, a4 = w[0, 0], w[0, 1], w[0, 2], w[0, 3], w[0, 4]
        b0, b1, b2, b3, b4 = w[1, 0], w[1, 1], w[1, 2], w[1, 3], w[1, 4]
        c0, c1, c2, c3, c4 = w[2, 0], w[2, 1], w[2, 2], w[2, 3], w[2, 4]
        e0, e1, e2, e3, e4 = w[3, 0], w[3, 1], w[3, 2], w[3, 3], w[3, 4]
        for k in range(L):
            x0, x1, x2 = src[k], src[k + s], src[k + 2 * s]
            x3, x4 = src[k + 3 * s], src[k + 4 * s]
            acc[0, h, k] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3 + a4 * x4
            acc[1, h, k] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3 + b4 * x4
            acc[2, h, k] += c0 * x0 + c1 * x1 + c2 * x2 + c3 * x3 + c4 * x4
            acc[3, h, k] += e0 * x0 + e1 * x1 + e2 * x2 + e3 * x3 + e4 * x4
    elif kw == 3:
        a0, a1, a2 = w[0, 0], w[0, 1], w[0, 2]
        b0, b1, b2 = w[1, 0], w[1, 1], w[1, 2]
        c0, c1, c2 = w[2, 0], w[2, 1], w[2, 2]
        e0, e1, e2 = w[3, 0], w[3, 1], w[3, 2]
        for k in range(L):
            x0, x1, x2 = src[k], src[k + s], src[k + 2 * s]
            acc[0, h, k] += a0 * x0 + a1 * x1 + a2 * x2
            acc[1, h, k] += b0 * x0 + b1 * x1 + b2 * x2
            acc[2, h, k] += c0 * x0 + c1 * x1 + c2 * x2
            acc[3, h, k] += e0 * x0 + e1 * x1 + e2 * x2
    else:
        for j in range(kw):
            a, b, c, e = w[0, j], w[1, j], w[2, j], w[3, j]
            o = max(j * s, 0)
            for k in range(L):
                v = src[o + k]
                acc[0, h, k] += a * v
                acc[1, h, k] += b * v
                acc[2, h, k] += c * v
                acc[3, h, k] += e * v


@njit(cache=True, nogil=True, inline="always")
def _rows2(acc, h, w, src, kw, dw, L, N):
    """``_rows`` for the first two rows only (a last block of one or two)."""
    s = max(dw * N, 0)
    if kw == 5:
        a0, a1, a2, a3, a4 = w[0, 0], w[0, 1], w[0, 2], w[0, 3], w[0, 4]
        b0, b1, b2, b3, b4 = w[1, 0], w[1, 1], w[1, 2], w[1, 3], w[1, 4]
        for k in range(L):
            x0, x1, x2 = src[k], src[k + s], src[k + 2 * s]
            x3, x4 = src[k + 3 * s], src[k + 4 * s]
            acc[0, h, k] += a0 * x0 + a1 * x1 + a2 * x2 + a3 * x3 + a4 * x4
            acc[1, h, k] += b0 * x0 + b1 * x1 + b2 * x2 + b3 * x3 + b4 * x4
    else:
        for j in range(kw):
            a, b = w[0, j], w[1, j]
            o = max(j * s, 0)
            for k in range(L):
                v = src[o + k]
                acc[0, h, k] += a * v
                acc[1, h, k] += b * v


@njit(cache=True, nogil=True)
def _batch_last(x, n0, n1, pt, pl, Hp, Wp):
    """x[n0:n1] (N, C, H, W) as zero-bordered planes (C, Hp, Wp*Nb), image index fastest."""
    C, H, W = x.shape[1], x.shape[2], x.shape[3]
    Nb = n1 - n0
    xt = np.zeros((C, Hp, Wp * Nb), x.dtype)
    for c in range(C):
        for r in range(H):
            dst = xt[c, r + pt]
            for k in range(W):
                for n in range(Nb):
                    dst[(k + pl) * Nb + n] = x[n0 + n, c, r, k]
    return xt


@njit(cache=True, nogil=True, fastmath={"contract"})
def direct_batch_forward(x, w, bias, y, n0, n1, dh, dw, pt, pl, lo, hi):
    """y[n0:n1] of the conv of ``x`` (N, C, H, W) with ``w`` (Co, C, kh, kw), plus ``bias``
    (Co,), clamped to [lo, hi] (+-inf: no clamp; (0, inf): ReLU) in the copy-out.
    ``contract``: each multiply and its add are one fused multiply-add."""
    Nb = n1 - n0
    C = x.shape[1]
    Co, _, kh, kw = w.shape
    Ho, Wo = y.shape[2], y.shape[3]
    xt = _batch_last(x, n0, n1, pt, pl, Ho + (kh - 1) * dh, Wo + (kw - 1) * dw)
    wb = np.zeros((-(-Co // B) * B, C, kh, kw), x.dtype)  # output counts off the block: zero rows
    wb[:Co] = w
    L = Wo * Nb
    acc = np.empty((B, Ho, L), x.dtype)
    for o0 in range(0, Co, B):
        acc[:] = 0
        for h in range(Ho):  # one output row at a time: its B rows stay in the first cache
            for c in range(C):
                for i in range(kh):
                    _rows(acc, h, wb[o0:o0 + B, c, i], xt[c, h + i * dh], kw, dw, L, Nb)
        for q in range(min(B, Co - o0)):
            b = bias[o0 + q]
            for n in range(Nb):
                out = y[n0 + n, o0 + q]
                for h in range(Ho):
                    for k in range(Wo):
                        out[h, k] = min(max(acc[q, h, k * Nb + n] + b, lo), hi)


@njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _dots(out, g, xr, L, N, kw, dw, zero):
    """out[q, j] += sum_k g[q, k] * xr[k + j*dw*N] for k < L and the B rows q; ``zero`` of
    the arrays' dtype (a literal 0 would make float32 sums float64)."""
    s = max(dw * N, 0)
    g0, g1, g2, g3 = g[0], g[1], g[2], g[3]
    if kw == 5:
        u0, u1, u2 = xr[0:L], xr[s:s + L], xr[2 * s:2 * s + L]
        u3, u4 = xr[3 * s:3 * s + L], xr[4 * s:4 * s + L]
        t00 = t01 = t02 = t03 = t04 = zero
        t10 = t11 = t12 = t13 = t14 = zero
        t20 = t21 = t22 = t23 = t24 = zero
        t30 = t31 = t32 = t33 = t34 = zero
        for k in range(L):
            v0, v1, v2, v3, v4 = u0[k], u1[k], u2[k], u3[k], u4[k]
            a = g0[k]
            t00 += a * v0; t01 += a * v1; t02 += a * v2; t03 += a * v3; t04 += a * v4
            a = g1[k]
            t10 += a * v0; t11 += a * v1; t12 += a * v2; t13 += a * v3; t14 += a * v4
            a = g2[k]
            t20 += a * v0; t21 += a * v1; t22 += a * v2; t23 += a * v3; t24 += a * v4
            a = g3[k]
            t30 += a * v0; t31 += a * v1; t32 += a * v2; t33 += a * v3; t34 += a * v4
        out[0, 0] += t00; out[0, 1] += t01; out[0, 2] += t02; out[0, 3] += t03; out[0, 4] += t04
        out[1, 0] += t10; out[1, 1] += t11; out[1, 2] += t12; out[1, 3] += t13; out[1, 4] += t14
        out[2, 0] += t20; out[2, 1] += t21; out[2, 2] += t22; out[2, 3] += t23; out[2, 4] += t24
        out[3, 0] += t30; out[3, 1] += t31; out[3, 2] += t32; out[3, 3] += t33; out[3, 4] += t34
    elif kw == 3:
        u0, u1, u2 = xr[0:L], xr[s:s + L], xr[2 * s:2 * s + L]
        t00 = t01 = t02 = t10 = t11 = t12 = zero
        t20 = t21 = t22 = t30 = t31 = t32 = zero
        for k in range(L):
            v0, v1, v2 = u0[k], u1[k], u2[k]
            a = g0[k]
            t00 += a * v0; t01 += a * v1; t02 += a * v2
            a = g1[k]
            t10 += a * v0; t11 += a * v1; t12 += a * v2
            a = g2[k]
            t20 += a * v0; t21 += a * v1; t22 += a * v2
            a = g3[k]
            t30 += a * v0; t31 += a * v1; t32 += a * v2
        out[0, 0] += t00; out[0, 1] += t01; out[0, 2] += t02
        out[1, 0] += t10; out[1, 1] += t11; out[1, 2] += t12
        out[2, 0] += t20; out[2, 1] += t21; out[2, 2] += t22
        out[3, 0] += t30; out[3, 1] += t31; out[3, 2] += t32
    else:
        for j in range(kw):
            u = xr[j * s:j * s + L]
            t0 = t1 = t2 = t3 = zero
            for k in range(L):
                v = u[k]
                t0 += g0[k] * v
                t1 += g1[k] * v
                t2 += g2[k] * v
                t3 += g3[k] * v
            out[0, j] += t0
            out[1, j] += t1
            out[2, j] += t2
            out[3, j] += t3


@njit(cache=True, nogil=True)
def _weight(gt, ew, x, dwt, n0, n1, kh, kw, dh, dw, pt, pl):
    """dW from dY's block ``gt`` (Co, Ho, (Wo + 2*ew)*Nb, batch-last, ew zero columns each
    side), added to ``dwt``."""
    Nb = n1 - n0
    Co, C = dwt.shape[0], dwt.shape[1]
    Ho = gt.shape[1]
    Wo = gt.shape[2] // Nb - 2 * ew
    xt = _batch_last(x, n0, n1, pt, pl, Ho + (kh - 1) * dh, Wo + (kw - 1) * dw)
    dwb = np.zeros((-(-Co // B) * B, C, kh, kw), gt.dtype)
    L = Wo * Nb
    # one output row of B channels, copied whole (in the last block, rows past Co feed only
    # rows of dwb that are not copied out)
    g = np.zeros((B, L), gt.dtype)
    zero = np.zeros(1, gt.dtype)[0]
    for o0 in range(0, Co, B):
        for h in range(Ho):
            for q in range(min(B, Co - o0)):
                g[q] = gt[o0 + q, h, ew * Nb:ew * Nb + L]
            for c in range(C):
                for i in range(kh):
                    _dots(dwb[o0:o0 + B, c, i], g, xt[c, h + i * dh], L, Nb, kw, dw, zero)
    for o in range(Co):
        dwt[o] += dwb[o]


@njit(cache=True, nogil=True, fastmath={"contract"})
def _input(gt, w, dx, n0, n1, dh, dw, pt, pl):
    """dx[n0:n1] from dY's block ``gt`` (as in ``_weight``): the correlation of the
    zero-bordered dY with the kernel flipped left-right, row by row over the kernel rows
    that land inside dY (no multiply-add on a zero row)."""
    Nb = n1 - n0
    Co, C, kh, kw = w.shape
    Ho = gt.shape[1]
    H, W = dx.shape[2], dx.shape[3]
    wf = np.zeros((-(-C // B) * B, Co, kh, kw), gt.dtype)
    for o in range(Co):
        for c in range(C):
            for i in range(kh):
                for j in range(kw):
                    wf[c, o, i, kw - 1 - j] = w[o, c, i, j]
    L = W * Nb
    acc = np.empty((B, H, L), gt.dtype)
    for c0 in range(0, C, B):
        acc[:] = 0
        two = C - c0 <= 2
        for r in range(H):
            for o in range(Co):
                for i in range(kh):
                    hg = r + pt - i * dh
                    if 0 <= hg < Ho:
                        src = gt[o, hg, pl * Nb:]
                        if two:
                            _rows2(acc, r, wf[c0:c0 + B, o, i], src, kw, dw, L, Nb)
                        else:
                            _rows(acc, r, wf[c0:c0 + B, o, i], src, kw, dw, L, Nb)
        for q in range(min(B, C - c0)):
            for n in range(Nb):
                out = dx[n0 + n, c0 + q]
                for r in range(H):
                    for k in range(W):
                        out[r, k] = acc[q, r, k * Nb + n]


@njit(cache=True, nogil=True)
def direct_batch_backward(gy, x, w, dx, dwt, n0, n1, dh, dw, pt, pl):
    """dx[n0:n1] (when dx is not empty) and dwt (Co, C, kh, kw; when not empty: this
    block's dW, added to what dwt holds) from dY ``gy`` (N, Co, Ho, Wo); the arguments of
    ``direct.direct_backward``. dY is copied batch-last once for both."""
    kw = w.shape[3]
    Ho, Wo = gy.shape[2], gy.shape[3]
    ew = (kw - 1) * dw
    gt = _batch_last(gy, n0, n1, 0, ew, Ho, Wo + 2 * ew)
    if dwt.shape[0] > 0:
        _weight(gt, ew, x, dwt, n0, n1, w.shape[2], kw, dh, dw, pt, pl)
    if dx.shape[0] > 0:
        _input(gt, w, dx, n0, n1, dh, dw, pt, pl)
