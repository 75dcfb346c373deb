"""The GPU's KernelSet: CuPy ElementwiseKernels where the reference formulas launch many.

On CuPy arrays the ops run their reference formulas (written with ``xp``) except for:

- ``cols``: im2col and col2im as one kernel each. The reference copies one kernel tap per
  slice (kh*kw launches, plus a padded copy of the input); col2im gathers, one thread per
  input cell summing the taps that read it, so it needs no atomics.
- ``max_pool``: one thread per window, keeping the flat argmax (PyTorch's rule: the first
  maximum in row-major order, a NaN wins and the last NaN is kept, an all-padding start
  reports the first cell inside the input); backward adds each g at its argmax with
  atomicAdd. The reference makes ~4 launches per kernel cell forward and 2 backward.

These kernels cannot run where there is no GPU: the project's machines test the stand-in
(the reference formulas), and the ``gpu``-marked tests of ``tests/backend/test_seam_conv.py``
check these against the CPU and PyTorch on a GPU (``benchmarks/gpu_check.sh``, which also
runs them with ``FOVEANET_KERNELS=reference`` to check the formulas alone). CuPy compiles
each kernel on first use and caches it on disk.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend.arrays import KernelSet

_IM2COL = r"""
long long r = i;
const int wo = r % Wo; r /= Wo;
const int ho = r % Ho; r /= Ho;
const int j = r % kw; r /= kw;
const int k = r % kh; r /= kh;           // r = n * C + c
const int h = ho * sh - pt + k * dh;
const int w = wo * sw - pl + j * dw;
cols = (h >= 0 && h < H && w >= 0 && w < W) ? x[(r * H + h) * W + w] : (T)0;
"""

_COL2IM = r"""
long long r = i;
const int w = r % W; r /= W;
const int h = r % H; r /= H;             // r = n * C + c
const long long plane = (long long)Ho * Wo;
T acc = 0;
for (int k = 0; k < kh; ++k) {
    const int hh = h + pt - k * dh;
    if (hh < 0) break;                   // hh only falls as k grows
    if (hh % sh) continue;
    const int ho = hh / sh;
    if (ho >= Ho) continue;
    for (int j = 0; j < kw; ++j) {
        const int ww = w + pl - j * dw;
        if (ww < 0) break;
        if (ww % sw) continue;
        const int wo = ww / sw;
        if (wo >= Wo) continue;
        acc += cols[((r * kh + k) * kw + j) * plane + (long long)ho * Wo + wo];
    }
}
x = acc;
"""

_MAX_POOL = r"""
long long r = i;
const int ow = r % Wo; r /= Wo;
const int oh = r % Ho; r /= Ho;          // r = n * C + c
const T* plane = &x[r * H * W];
T best = 0;
int arg = -1;
for (int k = 0; k < kh; ++k) {
    const int h = oh * sh - ph + k * dh;
    if (h < 0 || h >= H) continue;
    for (int j = 0; j < kw; ++j) {
        const int w = ow * sw - pw + j * dw;
        if (w < 0 || w >= W) continue;
        const T v = plane[h * W + w];
        if (arg < 0 || v > best || isnan(v)) { best = v; arg = h * W + w; }
    }
}
y = best;
idx = arg;
"""

_MAX_POOL_BACK = r"""
if (idx >= 0) atomicAdd(&dx[(i / plane_out) * plane_in + idx], g);
"""

_cache: dict = {}


def _kernel(name: str):
    """The CuPy ElementwiseKernel ``name``, built on first use (CuPy imported only then)."""
    k = _cache.get(name)
    if k is None:
        import cupy

        ints = lambda names: ", ".join(f"int32 {n}" for n in names.split())  # noqa: E731
        if name == "im2col":
            k = cupy.ElementwiseKernel(
                "raw T x, " + ints("H W Ho Wo kh kw sh sw dh dw pt pl"), "T cols", _IM2COL,
                "foveanet_im2col")
        elif name == "col2im":
            k = cupy.ElementwiseKernel(
                "raw T cols, " + ints("H W Ho Wo kh kw sh sw dh dw pt pl"), "T x", _COL2IM,
                "foveanet_col2im")
        elif name == "max_pool":
            k = cupy.ElementwiseKernel(
                "raw T x, " + ints("H W Ho Wo kh kw sh sw dh dw ph pw"), "T y, int32 idx",
                _MAX_POOL, "foveanet_max_pool")
        else:
            k = cupy.ElementwiseKernel(
                "T g, int32 idx, int64 plane_out, int64 plane_in", "raw T dx", _MAX_POOL_BACK,
                "foveanet_max_pool_backward")
        _cache[name] = k
    return k


class Cols:
    """im2col and col2im of ``functional/im2col.py``, one kernel each (see the module)."""

    @staticmethod
    def _geometry(g) -> tuple:
        return (g.H, g.W, g.Ho, g.Wo, g.kh, g.kw, g.sh, g.sw, g.dh, g.dw, g.pads[0], g.pads[2])

    def im2col(self, x, g):
        """x (N, C, H, W) -> cols (N, G, K, P), zero padding by ``g.pads``."""
        import cupy

        cols = cupy.empty((g.N, g.C, g.kh, g.kw, g.Ho, g.Wo), dtype=x.dtype)
        _kernel("im2col")(cupy.ascontiguousarray(x), *self._geometry(g), cols)
        return cols.reshape(g.N, g.G, -1, g.Ho * g.Wo)

    def col2im(self, cols, g):
        """cols (N, G, K, P) -> x (N, C, H, W): each cell the sum of the taps that read it."""
        import cupy

        x = cupy.empty((g.N, g.C, g.H, g.W), dtype=cols.dtype)
        _kernel("col2im")(cupy.ascontiguousarray(cols), *self._geometry(g), x)
        return x


_POOL_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))  # atomicAdd and isnan's types


class MaxPool:
    """Max pooling as one kernel forward (the window's max and flat argmax) and one back."""

    def forward(self, x4, geo, keep: bool):
        """(y (N, C, H_out, W_out), int32 flat argmax per window, -1 for none)."""
        import cupy

        h, w = geo.h, geo.w
        N, C = geo.shape4[:2]
        y = cupy.empty((N, C, h.out, w.out), dtype=x4.dtype)
        idx = cupy.empty(y.shape, dtype=np.int32)
        _kernel("max_pool")(cupy.ascontiguousarray(x4), h.n, w.n, h.out, w.out, h.k, w.k,
                            h.s, w.s, h.d, w.d, h.p, w.p, y, idx)
        return y, (idx if keep else None)

    def backward(self, g, idx, geo):
        """dx (N, C, H, W): each window's g added at its argmax."""
        import cupy

        dx = cupy.zeros(geo.shape4, dtype=g.dtype)
        plane_out = idx.shape[2] * idx.shape[3]
        _kernel("max_pool_backward")(cupy.ascontiguousarray(g.reshape(idx.shape)), idx,
                                     plane_out, geo.h.n * geo.w.n, dx)
        return dx

    @staticmethod
    def handles(dtype) -> bool:
        return np.dtype(dtype) in _POOL_DTYPES


KERNELS = KernelSet("cuda", cols=Cols(), max_pool=MaxPool())
