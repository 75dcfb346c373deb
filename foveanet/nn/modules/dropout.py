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
    """Element dropout: in training, y = x * m / (1 - p) with m ~ Bernoulli(1 - p) per element.

    Each element is zeroed with probability p and the kept ones are scaled by 1/(1-p), so
    expectations are unchanged; in eval mode the module returns its input itself. The
    draws come from ``foveanet.manual_seed``'s generator.

    Args:
        p: the probability of zeroing an element, in [0, 1] (default 0.5).
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: ``(*)``, any number of dims, a float dtype.  Output: the input's shape.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> m = nn.Dropout(p=0.5)
        >>> y = m(fn.ones(4, 5)).numpy()
        >>> sorted(set(y.ravel().tolist()))
        [0.0, 2.0]
        >>> m.eval()(fn.ones(2, 3)).numpy()
        array([[1., 1., 1.],
               [1., 1., 1.]], dtype=float32)
    """
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
    """Channel dropout: in training, each feature map x[n, c] is zeroed with probability p.

    Kept feature maps are scaled by 1/(1-p), so expectations are unchanged; in eval mode
    the module is the identity. Dropping whole maps suits convolutional features, whose
    neighbouring pixels are strongly correlated. The draws come from
    ``foveanet.manual_seed``'s generator.

    Args:
        p: the probability of zeroing a channel, in [0, 1] (default 0.5).
        inplace: accepted for PyTorch compatibility and ignored: the result is always a
            new tensor and the input is left unchanged (default False).

    Shape:
        - Input: (N, C, H, W); a 3-d input is read as (N, C, L), with a UserWarning, as
          PyTorch does (Dropout1d says so without the warning).
        - Output: the input's shape.

    Example::

        >>> _ = fn.manual_seed(0)
        >>> m = nn.Dropout2d(p=0.5)
        >>> y = m(fn.ones(2, 8, 3, 3)).numpy()
        >>> sorted(set(y.ravel().tolist())), bool((y == y[:, :, :1, :1]).all())
        ([0.0, 2.0], True)
        >>> m.eval()(fn.ones(1, 2, 1, 2)).numpy().ravel()
        array([1., 1., 1., 1.], dtype=float32)
    """
    _fn = "dropout2d"
