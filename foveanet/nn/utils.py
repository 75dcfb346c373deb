"""Gradient clipping, as ``torch.nn.utils``: rescale or cut the gradients between backward and
the optimizer step. Both work in place on the gradients' own device and never read a value back
to the host, so a GPU training loop does not wait on them."""
from __future__ import annotations

import math

from foveanet.autograd.tensor import Tensor
from foveanet.backend.arrays import array_module

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters) -> list:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    for p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"clip_grad: expected Tensors (parameters), got {type(p).__name__}")
    return [p.grad.data for p in params if p.grad is not None]


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False) -> Tensor:
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The joint norm is the ``norm_type``-norm of the vector of every gradient entry (the norm of
    the per-parameter norms); when it exceeds ``max_norm`` every gradient is multiplied by
    ``max_norm / (norm + 1e-6)``, as torch does, so the direction of the update is kept.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped (those
            without a gradient are skipped).
        max_norm: the largest joint norm allowed.
        norm_type: the p of the p-norm (default 2; ``float('inf')`` for the largest entry).
        error_if_nonfinite: raise when the joint norm is nan or inf (default False: the
            gradients are then scaled by nan, as torch's; checking reads the norm back to the
            host, a sync on a GPU).

    Returns:
        Tensor: the joint norm before clipping (0-d, on the gradients' device).

    Raises:
        RuntimeError: the norm is not finite and ``error_if_nonfinite`` is set.

    Example::

        >>> w = fn.tensor([3.0, 4.0], requires_grad=True)
        >>> (w * w).sum().backward()           # grad = 2 w = [6, 8]: norm 10
        >>> nn.utils.clip_grad_norm_([w], max_norm=5.0)
        tensor(10.)
        >>> w.grad
        tensor([3., 4.])
    """
    grads = _grads(parameters)
    if not grads:
        return Tensor(0.0)
    xp = array_module(grads[0])
    p = float(norm_type)
    if p == math.inf:
        norms = xp.stack([abs(g).max() for g in grads])
        total = norms.max()
    else:
        norms = xp.stack([(abs(g) ** p).sum() ** (1.0 / p) for g in grads])
        total = (norms ** p).sum() ** (1.0 / p)
    if error_if_nonfinite and not math.isfinite(float(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {p} of the gradients is "
                           f"{float(total)}; pass error_if_nonfinite=False to clip anyway")
    scale = xp.minimum(max_norm / (total + 1e-6), 1.0)  # a 0-d array: no trip to the host
    for g in grads:
        g *= scale.astype(g.dtype)
    return Tensor._wrap(total, False, None)


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient entry into ``[-clip_value, clip_value]``, in place.

    Args:
        parameters: a Tensor or an iterable of Tensors whose ``.grad`` is clipped.
        clip_value: the largest magnitude an entry keeps (> 0).

    Raises:
        ValueError: ``clip_value`` is not positive.

    Example::

        >>> w = fn.tensor([0.5, -3.0], requires_grad=True)
        >>> (w * w).sum().backward()           # grad = [1, -6]
        >>> nn.utils.clip_grad_value_(w, 2.0)
        >>> w.grad
        tensor([ 1., -2.])
    """
    if not clip_value > 0:
        raise ValueError(f"clip_grad_value_: expected a positive clip_value, got {clip_value}")
    for g in _grads(parameters):
        array_module(g).clip(g, -clip_value, clip_value, out=g)
