"""Compiled kernels (Numba): single passes over memory where NumPy makes several.

A leaf package: it imports nothing from foveanet, only NumPy and Numba, so the CPU
backend's engines (``backend/cpu``) call it without pulling the layers above. Every kernel
is a plain function over contiguous arrays that writes into buffers its caller allocates,
compiled with ``nogil=True`` so that ``backend/cpu/threads.py`` runs blocks of it on
foveanet's own worker threads (one thread pool for the NumPy and the compiled paths, no
Numba threading layer: several user threads may call it at once), and ``cache=True`` so
that the compile cost is paid once per machine.

    depthwise.py   depthwise conv forward, dX and dW
    depthwise_flat.py  the same for 3x3 at stride 1 as wide as its input, nine taps a pass
    depthwise_s2.py    the same for 3x3 at stride 2, padding 1, on the input's stride phases
    direct.py      direct conv (one group, stride 1) forward, dX and dW, for few channels
    direct_batch.py  the same with the batch as the vector dimension (small maps)
    batchnorm.py   batch norm's statistics, normalisation and gradients, per channel
    pooling.py     max pooling forward (with the argmax) and backward
    pool_tiled.py  the same for windows that tile the input (kernel = stride, no padding)
    adaptive.py    adaptive max pooling forward (with the argmax) and backward
    activation.py  ReLU's backward from its output
    epilogue.py    an inference conv's per-channel scale, shift and clamp in one pass
    embedding.py   an embedding's backward: the scatter-add into the table's rows
    winograd.py    Winograd F(2x2, 3x3)'s input and output transforms for one image's band
    recurrent.py   an LSTM's or GRU's backward through time, for a block of batch rows
    ctc.py         the CTC loss's forward-backward and gradient, for a block of samples

``load()`` returns the kernels, each loaded on first access and compiled on first call (or
read from Numba's cache), or None when Numba is not installed (then foveanet runs its NumPy
engines and says so once).
Which path runs is the backend's choice: ``FOVEANET_KERNELS`` or
``foveanet.backend.set_kernels`` ('default', 'numba', 'numpy' or 'reference').
"""
from __future__ import annotations

import importlib
import importlib.util
import threading
import warnings

__all__ = ["available", "load"]

# kernel -> the module that defines it
_WHERE = {
    "depthwise_forward": "depthwise", "depthwise_backward": "depthwise",
    "depthwise_flat_forward": "depthwise_flat", "depthwise_flat_backward": "depthwise_flat",
    "depthwise_s2_forward": "depthwise_s2", "depthwise_s2_backward": "depthwise_s2",
    "max_pool_forward": "pooling", "max_pool_backward": "pooling", "max_pool_values": "pooling",
    "max_pool_tiled_forward": "pool_tiled", "max_pool_tiled_backward": "pool_tiled",
    "adaptive_max_forward": "adaptive", "adaptive_max_backward": "adaptive",
    "relu_backward": "activation",
    "affine_clamp": "epilogue", "embedding_backward": "embedding",
    "direct_forward": "direct", "direct_backward": "direct",
    "lstm_backward": "recurrent", "gru_backward": "recurrent", "ctc_forward_backward": "ctc",
    "direct_batch_forward": "direct_batch", "direct_batch_backward": "direct_batch",
    "batch_norm_forward": "batchnorm", "batch_norm_backward": "batchnorm",
    "batch_norm_forward_job": "batchnorm", "batch_norm_backward_job": "batchnorm",
    "winograd_input": "winograd", "winograd_output": "winograd", "winograd_weight": "winograd",
}
_lock = threading.Lock()
_warned = False


class _Kernels:
    """The kernels as attributes; each module (and Numba, on the first) imports on first
    access, so that a program that never reaches a compiled kernel never loads Numba."""

    def __getattr__(self, name: str):
        where = _WHERE.get(name)
        if where is None:
            raise AttributeError(f"foveanet.kernels has no kernel {name!r}")
        with _lock:
            value = getattr(importlib.import_module(f"{__name__}.{where}"), name)
        setattr(self, name, value)
        return value

    def __dir__(self):
        return sorted(_WHERE)


_KERNELS = _Kernels()


def available() -> bool:
    """Whether Numba is installed (found without importing it)."""
    return importlib.util.find_spec("numba") is not None


def load():
    """The compiled kernels (an object with one attribute per kernel), or None without Numba.

    Nothing compiles here: each kernel's module imports on its first access, and the kernel
    compiles on its first call or loads from Numba's cache. Without Numba it warns once.
    """
    global _warned
    if available():
        return _KERNELS
    if not _warned:
        _warned = True
        warnings.warn("foveanet: Numba is not installed, so the NumPy kernels run "
                      "(pip install 'foveanet[kernels]' for the compiled ones)",
                      RuntimeWarning, stacklevel=3)
    return None
