"""Intra-op parallelism: one layer's work split into independent tasks run on a small pool.

Why threads of our own rather than BLAS threads: a convolution on a small feature map is
a copy (im2col) plus a GEMM too thin for OpenBLAS to split well, and NumPy's copies run on
one thread whatever BLAS does. Cut over the batch instead, each task does its own copy
and its own single-threaded GEMM on cache-sized data; NumPy releases the GIL in both.
Measured here (3x3 conv fwd+bwd, 2 cores, min of 5): 32->32 @28 batch 128: 63 ms with
2 BLAS threads -> 35 ms on 2 tasks; 12->12 @64 batch 32: 23 -> 9 ms (`make bench` keeps
the first as "conv 3x3 32->32 @28 b128 fwd+bwd").

While tasks run, BLAS is held at one thread so the two kinds of threads do not multiply.
Tasks must not share output memory: each writes its own slice or returns a partial result
that the caller sums in a fixed order, so results do not depend on thread scheduling.
"""
from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

__all__ = ["workers", "set_workers", "run", "shares"]

_workers: int | None = None  # None: decided at first use from the BLAS thread count
_pool: ThreadPoolExecutor | None = None
_blas = None
_lock = threading.Lock()
_inside = threading.local()


def _blas_controller():
    """OpenBLAS's (or another BLAS's) thread setter, found once; None if threadpoolctl sees
    no BLAS (then nothing needs holding)."""
    global _blas
    if _blas is None:
        import numpy  # noqa: F401  (threadpoolctl finds only libraries already loaded)
        from threadpoolctl import ThreadpoolController

        libs = [c for c in ThreadpoolController().lib_controllers if c.user_api == "blas"]
        _blas = libs or False
    return _blas or None


def workers() -> int:
    """How many tasks a layer is split into (``foveanet.set_num_threads`` sets it)."""
    global _workers
    if _workers is None:
        libs = _blas_controller()
        n = max((c.num_threads for c in libs), default=1) if libs else 1
        _workers = max(1, min(n, os.cpu_count() or 1))
    return _workers


def set_workers(n: int) -> None:
    global _workers, _pool
    with _lock:
        _workers = int(n)
        if _pool is not None and _pool._max_workers < _workers:
            _pool.shutdown(wait=True)
            _pool = None


def _get_pool() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max(2, workers()), thread_name_prefix="foveanet")
        return _pool


def run(tasks):
    """Run the callables ``tasks`` and return their results in order.

    Sequential when there is one task or one worker, and inside a task (no nesting).
    """
    tasks = list(tasks)
    if len(tasks) < 2 or workers() < 2 or getattr(_inside, "active", False):
        return [t() for t in tasks]
    libs = _blas_controller() or []
    saved = [c.num_threads for c in libs]
    for c in libs:
        c.set_num_threads(1)
    try:
        futures = [_get_pool().submit(_task, t) for t in tasks[1:]]
        first = _task(tasks[0])  # the calling thread takes a share too
        return [first] + [f.result() for f in futures]
    finally:
        for c, n in zip(libs, saved):
            c.set_num_threads(n)


def shares(items: list, job) -> list:
    """Tasks for :func:`run`: one per worker, each calling ``job`` on every W-th item (a
    fixed assignment, so partial sums are added in the same order on every run)."""
    W = max(1, min(workers(), len(items)))
    return [functools.partial(job, items[k::W]) for k in range(W)]


def _task(fn):
    _inside.active = True
    try:
        return fn()
    finally:
        _inside.active = False
