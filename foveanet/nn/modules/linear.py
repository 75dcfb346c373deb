"""Linear (fully connected) layer: y = x Wᵀ + b over the last dim."""
from __future__ import annotations

import numpy as np

import foveanet.functional as F
from foveanet import backend
from foveanet.nn import init
from foveanet.nn.modules.module import Module
from foveanet.nn.parameter import Parameter


class Linear(Module):
    """Fully connected layer, an affine map of the last dim: y = x W^T + b.

    It has ``(in_features + 1) * out_features`` learnable values
    (``in_features * out_features`` without bias); all leading dims are batch dims, each row
    mapped the same way.

    Args:
        in_features: H_in, the size of each input row (the input's last dim).
        out_features: H_out, the size of each output row.
        bias: learn the additive bias b (default True).
        device: where the parameters live (default None: the CPU); ``'cuda'`` builds them on
            the host (one seed, one model on every device) and moves them, as ``.to(device)``.
        dtype: the parameters' dtype (default None: ``foveanet.get_default_dtype()``).

    Shape:
        - Input: ``(*, H_in)``, any number of leading dims, including none; a float dtype equal
          to the weight's.
        - Output: ``(*, H_out)``.

    Attributes:
        weight: W, a Parameter of shape (out_features, in_features), initialised U(-b, b)
            with b = 1/sqrt(in_features) (PyTorch's default: kaiming_uniform_ with a = sqrt(5)).
        bias: b, a Parameter of shape (out_features,), initialised U(-b, b) with the same b
            (None with bias=False).

    Example::

        >>> m = nn.Linear(20, 30)
        >>> m(fn.ones(128, 20)).shape, m.weight.shape, m.bias.shape
        ((128, 30), (30, 20), (30,))
        >>> sum(p.numel() for p in m.parameters())    # (20 + 1) * 30
        630
        >>> m = nn.Linear(2, 1)
        >>> _ = nn.init.constant_(m.weight, 2.), nn.init.ones_(m.bias)
        >>> m(fn.tensor([[1., 3.], [0., 1.]])).numpy()   # 2*1 + 2*3 + 1, 2*0 + 2*1 + 1
        array([[9.],
               [3.]], dtype=float32)
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = int(in_features), int(out_features)
        dt = np.dtype(dtype or backend.get_default_dtype())
        self.weight = Parameter(np.empty((self.out_features, self.in_features), dtype=dt))
        if bias:
            self.bias = Parameter(np.empty((self.out_features,), dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        if device is not None:
            self.to(device)

    def reset_parameters(self) -> None:
        init._default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
