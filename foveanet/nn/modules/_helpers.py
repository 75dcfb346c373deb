"""Small pieces of the Module machinery: hook handles, load results, repr indentation."""
from __future__ import annotations

import itertools
from collections import namedtuple

import numpy as np

from foveanet.autograd.tensor import Tensor

_hook_ids = itertools.count()


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    def __repr__(self):
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


class RemovableHandle:
    """Returned by the register_*_hook methods; ``remove()`` (or leaving a ``with``) unhooks.

    Args:
        hooks: the module's dict of hooks that the hook was registered in.

    Example::

        >>> m = nn.ReLU()
        >>> seen = []
        >>> handle = m.register_forward_hook(lambda mod, args, out: seen.append(out.shape))
        >>> _ = m(fn.ones(2, 3))
        >>> handle.remove()
        >>> _ = m(fn.ones(4, 5))
        >>> seen
        [(2, 3)]
        >>> with m.register_forward_hook(lambda mod, args, out: out * 0):
        ...     print(m(fn.ones(2)))
        tensor([0., 0.])
        >>> m(fn.ones(2))
        tensor([1., 1.])
    """

    def __init__(self, hooks: dict):
        self._hooks = hooks
        self.id = next(_hook_ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def _addindent(text: str, spaces: int) -> str:
    lines = text.split("\n")
    if len(lines) == 1:
        return text
    return lines[0] + "\n" + "\n".join(" " * spaces + line for line in lines[1:])


def _as_array(value, key: str) -> np.ndarray:
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, np.ndarray):
        return value
    if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor, handed over directly
        return value.detach().cpu().numpy()
    try:
        return np.asarray(value)
    except Exception:
        raise TypeError(f"load_state_dict: value for {key!r} is a {type(value).__name__}, "
                        "expected a Tensor or an ndarray") from None
