"""Dropout layers: active only in training mode (``module.training``)."""
from __future__ import annotations

import foveanet.functional as F
from foveanet.nn.modules.module import Module


class _DropoutNd(Module):
    _fn = "dropout"

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.inplace = p, inplace

    def forward(self, input):
        return getattr(F, self._fn)(input, self.p, self.training, self.inplace)

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace={self.inplace}"


class Dropout(_DropoutNd):
    """Zero each element with probability p, scale the rest by 1/(1-p)."""
    _fn = "dropout"


class Dropout1d(_DropoutNd):
    """Channel dropout: in training, each whole channel x[n, c, :] is zeroed with probability p.

    Kept channels are scaled by 1/(1-p), so expectations are unchanged; in eval mode the
    module is the identity. The draws come from ``foveanet.manual_seed``'s generator.

    Args:
        p: the probability of zeroing a channel, in [0, 1] (default 0.5).
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: (N, C, L) or (C, L).  Output: the input's shape.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> m = nn.Dropout1d(p=0.5)
        >>> y = m(fn.ones(2, 8, 3)).numpy()
        >>> sorted(set(y.ravel().tolist())), bool((y == y[:, :, :1]).all())
        ([0.0, 2.0], True)
        >>> m.eval()(fn.ones(1, 2, 3)).numpy()
        array([[[1., 1., 1.],
                [1., 1., 1.]]], dtype=float32)
    """
    _fn = "dropout1d"


class Dropout2d(_DropoutNd):
    """Zero whole channels with probability p, scale the rest by 1/(1-p)."""
    _fn = "dropout2d"
