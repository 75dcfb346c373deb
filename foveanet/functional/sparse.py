"""Embedding lookup: rows of a (num_embeddings, embedding_dim) table picked by integer ids."""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import Function
from foveanet.backend import array_module, kernels
from foveanet.functional._utils import COMPILED_DTYPES, as_tensor, check_float

__all__ = ["embedding"]


class _Embedding(Function):
    """Y[..., :] = W[idx[...], :];  dW[v] = Σ_{positions p with idx[p] = v} G[p]
    (a scatter-add: repeated ids accumulate), 0 for the padding row; with
    scale_grad_by_freq each position's G is first divided by the count of its id in idx."""

    def forward(self, weight, idx, padding_idx, scale_grad_by_freq):
        # take() on a contiguous table beats fancy indexing and never copies the index
        y = array_module(weight).take(weight, idx, axis=0)
        if self.requires_grad:
            self.idx, self.rows, self.padding_idx = idx, weight.shape[0], padding_idx
            self.scale_grad_by_freq = scale_grad_by_freq
        return y

    def backward(self, g):
        xp = array_module(g)
        flat = self.idx.reshape(-1)
        g2 = g.reshape(flat.size, g.shape[-1])
        if self.scale_grad_by_freq:
            counts = xp.bincount(flat, minlength=self.rows)
            g2 = g2 / counts[flat, None].astype(g.dtype)
        dw = xp.zeros((self.rows, g.shape[-1]), dtype=g.dtype)
        ks = kernels(g)
        if ks.compiled is not None and g.dtype in COMPILED_DTYPES:
            # the same additions in the same order as np.add.at, in one compiled loop
            g2 = xp.ascontiguousarray(g2)
            ks.each_channel_block(g2.shape[1], g2.size, lambda sl: ks.compiled.embedding_backward(
                dw, flat, g2, sl.start, sl.stop))
        else:
            xp.add.at(dw, flat, g2)
        if self.padding_idx is not None:
            dw[self.padding_idx] = 0
        return dw, None


def _renorm_(weight, idx, max_norm: float, norm_type: float) -> None:
    """Rows used by ``idx`` whose p-norm exceeds max_norm are scaled down to it, in place
    (PyTorch's embedding_renorm_; the 1e-7 keeps the new norm just under max_norm)."""
    xp = array_module(weight)
    rows = xp.unique(idx)
    sub = weight[rows]
    norms = xp.linalg.norm(sub, ord=norm_type, axis=1) if norm_type != np.inf else xp.abs(sub).max(axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype, copy=False)
        weight[rows[big]] = sub[big] * scale[:, None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False):
    """Embedding lookup: the rows of a (V, D) table picked by integer ids.

        Y[..., :] = W[idx[...], :]
        backward: dW[v] = Σ over the positions p with idx[p] = v of G[p],  0 for the padding row

    The backward is a scatter-add: repeated ids accumulate. With ``scale_grad_by_freq`` each
    position's G is first divided by the count of its id in idx. The ids get no gradient.

    Args:
        input: integer ids of any shape ``(*)``, each in [0, V).
        weight: the (V, D) table, float.
        padding_idx: this row gets no gradient (negative counts from the end), or None.
        max_norm: rows used here whose ``norm_type``-norm exceeds it are rescaled to it in
            place before the lookup (not differentiated, as PyTorch), or None.
        norm_type: p of the p-norm for ``max_norm`` (default 2).
        scale_grad_by_freq: divide each position's gradient by its id's count in the batch
            (default False).
        sparse: accepted for PyTorch compatibility; the gradient is dense (the same numbers).

    Shape:
        - Output: ``(*, D)``.

    Example::

        >>> w = fn.tensor([[0., 0.], [1., 2.], [3., 4.]], requires_grad=True)
        >>> ids = fn.tensor([[1, 2, 1], [0, 2, 2]])
        >>> y = F.embedding(ids, w, padding_idx=0)
        >>> y.shape
        (2, 3, 2)
        >>> y.numpy()[0]
        array([[1., 2.],
               [3., 4.],
               [1., 2.]], dtype=float32)
        >>> y.sum().backward()
        >>> w.grad.numpy()  # how often each id occurs; none for the padding row
        array([[0., 0.],
               [2., 2.],
               [3., 3.]], dtype=float32)
    """
    op = "embedding"
    ids = as_tensor(input, op=op)
    w = as_tensor(weight, "weight", op)
    check_float(w, op, "weight")
    if w.ndim != 2:
        raise ValueError(f"{op}: weight must be 2-d (num_embeddings, embedding_dim), got shape {tuple(w.shape)}")
    if ids.dtype.kind not in "iu":
        raise TypeError(f"{op}: indices must be an integer tensor (int64), got {ids.dtype}")
    v = w.shape[0]
    idx = ids.data
    if array_module(idx) is not array_module(w.data):
        raise RuntimeError(f"{op}: expected the indices and the weight on the same device, but "
                           f"found {ids.device} and {w.device}")
    if idx.size:  # a check that waits for a device (one sync): CuPy's take would wrap around
        lo, hi = idx.min(), idx.max()
        if lo < 0 or hi >= v:
            bad = int(hi) if hi >= v else int(lo)
            raise IndexError(f"{op}: index {bad} is out of range for {v} embeddings (valid 0..{v - 1})")
    if padding_idx is not None:
        if not -v <= padding_idx < v:
            raise ValueError(f"{op}: padding_idx {padding_idx} must be within [-{v}, {v - 1}]")
        padding_idx = int(padding_idx) % v
    if max_norm is not None and idx.size:
        _renorm_(w.data, idx, float(max_norm), float(norm_type))
    return _Embedding.apply(w, idx, padding_idx=padding_idx, scale_grad_by_freq=bool(scale_grad_by_freq))
