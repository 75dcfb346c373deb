"""Shape operations (reshape, permute, expand, index, cat, stack, split) and their gradients."""
from __future__ import annotations

import itertools
import math

import numpy as np

from foveanet.backend.arrays import array_module
from foveanet.autograd.function import Function, unbroadcast
from foveanet.autograd.tensor import Tensor
from foveanet.autograd.tracing import traceable

# --------------------------------------------------------------- argument helpers


def normalize_shape(shape, size: int) -> tuple:
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    shape = tuple(int(n) for n in shape)
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: only one dimension can be -1, got {shape}")
    if -1 in shape:
        known = int(math.prod(n for n in shape if n != -1))
        if known == 0 or size % known:
            raise ValueError(f"reshape: cannot reshape {size} elements into {shape}")
        shape = tuple(size // known if n == -1 else n for n in shape)
    if math.prod(shape) != size:
        raise ValueError(f"reshape: shape {shape} is invalid for input of size {size}")
    return shape


def normalize_perm(dims, ndim: int) -> tuple:
    dims = tuple(int(d) % ndim for d in dims) if ndim else ()
    if sorted(dims) != list(range(ndim)):
        raise ValueError(f"permute: {dims} is not a permutation of {ndim} dims")
    return dims


def normalize_index(key, data=None):
    """Tensors inside an index become arrays (a Tensor of indices, or a bool mask); for
    ``data`` on a GPU, host index arrays (lists, NumPy arrays, CPU tensors) go to its device,
    as torch lets a CPU index pick from a CUDA tensor."""
    if isinstance(key, Tensor):
        key = key.data
    elif isinstance(key, tuple):
        key = tuple(k.data if isinstance(k, Tensor) else k for k in key)
    elif isinstance(key, list):
        key = np.asarray(key)
    if data is None or data.__class__ is np.ndarray:
        return key
    xp = array_module(data)
    if isinstance(key, tuple):
        return tuple(xp.asarray(k) if isinstance(k, np.ndarray) else k for k in key)
    return xp.asarray(key) if isinstance(key, np.ndarray) else key


def _is_basic_index(key) -> bool:
    parts = key if isinstance(key, tuple) else (key,)
    return all(isinstance(k, (int, np.integer, slice)) or k is None or k is Ellipsis for k in parts)


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
        self.inv = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return a.transpose(dims)

    def backward(self, g):
        return g.transpose(self.inv)


class Expand(Function):
    """y = a broadcast to ``shape``;  da = g summed over the broadcast axes."""

    def forward(self, a, shape):
        self.shape = a.shape
        return array_module(a).broadcast_to(a, shape)

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
        xp = array_module(g)
        da = xp.zeros(self.shape, dtype=g.dtype)
        if _is_basic_index(self.key):
            da[self.key] = g
        else:
            xp.add.at(da, self.key, g)
        return da


class Cat(Function):
    """y = [a_1, ..., a_k] joined along ``dim``;  da_i = the slice of g that came from a_i."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        self.sizes = [a.shape[dim] for a in arrays]
        return array_module(*arrays).concatenate(arrays, axis=dim)

    def backward(self, g):
        bounds = list(itertools.accumulate(self.sizes))[:-1]
        return tuple(array_module(g).split(g, bounds, axis=self.dim))


class Stack(Function):
    """y = [a_1, ..., a_k] stacked on a new axis ``dim``;  da_i = g[..., i, ...]."""

    def forward(self, *arrays, dim=0):
        self.dim = dim
        return array_module(*arrays).stack(arrays, axis=dim)

    def backward(self, g):
        return tuple(array_module(g).moveaxis(g, self.dim, 0))


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


@traceable
def cat(tensors, dim: int = 0) -> Tensor:
    """Concatenate along an existing axis (``torch.cat``).

    The backward hands each input the slice of the gradient that came from it.

    Args:
        tensors: a non-empty list or tuple of Tensors (or array-likes), of equal shapes
            except along ``dim``.
        dim: the axis to join along (default 0; negative counts from the end).

    Shape:
        - Output: the inputs' shape with size sum_i n_i along ``dim``.

    Example::

        >>> a, b = fn.ones(2, 3), fn.zeros(1, 3)
        >>> fn.cat([a, b]).shape
        (3, 3)
        >>> fn.cat([a, a], dim=1).shape
        (2, 6)
        >>> fn.cat([fn.tensor([1, 2]), fn.tensor([3])])
        tensor([1, 2, 3])
    """
    ts, d = _check_join("cat", tensors, dim, 0)
    return Cat.apply(*ts, dim=d)


@traceable
def stack(tensors, dim: int = 0) -> Tensor:
    """Stack along a new axis (``torch.stack``).

    Args:
        tensors: a non-empty list or tuple of k Tensors (or array-likes) of one shape.
        dim: where the new axis goes, 0 to ndim (default 0; negative counts from the end).

    Shape:
        - Output: the inputs' shape with a new axis of size k at ``dim``.

    Example::

        >>> a, b = fn.tensor([1, 2, 3]), fn.tensor([4, 5, 6])
        >>> fn.stack([a, b])
        tensor([[1, 2, 3],
                [4, 5, 6]])
        >>> fn.stack([a, b], dim=1).shape
        (3, 2)
    """
    ts, d = _check_join("stack", tensors, dim, 1)
    return Stack.apply(*ts, dim=d)


@traceable
def flatten(t: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    """Merge the dims ``start_dim`` to ``end_dim`` (both included) into one (``torch.flatten``).

    A 0-d tensor becomes shape (1,).

    Args:
        t: the input Tensor.
        start_dim: the first dim to merge (default 0).
        end_dim: the last dim to merge (default -1, the last).

    Shape:
        - Input: (d_0, ..., d_{n-1}).
        - Output: ``(d_0, ..., d_{s-1}, d_s * ... * d_e, d_{e+1}, ..., d_{n-1})`` with
          s = start_dim and e = end_dim.

    Example::

        >>> x = fn.zeros(2, 3, 4, 5)
        >>> fn.flatten(x).shape
        (120,)
        >>> fn.flatten(x, start_dim=1).shape
        (2, 60)
        >>> fn.flatten(x, 1, 2).shape
        (2, 12, 5)
    """
    if t.ndim == 0:
        return t.reshape(1)
    s, e = start_dim % t.ndim, end_dim % t.ndim
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = t.shape[:s] + (int(math.prod(t.shape[s:e + 1])),) + t.shape[e + 1:]
    return Reshape.apply(t, shape=shape)


def split(t: Tensor, split_size, dim: int = 0):
    """Cut ``t`` into pieces along ``dim`` (``torch.split``).

    An int ``split_size`` gives pieces of that size (the last one smaller when it does not
    divide the dim); a list gives the size of each piece, which must add up to the dim.

    Args:
        t: the input Tensor.
        split_size: an int, or a list of ints.
        dim: the axis to cut (default 0).

    Returns:
        tuple: the pieces, as Tensors (views in the graph: gradients flow back to ``t``).

    Example::

        >>> fn.split(fn.arange(5), 2)
        (tensor([0, 1]), tensor([2, 3]), tensor([4]))
        >>> [p.shape for p in fn.split(fn.zeros(2, 6), [1, 5], dim=1)]
        [(2, 1), (2, 5)]
    """
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
