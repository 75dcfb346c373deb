"""``foveanet.cuda``: whether a GPU can be used, as ``torch.cuda`` (the arrays there are CuPy's).

    if fn.cuda.is_available():
        model.to("cuda")
"""
from __future__ import annotations

from foveanet.backend import devices as _devices

__all__ = ["is_available", "device_count"]


def is_available() -> bool:
    """True where ``'cuda'`` works: CuPy is installed and sees a GPU (or the CPU stand-in is on).

    Returns:
        bool: whether ``tensor.to('cuda')`` can work here.

    Example::

        >>> fn.cuda.is_available() in (True, False)
        True
        >>> from foveanet.backend import standin
        >>> with standin.cuda():
        ...     fn.cuda.is_available()
        True
    """
    return _devices.cuda_is_available()


def device_count() -> int:
    """The number of GPUs CuPy sees (0 where CUDA cannot be used).

    Returns:
        int: how many ``'cuda:N'`` devices there are.

    Example::

        >>> fn.cuda.device_count() >= 0
        True
    """
    if not _devices.cuda_is_available():
        return 0
    return int(_devices.cuda_module().cuda.runtime.getDeviceCount())
