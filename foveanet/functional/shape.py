"""Shape-changing ops: pad (constant / reflect / replicate / circular) and interpolate.

Every non-constant pad and every nearest-neighbour resize is a gather along each spatial
axis, y = x[..., i_1(·), ..., i_k(·)], so one Function serves both; its backward folds the
gradient back along each axis, summing the outputs that read the same input element.
Linear resizes are separable, y = A_h x A_w^T with sparse-ish (out, in) weight matrices,
so forward and backward are two matrix products each.
"""
from __future__ import annotations

import math

import numpy as np

from foveanet.autograd.function import Function
from foveanet.backend import devices
from foveanet.backend.arrays import array_module
from foveanet.functional._utils import as_tensor, check_float

__all__ = ["pad", "interpolate"]


# ----------------------------------------------------------------------------- pad


class _ConstantPad(Function):
    """y = value outside, x inside (negative pads crop);  dx = g over the kept window."""

    def forward(self, x, src=(), dst=(), out_shape=(), value=0.0):
        y = array_module(x).full(out_shape, value, dtype=x.dtype)
        y[dst] = x[src]
        self.src, self.dst, self.in_shape = src, dst, x.shape
        return y

    def backward(self, g):
        window = g[self.dst]
        if window.shape == self.in_shape:
            return window
        dx = array_module(g).zeros(self.in_shape, dtype=g.dtype)
        dx[self.src] = window
        return dx


def _as_sel(a: np.ndarray):
    """An index array as a slice when it is an arithmetic progression (views, no gather)."""
    if a.size == 1:
        return slice(int(a[0]), int(a[0]) + 1)
    d = np.diff(a)
    if d[0] != 0 and np.all(d == d[0]):
        stop = int(a[-1] + d[0])
        return slice(int(a[0]), stop if stop >= 0 else None, int(d[0]))
    return a


def _fold_plan(ix: np.ndarray) -> list:
    """Pairs (output selection, input selection) whose input positions never repeat, so that
    ``dx[in] += g[out]`` over the pairs sums every output into the input it read.

    Two decompositions, the shorter wins: maximal runs of ±1 steps (a pad is its interior plus
    a mirrored, repeated or wrapped strip on each side: a handful of slices) and groups by
    occurrence rank (nearest upsampling by f is f strided slices).
    """
    runs, p, size = [], 0, ix.size
    while p < size:
        q, step = p + 1, 1
        if q < size and abs(int(ix[q]) - int(ix[p])) == 1:
            step = int(ix[q]) - int(ix[p])
            while q < size and ix[q] - ix[q - 1] == step:
                q += 1
        runs.append((slice(p, q), _as_sel(ix[p:q])))
        p = q
    order = np.argsort(ix, kind="stable")
    first = np.searchsorted(ix[order], ix[order], side="left")
    rank = np.empty(size, dtype=np.int64)
    rank[order] = np.arange(size) - first
    if rank.max() + 1 >= len(runs):
        return runs
    groups = []
    for r in range(int(rank.max()) + 1):
        pos = np.flatnonzero(rank == r)
        groups.append((_as_sel(pos), _as_sel(ix[pos])))

    def cost(plan):  # a fancy-indexed pair copies and scatters: as dear as several slices
        return sum(1 + 7 * (not isinstance(o, slice)) + 7 * (not isinstance(i, slice)) for o, i in plan)

    return groups if cost(groups) < cost(runs) else runs


