"""The elementwise, reduction and shape operations behind Tensor's operators.

Each Function states its gradient next to its forward. ``g`` is dL/d(output).
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from foveanet.autograd.function import Function, unbroadcast
from foveanet.autograd.tensor import Tensor

# --------------------------------------------------------------- argument helpers


def normalize_dims(dim, ndim: int):
    """None (all axes), an int or a sequence of ints -> None or a sorted tuple of axes."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(f"dimension {d} out of range for a tensor with {ndim} dims")
        out.append(int(d) % max(ndim, 1))
    return tuple(sorted(set(out)))


def normalize_shape(shape, size: int) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(n) for n in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {shape}")
    if -1 in shape:
        known = int(np.prod([n for n in shape if n != -1]))
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape {size} elements into {shape}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if int(np.prod(shape)) != size:
        raise ValueError(f"reshape: shape {shape} is invalid for input of size {size}")
    return shape


def normalize_perm(dims, ndim: int) -> tuple:
    dims = tuple(int(d) % ndim for d in dims) if ndim else ()
    if sorted(dims) != list(range(ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of {ndim} dims")
    return dims


def normalize_index(key):
    """Tensors inside an index become arrays (a Tensor of indices, or a bool mask)."""
    if isinstance(key, Tensor):
        return key.data
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    if isinstance(key, list):
        return np.asarray(key)
    return key


def _is_basic_index(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, np.integer, slice)) or k is None or k is Ellipsis for k in parts)


# ------------------------------------------------------------------- arithmetic


class Add(Function):
    """y = a + b;  da = g, db = g (each summed over its broadcast axes)."""

    def forward(self, a, b):
        self.shapes = (np.shape(a), np.shape(b))
        return a + b

    def backward(self, g):
        return unbroadcast(g, self.shapes[0]), unbroadcast(g, self.shapes[1])


class Sub(Function):
    """y = a - b;  da = g, db = -g."""

    def forward(self, a, b):
        self.shapes = (np.shape(a), np.shape(b))
        return a - b

    def backward(self, g):
        db = -unbroadcast(g, self.shapes[1]) if self.needs_input_grad[1] else None
        return unbroadcast(g, self.shapes[0]), db


class Mul(Function):
    """y = a * b;  da = g * b, db = g * a."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, g):
        a, b = self.a, self.b
        da = unbroadcast(g * b, np.shape(a)) if self.needs_input_grad[0] else None
        db = unbroadcast(g * a, np.shape(b)) if self.needs_input_grad[1] else None
        return da, db


class Div(Function):
    """y = a / b;  da = g / b, db = -g * a / b^2."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, g):
        a, b = self.a, self.b
        da = unbroadcast(g / b, np.shape(a)) if self.needs_input_grad[0] else None
        db = unbroadcast(-g * a / (b * b), np.shape(b)) if self.needs_input_grad[1] else None
        return da, db


