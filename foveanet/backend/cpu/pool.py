"""The worker threads behind ``threads.each``: one parallel region hands its items out to
the calling thread and to long-lived workers, each taking the next item when it is free.

Why not ``concurrent.futures``: the caller waited on a Future for every worker, even one
that woke after the items were gone, so a region cost 82-93 us with nothing to do (2-core
Intel Xeon VM, ``python -m benchmarks.bench_region``), and ResNet-18 runs 23 regions a
batch-1 forward, MobileNetV2 53. Here the caller waits only for the items other threads
are still running: an empty region costs 5-6 us; regions with work to do measured the same
within noise (four 90-us GEMMs as one region 273-348 us, was 293-421); MobileNetV2 b1
21-22 ms (was 22.5-23.5). A worker that wakes after its region ended finds nothing to take
and goes back to sleep; a forked child starts with no workers and runs its regions on the
calling thread until it starts its own.

Errors: the first exception any item raises is raised in the caller once the items already
started are done; no new item starts after it.
"""
from __future__ import annotations

import os
import queue
import threading

__all__ = ["Region", "start", "inside"]

_local = threading.local()  # .active: this thread is running a region's items
_lock = threading.Lock()
_queue: queue.SimpleQueue = queue.SimpleQueue()
_threads: list = []


def inside() -> bool:
    """True on a thread running a region's items (regions do not nest)."""
    return getattr(_local, "active", False)


class Region:
    """``fn(item)`` for each item, results in item order; ``fold`` as in ``threads.each``."""

    __slots__ = ("items", "fn", "fold", "n", "results", "ready", "next", "finished", "folded",
                 "total", "error", "waiting", "take", "done", "fold_lock")
    # next: items taken; finished: items done (ran or raised); waiting: the caller sleeps on
    # ``done`` until finished == next

    def __init__(self, items: list, fn, fold=None):
        self.items, self.fn, self.fold = items, fn, fold
        self.n = n = len(items)
        self.results: list = [None] * n
        self.ready = [False] * n if fold is not None else None
        self.next = self.finished = self.folded = 0
        self.total = self.error = None
        self.waiting = False
        self.take = threading.Lock()       # guards next, finished, error, waiting
        self.done = threading.Lock()       # held until the worker finishing last releases it
        self.done.acquire()
        self.fold_lock = threading.Lock()

    def work(self) -> None:
        """Take items until none is left (or one has failed)."""
        n = self.n
        while True:
            with self.take:
                i = self.next
                if i >= n or self.error is not None:  # none left, or one failed
                    return
                self.next = i + 1
            try:  # the fields are read only after a claim: the caller clears them when done
                self.results[i] = self.fn(self.items[i])
                if self.fold is not None:
                    self._fold(i, n)
            except BaseException as e:  # noqa: BLE001 - raised again in the caller
                with self.take:
                    if self.error is None:
                        self.error = e  # no new item starts
            finally:
                with self.take:
                    self.finished += 1
                    last = self.waiting and self.finished == self.next
                if last:
                    self.done.release()

    def _fold(self, i: int, n: int) -> None:
        self.ready[i] = True
        with self.fold_lock:  # whoever holds it folds every result that is next in line
            while self.folded < n and self.ready[self.folded]:
                k = self.folded
                self.total = self.results[k] if k == 0 else self.fold(self.total, self.results[k])
                self.results[k] = None
                self.folded = k + 1

    def run(self, helpers: int):
        """Wake ``helpers`` workers, work on the calling thread too, wait for the items
        still running elsewhere; the results (or the fold's total)."""
        _ensure(helpers)
        for _ in range(helpers):
            _queue.put(self)
        _local.active = True
        try:
            self.work()
        finally:
            _local.active = False
        # no item starts any more (all taken, or one failed): wait only for those other
        # threads are still running (``next`` counts the items taken)
        with self.take:
            wait = self.finished < self.next
            self.waiting = wait
        if wait:
            self.done.acquire()
        if self.error is not None:
            raise self.error
        out = self.results if self.fold is None else self.total
        self.items = self.results = self.ready = None  # a late worker's reference keeps little
        return out


def start(items: list, fn, helpers: int, fold=None):
    """Run a region over ``items`` with ``helpers`` workers beside the calling thread."""
    return Region(items, fn, fold).run(helpers)


def _serve() -> None:
    _local.active = True
    while True:
        region = _queue.get()
        region.work()  # a region that has ended: nothing left to take


def _ensure(count: int) -> None:
    if len(_threads) >= count:
        return
    with _lock:
        while len(_threads) < count:
            t = threading.Thread(target=_serve, name=f"foveanet_{len(_threads)}", daemon=True)
            t.start()
            _threads.append(t)


def _after_fork() -> None:
    # a forked child has none of the parent's threads: start afresh
    global _queue, _threads
    _queue, _threads = queue.SimpleQueue(), []


os.register_at_fork(after_in_child=_after_fork)
