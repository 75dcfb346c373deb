"""Helpers shared by the losses (``loss`` and ``loss_regression``): PyTorch's reduction
argument, constant weights, the final reduction and the mean's gradient scale."""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import is_grad_enabled
from foveanet.functional._utils import as_tensor


def _reduction(op, reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair
        size_average = True if size_average is None else size_average
        reduction = "none" if reduce is False else ("mean" if size_average else "sum")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    return reduction


def _const(op, x, name, dtype):
    """A weight-like argument as a plain array of ``dtype`` (weights get no gradient)."""
    if x is None:
        return None
    t = as_tensor(x, name, op)
    if t.requires_grad and is_grad_enabled():
        raise ValueError(f"{op}: {name} requires grad, but the loss is not differentiable "
                         f"with respect to it (as in PyTorch); pass {name}.detach()")
    return t.data.astype(dtype, copy=False)


def _finish(loss_i, reduction, denom, dtype):
    if reduction == "none":
        return loss_i
    total = loss_i.sum(dtype=dtype)
    if reduction == "mean":
        with np.errstate(divide="ignore", invalid="ignore"):  # all ignored -> nan, as PyTorch
            total = total / denom
    return np.asarray(total, dtype=dtype)


def _grad_scale(d: float) -> float:
    """1/d for the gradient of a mean over d; 0 when every target is ignored (the loss is
    then NaN and the gradient zero, as in PyTorch)."""
    return 1.0 / d if d else 0.0