class Pow(Function):
    """y = a ** b;  da = g * b * a^(b-1), db = g * a^b * ln(a)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        self.y = np.power(a, b)
        return self.y

    def backward(self, g):
        a, b = self.a, self.b
        da = unbroadcast(g * b * np.power(a, b - 1), np.shape(a)) if self.needs_input_grad[0] else None
        db = None
        if self.needs_input_grad[1]:
            with np.errstate(divide="ignore", invalid="ignore"):
                db = unbroadcast(g * self.y * np.log(a), np.shape(b))
        return da, db


class Neg(Function):
    """y = -a;  da = -g."""

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class MatMul(Function):
    """Y = A @ B (batched, NumPy rules);  dA = G @ B^T, dB = A^T @ G.

    1-d operands are promoted to matrices (a row for A, a column for B) and the
    promotion is undone on the gradients; batch axes are summed where broadcast.
    """

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, g):
        a, b = self.a, self.b
        a2 = a[None, :] if a.ndim == 1 else a
        b2 = b[:, None] if b.ndim == 1 else b
        if a.ndim == 1 and b.ndim == 1:
            g2 = np.reshape(g, (1, 1))
        elif a.ndim == 1:
            g2 = np.expand_dims(g, -2)
        elif b.ndim == 1:
            g2 = np.expand_dims(g, -1)
        else:
            g2 = g
        da = db = None
        if self.needs_input_grad[0]:
            da = unbroadcast(g2 @ np.swapaxes(b2, -1, -2), a2.shape)
            da = da.reshape(a.shape)
        if self.needs_input_grad[1]:
            db = unbroadcast(np.swapaxes(a2, -1, -2) @ g2, b2.shape)
            db = db.reshape(b.shape)
        return da, db


class Clone(Function):
    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g


class Cast(Function):
    """y = a in another dtype; the gradient is cast back."""

    def forward(self, a, dtype):
        self.src = a.dtype
        return a.astype(dtype)

    def backward(self, g):
        return g.astype(self.src) if self.src.kind == "f" else None


# ------------------------------------------------------------------ elementwise


class Exp(Function):
    """y = e^a;  da = g * y."""

    def forward(self, a):
        self.y = np.exp(a)
        return self.y

    def backward(self, g):
        return g * self.y


class Log(Function):
    """y = ln a;  da = g / a."""

    def forward(self, a):
        self.a = a
        return np.log(a)

    def backward(self, g):
        return g / self.a


class Sqrt(Function):
    """y = sqrt(a);  da = g / (2 y)."""

    def forward(self, a):
        self.y = np.sqrt(a)
        return self.y

    def backward(self, g):
        return g / (2 * self.y)


class Abs(Function):
    """y = |a|;  da = g * sign(a) (0 at 0, like PyTorch)."""

    def forward(self, a):
        self.a = a
        return np.abs(a)

    def backward(self, g):
        return g * np.sign(self.a)


class Tanh(Function):
    """y = tanh(a);  da = g * (1 - y^2)."""

    def forward(self, a):
        self.y = np.tanh(a)
        return self.y

    def backward(self, g):
        return g * (1 - self.y * self.y)


def stable_sigmoid(a: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-a). For very negative a, e^-a overflows to inf and the result is the
    correct limit 0, so the overflow warning is silenced rather than branched around
    (np.where over both branches costs ~10x more)."""
    e = np.negative(a)
    with np.errstate(over="ignore"):
        np.exp(e, out=e)
    e += 1
    return np.reciprocal(e, out=e)


class Sigmoid(Function):
    """y = 1 / (1 + e^-a);  da = g * y * (1 - y)."""

    def forward(self, a):
        self.y = stable_sigmoid(a)
        return self.y

    def backward(self, g):
        return g * self.y * (1 - self.y)


class Clamp(Function):
    """y = min(max(a, lo), hi);  da = g where lo <= a <= hi, else 0 (PyTorch's convention)."""

    def forward(self, a, lo=None, hi=None):
        self.mask = np.ones(a.shape, dtype=bool)
        if lo is not None:
            self.mask &= a >= lo
        if hi is not None:
            self.mask &= a <= hi
        return np.clip(a, lo, hi)

    def backward(self, g):
        return g * self.mask


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split evenly on ties."""

    largest = True

    def forward(self, a, b):
        self.shapes = (np.shape(a), np.shape(b))
        if self.largest:
            self.wa = (a > b) + 0.5 * (a == b)
            return np.maximum(a, b)
        self.wa = (a < b) + 0.5 * (a == b)
        return np.minimum(a, b)

    def backward(self, g):
        wa = self.wa.astype(g.dtype)
        return unbroadcast(g * wa, self.shapes[0]), unbroadcast(g * (1 - wa), self.shapes[1])


class Minimum(Maximum):
    largest = False


class Where(Function):
    """y = cond ? a : b;  da = g where cond, db = g elsewhere."""

    def forward(self, cond, a, b):
        self.cond = np.asarray(cond, dtype=bool)
        self.shapes = (np.shape(a), np.shape(b))
        return np.where(self.cond, a, b)

    def backward(self, g):
        zero = np.zeros((), dtype=g.dtype)
        return (None, unbroadcast(np.where(self.cond, g, zero), self.shapes[0]),
                unbroadcast(np.where(self.cond, zero, g), self.shapes[1]))


# ------------------------------------------------------------------- reductions


def _expand_back(g, shape, dim, keepdim):
    """Re-insert reduced axes so that ``g`` broadcasts against the input shape."""
    if dim is None:
        return np.broadcast_to(g.reshape((1,) * len(shape)) if not keepdim else g, shape)
    if not keepdim:
        g = np.expand_dims(g, dim)
    return np.broadcast_to(g, shape)


class Sum(Function):
    """y = sum_i a_i over ``dim``;  da = g broadcast back over the summed axes."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        return np.asarray(a.sum(axis=dim, keepdims=keepdim))

    def backward(self, g):
        return _expand_back(g, self.shape, self.dim, self.keepdim)


