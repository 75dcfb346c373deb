"""Helpers shared by the losses (``loss`` and ``loss_regression``): PyTorch's reduction
argument, constant weights, the final reduction and the mean's gradient scale."""
from __future__ import annotations

import numpy as np

from foveanet.autograd.function import is_grad_enabled
from foveanet.backend.arrays import array_module
from foveanet.functional._utils import as_tensor


def _reduction(op, reduction, size_average=None, reduce=None):
    if size_average is not None or reduce is not None:  # PyTorch's deprecated pair
        size_average = True if size_average is None else size_average
        reduction = "none" if reduce is False else ("mean" if size_average else "sum")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"{op}: reduction must be 'none', 'mean' or 'sum', got {reduction!r}")
    return reduction


def _const(op, x, name, dtype, input=None):
    """A weight-like argument as a plain array of ``dtype`` (weights get no gradient), on
    the device of ``input`` (a Tensor) where given: another device raises, as PyTorch."""
    if x is None:
        return None
    t = as_tensor(x, name, op)
    if t.requires_grad and is_grad_enabled():
        raise ValueError(f"{op}: {name} requires grad, but the loss is not differentiable "
                         f"with respect to it (as in PyTorch); pass {name}.detach()")
    if input is not None and t.device != input.device:
        raise RuntimeError(f"{op}: expected all tensors to be on the same device, but found "
                           f"{input.device} (input) and {t.device} ({name}); move {name} with "
                           f".to({str(input.device)!r})")
    return t.data.astype(dtype, copy=False)


def _finish(loss_i, reduction, denom, dtype):
    if reduction == "none":
        return loss_i
    xp = array_module(loss_i)
    total = loss_i.sum(dtype=dtype)
    if reduction == "mean":
        # all ignored -> nan, as PyTorch (CuPy never warns; its stand-in is NumPy and would)
        with np.errstate(divide="ignore", invalid="ignore"):
            total = total / denom
    return xp.asarray(total, dtype=dtype)


def _denominator(w):
    """Σ w, the mean's denominator: a float on the CPU; a 0-d array on a GPU, where float()
    would make every step wait for the device."""
    s = w.sum()
    return float(s) if isinstance(s, (np.generic, np.ndarray)) else s


def _grad_scale(d):
    """1/d for the gradient of a mean over d; 0 when every target is ignored (the loss is
    then NaN and the gradient zero, as in PyTorch). A device ``d`` (see ``_denominator``)
    gives a 0-d array of its dtype, rounded as the CPU's Python float would be."""
    if isinstance(d, float):
        return 1.0 / d if d else 0.0
    xp = array_module(d)
    d64 = d.astype(np.float64)
    return xp.where(d64 != 0, 1.0 / xp.where(d64 != 0, d64, 1.0), 0.0).astype(d.dtype)
