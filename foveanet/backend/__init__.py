"""The backend seam: everything above it asks here instead of assuming NumPy on a CPU.

    array_module(a)        the array module that holds ``a`` (``xp``: NumPy, later CuPy)
    kernels(a)             the fast paths of a's backend (``backend.cpu``'s for NumPy);
                           a kernel left None means "run the op's reference formulas"
    set_kernels / use_kernels / get_kernels
                           'default' or 'reference' (also ``FOVEANET_KERNELS``)
    get/set_default_dtype  float32 unless told otherwise, like PyTorch
    manual_seed, generator, get/set_rng_state
                           the global random generator
    set/get_num_threads    threads inside one op (BLAS and the CPU's task pool)
    device, Device, device_of, to_device, to_host, module_for
                           where arrays live (``'cpu'``: NumPy, ``'cuda'``: CuPy); ``standin``
                           plays CuPy on the CPU so that tests can check the seam

``backend/calls.py`` marks where foveanet's own calls begin and end, for settings a backend
keeps for one call (the CPU's BLAS hold).
The CPU's speed machinery (threads, memory, process tuning, the convolution engines and the
table that routes between them) lives in ``backend/cpu``. Names load on first use, so that
``import foveanet.backend.cpu`` can tune the process before NumPy loads
(``backend/cpu/process.py``).
"""
from foveanet._lazy import lazy_exports

_ARRAYS = "foveanet.backend.arrays"
_DEFAULTS = "foveanet.backend.defaults"
_THREADS = "foveanet.backend.cpu.threads"
_DEVICES = "foveanet.backend.devices"

__all__ = ["array_module", "kernels", "set_kernels", "get_kernels", "use_kernels", "KernelSet",
           "get_default_dtype", "set_default_dtype", "is_float", "FLOAT_DTYPES", "manual_seed",
           "initial_seed", "generator", "get_rng_state", "set_rng_state", "set_num_threads",
           "get_num_threads", "device", "device_of", "to_device", "to_host", "module_for",
           "register_array_type", "cuda_is_available"]

__getattr__, __dir__ = lazy_exports(__name__, {
    **dict.fromkeys(("array_module", "kernels", "set_kernels", "get_kernels", "use_kernels",
                     "KernelSet"), _ARRAYS),
    **dict.fromkeys(("get_default_dtype", "set_default_dtype", "is_float", "FLOAT_DTYPES",
                     "manual_seed", "initial_seed", "generator", "get_rng_state",
                     "set_rng_state"), _DEFAULTS),
    **dict.fromkeys(("set_num_threads", "get_num_threads"), _THREADS),
    **dict.fromkeys(("device", "Device", "device_of", "to_device", "to_host", "module_for",
                     "register_array_type", "cuda_is_available"), _DEVICES),
})
