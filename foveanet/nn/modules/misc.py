"""Shape helpers: Identity, Flatten, Unflatten."""
from __future__ import annotations

from foveanet.functional._utils import as_tensor
from foveanet.nn.modules.module import Module


class Identity(Module):
    """A placeholder layer: y = x, the input object itself.

    It stands in for a layer that is switched off (a skip connection's projection, a
    removed classifier head) without changing the code that calls it.

    Args:
        *args, **kwargs: accepted and ignored, as in PyTorch, so that it can replace a
            layer in the same constructor call.

    Shape:
        - Input: ``(*)``, anything.  Output: the input itself (the same object).

    Example::

        >>> m = nn.Identity(54, unused_argument=0.1)
        >>> x = fn.ones(128, 20)
        >>> m(x) is x
        True
    """

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Merges the dims start_dim..end_dim into one, whose size is their product.

    With the defaults it keeps the batch dim and flattens the rest, ``(N, *dims)`` ->
    (N, prod(dims)), e.g. between convolutional features and a Linear classifier.

    Args:
        start_dim: the first dim to merge; negative values count from the end (default 1).
        end_dim: the last dim to merge, included (default -1).

    Shape:
        - Input: ``(*, S_start, ..., S_end, *)``.
        - Output: ``(*, S_start * ... * S_end, *)``.

    Example::

        >>> m = nn.Flatten()
        >>> m(fn.ones(32, 1, 5, 5)).shape
        (32, 25)
        >>> nn.Flatten(0, 2)(fn.ones(32, 1, 5, 5)).shape
        (160, 5)
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return as_tensor(input, op="Flatten").flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits the dim ``dim`` into the dims ``unflattened_size``: the inverse of Flatten.

    Args:
        dim: the dim to split; negative values count from the end.
        unflattened_size: the sizes (U_1, ..., U_m) it is split into, with
            ``U_1 * ... * U_m`` equal to its size; one entry may be -1, inferred from the
            others.

    Shape:
        - Input: ``(*, S_dim, *)``.
        - Output: ``(*, U_1, ..., U_m, *)``.

    Example::

        >>> m = nn.Unflatten(1, (2, 5, 5))
        >>> m(fn.ones(2, 50)).shape
        (2, 2, 5, 5)
        >>> nn.Unflatten(-1, (-1, 2))(fn.ones(3, 8)).shape
        (3, 4, 2)
    """

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        x = as_tensor(input, op="Unflatten")
        dim = self.dim % x.ndim
        shape = tuple(x.shape[:dim]) + self.unflattened_size + tuple(x.shape[dim + 1:])
        return x.reshape(shape)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
