"""Process tuning, on request: OpenBLAS's kernel family and idle threads, and glibc's
handling of freed memory. ``import foveanet`` does none of it; ``tune_process`` does
all of it, and the ``foveanet`` command, ``make`` and the benchmarks call it first.
``FOVEANET_TUNE_PROCESS=1`` in the environment asks ``import foveanet`` to call it.

The OpenBLAS settings are environment variables that OpenBLAS reads once, when NumPy loads
it, so they take effect only when ``tune_process`` runs before the first ``import
numpy`` (it reports which took effect). This module and the packages above it import no
NumPy for that reason.

Kernels.

OpenBLAS chooses its kernel family once, when the library is loaded, from
``OPENBLAS_CORETYPE`` or its own CPU detection. When that ends on the Haswell (AVX2)
kernels on an AVX-512 machine (an environment that pins ``OPENBLAS_CORETYPE=Haswell``, or an
OpenBLAS build that does not recognise the CPU, as older builds did for AMD Zen 4), a float32
GEMM runs at about half speed: measured on a 2-core AMD EPYC (Zen 4) with NumPy 2.4's
OpenBLAS 0.3.31, sgemm 4096^3 270 -> 520 GFLOP/s, a conv-shaped 64x576 @ 576x25088 221 ->
333 GFLOP/s, LeNet's 16x150 @ 150x12800 190 -> 231 GFLOP/s (best of 5, interleaved).

The setting only helps if it is in the environment before OpenBLAS is loaded, so
``prefer_avx512_kernels`` must run before the first ``import numpy``. It does nothing (and
prints nothing) when NumPy is already imported, when the user chose a core type, or when
the CPU lacks ``avx512f``; an explicit choice, including the Haswell pin, is respected.

Idle threads. After a multi-threaded BLAS call, OpenBLAS's helper threads busy-wait for
2^28 cycles (about 0.1 s) for the next one. foveanet runs its BLAS calls at 2 threads
between layers (linear layers, small convs) and its convolutions as tasks on threads of its
own (``threads.py``), so a spinning helper took one of the two cores from those tasks for
most of every training step. ``OPENBLAS_THREAD_TIMEOUT=4`` (2^4 cycles, OpenBLAS's
minimum) makes them sleep instead. Training step, batch 128, 2 threads, median of 15:
LeNet-5 14.9 -> 11.7 ms, vgg_small 231 -> 191 ms; a 3x3 64->128 @32 b32 forward right
after twenty 512x512 matmuls 27.2 -> 14.5 ms (13.8 ms with nothing before it).
"""
from __future__ import annotations

import os
import sys

_VAR = "OPENBLAS_CORETYPE"
_AVX512_CORETYPE = "SKYLAKEX"
_TIMEOUT_VAR = "OPENBLAS_THREAD_TIMEOUT"
_TIMEOUT = "4"


def _cpu_has_avx512f(path: str = "/proc/cpuinfo") -> bool:
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            for line in f:
                # x86 Linux names the list "flags"; the first one is enough (all cores match)
                if line.startswith("flags"):
                    return "avx512f" in line.split(":", 1)[-1].split()
    except OSError:  # not Linux, or /proc hidden: leave OpenBLAS to its own detection
        pass
    return False


def prefer_avx512_kernels(environ=None, modules=None, cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Set ``OPENBLAS_CORETYPE=SKYLAKEX`` when it can still take effect and is safe.

    Returns True when it set the variable. ``environ``/``modules``/``cpuinfo`` exist so the
    decision can be tested without touching the real process.
    """
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "numpy" in modules:  # OpenBLAS is loaded: too late, and a half-applied setting misleads
        return False
    if environ.get(_VAR):  # the user's (or the site's) choice wins
        return False
    if not _cpu_has_avx512f(cpuinfo):  # AVX-512 kernels would fault on this CPU
        return False
    environ[_VAR] = _AVX512_CORETYPE
    return True


def sleep_idle_blas_threads(environ=None, modules=None) -> bool:
    """Set ``OPENBLAS_THREAD_TIMEOUT=4`` when it can still take effect and the user set
    none; returns True when it set it."""
    environ = os.environ if environ is None else environ
    modules = sys.modules if modules is None else modules
    if "numpy" in modules or environ.get(_TIMEOUT_VAR):
        return False
    environ[_TIMEOUT_VAR] = _TIMEOUT
    return True


TUNE_VAR = "FOVEANET_TUNE_PROCESS"


def tune_process(environ=None, modules=None) -> dict:
    """Tune this process for foveanet's training loops; returns what took effect.

    ``{"openblas_coretype": bool, "openblas_thread_timeout": bool, "malloc": bool}``: the
    first two are False when NumPy was already loaded, when the user set the variable
    (their choice wins) or, for the core type, when the CPU lacks AVX-512; the third when
    ``FOVEANET_MALLOC=system`` or the C library is not glibc (see ``memory.py``).
    Calling it again changes nothing more.
    """
    from foveanet.backend.cpu.memory import keep_freed_memory

    return {"openblas_coretype": prefer_avx512_kernels(environ, modules),
            "openblas_thread_timeout": sleep_idle_blas_threads(environ, modules),
            "malloc": keep_freed_memory(environ)}


def tune_if_asked(environ=None) -> bool:
    """Call ``tune_process`` when ``FOVEANET_TUNE_PROCESS`` is set to anything but 0
    (``import foveanet`` runs this); True when it did."""
    environ = os.environ if environ is None else environ
    if environ.get(TUNE_VAR, "0") in ("", "0"):
        return False
    tune_process(environ)
    return True