class Mean(Function):
    """y = (1/n) sum_i a_i;  da = g / n."""

    def forward(self, a, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        self.n = a.size if dim is None else int(np.prod([a.shape[d] for d in dim]))
        return np.asarray(a.mean(axis=dim, keepdims=keepdim))

    def backward(self, g):
        return _expand_back(g / self.n, self.shape, self.dim, self.keepdim)


class Var(Function):
    """y = sum (a - mean)^2 / (n - unbiased);  da = g * 2 (a - mean) / (n - unbiased)."""

    def forward(self, a, dim=None, keepdim=False, unbiased=True):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        n = a.size if dim is None else int(np.prod([a.shape[d] for d in dim]))
        self.denom = n - int(unbiased)
        self.centered = a - a.mean(axis=dim, keepdims=True)
        return np.asarray((self.centered ** 2).sum(axis=dim, keepdims=keepdim) / self.denom)

    def backward(self, g):
        return _expand_back(g, self.shape, self.dim, self.keepdim) * (2 / self.denom) * self.centered


class AMax(Function):
    """y = max (or min) over ``dim``;  da = g / (number of ties) at the extreme values."""

    def forward(self, a, dim=None, keepdim=False, largest=True):
        self.shape, self.dim, self.keepdim = a.shape, dim, keepdim
        y = (a.max if largest else a.min)(axis=dim, keepdims=True)
        self.mask = a == y
        return np.asarray(y if keepdim else (y.reshape(()) if dim is None else np.squeeze(y, dim)))

    def backward(self, g):
        ties = self.mask.sum(axis=self.dim, keepdims=True)
        gk = g if self.keepdim else (g.reshape((1,) * len(self.shape)) if self.dim is None else np.expand_dims(g, self.dim))
        return np.where(self.mask, gk / ties, 0).astype(g.dtype)


class TakeAlongDim(Function):
    """y = a[..., idx, ...] along ``dim``;  da = g scattered back to ``idx`` (added on repeats)."""

    def forward(self, a, idx, dim):
        self.shape, self.idx, self.dim = a.shape, idx, dim
        return np.take_along_axis(a, idx, axis=dim)

    def backward(self, g):
        da = np.zeros(self.shape, dtype=g.dtype)
        np.put_along_axis(da, self.idx, g, axis=self.dim) if _unique_along(self.idx, self.dim) else _add_along(da, self.idx, g, self.dim)
        return da, None


def _unique_along(idx, dim):
    return idx.shape[dim] == 1


def _add_along(da, idx, g, dim):
    grids = list(np.indices(idx.shape, sparse=True))
    grids[dim] = idx
    np.add.at(da, tuple(grids), g)


def gather(a: Tensor, dim: int, index) -> Tensor:
    """``torch.gather``: out[i][j] = a[i][index[i][j]] along ``dim``."""
    idx = index.data if isinstance(index, Tensor) else np.asarray(index)
    return TakeAlongDim.apply(a, idx, dim=dim % a.ndim)


MaxResult = namedtuple("MaxResult", ["values", "indices"])


def reduce_extreme(t: Tensor, dim, keepdim, largest):
    if dim is None:
        return AMax.apply(t, dim=None, keepdim=False, largest=largest)
    dim = int(dim) % t.ndim
    idx = (np.argmax if largest else np.argmin)(t.data, axis=dim)
    idx = np.expand_dims(idx, dim)
    values = TakeAlongDim.apply(t, idx, dim=dim)
    if not keepdim:
        values = values.squeeze(dim)
        idx = np.squeeze(idx, dim)
    return MaxResult(values, Tensor._wrap(idx.astype(np.int64), False, None))


def argextreme(t: Tensor, dim, keepdim, fn):
    if dim is None:
        return Tensor._wrap(np.asarray(fn(t.data), dtype=np.int64), False, None)
    idx = fn(t.data, axis=dim)
    if keepdim:
        idx = np.expand_dims(idx, dim)
    return Tensor._wrap(idx.astype(np.int64), False, None)


# ------------------------------------------------------------------------ shape


class Reshape(Function):
    """y = a viewed with another shape;  da = g viewed with a's shape."""

    def forward(self, a, shape):
        self.shape = a.shape
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.shape)


