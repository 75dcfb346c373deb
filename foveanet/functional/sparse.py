"""Embedding lookup: rows of a (num_embeddings, embedding_dim) table picked by integer ids."""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import Function
from foveanet.functional._utils import as_tensor, check_float

__all__ = ["embedding"]


class _Embedding(Function):
    """Y[..., :] = W[idx[...], :];  dW[v] = Σ_{positions p with idx[p] = v} G[p]
    (a scatter-add: repeated ids accumulate), 0 for the padding row; with
    scale_grad_by_freq each position's G is first divided by the count of its id in idx."""

    def forward(self, weight, idx, padding_idx, scale_grad_by_freq):
        # take() on a contiguous table beats fancy indexing and never copies the index
        y = np.take(weight, idx, axis=0)
        if self.requires_grad:
            self.idx, self.rows, self.padding_idx = idx, weight.shape[0], padding_idx
            self.scale_grad_by_freq = scale_grad_by_freq
        return y

    def backward(self, g):
        flat = self.idx.reshape(-1)
        g2 = g.reshape(flat.size, g.shape[-1])
        if self.scale_grad_by_freq:
            counts = np.bincount(flat, minlength=self.rows)
            g2 = g2 / counts[flat, None].astype(g.dtype)
        dw = np.zeros((self.rows, g.shape[-1]), dtype=g.dtype)
        np.add.at(dw, flat, g2)
        if self.padding_idx is not None:
            dw[self.padding_idx] = 0
        return dw, None


def _renorm_(weight: np.ndarray, idx: np.ndarray, max_norm: float, norm_type: float) -> None:
    """Rows used by ``idx`` whose p-norm exceeds max_norm are scaled down to it, in place
    (PyTorch's embedding_renorm_; the 1e-7 keeps the new norm just under max_norm)."""
    rows = np.unique(idx)
    sub = weight[rows]
    norms = np.linalg.norm(sub, ord=norm_type, axis=1) if norm_type != np.inf else np.abs(sub).max(axis=1)
    big = norms > max_norm
    if big.any():
        scale = (max_norm / (norms[big] + 1e-7)).astype(weight.dtype, copy=False)
        weight[rows[big]] = sub[big] * scale[:, None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False):
    """Look up rows of ``weight`` (V, D) for integer ids ``input`` of any shape (*) -> (*, D).

    ``padding_idx``: that row gets no gradient (negative counts from the end).
    ``max_norm``: rows used here with norm_type-norm above max_norm are rescaled in place
    before the lookup (not differentiated, as in PyTorch). ``sparse`` is accepted and the
    gradient is dense (the same numbers). Gradient formula: ``_Embedding``.
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
    if idx.size:
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
