"""foveanet: a convolutional neural network framework on NumPy, written from the foundations.

    import foveanet as fn
    x = fn.tensor([[1.0, 2.0]], requires_grad=True)
    (x * x).sum().backward()      # x.grad == 2x

``import foveanet`` changes nothing in the host process: every name below loads on first
use. ``foveanet.backend.cpu.tune_process()`` (or ``FOVEANET_TUNE_PROCESS=1``) tunes
OpenBLAS and malloc for training; the ``foveanet`` command does so itself.
"""
from typing import TYPE_CHECKING

from foveanet._lazy import lazy_exports
from foveanet.backend.cpu.process import tune_if_asked as _tune_if_asked

_tune_if_asked()  # only with FOVEANET_TUNE_PROCESS=1, and before NumPy loads

__version__ = "0.1.0"

_BACKEND = ("get_default_dtype", "get_num_threads", "get_rng_state", "initial_seed",
            "manual_seed", "set_default_dtype", "set_num_threads", "set_rng_state")
_AUTOGRAD = ("Function", "GradcheckError", "Tensor", "cat", "enable_grad", "flatten", "gather",
             "gradcheck", "is_grad_enabled", "no_grad", "set_grad_enabled", "split", "stack",
             "where")
_CREATION = ("arange", "empty", "eye", "from_numpy", "full", "linspace", "ones", "ones_like",
             "rand", "randint", "randn", "randperm", "tensor", "zeros", "zeros_like")
_DTYPES = ("float16", "float32", "float64", "int32", "int64", "bool_")

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(_BACKEND, "foveanet.backend"),
    **dict.fromkeys(_AUTOGRAD, "foveanet.autograd"),
    **dict.fromkeys(_CREATION, "foveanet.autograd.creation"),
    **dict.fromkeys(_DTYPES, "numpy"),
    "save": "foveanet.serialization", "load": "foveanet.serialization",
    "summary": "foveanet.concepts.summary",
    "freeze": "foveanet.nn.freezing", "unfreeze": "foveanet.nn.freezing",
    "device": "foveanet.backend.devices", "Device": "foveanet.backend.devices",
}, modules={
    "nn": "foveanet.nn", "optim": "foveanet.optim", "models": "foveanet.models",
    "data": "foveanet.data", "concepts": "foveanet.concepts", "vision": "foveanet.vision",
    "interop": "foveanet.interop", "onnx": "foveanet.onnx", "train": "foveanet.train",
    "backend": "foveanet.backend", "cuda": "foveanet.cuda", "distributed": "foveanet.distributed",
})

__all__ = ["__version__", *_BACKEND, *_AUTOGRAD, *_CREATION, *_DTYPES, "save", "load", "summary",
           "freeze", "unfreeze", "device", "Device"]

if TYPE_CHECKING:  # what the names above are, for type checkers and editors
    from numpy import bool_, float16, float32, float64, int32, int64  # noqa: F401

    from foveanet.autograd import (  # noqa: F401
        Function, GradcheckError, Tensor, cat, enable_grad, flatten, gather, gradcheck,
        is_grad_enabled, no_grad, set_grad_enabled, split, stack, where,
    )
    from foveanet.autograd.creation import (  # noqa: F401
        arange, empty, eye, from_numpy, full, linspace, ones, ones_like, rand, randint, randn,
        randperm, tensor, zeros, zeros_like,
    )
    from foveanet.backend.devices import Device, device  # noqa: F401
    from foveanet.backend import (  # noqa: F401
        get_default_dtype, get_num_threads, get_rng_state, initial_seed, manual_seed,
        set_default_dtype, set_num_threads, set_rng_state,
    )
    from foveanet.concepts.summary import summary  # noqa: F401
    from foveanet.nn.freezing import freeze, unfreeze  # noqa: F401
    from foveanet.serialization import load, save  # noqa: F401
