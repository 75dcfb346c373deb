"""Linear (fully connected) layer: y = x Wᵀ + b over the last dim."""
from __future__ import annotations

import numpy as np

import foveanet.functional as F
from foveanet import backend
from foveanet.nn import init
from foveanet.nn.modules.module import Module
from foveanet.nn.parameter import Parameter


class Linear(Module):
    """(*, in_features) -> (*, out_features); weight (out_features, in_features), bias (out_features,)."""

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

    def reset_parameters(self) -> None:
        init._default_layer_init_(self.weight, self.bias)

    def forward(self, input):
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
