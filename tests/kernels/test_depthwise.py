"""The compiled depthwise kernels (foveanet/kernels/depthwise.py) against the NumPy engine
(float64: to round-off) and against PyTorch (float32),
over a seeded sweep of odd sizes, paddings, strides, dilations and kernel shapes."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.nn.functional as F
from foveanet.backend import use_kernels
from tests.torch_ref import close

pytest.importorskip("numba")

# (N, C, H, W, kh, kw, stride, padding, dilation, bias)
CASES = [
    (2, 6, 9, 8, 3, 3, 1, 1, 1, True),
    (3, 5, 7, 11, 3, 3, 2, 1, 1, False),
    (1, 4, 10, 9, 5, 5, 1, 2, 1, True),
    (2, 3, 12, 13, 3, 3, 1, 2, 2, True),
    (2, 4, 9, 10, 3, 5, (2, 1), (1, 0), (1, 2), False),
    (1, 8, 6, 6, 1, 1, 1, 0, 1, True),
    (2, 3, 8, 7, 3, 3, 3, 0, 1, True),
    (1, 2, 5, 5, 3, 3, 1, 0, 1, False),
    # 3x3 at stride 1 as wide as the input: kernels/depthwise_flat.py
    (2, 3, 4, 3, 3, 3, 1, 1, 1, True),
    (2, 3, 7, 6, 3, 3, 1, (0, 1), 1, False),
    (1, 2, 6, 5, 3, 3, 1, 2, 2, True),
    (3, 4, 16, 17, 3, 3, 1, 1, 1, True),
    # 3x3 stride 2 padding 1: kernels/depthwise_s2.py (even, odd and tiny planes)
    (2, 3, 8, 10, 3, 3, 2, 1, 1, True),
    (1, 4, 9, 7, 3, 3, 2, 1, 1, False),
    (2, 2, 2, 3, 3, 3, 2, 1, 1, True),
    # small planes, several images a pass (kernels/depthwise_flat.py's _stack)
    (40, 2, 3, 4, 3, 3, 1, 1, 1, True),
    (37, 2, 4, 4, 3, 3, 2, 1, 1, False),
    (33, 3, 2, 2, 3, 3, 1, 1, 1, True),
    # stride 2 on rows wide enough for depthwise_s2's row views (_VIEW_MIN_WIDTH), even and odd
    (2, 2, 5, 48, 3, 3, 2, 1, 1, True),
    (1, 3, 4, 51, 3, 3, 2, 1, 1, False),
]


def _run(choice, x, w, b, gy, stride, padding, dilation):
    with use_kernels(choice):
        xt, wt = foveanet.tensor(x, requires_grad=True), foveanet.tensor(w, requires_grad=True)
        bt = None if b is None else foveanet.tensor(b, requires_grad=True)
        y = F.conv2d(xt, wt, bt, stride=stride, padding=padding, dilation=dilation,
                     groups=x.shape[1])
        (y * foveanet.tensor(gy)).sum().backward()
        return y.numpy(), xt.grad.numpy(), wt.grad.numpy(), None if b is None else bt.grad.numpy()


def _arrays(case, dtype, seed):
    N, C, H, W, kh, kw, stride, padding, dilation, bias = case
    r = np.random.default_rng(seed)
    x = r.standard_normal((N, C, H, W)).astype(dtype)
    w = r.standard_normal((C, 1, kh, kw)).astype(dtype)
    b = r.standard_normal(C).astype(dtype) if bias else None
    y = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), None, stride, padding, dilation, C)
    gy = r.standard_normal(tuple(y.shape)).astype(dtype)
    return x, w, b, gy


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_compiled_equals_numpy_in_float64(case):
    stride, padding, dilation = case[6:9]
    x, w, b, gy = _arrays(case, np.float64, 0)
    numpy_path = _run("numpy", x, w, b, gy, stride, padding, dilation)
    compiled = _run("numba", x, w, b, gy, stride, padding, dilation)
    # the same sums in the same order; the flat kernel fuses each product into its add
    np.testing.assert_allclose(compiled[0], numpy_path[0], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(compiled[1], numpy_path[1], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(compiled[2], numpy_path[2], rtol=1e-12, atol=1e-12)
    if b is not None:
        np.testing.assert_array_equal(compiled[3], numpy_path[3])


@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_compiled_matches_torch_in_float32(case):
    stride, padding, dilation = case[6:9]
    x, w, b, gy = _arrays(case, np.float32, 1)
    y, dx, dw, db = _run("numba", x, w, b, gy, stride, padding, dilation)
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    bt = None if b is None else torch.tensor(b, requires_grad=True)
    ty = TF.conv2d(xt, wt, bt, stride, padding, dilation, x.shape[1])
    (ty * torch.from_numpy(gy)).sum().backward()
    close(y, ty, what="y")
    close(dx, xt.grad, what="dx")
    close(dw, wt.grad, rtol=1e-4, atol=1e-4, what="dw")
    if b is not None:
        close(db, bt.grad, what="db")


def test_the_flat_kernel_takes_the_same_width_3x3_layers():
    """The cases above reach every compiled kernel: the flat one for 3x3 stride 1 as wide
    as the input, each row longer than every tap column's offset, the stride-2 one for 3x3 stride 2
    padding 1, the grid one for the rest."""
    from foveanet.backend.cpu.conv.depthwise import flat, stride2
    from foveanet.geometry import ConvGeom

    def geom(N, C, H, W, kh, kw, stride, padding, dilation, *_):
        pair = [v if isinstance(v, tuple) else (v, v) for v in (stride, padding, dilation)]
        (ph, pw) = pair[1]
        return ConvGeom(N, C, H, W, C, C, kh, kw, pair[0], pair[2], (ph, ph, pw, pw))

    want = [True, False, False, True, False, False, False, False, True, True, True, True,
            False, False, False, True, False, True, False, False]
    assert [flat(geom(*case)) for case in CASES] == want
    want = [False, True] + [False] * 10 + [True, True, True, False, True, False, True, True]
    assert [stride2(geom(*case)) for case in CASES] == want
    assert not flat(geom(1, 2, 6, 2, 3, 3, 1, 2, 2))  # a tap two columns off, rows of 2


def test_inference_keeps_nothing_and_matches():
    x, w, b, _ = _arrays(CASES[0], np.float32, 2)
    with use_kernels("numba"), foveanet.no_grad():
        y = F.conv2d(x, w, b, padding=1, groups=x.shape[1]).numpy()
    ty = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), padding=1,
                   groups=x.shape[1])
    close(y, ty)


def test_only_the_input_gradient_of_a_frozen_weight():
    x, w, _, gy = _arrays(CASES[1], np.float64, 3)
    with use_kernels("numba"):
        xt = foveanet.tensor(x, requires_grad=True)
        y = F.conv2d(xt, foveanet.tensor(w), stride=2, padding=1, groups=x.shape[1])
        (y * foveanet.tensor(gy)).sum().backward()
    with use_kernels("numpy"):
        xr = foveanet.tensor(x, requires_grad=True)
        yr = F.conv2d(xr, foveanet.tensor(w), stride=2, padding=1, groups=x.shape[1])
        (yr * foveanet.tensor(gy)).sum().backward()
    np.testing.assert_allclose(xt.grad.numpy(), xr.grad.numpy(), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("clamp", [(0.0, 6.0), (0.0, np.inf), (-0.5, 0.25)])
@pytest.mark.parametrize("choice", ["numba", "numpy", "reference"])
def test_conv2d_clamp_equals_the_clipped_conv(choice, clamp):
    """conv2d_clamp (inference: ReLU6 in the compiled kernel's last pass) is np.clip of
    the plain conv on every path: the same bits in float64, for depthwise and 1x1 (b1:
    the GEMM result used as NCHW in place) and 3x3 dense convs, and with a scale (eval batch
    norm) the scaled conv plus bias, clipped; torch's clamp in float32."""
    from foveanet.functional.conv import conv2d_clamp
    for case in CASES[:3] + CASES[5:6]:
        stride, padding, dilation = case[6:9]
        x, w, b, _ = _arrays(case, np.float64, 4)
        for xs, ws, groups in ((x, w, x.shape[1]), (x[:1], np.repeat(w, x.shape[1], 1), 1)):
            scale = np.random.default_rng(6).uniform(0.5, 2, ws.shape[0])
            with use_kernels(choice), foveanet.no_grad():
                plain = F.conv2d(xs, ws, b, stride, padding, dilation, groups).numpy()
                got = conv2d_clamp(xs, ws, b, stride, padding, dilation, groups, clamp).numpy()
                bare = F.conv2d(xs, ws, None, stride, padding, dilation, groups).numpy()
                scaled = conv2d_clamp(xs, ws, b, stride, padding, dilation, groups, clamp,
                                      scale).numpy()
            np.testing.assert_array_equal(got, np.clip(plain, *clamp))
            want = bare * scale.reshape(1, -1, 1, 1)   # the scale before the bias
            if b is not None:
                want += b.reshape(1, -1, 1, 1)
            np.testing.assert_allclose(scaled, np.clip(want, *clamp), rtol=1e-14, atol=1e-14)
    x, w, b, _ = _arrays(CASES[0], np.float32, 5)
    with use_kernels(choice), foveanet.no_grad():
        got = conv2d_clamp(x, w, b, 1, 1, 1, x.shape[1], clamp).numpy()
    ty = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), 1, 1, 1,
                   x.shape[1]).clamp(*clamp)
    close(got, ty)
    with pytest.raises(RuntimeError, match="no_grad"):
        conv2d_clamp(x, foveanet.tensor(w, requires_grad=True), b, 1, 1, 1, x.shape[1], clamp)


