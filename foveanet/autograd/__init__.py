"""Reverse-mode automatic differentiation over hand-written Functions."""
from foveanet.autograd.tensor import Tensor  # noqa: I001  (tensor first: it completes the cycle)
from foveanet.autograd.function import (
    Function, backward, enable_grad, is_grad_enabled, no_grad, set_grad_enabled, unbroadcast,
)
from foveanet.autograd.ops import cat, flatten, gather, split, stack, where
from foveanet.autograd.gradcheck import GradcheckError, gradcheck

__all__ = [
    "Tensor", "Function", "backward", "enable_grad", "is_grad_enabled", "no_grad",
    "set_grad_enabled", "unbroadcast", "cat", "stack", "where", "flatten", "split", "gather",
    "gradcheck", "GradcheckError",
]
