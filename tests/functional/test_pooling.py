"""Pooling ops against PyTorch: forward, returned indices and input gradient."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
import foveanet.functional as F
from tests.torch_ref import close, t


def _random_input(rng, shape, ties=False):
    if ties:  # few distinct values (and many zeros, as after a ReLU): argmax ties everywhere
        return np.maximum(rng.integers(-2, 3, shape), 0).astype(np.float32)
    return rng.standard_normal(shape).astype(np.float32)


def _compare(ours_fn, torch_fn, x, rng, what, indices=False):
    """Forward (with and without a graph), indices and input gradient vs torch."""
    try:
        ref = torch_fn(t(x, requires_grad=True))
    except RuntimeError:
        with pytest.raises(ValueError):
            ours_fn(x)
        return False
    xt = t(x, requires_grad=True)
    ref = torch_fn(xt)
    xf = foveanet.tensor(x, requires_grad=True)
    out = ours_fn(xf)
    if indices:
        (ref, ref_idx), (out, idx) = ref, out
        assert idx.dtype == np.int64
        np.testing.assert_array_equal(idx.numpy(), ref_idx.numpy(), err_msg=f"{what} indices")
    close(out, ref, what=f"{what} forward")
    assert out.dtype == np.float32
    plain = ours_fn(x)  # no graph: the inference path
    close(plain[0] if indices else plain, ref, what=f"{what} forward without grad")
    g = rng.standard_normal(tuple(ref.shape)).astype(np.float32)
    ref.backward(torch.from_numpy(g))
    out.backward(g)
    assert xf.grad.dtype == np.float32
    close(xf.grad, xt.grad, what=f"{what} input grad")
    return True


def _max2d_configs():
    fixed = [
        ((2, 3, 8, 8), dict(kernel_size=2)),
        ((2, 3, 9, 9), dict(kernel_size=3, stride=2, padding=1)),
        ((1, 2, 7, 10), dict(kernel_size=(2, 3), stride=(1, 2))),
        ((1, 2, 9, 11), dict(kernel_size=2, stride=3)),                      # stride > kernel
        ((1, 2, 10, 9), dict(kernel_size=3, dilation=2, padding=1)),
        ((1, 2, 7, 7), dict(kernel_size=2, stride=2, ceil_mode=True)),
        ((1, 2, 8, 8), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        ((3, 6, 6), dict(kernel_size=2)),                                    # unbatched
        ((1, 1, 5, 5), dict(kernel_size=1)),
        ((2, 2, 6, 6), dict(kernel_size=6)),                                 # global
    ]
    rng = np.random.default_rng(7)
    for _ in range(32):
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        cfg = dict(kernel_size=k, stride=tuple(int(v) for v in rng.integers(1, 5, 2)),
                   padding=tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k),
                   dilation=tuple(int(v) for v in rng.integers(1, 3, 2)),
                   ceil_mode=bool(rng.integers(0, 2)))
        fixed.append(((int(rng.integers(1, 3)), 2, int(rng.integers(3, 13)), int(rng.integers(3, 13))), cfg))
    return fixed


@pytest.mark.parametrize("case", range(len(_max2d_configs())))
def test_max_pool2d_matches_torch(case, rng):
    shape, cfg = _max2d_configs()[case]
    for ties in (False, True):
        x = _random_input(rng, shape, ties)
        _compare(lambda a: F.max_pool2d(a, return_indices=True, **cfg),
                 lambda a: TF.max_pool2d(a, return_indices=True, **cfg), x, rng, f"{shape} {cfg}", True)


def test_max_pool2d_sweep_covers_valid_configs():
    """The random sweep must mostly exercise real pooling, not just the error path."""
    rng = np.random.default_rng(0)
    ran = sum(_compare(lambda a: F.max_pool2d(a, **cfg), lambda a: TF.max_pool2d(a, **cfg),
                       _random_input(rng, shape), rng, str(cfg)) for shape, cfg in _max2d_configs())
    assert ran >= 35


def _avg2d_configs():
    rng = np.random.default_rng(11)
    out = [
        ((2, 3, 8, 8), dict(kernel_size=2)),
        ((2, 3, 9, 9), dict(kernel_size=3, stride=2, padding=1)),
        ((2, 3, 9, 9), dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)),
        ((1, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
        ((1, 2, 7, 7), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
        ((1, 2, 8, 6), dict(kernel_size=(2, 3), divisor_override=5)),
        ((3, 6, 6), dict(kernel_size=3, stride=1, padding=1)),
    ]
    for _ in range(24):
        k = tuple(int(v) for v in rng.integers(1, 5, 2))
        cfg = dict(kernel_size=k, stride=tuple(int(v) for v in rng.integers(1, 4, 2)),
                   padding=tuple(int(rng.integers(0, ki // 2 + 1)) for ki in k),
                   ceil_mode=bool(rng.integers(0, 2)), count_include_pad=bool(rng.integers(0, 2)),
                   divisor_override=[None, None, 3][int(rng.integers(0, 3))])
        out.append(((int(rng.integers(1, 3)), 2, int(rng.integers(4, 12)), int(rng.integers(4, 12))), cfg))
    return out


@pytest.mark.parametrize("case", range(len(_avg2d_configs())))
def test_avg_pool2d_matches_torch(case, rng):
    shape, cfg = _avg2d_configs()[case]
    _compare(lambda a: F.avg_pool2d(a, **cfg), lambda a: TF.avg_pool2d(a, **cfg),
             _random_input(rng, shape), rng, f"{shape} {cfg}")


def _configs_1d(seed, avg):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(15):
        k = int(rng.integers(1, 6))
        cfg = dict(kernel_size=k, stride=int(rng.integers(1, 5)), padding=int(rng.integers(0, k // 2 + 1)),
                   ceil_mode=bool(rng.integers(0, 2)))
        if avg:
            cfg["count_include_pad"] = bool(rng.integers(0, 2))
        else:
            cfg["dilation"] = int(rng.integers(1, 3))
        shape = (2, 3, int(rng.integers(4, 16))) if rng.integers(0, 4) else (3, int(rng.integers(4, 16)))
        out.append((shape, cfg))
    return out


@pytest.mark.parametrize("shape,cfg", _configs_1d(3, avg=False))
def test_max_pool1d_matches_torch(shape, cfg, rng):
    for ties in (False, True):
        _compare(lambda a: F.max_pool1d(a, return_indices=True, **cfg),
                 lambda a: TF.max_pool1d(a, return_indices=True, **cfg),
                 _random_input(rng, shape, ties), rng, f"{shape} {cfg}", True)


@pytest.mark.parametrize("shape,cfg", _configs_1d(5, avg=True))
def test_avg_pool1d_matches_torch(shape, cfg, rng):
    _compare(lambda a: F.avg_pool1d(a, **cfg), lambda a: TF.avg_pool1d(a, **cfg),
             _random_input(rng, shape), rng, f"{shape} {cfg}")


ADAPTIVE_2D = [((7, 7), 3), ((10, 9), (4, 5)), ((3, 3), 5), ((8, 8), 4), ((6, 5), (None, 2)),
               ((5, 6), 1), ((9, 4), (2, None)), ((4, 7), (6, 3))]


@pytest.mark.parametrize("size,out", ADAPTIVE_2D)
def test_adaptive_pool2d_matches_torch(size, out, rng):
    for shape in ((2, 3) + size, (3,) + size):
        x = _random_input(rng, shape)
        _compare(lambda a: F.adaptive_avg_pool2d(a, out), lambda a: TF.adaptive_avg_pool2d(a, out),
                 x, rng, f"avg {shape}->{out}")
        for ties in (False, True):
            _compare(lambda a: F.adaptive_max_pool2d(a, out, return_indices=True),
                     lambda a: TF.adaptive_max_pool2d(a, out, return_indices=True),
                     _random_input(rng, shape, ties), rng, f"max {shape}->{out}", True)


@pytest.mark.parametrize("n,out", [(7, 3), (10, 4), (3, 5), (8, 4), (5, 1), (6, None), (1, 3)])
def test_adaptive_pool1d_matches_torch(n, out, rng):
    for shape in ((2, 3, n), (3, n)):
        _compare(lambda a: F.adaptive_avg_pool1d(a, out if out else (None,)),
                 lambda a: TF.adaptive_avg_pool1d(a, out if out else n), _random_input(rng, shape),
                 rng, f"avg {shape}->{out}")
        for ties in (False, True):
            _compare(lambda a: F.adaptive_max_pool1d(a, out if out else (None,), return_indices=True),
                     lambda a: TF.adaptive_max_pool1d(a, out if out else n, return_indices=True),
                     _random_input(rng, shape, ties), rng, f"max {shape}->{out}", True)


def test_lecture_example():
    x = foveanet.tensor([[[[1., 3, 5, 3], [4, 2, 3, 1], [3, 1, 1, 3], [0, 1, 0, 4]]]], requires_grad=True)
    y, idx = F.max_pool2d(x, 2, stride=2, return_indices=True)
    np.testing.assert_array_equal(y.numpy()[0, 0], [[4, 5], [3, 4]])
    np.testing.assert_array_equal(idx.numpy()[0, 0], [[4, 2], [8, 15]])
    y.sum().backward()
    expect = np.zeros((4, 4), np.float32)
    expect[1, 0] = expect[0, 2] = expect[2, 0] = expect[3, 3] = 1  # where 4, 5, 3, 4 sit
    np.testing.assert_array_equal(x.grad.numpy()[0, 0], expect)


def test_global_pooling_via_adaptive(rng):
    x = _random_input(rng, (2, 4, 5, 7))
    close(F.adaptive_avg_pool2d(x, 1), x.mean(axis=(2, 3), keepdims=True))
    close(F.adaptive_max_pool2d(x, 1), x.max(axis=(2, 3), keepdims=True))


def test_nan_and_all_minus_inf_windows_follow_torch():
    x = np.array([[[1., np.nan, 2., np.nan, 0., 5.]]], np.float32)
    for ours, theirs in ((F.max_pool1d(x, 3, return_indices=True), TF.max_pool1d(t(x), 3, return_indices=True)),
                         (F.adaptive_max_pool1d(x, 2, return_indices=True),
                          TF.adaptive_max_pool1d(t(x), 2, return_indices=True))):
        np.testing.assert_array_equal(ours[0].numpy(), theirs[0].numpy())
        np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())
    x = np.full((1, 1, 3, 3), -np.inf, np.float32)
    ours = F.max_pool2d(x, 3, stride=1, padding=1, return_indices=True)
    theirs = TF.max_pool2d(t(x), 3, stride=1, padding=1, return_indices=True)
    np.testing.assert_array_equal(ours[1].numpy(), theirs[1].numpy())


def test_overlapping_windows_accumulate_gradient():
    # the centre 9 is the max of all four 2x2 stride-1 windows of this 3x3 map
    x = foveanet.tensor([[[[0., 1, 0], [1, 9, 1], [0, 1, 0]]]], requires_grad=True)
    F.max_pool2d(x, 2, stride=1).sum().backward()
    assert x.grad.numpy()[0, 0, 1, 1] == 4 and x.grad.numpy().sum() == 4


@pytest.mark.parametrize("fn", [
    lambda x: F.max_pool2d(x, 3, stride=2, padding=1),
    lambda x: F.max_pool2d(x, (2, 3), stride=(2, 1), dilation=(1, 2), ceil_mode=True),
    lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    lambda x: F.avg_pool1d(x[0], 3, stride=2, padding=1),
    lambda x: F.adaptive_avg_pool2d(x, (3, 4)),
    lambda x: F.adaptive_max_pool2d(x, (4, 3)),
    lambda x: F.max_pool1d(x[0], 2, stride=1, padding=1),
])
def test_gradcheck_float64(fn, rng):
    # a permutation: distinct values, so no argmax tie sits within the finite-difference step
    x = foveanet.tensor(rng.permutation(2 * 5 * 6).reshape(1, 2, 5, 6) / 10.0, requires_grad=True)
    assert foveanet.gradcheck(fn, (x,))


def test_no_graph_without_grad_and_float64_kept(rng):
    x = _random_input(rng, (1, 2, 6, 6)).astype(np.float64)
    for y in (F.max_pool2d(x, 2), F.avg_pool2d(x, 3, padding=1), F.adaptive_max_pool2d(x, 4),
              F.adaptive_avg_pool2d(x, 4)):
        assert y.dtype == np.float64 and y.grad_fn is None
    y = F.max_pool2d(x, 1)
    y.numpy()[...] = 0  # a 1x1 kernel must still give an output that does not alias x
    assert np.abs(x).sum() > 0


def _z(*shape):
    return np.zeros(shape, np.float32)


@pytest.mark.parametrize("call,message", [
    (lambda: F.max_pool2d(_z(2, 2), 2), r"max_pool2d: expected a 3-d or 4-d input.*got shape \(2, 2\)"),
    (lambda: F.avg_pool1d(_z(1, 1, 1, 4), 2), r"avg_pool1d: expected a 2-d or 3-d"),
    (lambda: F.max_pool2d(_z(1, 1, 2, 2), 3), r"kernel_size 3 is larger than the padded input along H"),
    (lambda: F.avg_pool2d(_z(1, 1, 8, 1), (2, 4), padding=(0, 1)),
     r"larger than the padded input along W .*= 3"),
    (lambda: F.max_pool2d(_z(1, 1, 4, 4), 2, stride=0),
     r"max_pool2d: stride must be positive, got \(0, 0\)"),
    (lambda: F.max_pool1d(_z(1, 1, 9), 3, padding=2),
     r"max_pool1d: padding must be at most half of kernel_size"),
    (lambda: F.avg_pool2d(_z(1, 1, 4, 4), 2, padding=-1), r"padding must be non-negative"),
    (lambda: F.max_pool2d(_z(1, 1, 4, 4), 0), r"kernel_size must be positive"),
    (lambda: F.max_pool2d(_z(1, 1, 4, 4), 2, dilation=0), r"dilation must be positive"),
    (lambda: F.avg_pool2d(_z(1, 1, 4, 4), 2, divisor_override=0),
     r"divisor_override must be a non-zero int"),
    (lambda: F.adaptive_avg_pool2d(_z(1, 1, 4, 4), 0),
     r"adaptive_avg_pool2d: output_size must be positive, got 0"),
    (lambda: F.adaptive_max_pool1d(_z(1, 4), -2), r"adaptive_max_pool1d: output_size must be positive"),
    (lambda: F.adaptive_avg_pool2d(_z(1, 1, 4, 4), (2, 3, 4)), r"output_size must have 2 value"),
    (lambda: F.max_pool2d(_z(1, 0, 4, 4), 2), r"non-empty channel and spatial dims"),
])
def test_bad_arguments_raise_clear_value_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="max_pool2d: input must be a float tensor, got int64"):
        F.max_pool2d(np.zeros((1, 1, 4, 4), np.int64), 2)
