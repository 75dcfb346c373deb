"""The reference convolution: im2col, one matrix product per group, col2im.

This is the lecture's convolution as code, and what every fast engine in the backends is
tested against (float64, ``tests/backend/test_conv_paths.py``). ``functional.conv`` runs it
when the backend brings no convolution kernel (``FOVEANET_KERNELS=reference``). It works
on any array module (``xp``) and 4-d NCHW arrays; ``g`` is the
``foveanet.geometry.ConvGeom`` of the direct convolution x (N, C, H, W) ->
y (N, Co, Ho, Wo), with K = C/G * kh * kw rows of cols per group and P = Ho * Wo.

    cols[n, (c, i, j), (h, w)] = xpad[n, c, h*sh + i*dh, w*sw + j*dw]     im2col
    Y  = W_mat @ cols  (+ b)           W_mat[o, (c, i, j)] = W[o, c, i, j]   per group
    dW = sum_n dY @ cols^T
    dX = col2im(W_mat^T @ dY)          col2im adds each entry back where im2col read it

``cols`` (the backend's ``KernelSet.cols``, or None) swaps in a device's own im2col and col2im:
here they copy one kernel tap per slice, kh*kw launches on a GPU where one kernel does.
"""
from __future__ import annotations

from foveanet.backend import array_module
from foveanet.geometry import ConvGeom

__all__ = ["im2col", "col2im", "conv", "conv_input_grad", "conv_weight_grad"]


def _taps(g: ConvGeom):
    """(i, j, rows, cols): kernel tap (i, j) and the padded-input window it reads."""
    for i in range(g.kh):
        for j in range(g.kw):
            h0, w0 = i * g.dh, j * g.dw
            yield i, j, slice(h0, h0 + g.sh * (g.Ho - 1) + 1, g.sh), \
                slice(w0, w0 + g.sw * (g.Wo - 1) + 1, g.sw)


def im2col(x, g: ConvGeom):
    """x (N, C, H, W) -> cols (N, G, K, P), zero padding by ``g.pads``."""
    xp = array_module(x)
    t, b, l, r = g.pads
    xpad = xp.zeros((g.N, g.C, g.Hp, g.Wp), dtype=x.dtype)
    xpad[:, :, t:t + g.H, l:l + g.W] = x
    cols = xp.empty((g.N, g.C, g.kh, g.kw, g.Ho, g.Wo), dtype=x.dtype)
    for i, j, rows, columns in _taps(g):
        cols[:, :, i, j] = xpad[:, :, rows, columns]
    return cols.reshape(g.N, g.G, -1, g.Ho * g.Wo)


def col2im(cols, g: ConvGeom):
    """The adjoint of ``im2col``: cols (N, G, K, P) -> x (N, C, H, W), overlapping
    windows summed, the padding dropped."""
    xp = array_module(cols)
    xpad = xp.zeros((g.N, g.C, g.Hp, g.Wp), dtype=cols.dtype)
    c6 = cols.reshape(g.N, g.C, g.kh, g.kw, g.Ho, g.Wo)
    for i, j, rows, columns in _taps(g):
        xpad[:, :, rows, columns] += c6[:, :, i, j]
    t, l = g.pads[0], g.pads[2]
    return xpad[:, :, t:t + g.H, l:l + g.W].copy()


def _w_mat(w, g: ConvGeom):
    """W (Co, C/G, kh, kw) -> (1, G, Co/G, K), broadcast over the batch."""
    return w.reshape(1, g.G, g.Co // g.G, -1)


def conv(x, w, b, g: ConvGeom, cols=None):
    """Y = W_mat @ im2col(x) (+ b): (N, Co, Ho, Wo)."""
    xp = array_module(x)
    unfold = im2col if cols is None else cols.im2col
    y = xp.matmul(_w_mat(w, g), unfold(x, g)).reshape(g.N, g.Co, g.Ho, g.Wo)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def conv_input_grad(gy, w, g: ConvGeom, cols=None):
    """dX = col2im(W_mat^T @ dY): (N, C, H, W)."""
    xp = array_module(gy)
    dcols = xp.matmul(_w_mat(w, g).transpose(0, 1, 3, 2),
                      gy.reshape(g.N, g.G, g.Co // g.G, g.Ho * g.Wo))
    return col2im(dcols, g) if cols is None else cols.col2im(dcols, g)


def conv_weight_grad(gy, x, g: ConvGeom, cols=None):
    """dW = sum over the batch of dY @ cols^T: (Co, C/G, kh, kw)."""
    xp = array_module(gy)
    unfold = im2col if cols is None else cols.im2col
    if g.G == 1:  # one GEMM over (N, P): a per-sample product would hold N copies of dW
        dw = xp.tensordot(gy.reshape(g.N, g.Co, g.Ho * g.Wo), unfold(x, g)[:, 0], axes=([0, 2], [0, 2]))
    else:
        dw = xp.matmul(gy.reshape(g.N, g.G, g.Co // g.G, g.Ho * g.Wo),
                       unfold(x, g).transpose(0, 1, 3, 2)).sum(axis=0)
    return dw.reshape(g.Co, g.C // g.G, g.kh, g.kw)
