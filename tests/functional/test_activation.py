"""Activations against PyTorch: forward, input gradient, dtype, stability, gradcheck."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import foveanet as fn
from foveanet.functional.activation import (
    elu, erf, gelu, hardtanh, leaky_relu, log_softmax, relu, relu6, sigmoid, silu, softmax,
    softplus, tanh,
)
from tests.torch_ref import close, f, t

SHAPES = [(7,), (4, 9), (2, 3, 5), (2, 3, 4, 5)]

# (ours, torch, kwargs); kinks are hit on purpose by the values in _input
CASES = [
    (relu, F.relu, {}),
    (relu, F.relu, {"inplace": True}),
    (relu6, F.relu6, {}),
    (leaky_relu, F.leaky_relu, {}),
    (leaky_relu, F.leaky_relu, {"negative_slope": 0.2}),
    (elu, F.elu, {}),
    (elu, F.elu, {"alpha": 0.5}),
    (silu, F.silu, {}),
    (softplus, F.softplus, {}),
    (softplus, F.softplus, {"beta": 2.0, "threshold": 5.0}),
    (hardtanh, F.hardtanh, {}),
    (hardtanh, F.hardtanh, {"min_val": -0.5, "max_val": 2.0}),
    (sigmoid, torch.sigmoid, {}),
    (tanh, torch.tanh, {}),
    (gelu, F.gelu, {}),
    (gelu, F.gelu, {"approximate": "tanh"}),
]


def _input(rng, shape, scale=3.0):
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    flat = x.reshape(-1)
    # exact kinks: 0 for relu family, ±1 for hardtanh, 6 for relu6, 2 / -0.5 for the custom bounds
    for i, v in enumerate([0.0, 1.0, -1.0, 6.0, 2.0, -0.5]):
        if i < flat.size:
            flat[i] = v
    return x


def _check(ours_fn, torch_fn, kwargs, x, rng, rtol=1e-5, atol=1e-6):
    if kwargs.get("approximate") == "tanh":
        atol = 2e-6  # torch's own float32 gradient is off by 1e-6 here (see the grid test)
    xo, xt = f(x, True), t(x, True)
    yo = ours_fn(xo, **kwargs)
    yt = torch_fn(xt, **{k: v for k, v in kwargs.items() if k != "inplace"})
    assert yo.dtype == np.float32
    close(yo, yt, rtol, atol, f"{ours_fn.__name__} forward")
    g = rng.standard_normal(x.shape).astype(np.float32)
    yo.backward(fn.tensor(g))
    yt.backward(torch.from_numpy(g))
    assert xo.grad.dtype == np.float32
    close(xo.grad, xt.grad, rtol, atol, f"{ours_fn.__name__} grad")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_torch(case, shape, rng):
    ours_fn, torch_fn, kwargs = CASES[case]
    _check(ours_fn, torch_fn, kwargs, _input(rng, shape), rng)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_extreme_inputs_stay_finite(case, rng):
    ours_fn, torch_fn, kwargs = CASES[case]
    x = np.array([-100.0, -30.0, -10.0, -1e-4, 1e-4, 10.0, 30.0, 100.0], np.float32)
    _check(ours_fn, torch_fn, kwargs, x, rng)


def _gelu64(x, approximate):
    """float64 reference, from the definitions (math.erf / np.tanh)."""
    x = x.astype(np.float64)
    if approximate == "none":
        cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
        return x * cdf, cdf + x * np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    k = math.sqrt(2 / math.pi)
    th = np.tanh(k * (x + 0.044715 * x ** 3))
    return 0.5 * x * (1 + th), 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * k * (1 + 3 * 0.044715 * x * x)


@pytest.mark.parametrize("approximate", ["none", "tanh"])
def test_gelu_dense_grid_to_1e6(approximate):
    x = np.linspace(-12, 12, 20001, dtype=np.float32)
    xo, xt = f(x, True), t(x, True)
    yo, yt = gelu(xo, approximate=approximate), F.gelu(xt, approximate=approximate)
    yo.sum().backward()
    yt.sum().backward()
    y64, d64 = _gelu64(x, approximate)
    # ours against the float64 truth: within float32 rounding of the value itself
    np.testing.assert_allclose(yo.numpy(), y64, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(xo.grad.numpy(), d64, rtol=1e-6, atol=3e-7)
    close(yo, yt, 1e-6, 1e-6, "gelu forward vs torch")
    # tanh mode: torch rounds 1 - tanh² u to 0 or 1.2e-7 where it is ~1e-9 (|u| > 9), an
    # error of ~1e-6 in its gradient; ours forms it as σ(2u)σ(-2u) and stays within 3e-7
    close(xo.grad, xt.grad, 1e-6, 1e-6 if approximate == "none" else 1.5e-6, "gelu grad vs torch")


def test_erf_against_math_erf():
    x = np.linspace(-27, 27, 100001)
    ref = np.array([math.erf(v) for v in x])
    assert np.abs(erf(x) - ref).max() < 1e-9
    assert erf(0.0) == 0.0 and erf(-3.0) == -erf(3.0)
    tiny = np.array([1e-3, 1e-8, -0.3])
    np.testing.assert_allclose(erf(tiny), [math.erf(v) for v in tiny], rtol=1e-13)


def test_gelu_tail_relative_accuracy():
    # Φ(-8) ≈ 6.2e-16: an erf-based 1 + erf(x/√2) would round to 0; the erfc form keeps it
    x = np.array([-8.0, -5.0, -3.0], np.float64)
    ref = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])
    np.testing.assert_allclose(gelu(x).numpy(), ref, rtol=1e-8)


@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((6,), 0), ((4, 7), 1), ((4, 7), 0), ((4, 7), -1),
                                       ((2, 3, 5), 1), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), -1),
                                       ((2, 3, 4, 5), 2)])
def test_softmax_family_matches_torch(fn_name, shape, dim, rng):
    ours_fn = {"softmax": softmax, "log_softmax": log_softmax}[fn_name]
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    _check(lambda a: ours_fn(a, dim), lambda a: getattr(F, fn_name)(a, dim), {}, x, rng)


@pytest.mark.parametrize("fn_name", ["softmax", "log_softmax"])
def test_softmax_family_extreme_logits(fn_name, rng):
    x = np.array([[100.0, -100.0, 0.0], [1000.0, 1000.0, -1000.0], [-100.0, -100.0, -100.0]],
                 np.float32)
    ours_fn = {"softmax": softmax, "log_softmax": log_softmax}[fn_name]
    _check(lambda a: ours_fn(a, 1), lambda a: getattr(F, fn_name)(a, 1), {}, x, rng)


def test_softmax_dtype_argument_and_implicit_dim(rng):
    x = rng.standard_normal((3, 4)).astype(np.float32)
    y = softmax(x, dim=1, dtype=np.float64)
    assert y.dtype == np.float64
    close(y, F.softmax(t(x), 1, dtype=torch.float64), 1e-12, 1e-12)
    with pytest.warns(UserWarning, match="implicit dimension"):
        y = log_softmax(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        close(y, F.log_softmax(t(x)), 1e-6, 1e-6)  # torch picks dim 1 for 2-d input too


def test_softmax_hand_example():
    # softmax([0, ln 3]) = [1/4, 3/4]
    y = softmax(np.array([0.0, math.log(3.0)]), 0)
    np.testing.assert_allclose(y.numpy(), [0.25, 0.75], rtol=1e-12)


GRADCHECK = [
    lambda x: relu(x), lambda x: leaky_relu(x, 0.1), lambda x: relu6(x * 4), lambda x: elu(x, 0.7),
    lambda x: silu(x), lambda x: softplus(x, beta=1.5), lambda x: hardtanh(x * 2),
    lambda x: gelu(x), lambda x: gelu(x, approximate="tanh"), lambda x: softmax(x, 1),
    lambda x: log_softmax(x, 0), lambda x: sigmoid(x), lambda x: tanh(x),
]


@pytest.mark.parametrize("k", range(len(GRADCHECK)))
def test_gradcheck_float64(k, rng):
    x = rng.standard_normal((3, 4)) * 2
    x[np.abs(x) < 0.05] += 0.2  # keep finite differences away from the kinks
    x[np.abs(x * 4 - 6) < 0.1] += 0.2
    assert fn.gradcheck(GRADCHECK[k], (fn.tensor(x, requires_grad=True),))


def test_float64_stays_float64(rng):
    x = fn.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    for op in (relu, elu, silu, softplus, gelu, lambda a: softmax(a, 1), lambda a: leaky_relu(a, 0.1)):
        assert op(x).dtype == np.float64


def test_errors():
    with pytest.raises(ValueError, match="gelu: approximate must be 'none' or 'tanh', got 'fast'"):
        gelu(np.zeros(3, np.float32), approximate="fast")
    with pytest.raises(TypeError, match="relu: input must be a float tensor, got int64"):
        relu(np.arange(3))
    with pytest.raises(IndexError, match="softmax: dim 2 is out of range for an input with 2 dims"):
        softmax(np.zeros((2, 3), np.float32), 2)
    with pytest.raises(ValueError, match="hardtanh: min_val 2 is greater than max_val 1"):
        hardtanh(np.zeros(3, np.float32), 2, 1)


def test_inplace_flag_leaves_the_input_alone():
    x = np.array([-1.0, 2.0], np.float32)
    y = relu(x, inplace=True)
    np.testing.assert_array_equal(x, [-1.0, 2.0])
    np.testing.assert_array_equal(y.numpy(), [0.0, 2.0])