@pytest.mark.parametrize("case", [CASES[0], CASES[4], CASES[12]], ids=["flat", "grid", "s2"])
def test_channel_blocks_on_two_workers_equal_one_block(case, monkeypatch):
    """At inference a small input is one block (a second thread costs more than it saves
    there); otherwise it is cut into a block of channels per worker, with the one-block
    numbers."""
    from foveanet.backend.cpu import threads
    from foveanet.backend.cpu.conv import depthwise

    x, w, b, gy = _arrays(case, np.float64, 3)
    stride, padding, dilation = case[6:9]
    one = _run("numba", x, w, b, gy, stride, padding, dilation)
    monkeypatch.setattr(threads, "_workers", 2)
    g = F.conv2d(foveanet.tensor(x, requires_grad=True), w, None, stride=stride,
                 padding=padding, dilation=dilation, groups=x.shape[1]).grad_fn.geom
    assert depthwise._compiled_blocks(g, inference=True) == [(0, g.C)]
    assert len(depthwise._compiled_blocks(g)) == 2  # training: a block per worker
    two = _run("numba", x, w, b, gy, stride, padding, dilation)
    monkeypatch.setattr(depthwise, "DEPTHWISE_SPLIT_MIN_ELEMENTS", 0)
    assert len(depthwise._compiled_blocks(g, inference=True)) == 2
    with use_kernels("numba"), foveanet.no_grad():
        y = F.conv2d(x, w, b, stride=stride, padding=padding, dilation=dilation,
                     groups=x.shape[1]).numpy()
    np.testing.assert_array_equal(y, one[0])
    for a, c in zip(one, two):
        if a is not None:
            np.testing.assert_array_equal(a, c)
