"""Several user threads running inference on one model at once get what one thread gets,
on the compiled kernels and on the NumPy engines (the kernels keep no shared scratch)."""
import threading

import numpy as np
import pytest

import foveanet
from foveanet import nn
from foveanet.backend import use_kernels
from foveanet.backend.cpu import threads as parallel


def _model():
    foveanet.manual_seed(3)
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(),      # depthwise
        nn.MaxPool2d(3, 2, 1),
        nn.Conv2d(8, 8, 3, stride=2, padding=1, groups=8),       # strided depthwise
        nn.Flatten(), nn.Linear(8 * 4 * 4, 5),
    ).eval()


@pytest.mark.parametrize("choice", ["default", "numpy"])
@pytest.mark.parametrize("workers", [1, 2])
def test_user_threads_get_the_one_thread_results(choice, workers):
    before = parallel.workers()
    parallel.set_workers(workers)
    try:
        with use_kernels(choice):
            model = _model()
            batches = [np.random.default_rng(i).standard_normal((4, 3, 16, 16)).astype(np.float32)
                       for i in range(6)]
            with foveanet.no_grad():
                alone = [model(b).numpy() for b in batches]
            got = [None] * len(batches)
            errors = []
            start = threading.Barrier(len(batches))

            def infer(i):
                try:
                    start.wait()
                    with foveanet.no_grad():
                        for _ in range(3):
                            got[i] = model(batches[i]).numpy()
                except Exception as e:  # reported below, in the test's thread
                    errors.append(e)

            ts = [threading.Thread(target=infer, args=(i,)) for i in range(len(batches))]
            for t in ts:
                t.start()
            for t in ts:
                t.join()
    finally:
        parallel.set_workers(before)
    assert not errors
    for a, b in zip(alone, got):
        np.testing.assert_array_equal(b, a)


def test_no_grad_belongs_to_its_thread():
    """Inference threads entering and leaving no_grad out of order leave recording on in
    every other thread (as PyTorch's grad mode, which is thread-local)."""
    inside, leave = threading.Event(), threading.Event()
    seen = {}

    def infer():
        with foveanet.no_grad():
            seen["inside"] = foveanet.is_grad_enabled()
            inside.set()
            leave.wait(5)

    t = threading.Thread(target=infer)
    t.start()
    inside.wait(5)
    x = foveanet.tensor([1.0, 2.0], requires_grad=True)
    seen["main"] = foveanet.is_grad_enabled() and (x * 2).requires_grad
    leave.set()
    t.join()
    assert seen == {"inside": False, "main": True}
    assert foveanet.is_grad_enabled()