class _AxisGather(Function):
    """y = x[..., i_1[:, None], i_2] (one index array per trailing axis, np.ix_ style).

    dx_j = Σ_{o : i(o) = j} g_o along each axis, as a few slice additions (see _fold_plan):
    np.add.at and sort + reduceat are 5-20x slower on feature maps.
    """

    def forward(self, x, idx=()):
        self.in_shape, self.idx = x.shape, idx
        xp = array_module(x)
        if xp is not np:  # the plan is made on the host; the gather runs where x is
            idx = tuple(xp.asarray(i) for i in idx)
        return x[(Ellipsis,) + xp.ix_(*idx)]

    def backward(self, g):
        k = len(self.idx)
        xp = array_module(g)
        for j, ix in enumerate(self.idx):
            axis = g.ndim - k + j
            n = self.in_shape[axis]
            if ix.size == n and np.array_equal(ix, np.arange(n)):
                continue
            lead = (slice(None),) * axis
            shape = list(g.shape)
            shape[axis] = n
            dx = xp.zeros(shape, dtype=g.dtype)
            for out_sel, in_sel in _fold_plan(ix):
                if xp is not np:  # index arrays of the host plan go to the device
                    out_sel, in_sel = (v if isinstance(v, slice) else xp.asarray(v) for v in (out_sel, in_sel))
                dx[lead + (in_sel,)] += g[lead + (out_sel,)]
            g = dx
        return g


