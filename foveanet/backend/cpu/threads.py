"""Intra-op parallelism: one layer's work split into independent tasks run on a small pool.

Why threads of our own rather than BLAS threads: a convolution on a small feature map is
a copy (im2col) plus a GEMM too thin for OpenBLAS to split well, and NumPy's copies run on
one thread whatever BLAS does. Cut over the batch instead, each task does its own copy
and its own single-threaded GEMM on cache-sized data; NumPy releases the GIL in both.
Measured here (3x3 conv fwd+bwd, 2 cores, min of 5): 32->32 @28 batch 128: 63 ms with
2 BLAS threads -> 35 ms on 2 tasks; 12->12 @64 batch 32: 23 -> 9 ms (`make bench` keeps
the first as "conv 3x3 32->32 @28 b128 fwd+bwd").

While tasks run, BLAS is held at one thread so the two kinds of threads do not multiply
(``blas.py``: the hold lasts to the end of foveanet's call, not the process).
Tasks must not share output memory: each writes its own slice or returns a partial result
that is summed in a fixed order, so results do not depend on thread scheduling.

Work is handed out as threads free up (``each``), not in fixed shares: a thread that
starts late loses only its own time. After a PyTorch call in the same process, its OpenMP
thread keeps spinning on one core for a few ms; with fixed halves the main thread then
waited for the late worker (3x3 64->128 @32 b32 forward, 2 threads: 13.4 ms alone, 19.1 ms
right after a torch conv, the worker starting 2-5 ms late).
"""
from __future__ import annotations

import functools
import numbers
import os

import numpy as np

from foveanet.backend.cpu import blas, pool

__all__ = ["workers", "set_workers", "run", "each", "matmul", "release_blas", "set_num_threads",
           "get_num_threads"]

_workers: int | None = None  # None: decided at first use from the BLAS thread count


def _blas_controller():
    return blas.controllers()


def workers() -> int:
    """How many tasks a layer is split into (``foveanet.set_num_threads`` sets it)."""
    global _workers
    if _workers is None:
        libs = _blas_controller()
        n = max((c.num_threads for c in libs), default=1) if libs else 1
        _workers = max(1, min(n, os.cpu_count() or 1))
    return _workers


def set_workers(n: int) -> None:
    global _workers
    release_blas()  # BLAS's own count is the caller's to set now
    _workers = int(n)  # the pool starts more threads when a region first needs them


def run(tasks):
    """Run the callables ``tasks`` and return their results in order.

    Sequential when there is one task or one worker, and inside a task (no nesting).
    """
    return each(list(tasks), lambda task: task())


def each(items, fn, fold=None):
    """``fn(item)`` for every item, on up to ``workers()`` threads, each taking the next
    item when it is free.

    Returns the results in item order, or, with ``fold``, ``fold(fold(r0, r1), r2) ...``
    over them in item order: a result is folded in as soon as those before it are (so
    only a few wait in memory), and the total is the same bits on every run, whichever
    thread computed what, and equal to the one-thread total.
    """
    items = list(items)
    n = len(items)
    threads = min(workers(), n)
    if threads < 2 or pool.inside():
        results = [fn(item) for item in items]
        return results if fold is None else functools.reduce(fold, results)
    return _with_blas_held(lambda: pool.start(items, fn, threads - 1, fold))


# Rows of the left operand per task of ``matmul``: a multiple of OpenBLAS's sgemm panel (16
# on SkylakeX), and enough blocks that the caller can take a late worker's share.
MATMUL_BLOCK_ROWS = 64
# Below this many multiply-adds (about 150 us on one thread) a product stays one task:
# waking a worker costs the caller 30 us (the queue's put, a system call on this VM) and the
# hand-back 40 more (``benchmarks/bench_region.py``). Intel Xeon, 2 threads, wall ms median
# (``python -m benchmarks.bench_alone --sides foveanet "foveanet frozen"``), 2^20 / 2^22 /
# 2^23 / 2^24: MobileNetV2 b1 21.9 / 20.8 / 19.8 / 19.5 ms; ResNet-18 b1 frozen 27.4 / 27.9
# / 26.7 / 27.2; its 1x1 stride-2 128x64 @ 64x784 conv 376 / 389 / 195 / 176 us.
MATMUL_PARALLEL_MIN = 1 << 23


