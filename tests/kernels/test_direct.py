"""The compiled direct conv (foveanet/kernels/direct.py, and direct_batch.py's batch-last
forward, dX and dW) against the NumPy engines (float64, to round-off: the GEMM sums in another
order) and PyTorch (float32), over a seeded sweep of odd sizes, paddings, dilations, kernel
shapes and output counts that are not a multiple of the kernels' four-row block; and which
layers foveanet/kernels/route.py sends to them."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.nn.functional as F
from foveanet.backend import use_kernels
from foveanet.geometry import ConvGeom
from foveanet.kernels import route
from tests.torch_ref import close

pytest.importorskip("numba")

# (N, C, H, W, Co, kh, kw, padding, dilation, bias, input grad)
CASES = [
    (3, 1, 12, 12, 6, 5, 5, 2, 1, True, False),      # LeNet-5's C1 (dW only)
    (2, 6, 14, 14, 16, 5, 5, 0, 1, True, True),      # C3
    (2, 3, 9, 11, 5, 3, 3, 1, 1, False, True),
    (2, 2, 10, 12, 3, 3, 3, 2, 2, True, True),       # dilated 3x3
    (1, 2, 9, 11, 7, 4, 2, (1, 0), 1, True, True),   # the generic row, asymmetric kernel
    (2, 4, 11, 16, 9, 3, 5, (2, 1), (1, 2), False, True),
    (3, 3, 9, 14, 5, 3, 7, (0, 1), 1, True, True),   # batch-last's generic row (kw = 7)
    (2, 6, 12, 13, 5, 3, 3, 2, 2, True, True),       # batch-last, dilated 3x3
]
# which of CASES run batch-last (kernels/route.py's rule, by hand: C*kh*kw >= 54 and
# (kw-1)*dw >= Wp/8)
BATCH_LAST = [False, True, False, False, False, True, True, True]


def _arrays(case, dtype, seed):
    N, C, H, W, Co, kh, kw, padding, dilation, bias, _ = case
    r = np.random.default_rng(seed)
    x = r.standard_normal((N, C, H, W)).astype(dtype)
    w = r.standard_normal((Co, C, kh, kw)).astype(dtype)
    b = r.standard_normal(Co).astype(dtype) if bias else None
    y = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, 1, padding, dilation)
    return x, w, b, r.standard_normal(tuple(y.shape)).astype(dtype)


def _run(choice, case, x, w, b, gy):
    padding, dilation, need_x = case[7], case[8], case[10]
    with use_kernels(choice):
        xt, wt = foveanet.tensor(x, requires_grad=need_x), foveanet.tensor(w, requires_grad=True)
        bt = None if b is None else foveanet.tensor(b, requires_grad=True)
        y = F.conv2d(xt, wt, bt, padding=padding, dilation=dilation)
        (y * foveanet.tensor(gy)).sum().backward()
        return (y.numpy(), xt.grad.numpy() if need_x else None, wt.grad.numpy(),
                None if b is None else bt.grad.numpy())


def _geom(case):
    N, C, H, W, Co, kh, kw = case[:7]
    p = case[7] if isinstance(case[7], tuple) else (case[7], case[7])
    d = case[8] if isinstance(case[8], tuple) else (case[8], case[8])
    return ConvGeom(N, C, H, W, Co, 1, kh, kw, (1, 1), d, (p[0], p[0], p[1], p[1]))


def test_the_cases_take_the_direct_kernel():
    for case, batch_last in zip(CASES, BATCH_LAST, strict=True):
        g = _geom(case)
        assert route.direct(g)
        assert route.direct_batch(g) == batch_last
    # vgg_small's 32->32 3x3 @28: 288 taps, but a grid 30 wide wastes 2/30: the grid kernels
    vgg = ConvGeom(8, 32, 28, 28, 32, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    assert route.direct(vgg) and not route.direct_batch(vgg)
    wide = ConvGeom(8, 32, 14, 14, 64, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    strided = ConvGeom(8, 1, 28, 28, 6, 1, 5, 5, (2, 2), (1, 1), (2, 2, 2, 2))
    pointwise = ConvGeom(8, 96, 56, 56, 24, 1, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0))
    assert not route.direct(wide) and not route.direct(strided) and not route.direct(pointwise)


@pytest.mark.parametrize("clamp", [None, (0.0, 6.0)])
def test_inference_takes_the_direct_kernel_with_its_clamp(clamp):
    """No gradient wanted: the layer runs direct, its ReLU6 (an inference layer's fused
    clamp) applied as y is written; a one-image 3x3 layer with frozen weights wide enough
    for the kept Winograd transform stays on it."""
    from foveanet.backend import kernels
    from foveanet.backend.cpu import conv as numpy_conv
    case = CASES[1]
    x, w, b, _ = _arrays(case, np.float64, 3)
    g = _geom(case)
    y, state = kernels(x).conv.forward(x, w, b, g, False, False, clamp=clamp)
    want, _ = numpy_conv.forward(x, w, b, g, False, False)
    if clamp is not None:
        want = np.clip(want, *clamp)
        assert (y == 6.0).any() and (y == 0.0).any()
    assert state.path == "direct"
    np.testing.assert_allclose(y, want, rtol=1e-12, atol=1e-12)
    x1 = np.random.default_rng(4).standard_normal((1, 32, 28, 28)).astype(np.float32)
    w1 = np.random.default_rng(5).standard_normal((32, 32, 3, 3)).astype(np.float32)
    w1.flags.writeable = False
    g1 = ConvGeom(1, 32, 28, 28, 32, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    assert route.direct(g1)
    assert kernels(x1).conv.forward(x1, w1, None, g1, False, False)[1].path == "winograd_one"


def test_small_calls_stay_one_block():
    """Below DIRECT_SPLIT_MIN_MACS multiply-adds the images stay one block on the calling
    thread (a hand-over costs more than the half it saves)."""
    from foveanet.backend.cpu.conv.direct import _blocks
    before = foveanet.get_num_threads()
    try:
        foveanet.set_num_threads(2)
        small = _geom((8,) + CASES[1][1:])           # 8 * 16*10*10 * 150 = 1.9M
        big = _geom((64,) + CASES[1][1:])            # 15.4M
        assert _blocks(small, batch_last=False) == [(0, 8)]
        assert _blocks(big, batch_last=False) == [(0, 32), (32, 64)]
    finally:
        foveanet.set_num_threads(before)


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_compiled_equals_numpy_in_float64(case):
    x, w, b, gy = _arrays(case, np.float64, 0)
    got, want = _run("numba", case, x, w, b, gy), _run("numpy", case, x, w, b, gy)
    for a, e in zip(got, want):
        if e is not None:
            np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_compiled_matches_torch_in_float32(case):
    x, w, b, gy = _arrays(case, np.float32, 1)
    y, dx, dw, db = _run("numba", case, x, w, b, gy)
    xt, wt = torch.tensor(x, requires_grad=case[10]), torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    ty = TF.conv2d(xt, wt, bt, 1, case[7], case[8])
    (ty * torch.from_numpy(gy)).sum().backward()
    close(y, ty, what="y")
    if case[10]:
        close(dx, xt.grad, what="dx")
    close(dw, wt.grad, rtol=1e-4, atol=1e-4, what="dw")
    if b is not None:
        close(db, bt.grad, what="db")


def test_batch_last_blocks_hold_at_most_64_images():
    from foveanet.backend.cpu.conv.direct import _blocks
    before = foveanet.get_num_threads()
    try:
        foveanet.set_num_threads(2)
        g = _geom((130,) + CASES[1][1:])
        assert _blocks(g, batch_last=True) == [(0, 44), (44, 88), (88, 130)]
        assert _blocks(g, batch_last=False) == [(0, 65), (65, 130)]
    finally:
        foveanet.set_num_threads(before)


def test_two_threads_give_the_one_thread_result(monkeypatch):
    """Batch blocks on the workers: the blocks' dW add up to the one-block sum (float64,
    to round-off), forward and dX the same numbers."""
    monkeypatch.setattr(route, "DIRECT_SPLIT_MIN_MACS", 0)   # two images: cut all the same
    case = CASES[1]
    x, w, b, gy = _arrays(case, np.float64, 2)
    before = foveanet.get_num_threads()
    try:
        foveanet.set_num_threads(1)
        one = _run("numba", case, x, w, b, gy)
        foveanet.set_num_threads(2)
        two = _run("numba", case, x, w, b, gy)
    finally:
        foveanet.set_num_threads(before)
    np.testing.assert_array_equal(two[0], one[0])
    np.testing.assert_array_equal(two[1], one[1])
    np.testing.assert_allclose(two[2], one[2], rtol=1e-13, atol=1e-13)


def test_without_numba_a_training_step_runs_the_numpy_engines(monkeypatch):
    """Numba missing: the layers the direct conv and the compiled batch norm would take run
    on the NumPy engines, with the same numbers as FOVEANET_KERNELS=numpy."""
    import warnings

    from foveanet import kernels as compiled_kernels
    from foveanet.backend import arrays, kernels
    from foveanet.backend.cpu import kernels as cpu_kernels
    monkeypatch.setattr(compiled_kernels, "available", lambda: False)
    monkeypatch.setattr(compiled_kernels, "_warned", True)   # said once already
    monkeypatch.setattr(cpu_kernels, "_with_compiled", None)
    monkeypatch.setattr(arrays, "_cpu", {})
    case = CASES[1]
    x, w, b, gy = _arrays(case, np.float64, 5)

    def step(choice):
        with use_kernels(choice):
            xt, wt = foveanet.tensor(x, requires_grad=True), foveanet.tensor(w, requires_grad=True)
            h = F.batch_norm(F.conv2d(xt, wt, foveanet.tensor(b)), None, None, training=True)
            (h * foveanet.tensor(gy)).sum().backward()
            assert kernels(x).compiled is None
            return h.numpy(), xt.grad.numpy(), wt.grad.numpy()

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = step("default")
    for a, e in zip(got, step("numpy")):
        np.testing.assert_array_equal(a, e)
