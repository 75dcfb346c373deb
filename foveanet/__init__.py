"""foveanet: a convolutional neural network framework on NumPy, written from the foundations.

    import foveanet as fn
    x = fn.tensor([[1.0, 2.0]], requires_grad=True)
    (x * x).sum().backward()      # x.grad == 2x
"""
from foveanet._blas import prefer_avx512_kernels as _prefer_avx512
from foveanet._blas import sleep_idle_blas_threads as _sleep_idle_blas_threads

# both must run before NumPy loads OpenBLAS (see _blas.py; it imports no NumPy)
_prefer_avx512()
_sleep_idle_blas_threads()

from foveanet.backend.memory import keep_freed_memory as _keep_freed_memory  # noqa: E402

_keep_freed_memory()  # a step's large arrays reuse the last step's pages (backend/memory.py)

from foveanet.backend import (  # noqa: E402
    get_default_dtype, get_num_threads, get_rng_state, initial_seed, manual_seed, set_default_dtype,
    set_num_threads, set_rng_state,
)
from foveanet.autograd import (  # noqa: E402
    Function, GradcheckError, Tensor, cat, enable_grad, flatten, gather, gradcheck,
    is_grad_enabled, no_grad, set_grad_enabled, split, stack, where,
)
from foveanet.autograd.creation import (  # noqa: E402
    arange, empty, eye, from_numpy, full, linspace, ones, ones_like, rand, randint, randn,
    randperm, tensor, zeros, zeros_like,
)
import numpy as _np  # noqa: E402

float16, float32, float64 = _np.float16, _np.float32, _np.float64
int32, int64, bool_ = _np.int32, _np.int64, _np.bool_

__version__ = "0.1.0"


def __getattr__(name):
    # heavier layers load on first use, so `import foveanet` stays light
    import importlib

    lazy = {"nn": "foveanet.nn", "optim": "foveanet.optim", "models": "foveanet.models",
            "data": "foveanet.data", "concepts": "foveanet.concepts", "vision": "foveanet.vision",
            "interop": "foveanet.interop", "onnx": "foveanet.interop.onnx", "train": "foveanet.train"}
    if name in lazy:
        return importlib.import_module(lazy[name])
    if name in ("save", "load"):
        from foveanet import serialization
        return getattr(serialization, name)
    if name == "summary":
        from foveanet.concepts.summary import summary
        return summary
    raise AttributeError(f"module 'foveanet' has no attribute {name!r}")
