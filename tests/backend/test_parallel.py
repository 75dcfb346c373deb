"""backend.cpu.threads: the task pool behind sub-batched convolutions."""
import os
import signal
import threading

import numpy as np
import pytest

import foveanet
from foveanet import nn
from foveanet.backend.calls import CALL
from foveanet.backend.cpu import threads as parallel
from foveanet.backend.cpu.conv import route
from foveanet.nn import functional as F


@pytest.fixture
def two_workers():
    before = parallel.workers()
    parallel.set_workers(2)
    yield
    parallel.set_workers(before)


def test_results_come_back_in_task_order_from_two_threads(two_workers):
    barrier = threading.Barrier(2, timeout=10)

    def task(i):
        barrier.wait()  # passes only if both tasks run at the same time
        return i, threading.current_thread().name

    out = parallel.run([lambda: task(0), lambda: task(1)])
    assert [i for i, _ in out] == [0, 1]
    assert len({name for _, name in out}) == 2


def test_each_folds_in_item_order_whatever_the_timing(two_workers):
    """A fold that is not commutative (list concatenation) shows the order: item order, with
    the items finishing out of order on two threads, and equal to the one-thread fold."""
    import random
    import time

    rnd = random.Random(0)
    delays = [rnd.random() * 2e-3 for _ in range(40)]

    def fn(i):
        time.sleep(delays[i])
        return [(i, threading.current_thread().name)]

    out = parallel.each(range(40), fn, fold=lambda a, b: a + b)
    assert [i for i, _ in out] == list(range(40))
    assert len({name for _, name in out}) == 2
    assert parallel.each(range(5), lambda i: i * i) == [0, 1, 4, 9, 16]
    parallel.set_workers(1)
    assert [i for i, _ in parallel.each(range(40), fn, fold=lambda a, b: a + b)] == list(range(40))


def test_a_late_thread_takes_fewer_items(two_workers):
    """Items are handed out as threads free up: while the calling thread is held on its
    first item, the other thread works through the rest."""
    gate, main_in = threading.Event(), threading.Event()
    main = threading.current_thread().name

    def fn(i):
        if threading.current_thread().name == main:
            main_in.set()
            gate.wait(timeout=10)  # the calling thread's first item blocks ...
        else:
            main_in.wait(timeout=10)
            if i == 9:
                gate.set()  # ... until the last item is reached, by the other thread
        return threading.current_thread().name

    names = parallel.each(range(10), fn)
    assert names.count(main) == 1 and gate.is_set()


@pytest.fixture
def blas_libs():
    libs = parallel._blas_controller() or []
    if not libs:
        pytest.skip("threadpoolctl finds no BLAS")
    before = [c.num_threads for c in libs]
    for c in libs:
        c.set_num_threads(2)
    yield libs
    parallel.release_blas()
    for c, k in zip(libs, before):
        c.set_num_threads(k)


def test_blas_is_held_inside_a_foveanet_call_and_given_back_when_it_returns(two_workers, blas_libs):
    """Tasks run with BLAS at one thread; inside one foveanet call the count stays held
    between regions (switching it back and forth around every region stalled the next one)
    until a GEMM outside tasks asks for it; the outermost call's end gives it back, and
    get_num_threads reports the real count meanwhile."""
    libs = blas_libs
    with CALL:
        inside = parallel.run([lambda: [c.num_threads for c in libs]] * 2)
        assert inside == [[1] * len(libs)] * 2
        with CALL:  # nested: still one call
            parallel.run([lambda: None] * 2)
        assert [c.num_threads for c in libs] == [1] * len(libs)  # still held
        assert foveanet.get_num_threads() == 2
        F.linear(foveanet.ones(64, 3), foveanet.ones(5, 3))  # a small one leaves them held
        assert [c.num_threads for c in libs] == [1] * len(libs)
        # a GEMM outside tasks takes the threads back: more rows than threads.matmul takes on
        # (LINEAR_SPLIT_MAX_ROWS), more multiply-adds than linear leaves on one thread
        # (LINEAR_BLAS_MIN_MACS: 512 * 256 * 128 = 2^24)
        x = foveanet.ones(512, 256)
        F.linear(x, foveanet.ones(128, 256))
        assert [c.num_threads for c in libs] == [2] * len(libs)
        parallel.run([lambda: None] * 2)
        # a count set by someone else while held is theirs: reported, held anew, given back
        for c in libs:
            c.set_num_threads(3)
        assert foveanet.get_num_threads() == 3
        inside = parallel.run([lambda: [c.num_threads for c in libs]] * 2)
        assert inside == [[1] * len(libs)] * 2
    assert [c.num_threads for c in libs] == [3] * len(libs)  # the call ended: given back
    parallel.run([lambda: None] * 2)  # a region outside any call gives them back at once
    assert [c.num_threads for c in libs] == [3] * len(libs)


