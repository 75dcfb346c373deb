"""The CPU backend: NumPy arrays, OpenBLAS, and foveanet's own speed machinery.

    process.py   tune_process(): OpenBLAS's kernels and idle threads, glibc's freed memory
    memory.py    the glibc setting, with its measurement
    threads.py   the task pool that splits one op across cores, and the BLAS hold
    kernels.py   the CPU's KernelSet (what ``backend.kernels`` returns for NumPy arrays)
    conv/        the convolution engines and ``route.py``, where every threshold lives

``tune_process`` is importable before NumPy loads; everything else loads on first use.
"""
from foveanet._lazy import lazy_exports
from foveanet.backend.cpu.process import tune_process

__all__ = ["tune_process", "KERNELS"]

__getattr__, __dir__ = lazy_exports(__name__, {"KERNELS": "foveanet.backend.cpu.kernels"})
