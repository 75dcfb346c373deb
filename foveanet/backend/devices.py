"""Devices: where a tensor's array lives (``'cpu'``: NumPy; ``'cuda'``: CuPy), as ``torch.device``.

A tensor's device is the device of its array, so nothing is stored twice: an op asks
``array_module(x)`` for the module that made ``x`` and creates its arrays with it (Chainer's
``xp``). The CUDA module is CuPy (``pip install cupy-cuda12x``), loaded on first use; where it
cannot load, asking for ``'cuda'`` raises one clear error that says why. ``standin.cuda()``
puts a NumPy-backed stand-in in CuPy's place, so the CPU can check that code keeps to the
array module of its inputs.
"""
from __future__ import annotations

import numpy as np

_cuda = None           # the CUDA array module once loaded: cupy, or a stand-in
_cuda_error = None     # why it could not load (an ImportError/RuntimeError message)
_device_types: dict = {}  # array type -> (module, device type name) for non-NumPy arrays


class Device:
    """Where arrays live: ``Device('cpu')``, ``Device('cuda')``, ``Device('cuda:1')``.

    As ``torch.device``: equal devices compare equal, ``str`` gives ``'cuda:0'``; ``'cuda'``
    without an index means the current GPU (index 0 here).

    Args:
        spec: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or a Device.
        index: the GPU's number when ``spec`` has none (default None).

    Raises:
        ValueError: another device type, or an index on ``'cpu'``.

    Example::

        >>> fn.device("cuda:1"), str(fn.device("cpu"))
        (device(type='cuda', index=1), 'cpu')
        >>> fn.device("cuda") == fn.device("cuda:0")
        True
        >>> fn.device("tpu")
        Traceback (most recent call last):
            ...
        ValueError: device: expected 'cpu', 'cuda' or 'cuda:N', got 'tpu'
    """

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index: int | None = None):
        if isinstance(spec, Device):
            spec, index = spec.type, spec.index if index is None else index
        if not isinstance(spec, str):
            raise TypeError(f"device: expected a string such as 'cuda:0' or a Device, got {type(spec).__name__}")
        kind, _, num = spec.partition(":")
        if kind not in ("cpu", "cuda") or (num and not num.isdigit()):
            raise ValueError(f"device: expected 'cpu', 'cuda' or 'cuda:N', got {spec!r}")
        if num:
            index = int(num)
        if kind == "cpu" and index not in (None, 0):
            raise ValueError(f"device: 'cpu' takes no index, got {index}")
        self.type = kind
        self.index = None if kind == "cpu" else (index or 0)

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = Device(other)
            except ValueError:
                return False
        return isinstance(other, Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        if self.index is None:
            return f"device(type={self.type!r})"
        return f"device(type={self.type!r}, index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = Device("cpu")


def device(spec="cpu", index: int | None = None) -> Device:
    """``fn.device('cuda')``: a Device, as ``torch.device`` (see ``Device``).

    Args:
        spec: ``'cpu'``, ``'cuda'``, ``'cuda:N'`` or a Device.
        index: the GPU's number when ``spec`` has none.

    Returns:
        Device: the device.

    Example::

        >>> fn.device("cuda", 0)
        device(type='cuda', index=0)
    """
    return Device(spec, index)


def register_array_type(array_type: type, module, kind: str = "cuda") -> None:
    """Tell the seam that arrays of ``array_type`` live on ``kind`` and are made by ``module``.

    CuPy's ndarray registers itself when CuPy loads; the CPU stand-in registers its own.

    Args:
        array_type: the array class (``cupy.ndarray``).
        module: its array module (``cupy``).
        kind: the device type (default ``'cuda'``).

    Example::

        >>> class Fake: pass
        >>> fn.backend.register_array_type(Fake, np, "cuda")
        >>> fn.backend.array_module(Fake()) is np
        True
        >>> fn.backend.devices.unregister_array_type(Fake)
    """
    _device_types[array_type] = (module, kind)


def unregister_array_type(array_type: type) -> None:
    """Undo ``register_array_type`` (nothing happens for a type that was never registered).

    Args:
        array_type: the array class.

    Example::

        >>> fn.backend.devices.unregister_array_type(int)
    """
    _device_types.pop(array_type, None)


def device_array_module(a):
    """The (module, device type) of a registered device array, else None (NumPy or host data)."""
    if isinstance(a, np.ndarray):
        return None
    found = _device_types.get(type(a))
    if found is None and hasattr(a, "__cuda_array_interface__"):
        return _from_cupy(a)
    return found


def _from_cupy(a):
    """A CuPy array made before foveanet loaded CuPy itself: load it now."""
    cuda_module()
    return _device_types.get(type(a))


def device_of(a) -> Device:
    """The device an array lives on: ``cpu`` for NumPy arrays and host data.

    Args:
        a: an array (NumPy, CuPy, the stand-in's), a scalar or a list.

    Returns:
        Device: its device.

    Example::

        >>> fn.backend.device_of(np.zeros(2))
        device(type='cpu')
    """
    found = device_array_module(a)
    if found is None:
        return CPU
    dev = getattr(a, "device", None)
    return Device(found[1], getattr(dev, "id", 0))


def cuda_module():
    """The array module of the ``'cuda'`` device: CuPy (or the stand-in while one is on).

    Raises:
        RuntimeError: CuPy is not installed, or it is but no GPU can be reached; the message
            says which and what to install.
    """
    global _cuda, _cuda_error
    if _cuda is not None:
        return _cuda
    if _cuda_error is None:
        try:
            import cupy

            count = cupy.cuda.runtime.getDeviceCount()
            if count < 1:
                raise RuntimeError("CuPy is installed but it sees no CUDA GPU")
        except ImportError:
            _cuda_error = ("device 'cuda' needs CuPy, which is not installed: "
                           "pip install cupy-cuda12x (for CUDA 12), on a machine with an NVIDIA GPU")
        except Exception as exc:  # CuPy raises its own CUDARuntimeError without a driver
            _cuda_error = (f"device 'cuda': CuPy is installed but no CUDA GPU can be used here "
                           f"({type(exc).__name__}: {exc})")
        else:
            register_array_type(cupy.ndarray, cupy, "cuda")
            _cuda = cupy
            return _cuda
    raise RuntimeError(_cuda_error)


def cuda_is_available() -> bool:
    """True where ``'cuda'`` works: CuPy and a GPU, or the stand-in (``torch.cuda.is_available``).

    Example::

        >>> fn.cuda.is_available() in (True, False)
        True
    """
    try:
        cuda_module()
    except RuntimeError:
        return False
    return True


def _set_cuda_module(module, error=None):
    """Swap the CUDA module (the stand-in uses this); returns what was there to put back."""
    global _cuda, _cuda_error
    before = (_cuda, _cuda_error)
    _cuda, _cuda_error = module, error
    return before


def module_for(dev):
    """The array module that makes arrays on ``dev``: NumPy for the CPU, CuPy for CUDA.

    Args:
        dev: a Device or a string.

    Returns:
        module: ``numpy`` or ``cupy``.

    Raises:
        RuntimeError: ``'cuda'`` where CuPy or a GPU is missing.

    Example::

        >>> fn.backend.module_for("cpu") is np
        True
    """
    dev = Device(dev)
    return np if dev.type == "cpu" else cuda_module()


def to_device(a, dev):
    """``a`` on ``dev``: the same array when it is there already, else a copy there.

    Args:
        a: an array (or host data: lists, scalars).
        dev: a Device or a string.

    Returns:
        array: NumPy's for the CPU, CuPy's for CUDA.

    Example::

        >>> x = np.arange(3.0)
        >>> fn.backend.to_device(x, "cpu") is x
        True
    """
    dev = Device(dev)
    if device_of(a) == dev:
        return a
    if dev.type == "cpu":
        return to_host(a)
    xp = cuda_module()
    if device_array_module(a) is not None:  # another GPU: copy over on the target one
        with xp.cuda.Device(dev.index):
            return xp.array(a, copy=True)
    with xp.cuda.Device(dev.index):
        return xp.asarray(a)


def to_host(a) -> np.ndarray:
    """``a`` as a NumPy array on the CPU (a copy when it lives on a GPU, else itself).

    Args:
        a: an array of any device, or host data.

    Returns:
        np.ndarray: the values on the CPU.

    Example::

        >>> fn.backend.to_host([1, 2]).tolist()
        [1, 2]
    """
    found = device_array_module(a)
    if found is None:
        return a if isinstance(a, np.ndarray) else np.asarray(a)
    return found[0].asnumpy(a)
