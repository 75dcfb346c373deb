"""The BLAS hold: BLAS at one thread while foveanet's own tasks run, and its threads given
back when foveanet's call returns.

Why hold: a layer's tasks (``threads.each``) each run a one-thread GEMM on their own slice;
with BLAS at two threads as well, the two kinds of threads multiply and fight for the cores.

Why hold past one parallel region: switching OpenBLAS 1 -> 2 -> 1 around each region stalled
the next region's tasks for milliseconds now and then (3x3 64->64 @56 b8 fwd+bwd on the
Winograd path, 2 tasks: median 28 ms toggling, 17 ms held). So the count stays at one for the
rest of foveanet's call (``backend/calls.py``: a module's forward, an op, a backward sweep) and
comes back when the outermost call in the process returns, or earlier before a GEMM that wants BLAS's
own threads (``release``, the CPU kernel set's ``before_gemm``). A user's NumPy product right
after a foveanet conv gets every BLAS thread (tests/backend/test_parallel.py). Giving the
count back at the end of each call measured as free: LeNet-5 b128 training step, 2 threads,
ratio to torch with the hold per process / per call, interleaved (`python -m benchmarks.run -k
lenet5`, load 10-23): SGD 0.57, 0.60 / 0.61; the functional-API step, which gives the count
back after every op, 0.56, 0.56 / 0.57.
"""
from __future__ import annotations

import threading

from foveanet.backend.calls import at_end, outside

__all__ = ["hold", "release", "release_if_outside", "held_threads", "controllers"]

_lock = threading.Lock()
_held: list | None = None    # [(BLAS controller, its thread count)] while BLAS is held at 1
_controllers = None


def controllers():
    """OpenBLAS's (or another BLAS's) thread setters, found once; None if threadpoolctl sees
    no BLAS (then nothing needs holding)."""
    global _controllers
    if _controllers is None:
        import numpy  # noqa: F401  (threadpoolctl finds only libraries already loaded)
        from threadpoolctl import ThreadpoolController

        libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        _controllers = libs or False
    return _controllers or None


def hold() -> None:
    """BLAS at one thread until ``release`` (or the end of the outermost ``scope``)."""
    global _held
    with _lock:
        libs = controllers() or []
        if _held is None or any(c.num_threads != 1 for c in libs):  # changed by someone else
            _held = [(c, c.num_threads) for c in libs]
            for c, _ in _held:
                c.set_num_threads(1)


def release() -> None:
    """Give BLAS back the threads it had before ``hold`` (a no-op when nothing is held).

    OpenBLAS ignores a raised count asked for by any thread but the main one (lowering works
    from any): called there, the hold stays on record for the main thread's next call to
    give back.
    """
    global _held
    if _held is None:
        return
    with _lock:
        for c, k in _held or []:
            if c.num_threads == 1:  # unless the user set a count of their own meanwhile
                c.set_num_threads(k)
        if all(c.num_threads != 1 or k == 1 for c, k in _held or []):
            _held = None


def release_if_outside() -> None:
    """``release``, unless some thread is still inside a foveanet call (it gives the threads
    back itself when that call returns)."""
    if _held is not None and outside():
        release()


def held_threads() -> int | None:
    """The BLAS thread count that ``release`` will restore, None when not held (or when
    someone else has set a count since)."""
    held = _held
    if held is None or any(c.num_threads != 1 for c, _ in held):
        return None
    return max((k for _, k in held), default=1)


at_end(release)