class Permute(Function):
    """y = a with axes reordered by ``dims``;  da = g with the inverse permutation."""

    def forward(self, a, dims):
        self.inv = tuple(np.argsort(dims))
        return a.transpose(dims)

    def backward(self, g):
        return g.transpose(self.inv)


class Expand(Function):
    """y = a broadcast to ``shape``;  da = g summed over the broadcast axes."""

    def forward(self, a, shape):
        self.shape = a.shape
        return np.broadcast_to(a, shape)

    def backward(self, g):
        return unbroadcast(g, self.shape)


class Index(Function):
    """y = a[key];  da = zeros with g written (basic index) or added (advanced) at key."""

    def forward(self, a, key):
        self.shape, self.key = a.shape, key
        try:
            return a[key]
        except IndexError as e:
            raise IndexError(f"index {key!r} is out of range for a tensor of shape {a.shape}: {e}") from None

    def backward(self, g):
        da = np.zeros(self.shape, dtype=g.dtype)
        if _is_basic_index(self.key):
            da[self.key] = g
        else:
            np.add.at(da, self.key, g)
        return da


class Cat(Function):
    """y = [a_1, ..., a_k] joined along ``dim``;  da_i = the slice of g that came from a_i."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        return np.concatenate(arrays, axis=dim)

    def backward(self, g):
        bounds = np.cumsum(self.sizes)[:-1]
        return tuple(np.split(g, bounds, axis=self.dim))


class Stack(Function):
    """y = [a_1, ..., a_k] stacked on a new axis ``dim``;  da_i = g[..., i, ...]."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        return np.stack(arrays, axis=dim)

    def backward(self, g):
        return tuple(np.moveaxis(g, self.dim, 0))


def _check_join(name, tensors, dim, stacking):
    if not isinstance(tensors, (list, tuple)) or not tensors:
        raise TypeError(f"{name}: expected a non-empty list of tensors, got {type(tensors).__name__}")
    ts = [t if isinstance(t, Tensor) else Tensor(t) for t in tensors]
    ndim = ts[0].ndim
    for i, t in enumerate(ts):
        if t.ndim != ndim:
            raise ValueError(f"{name}: tensor 0 has {ndim} dims but tensor {i} has {t.ndim}")
    d = dim % (ndim + stacking)
    ref = ts[0].shape
    for i, t in enumerate(ts):
        for ax in range(ndim):
            if (stacking or ax != d) and t.shape[ax] != ref[ax]:
                raise ValueError(f"{name}: sizes must match except in dim {dim}; "
                                 f"tensor 0 has shape {ref}, tensor {i} has {t.shape}")
    return ts, d


def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along an existing axis (``torch.cat``)."""
    ts, d = _check_join("cat", tensors, dim, 0)
    return Cat.apply(*ts, dim=d)


def stack(tensors, dim: int = 0) -> Tensor:
    """Stack along a new axis (``torch.stack``)."""
    ts, d = _check_join("stack", tensors, dim, 1)
    return Stack.apply(*ts, dim=d)


def where(cond, a, b) -> Tensor:
    c = cond.data if isinstance(cond, Tensor) else np.asarray(cond)
    like = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else Tensor(a)
    return Where.apply(c, like._operand(a), like._operand(b))


def flatten(t: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if t.ndim == 0:
        return t.reshape(1)
    s, e = start_dim % t.ndim, end_dim % t.ndim
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = t.shape[:s] + (int(np.prod(t.shape[s:e + 1])),) + t.shape[e + 1:]
    return Reshape.apply(t, shape=shape)


def split(t: Tensor, split_size, dim: int = 0):
    n = t.shape[dim]
    if isinstance(split_size, int):
        sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
    else:
        sizes = list(split_size)
        if sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}")
    out, start = [], 0
    for s in sizes:
        key = (slice(None),) * (dim % t.ndim) + (slice(start, start + s),)
        out.append(t[key])
        start += s
    return tuple(out)