def test_a_users_gemm_after_a_foveanet_conv_gets_every_blas_thread(two_workers, blas_libs):
    """The hold is local to foveanet's calls: after a module's forward, a functional op and
    a backward sweep, NumPy's next product runs with BLAS's own count."""
    libs = blas_libs
    seen = []

    class Probe(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(16, 16, 3, padding=1)

        def forward(self, x):
            parallel.run([lambda: None] * 2)  # a region, as a conv's tasks are
            seen.append([c.num_threads for c in libs])
            return self.conv(x)

    conv = Probe()
    x = foveanet.randn(8, 16, 32, 32, requires_grad=True)
    y = conv(x)
    assert seen == [[1] * len(libs)]  # held inside the forward ...
    assert [c.num_threads for c in libs] == [2] * len(libs)  # ... and given back after it
    y = F.conv2d(x, conv.conv.weight, padding=1)
    assert [c.num_threads for c in libs] == [2] * len(libs)
    (y * y).sum().backward()
    assert [c.num_threads for c in libs] == [2] * len(libs)
    assert x.grad is not None


def test_the_hold_waits_for_the_last_thread_inside_a_call(two_workers, blas_libs):
    """Two user threads inside calls at once: BLAS stays held until the last one leaves.
    OpenBLAS raises the count only when the main thread asks, so when a worker thread
    leaves last, the main thread's next call gives the threads back."""
    libs = blas_libs
    held, given_back = [1] * len(libs), [2] * len(libs)

    def other_thread_inside_a_call():
        """A thread that enters a call, runs a region, and leaves when ``leave`` is set."""
        entered, leave = threading.Event(), threading.Event()

        def other():
            with CALL:
                parallel.run([lambda: None] * 2)
                entered.set()
                leave.wait(10)

        t = threading.Thread(target=other)
        t.start()
        entered.wait(10)
        return t, leave

    t, leave = other_thread_inside_a_call()
    with CALL:
        parallel.run([lambda: None] * 2)
        leave.set()
        t.join()
        assert [c.num_threads for c in libs] == held  # left by the other, still inside here
    assert [c.num_threads for c in libs] == given_back  # the last one out gives back

    t, leave = other_thread_inside_a_call()
    with CALL:
        parallel.run([lambda: None] * 2)
    leave.set()
    t.join()
    assert [c.num_threads for c in libs] == held  # the worker thread left last ...
    with CALL:
        pass
    assert [c.num_threads for c in libs] == given_back  # ... the main thread's next call


def test_one_worker_and_nested_calls_run_in_the_calling_thread(two_workers):
    me = threading.current_thread().name
    nested = parallel.run([lambda: parallel.run([lambda: threading.current_thread().name] * 2)] * 2)
    assert all(len(set(names)) == 1 for names in nested)  # each inner run stayed in one thread
    parallel.set_workers(1)
    assert parallel.run([lambda: threading.current_thread().name] * 3) == [me] * 3


def test_an_exception_in_a_task_reaches_the_caller(two_workers):
    def boom():
        raise ValueError("task failed")

    with pytest.raises(ValueError, match="task failed"):
        parallel.run([lambda: 1, boom])


def test_a_failed_item_stops_new_items_and_waits_for_running_ones(two_workers):
    """The first error is raised once the items already started are done; none starts after."""
    started, finished = [], []

    def fn(i):
        started.append(i)
        if i == 1:
            raise ValueError(f"item {i} failed")
        threading.Event().wait(0.01)
        finished.append(i)

    with pytest.raises(ValueError, match="item 1 failed"):
        parallel.each(range(50), fn)
    assert len(started) < 50
    assert sorted(finished) == sorted(i for i in started if i != 1)  # nothing left running


def test_a_region_does_not_wait_for_a_worker_that_never_started(two_workers):
    """With the pool's worker held by another user thread's region, a region finishes on
    the calling thread alone instead of waiting for the worker to come free."""
    on_worker, release, worker_left = threading.Event(), threading.Event(), threading.Event()

    def hold(i):
        if threading.current_thread().name.startswith("foveanet"):
            on_worker.set()
            release.wait(5)
            worker_left.set()
        else:
            on_worker.wait(10)  # the caller's item waits until the worker holds the other

    other = threading.Thread(target=parallel.each, args=(range(2), hold))
    other.start()
    try:
        assert on_worker.wait(10)
        names = parallel.each(range(4), lambda i: threading.current_thread().name)
        assert names == [threading.current_thread().name] * 4
        assert not worker_left.is_set()  # the worker is still held: nobody waited for it
    finally:
        release.set()
        other.join(10)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_regions_work_in_a_forked_child(two_workers):
    parallel.each(range(4), lambda i: i)  # the parent's worker thread exists
    pid = os.fork()
    if pid == 0:  # the child: no worker threads were copied; regions must still finish
        signal.alarm(10)
        ok = parallel.each(range(8), lambda i: i * i) == [i * i for i in range(8)]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0


def test_conv_over_two_workers_is_repeatable_and_matches_one(two_workers, monkeypatch):
    """Partial dW sums are added in a fixed order: the same numbers on every run."""
    monkeypatch.setattr(route, "CHUNK_BYTES", 1)
    r = np.random.default_rng(0)
    x = r.standard_normal((6, 3, 9, 9)).astype(np.float32)
    w = r.standard_normal((5, 3, 3, 3)).astype(np.float32)

    def grads():
        xt, wt = foveanet.tensor(x, requires_grad=True), foveanet.tensor(w, requires_grad=True)
        y = F.conv2d(xt, wt, padding=1)
        (y * y).sum().backward()
        return y.numpy(), xt.grad.numpy(), wt.grad.numpy()

    first, second = grads(), grads()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    parallel.set_workers(1)
    for a, b in zip(first, grads()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("rows", [8, 40, 200])
def test_matmul_in_row_blocks_equals_the_product(two_workers, rows, monkeypatch):
    """threads.matmul cuts the rows of ``a`` into tasks (few rows: one task), BLAS held at
    one thread inside and given back after; the result is the product, computed in float64 here."""
    monkeypatch.setattr(parallel, "MATMUL_PARALLEL_MIN", 1 << 20)  # 200 rows: split; 40: not
    rng = np.random.default_rng(rows)
    a = rng.standard_normal((rows, 48)).astype(np.float32)
    b = rng.standard_normal((48, 300)).astype(np.float32)
    got = parallel.matmul(a, b)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)
    assert parallel.held_blas_threads() is None  # outside any foveanet call: given back
    col = parallel.matmul(a, b[:, :1])  # a matrix-vector product (the classifier at batch 1)
    np.testing.assert_allclose(col, a.astype(np.float64) @ b[:, :1], rtol=1e-5, atol=1e-5)


def test_inference_convs_keep_blas_held_between_them(two_workers, blas_libs, monkeypatch):
    """Under no_grad a conv does not give BLAS its threads back before it runs (every
    inference engine runs its GEMMs in tasks, whose region would take them again at once):
    no give-back inside the forward, one when it returns. With a gradient wanted, each conv
    asks for them (its GEMMs may run outside tasks)."""
    from foveanet.backend import calls
    from foveanet.backend.cpu import blas

    libs = blas_libs
    inside = []
    release = blas.release

    def counted():
        inside.append(not calls.outside() and [c.num_threads for c in libs] == [1] * len(libs))
        release()

    monkeypatch.setattr(blas, "release", counted)
    model = nn.Sequential(nn.Conv2d(16, 16, 3, padding=1), nn.Conv2d(16, 16, 3, padding=1))
    x = foveanet.randn(1, 16, 32, 32)
    with foveanet.no_grad():
        model(x)
    assert sum(inside) == 0
    assert [c.num_threads for c in libs] == [2] * len(libs)
    inside.clear()
    model(foveanet.randn(8, 16, 32, 32))  # a batch: the first conv's tasks hold BLAS
    assert sum(inside) >= 1  # the second conv took the held threads back
    assert [c.num_threads for c in libs] == [2] * len(libs)
