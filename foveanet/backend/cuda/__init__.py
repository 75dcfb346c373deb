"""What a CUDA device (CuPy) brings beyond CuPy's array module.

    random.generator(xp)   the device's random generator, seeded from ``fn.manual_seed``
    kernels.KERNELS        the GPU KernelSet: CuPy RawKernels for the ops whose reference
                           formulas would be slow on a GPU (``backend.kernels(x)`` returns it
                           for CuPy arrays; the stand-in keeps the reference set)

Nothing here imports CuPy at import time: the CPU never loads it.
"""
