"""Parameter: a Tensor that a Module registers as learnable when assigned as an attribute."""
from __future__ import annotations

import numpy as np

from foveanet import backend
from foveanet.autograd.tensor import Tensor, _to_array
from foveanet.backend import devices as _device


class Parameter(Tensor):
    """A leaf Tensor with ``requires_grad=True`` by default.

    Like ``torch.nn.Parameter``, wrapping a Tensor or an ndarray shares its memory instead of
    copying it, so ``Parameter(t)`` and ``t`` see the same updates (weight tying, interop
    loaders that hand over freshly read arrays). Results of operations on a Parameter are
    plain Tensors: only the attribute itself is special.

    Args:
        data: a Tensor or ndarray (shared), or other array-like data (copied); default
            None: an empty float tensor.
        requires_grad: record operations on it, so that backward fills its ``.grad``
            (default True).

    Example::

        >>> m = nn.Module()
        >>> m.scale = nn.Parameter(fn.ones(1))
        >>> m.offset = fn.zeros(1)                  # a plain Tensor: not registered
        >>> [name for name, _ in m.named_parameters()]
        ['scale']
        >>> a = np.zeros(2, dtype=np.float32)
        >>> p = nn.Parameter(a)
        >>> a[0] = 5.0                              # the memory is shared
        >>> p
        Parameter containing:
        tensor([5., 0.], requires_grad=True)
        >>> type(p * 2).__name__
        'Tensor'
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            array = np.empty((0,), dtype=backend.get_default_dtype())
        elif isinstance(data, Tensor):
            array = data.data
        elif isinstance(data, np.ndarray) or _device.device_array_module(data) is not None:
            array = data
        else:
            array = _to_array(data)
        self.data = array
        self.grad = None
        self._ctx = None
        self._retain_grad = False
        self._post_hooks = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        # __slots__ without __dict__: pickle/deepcopy need to be told how to rebuild
        return (_rebuild, (self.data, self.requires_grad))

    def __deepcopy__(self, memo):
        out = Parameter(self.data.copy(), self.requires_grad)
        memo[id(self)] = out
        return out


def _rebuild(data, requires_grad):
    return Parameter(data, requires_grad)
