"""Shape helpers: Identity, Flatten, Unflatten."""
from __future__ import annotations

from foveanet.functional._utils import as_tensor
from foveanet.nn.modules.module import Module


class Identity(Module):
    """Returns its input (the same object); arguments are accepted and ignored, as in PyTorch."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """(N, *dims) -> (N, prod(dims)) with the defaults; dims start_dim..end_dim merged in general."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return as_tensor(input, op="Flatten").flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dim ``dim`` into ``unflattened_size`` (one entry may be -1)."""

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
