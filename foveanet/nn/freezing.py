"""An inference model whose weights cannot change, so that what is made from them can be
kept: as ``torch.jit.freeze`` makes a model's parameters constants, and as onnxruntime packs
a model's weights once when it loads it.

``freeze(model)`` puts the model in eval mode, stops its parameters asking for gradients and
gives each a read-only copy of its numbers. A convolution whose weight is read-only keeps
the weight's Winograd transform ``U = G w G^T`` after the first call instead of making it in
every call (``backend/cpu/conv/packed.py``): ResNet-18 at batch 1 skips 5.8 ms of weight
transforms a forward on one thread, and its 7x7 layers can take Winograd at all (the
measurements are in ``backend/cpu/conv/route.py``). The outputs are the same numbers.

``unfreeze(model)`` gives the parameters writable copies again (and the kept transforms go
with the old arrays), for fine-tuning.
"""
from __future__ import annotations

import numpy as np

__all__ = ["freeze", "unfreeze"]


def _module(module, who: str):
    from foveanet.nn.modules.module import Module

    if not isinstance(module, Module):
        raise TypeError(f"{who}: expected a foveanet.nn.Module, got {type(module).__name__}")
    return module


def freeze(module):
    """Freeze ``module`` for inference, in place, and return it.

    Eval mode; every parameter ``requires_grad=False`` with its gradient cleared, and its
    ``data`` a read-only copy (host arrays; a GPU model only stops asking for gradients).
    Writing to a frozen weight raises NumPy's "assignment destination is read-only", so a
    kept transform can never be out of date. Buffers (batch norm's running statistics) are
    left as they are.

    Example::

        >>> import foveanet.nn as nn
        >>> m = fn.freeze(nn.Conv2d(1, 2, 3))
        >>> m.training, m.weight.requires_grad, m.weight.data.flags.writeable
        (False, False, False)
        >>> m(fn.ones(1, 1, 5, 5)).shape
        (1, 2, 3, 3)
    """
    _module(module, "freeze").eval()
    for p in module.parameters():
        p.requires_grad = False
        p.grad = None
        if isinstance(p.data, np.ndarray):
            # a fresh copy that owns its memory: no view of it exists that could still write
            frozen = np.array(p.data, copy=True, order="C")
            frozen.flags.writeable = False
            p.data = frozen
    return module


def unfreeze(module):
    """Undo ``freeze``: every parameter gets a writable copy of its numbers and asks for
    gradients again (``requires_grad=True``); the mode is left as it is (call ``train()``).
    Returns ``module``.

    Example::

        >>> import foveanet.nn as nn
        >>> m = fn.unfreeze(fn.freeze(nn.Linear(3, 2)))
        >>> m.weight.requires_grad, m.weight.data.flags.writeable
        (True, True)
    """
    for p in _module(module, "unfreeze").parameters():
        if isinstance(p.data, np.ndarray) and not p.data.flags.writeable:
            p.data = p.data.copy()
        p.requires_grad = True
    return module