def _pad_index(mode: str, n: int, lo: int, hi: int, dim: int, shape) -> np.ndarray:
    """Source index of every output position along one axis of size n padded by (lo, hi)."""
    if n + lo + hi <= 0:
        raise ValueError(f"pad: padding ({lo}, {hi}) leaves no elements in dimension {dim} of input of shape {shape}")
    if mode == "reflect":
        if lo >= n or hi >= n:
            raise ValueError(
                f"pad: reflect padding must be smaller than the padded dimension, got padding "
                f"({lo}, {hi}) for dimension {dim} of size {n} (input of shape {shape})"
            )
        i = np.arange(-lo, n + hi)
        i = np.abs(i)
        return np.where(i > n - 1, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(np.arange(-lo, n + hi), 0, n - 1)
    # circular: a negative pad crops first, and the wrap runs over what is left (PyTorch)
    start = max(-lo, 0)
    kept = n - start - max(-hi, 0)
    lo_p, hi_p = max(lo, 0), max(hi, 0)
    if lo_p > kept or hi_p > kept:
        raise ValueError(
            f"pad: circular padding ({lo}, {hi}) would wrap around more than once for dimension "
            f"{dim} of size {n} (input of shape {shape})"
        )
    return start + np.arange(-lo_p, kept + hi_p) % kept


def pad(input, pad, mode="constant", value=0.0):
    """Pad (or, with negative amounts, crop) the trailing dims of a tensor.

    ``pad`` = (left, right) pads the last dim, (left, right, top, bottom) the last two, and
    so on (last dim first, as PyTorch):

        'constant'   y = value outside, x inside; any number of dims; negative pads crop
        'reflect'    mirror without repeating the edge ([1 2 3] -> 3 2 [1 2 3] 2 1); pads < n
        'replicate'  repeat the edge value
        'circular'   wrap around; pads <= n

    The last three gather y = x[..., i(o)] along each padded axis and pad 1, 2 or 3 trailing
    dims of a ``(C, *)`` or ``(N, C, *)`` input.

        backward, 'constant':  dx = g over the window of x
        backward, the others:  dx_j = Σ g_o over every output position o that reads x_j
                               (edge values collect their reflections and copies)

    Args:
        input: a tensor of any dtype.
        pad: an even-length sequence of ints, (before, after) per dim from the last one.
        mode: 'constant' (default), 'reflect', 'replicate' or 'circular'.
        value: the fill value of 'constant' (default 0); the other modes take none.

    Shape:
        - Output: each padded dim of size n becomes n + before + after.

    Example::

        >>> x = fn.tensor([[[1., 2., 3.]]], requires_grad=True)
        >>> F.pad(x, (2, 1), value=9.).numpy()
        array([[[9., 9., 1., 2., 3., 9.]]], dtype=float32)
        >>> y = F.pad(x, (2, 2), mode="reflect")
        >>> y.numpy()
        array([[[3., 2., 1., 2., 3., 2., 1.]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()  # how many outputs read each input
        array([[[2., 3., 2.]]], dtype=float32)
        >>> F.pad(x, (2, 2), mode="circular").numpy()
        array([[[2., 3., 1., 2., 3., 1., 2.]]], dtype=float32)
        >>> F.pad(fn.ones(1, 3, 4, 4), (1, 1, 2, 2)).shape  # W + 1 + 1, H + 2 + 2
        (1, 3, 8, 6)
    """
    op = "pad"
    x = as_tensor(input, "input", op)
    try:
        amounts = tuple(int(p) for p in pad)
    except TypeError:
        raise TypeError(f"{op}: pad must be a sequence of ints, got {pad!r}") from None
    if len(amounts) % 2:
        raise ValueError(f"{op}: padding length must be divisible by 2, got {len(amounts)} values {amounts}")
    k = len(amounts) // 2
    if k > x.ndim:
        raise ValueError(
            f"{op}: padding length must be at most twice the input's number of dims, got padding "
            f"length {len(amounts)} for input of shape {tuple(x.shape)}"
        )
    dims = [x.ndim - 1 - i for i in range(k)]  # pad pair i applies to dims[i]
    pairs = [(amounts[2 * i], amounts[2 * i + 1]) for i in range(k)]
    shape = tuple(x.shape)
    if mode == "constant":
        src, dst, out_shape = [slice(None)] * x.ndim, [slice(None)] * x.ndim, list(shape)
        for d, (lo, hi) in zip(dims, pairs):
            n = shape[d]
            size = n + lo + hi
            if size < 0:
                raise ValueError(f"{op}: padding ({lo}, {hi}) makes dimension {d} of input of shape {shape} negative ({size})")
            keep = max(n - max(-lo, 0) - max(-hi, 0), 0)
            src[d] = slice(max(-lo, 0), max(-lo, 0) + keep)
            dst[d] = slice(max(lo, 0), max(lo, 0) + keep)
            out_shape[d] = size
        return _ConstantPad.apply(x, src=tuple(src), dst=tuple(dst), out_shape=tuple(out_shape),
                                  value=0.0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise ValueError(f"{op}: unknown mode {mode!r}; expected 'constant', 'reflect', 'replicate' or 'circular'")
    if value not in (None, 0):
        raise ValueError(f"{op}: mode {mode!r} takes no fill value, got value={value!r}")
    if k == 0 or k > 3 or not k + 1 <= x.ndim <= k + 2:
        raise ValueError(
            f"{op}: mode {mode!r} pads the last 1, 2 or 3 dims of a (C, *) or (N, C, *) input: "
            f"padding of length {len(amounts)} needs a {k + 1}-d or {k + 2}-d input, got shape {shape}"
        )
    idx = tuple(_pad_index(mode, shape[d], lo, hi, d, shape) for d, (lo, hi) in reversed(list(zip(dims, pairs))))
    return _AxisGather.apply(x, idx=idx)


# ---------------------------------------------------------------------- interpolate

_MODES = {"nearest": (3, 4), "nearest-exact": (3, 4), "linear": (3,), "bilinear": (4,)}


def _nearest_index(n_in: int, n_out: int, scale, exact: bool, shortcuts: bool, dt) -> np.ndarray:
    """Source index per output position, in the input's float precision like PyTorch.

    legacy 'nearest': floor(dst · s);  'nearest-exact': floor((dst + 0.5) · s);  both clamped
    to n_in - 1, with s = 1/scale_factor when one was given, else n_in / n_out.
    """
    s = dt(1.0 / scale) if scale else dt(n_in) / dt(n_out)
    dst = np.arange(n_out, dtype=dt)
    if exact:
        src = np.floor((dst + dt(0.5)) * s)
    else:
        # PyTorch's 2-d kernel (not the 1-d one) copies an unchanged size and halves an exact
        # doubling, whatever 1/scale_factor says; the sweeps in the tests pin this down
        if shortcuts and n_out == n_in:
            return np.arange(n_out)
        if shortcuts and n_out == 2 * n_in:
            return np.arange(n_out) // 2
        src = np.floor(dst * s)
    return np.minimum(src.astype(np.int64), n_in - 1)


def _linear_matrix(n_in: int, n_out: int, scale, align_corners: bool, dt) -> np.ndarray:
    """(n_out, n_in) matrix of the 1-d linear resize: two weights per row.

    align_corners: src = dst · (n_in - 1)/(n_out - 1)  (corner pixels' centres line up)
    otherwise:     src = max((dst + 0.5) · s - 0.5, 0),  s = 1/scale_factor or n_in/n_out
    Row o puts 1 - λ on floor(src) and λ = src - floor(src) on the next index (clamped).
    An unchanged size gives the identity.
    """
    if n_out == n_in:
        # PyTorch copies a dim whose size does not change, even when 1/scale_factor != 1
        return np.eye(n_in, dtype=dt)
    dst = np.arange(n_out, dtype=dt)
    if align_corners:
        s = dt(n_in - 1) / dt(n_out - 1) if n_out > 1 else dt(0)
        src = dst * s
    else:
        s = dt(1.0 / scale) if scale else dt(n_in) / dt(n_out)
        src = np.maximum((dst + dt(0.5)) * s - dt(0.5), dt(0))
    i0 = np.minimum(np.floor(src).astype(np.int64), n_in - 1)
    i1 = np.minimum(i0 + 1, n_in - 1)
    lam = np.clip(src - i0.astype(dt), dt(0), dt(1))
    a = np.zeros((n_out, n_in), dtype=dt)
    rows = np.arange(n_out)
    a[rows, i0] = 1 - lam
    a[rows, i1] += lam  # i1 == i0 at the last input: the weights add up to 1 there
    return a


class _Separable(Function):
    """y = A_h x A_w^T over the trailing (H, W) (or y = x A_w^T for (L,));
    dx = A_h^T g A_w. H runs first in forward: the batched product then meets the smaller
    array, and the W pass is one large GEMM over all rows."""

    uses_blas = True

    def forward(self, x, mats=()):
        self.mats, self.in_shape = mats, x.shape
        lead = x.shape[: x.ndim - len(mats)]
        t = x
        if len(mats) == 2:
            t = array_module(x).matmul(mats[0], x.reshape((-1,) + x.shape[-2:]))
        aw = mats[-1]
        y = t.reshape(-1, aw.shape[1]) @ aw.T
        return y.reshape(lead + tuple(a.shape[0] for a in mats))

    def backward(self, g):
        aw = self.mats[-1]
        t = g.reshape(-1, aw.shape[0]) @ aw
        if len(self.mats) == 2:
            ah = self.mats[0]
            xp = array_module(g)
            t = xp.matmul(xp.ascontiguousarray(ah.T), t.reshape(-1, ah.shape[0], aw.shape[1]))
        return t.reshape(self.in_shape)


def _per_dim(value, k: int, name: str, spatial) -> tuple:
    if isinstance(value, (tuple, list)):
        if len(value) != k:
            raise ValueError(
                f"interpolate: {name} must have one value per spatial dim; input has {k} "
                f"(spatial size {tuple(spatial)}), got {name}={tuple(value)}"
            )
        return tuple(value)
    return (value,) * k


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None):
    """Resize the spatial dims of an (N, C, L) or (N, C, H, W) batch (nearest or linear).

    Per axis, the source coordinate of output position dst, with s = n_in/n_out (or
    1/scale_factor when one is given and ``recompute_scale_factor`` is not true, as PyTorch):

        'nearest'              src = floor(dst·s)
        'nearest-exact'        src = floor((dst + 0.5)·s)    (both clamped to n_in - 1)
        'linear', 'bilinear'   src = max((dst + 0.5)·s - 0.5, 0),
                               or dst·(n_in - 1)/(n_out - 1) with align_corners

    The linear modes mix floor(src) and the next index with weights 1 - λ, λ
    (λ = src - floor(src)), separably, as matrices per plane:

        y = A_h x A_wᵀ
        backward: the transpose of the resampling
            nearest:  dx_j = Σ g_o over the outputs that copied x_j
            linear:   dx = A_hᵀ g A_w

    Args:
        input: (N, C, L) or (N, C, H, W), float ('linear' takes 3-d, 'bilinear' 4-d).
        size: the output size, an int or one per spatial dim.
        scale_factor: a float or one per spatial dim; the output size is floor(n·scale_factor).
            Give exactly one of size and scale_factor.
        mode: 'nearest' (default), 'nearest-exact', 'linear' or 'bilinear'.
        align_corners: linear modes only (default False): map the corner pixels' centres
            onto each other.
        recompute_scale_factor: with scale_factor, take s = n_in/n_out instead of
            1/scale_factor.

    Shape:
        - Output: ``(N, C, *size)``.

    Example::

        >>> x = fn.tensor([[[[1., 2.], [3., 4.]]]], requires_grad=True)
        >>> F.interpolate(x, scale_factor=2).numpy()
        array([[[[1., 1., 2., 2.],
                 [1., 1., 2., 2.],
                 [3., 3., 4., 4.],
                 [3., 3., 4., 4.]]]], dtype=float32)
        >>> y = F.interpolate(x, size=3, mode="bilinear", align_corners=True)
        >>> y.numpy()
        array([[[[1. , 1.5, 2. ],
                 [2. , 2.5, 3. ],
                 [3. , 3.5, 4. ]]]], dtype=float32)
        >>> y.sum().backward()
        >>> x.grad.numpy()  # each input's total weight over the 9 outputs
        array([[[[2.25, 2.25],
                 [2.25, 2.25]]]], dtype=float32)
        >>> F.interpolate(fn.tensor([[[1., 2., 4.]]]), size=5, mode="nearest-exact").numpy()
        array([[[1., 1., 2., 4., 4.]]], dtype=float32)
    """
    op = "interpolate"
    x = as_tensor(input, "input", op)
    if mode not in _MODES:
        raise ValueError(f"{op}: unknown mode {mode!r}; expected one of {', '.join(map(repr, _MODES))}")
    if x.ndim not in _MODES[mode]:
        want = " or ".join(f"{n}-d" for n in _MODES[mode])
        raise ValueError(f"{op}: mode {mode!r} expects a {want} input (N, C, *), got shape {tuple(x.shape)}")
    linear = mode in ("linear", "bilinear")
    if align_corners is not None and not linear:
        raise ValueError(f"{op}: align_corners can only be set with the linear modes ('linear', 'bilinear'), got mode {mode!r}")
    if (size is None) == (scale_factor is None):
        raise ValueError(f"{op}: give exactly one of size and scale_factor, got "
                         f"{'both' if size is not None else 'neither'}")
    check_float(x, op)
    spatial = x.shape[2:]
    k = len(spatial)
    if size is not None:
        out = tuple(int(s) for s in _per_dim(size, k, "size", spatial))
        scales = (None,) * k
    else:
        scales = tuple(float(s) for s in _per_dim(scale_factor, k, "scale_factor", spatial))
        out = tuple(math.floor(n * s) for n, s in zip(spatial, scales))
        if recompute_scale_factor:
            scales = (None,) * k
    if any(o <= 0 for o in out) or any(n <= 0 for n in spatial):
        raise ValueError(f"{op}: input and output sizes must be positive, got input {tuple(spatial)} and output {out}")
    dt = x.dtype.type
    if linear:
        mats = tuple(devices.to_device(_linear_matrix(n, o, s, bool(align_corners), dt), x.device)
                     for n, o, s in zip(spatial, out, scales))
        return _Separable.apply(x, mats=mats)
    idx = tuple(_nearest_index(n, o, s, mode == "nearest-exact", k == 2, dt) for n, o, s in zip(spatial, out, scales))
    return _AxisGather.apply(x, idx=idx)

