"""Embedding: a lookup table of learnable rows."""
from __future__ import annotations

import numpy as np

import foveanet.functional as F
from foveanet import backend
from foveanet.autograd.tensor import Tensor
from foveanet.nn import init
from foveanet.nn.modules.module import Module
from foveanet.nn.parameter import Parameter


class Embedding(Module):
    """A lookup table of learnable rows: y[..., :] = weight[ids[...], :].

    Each integer id in the input picks one row of the (num_embeddings, embedding_dim)
    table, e.g. the vector of a token. In backward, the rows that were looked up get the
    sum of their positions' gradients (repeated ids accumulate); the others get zero.

    Args:
        num_embeddings: V, the number of rows; ids range over 0..V-1.
        embedding_dim: D, the length of each row.
        padding_idx: a row that starts at zero and never gets a gradient, e.g. for a
            padding token; negative values count from the end (default None).
        max_norm: before each lookup, rows looked up whose norm_type-norm exceeds it are
            scaled down to it in place, outside autograd (default None: never).
        norm_type: p of the p-norm used with max_norm (default 2.0).
        scale_grad_by_freq: divide each row's gradient by the number of times its id occurs
            in the input (default False).
        sparse: accepted for PyTorch compatibility; the gradient is always a dense (V, D)
            array, with the same values (default False).
        _weight: a (V, D) table to use instead of a random one, sharing its memory (default
            None); ``Embedding.from_pretrained`` passes it.
        _freeze: create the weight with requires_grad=False (default False).
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the weight's dtype (default None: ``foveanet.get_default_dtype()``).

    Shape:
        - Input: ``(*)``, integer ids of any shape, each in [0, V).
        - Output: ``(*, D)``.

    Attributes:
        weight: Parameter of shape (V, D), initialised N(0, 1), its padding_idx row zero.

    Example::

        >>> m = nn.Embedding(10, 3)
        >>> m(fn.tensor([[1, 2, 4, 5], [4, 3, 2, 9]])).shape
        (2, 4, 3)
        >>> m = nn.Embedding.from_pretrained(np.array([[0., 1.], [2., 3.]], dtype=np.float32))
        >>> m(fn.tensor([1, 0, 1])).numpy()
        array([[2., 3.],
               [0., 1.],
               [2., 3.]], dtype=float32)
        >>> nn.Embedding(3, 2, padding_idx=0).weight.numpy()[0]
        array([0., 0.], dtype=float32)
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx=None, max_norm=None,
                 norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False,
                 _weight=None, _freeze: bool = False, device=None, dtype=None):
        super().__init__()
        self.num_embeddings, self.embedding_dim = int(num_embeddings), int(embedding_dim)
        if padding_idx is not None:
            if not -self.num_embeddings <= padding_idx < self.num_embeddings:
                raise ValueError(f"Embedding: padding_idx {padding_idx} must be within num_embeddings "
                                 f"({self.num_embeddings})")
            padding_idx %= self.num_embeddings
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            dt = np.dtype(dtype or backend.get_default_dtype())
            self.weight = Parameter(np.empty((self.num_embeddings, self.embedding_dim), dtype=dt),
                                    requires_grad=not _freeze)
            self.reset_parameters()
        else:
            shape = tuple(np.shape(_weight.data if isinstance(_weight, Tensor) else _weight))
            if shape != (self.num_embeddings, self.embedding_dim):
                raise ValueError(f"Embedding: _weight has shape {shape}, expected "
                                 f"{(self.num_embeddings, self.embedding_dim)}")
            self.weight = Parameter(_weight, requires_grad=not _freeze)
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    def forward(self, input):
        return F.embedding(input, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                           self.scale_grad_by_freq, self.sparse)

    def extra_repr(self) -> str:
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += ", scale_grad_by_freq=True"
        if self.sparse:
            s += ", sparse=True"
        return s

    @classmethod
    def from_pretrained(cls, embeddings, freeze: bool = True, padding_idx=None, max_norm=None,
                        norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False):
        """An Embedding whose weight shares memory with ``embeddings`` (2-d); the padding row is
        kept as given, and ``freeze`` turns off its gradient."""
        arr = embeddings.data if isinstance(embeddings, Tensor) else np.asarray(embeddings)
        if arr.ndim != 2:
            raise ValueError(f"Embedding.from_pretrained: embeddings must be 2-d, got shape {arr.shape}")
        return cls(arr.shape[0], arr.shape[1], padding_idx, max_norm, norm_type, scale_grad_by_freq, sparse,
                   _weight=arr, _freeze=freeze)