def matmul(a, b, out=None):
    """``a @ b`` (2-d) with the rows of ``a`` cut into blocks run as tasks, each a
    one-thread BLAS call writing its own rows of the result.

    Why not BLAS's own threads: on this 2-core machine with another job on the second core,
    OpenBLAS's second thread wakes late and its partner spins waiting, since each call is
    split in fixed halves. Min of 15, 2 OpenBLAS threads against 1 (ms wall): 96x16 @ 16x12544
    20.0 vs 0.47, 384x64 @ 64x196 12.0 vs 0.10, 1280x320 @ 320x49 0.23-4.0 vs 0.44: every
    1x1 conv of MobileNetV2 at batch 1 (b1 @224 forward: 470 ms CPU with 2 threads, 31 ms
    with 1). Tasks are handed out as threads free up, so a late worker costs only itself.
    """
    M = a.shape[0]
    if out is None:
        out = np.empty((M, b.shape[1]), dtype=np.result_type(a, b))
    n = workers()
    if n < 2 or pool.inside():
        return np.matmul(a, b, out=out)
    if M < 2 * 16 or M * a.shape[1] * b.shape[1] < MATMUL_PARALLEL_MIN:
        # one task, still with BLAS at one thread
        return _with_blas_held(lambda: np.matmul(a, b, out=out))
    rows = max(16, min(MATMUL_BLOCK_ROWS, -(-M // (2 * n)) // 16 * 16 or 16))
    blocks = [(r, min(r + rows, M)) for r in range(0, M, rows)]
    each(blocks, lambda blk: np.matmul(a[blk[0]:blk[1]], b, out=out[blk[0]:blk[1]]))
    return out


def _with_blas_held(body):
    """Run ``body`` with BLAS at one thread (``blas.hold``): the count stays held to the end
    of foveanet's call (``backend/calls.py``); a region run outside any gives it back at once."""
    blas.hold()
    try:
        return body()
    finally:
        blas.release_if_outside()


def release_blas() -> None:
    """Give BLAS back its threads, for a GEMM that runs outside tasks (a no-op inside a
    task, or when nothing is held)."""
    if not pool.inside():
        blas.release()


held_blas_threads = blas.held_threads


def set_num_threads(n: int) -> None:
    """Use ``n`` threads inside one op (like ``torch.set_num_threads``): BLAS's threads for
    a large GEMM, and as many tasks for the sub-batches of a convolution (``threads.each``).

    LeNet-sized GEMMs gain little from a second BLAS thread on a 2-core machine, and when
    other work shares the cores OpenBLAS's threads spin waiting for each other: measured
    here under foreign load, a LeNet batch cost 9x the CPU time with 2 threads than with 1.

    Args:
        n: a positive int; it applies process-wide until set again.

    Raises:
        ValueError: ``n`` is not a positive int.

    Example::

        >>> n = fn.get_num_threads()
        >>> fn.set_num_threads(1)
        >>> fn.get_num_threads()
        1
        >>> fn.set_num_threads(n)              # back to what it was
        >>> fn.get_num_threads() == n
        True
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive int, got {n!r}")
    from threadpoolctl import threadpool_limits

    set_workers(int(n))  # first: it gives back a held BLAS count, overwritten below
    threadpool_limits(int(n), user_api="blas")  # applies process-wide until changed again


def get_num_threads() -> int:
    """The BLAS thread count NumPy's matrix products use now.

    Inside a foveanet call BLAS is held at one thread; the count reported is the one it
    gets back when the call returns.

    Returns:
        int: the thread count, at least 1.

    Example::

        >>> n = fn.get_num_threads()
        >>> fn.set_num_threads(1)
        >>> fn.get_num_threads()
        1
        >>> fn.set_num_threads(n)
    """
    from threadpoolctl import threadpool_info

    held = held_blas_threads()  # held at 1 between parallel regions: report the real count
    if held is not None:
        return held
    counts = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return max(counts) if counts else 1
