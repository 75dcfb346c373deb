"""hardsigmoid and hardswish (MobileNetV3) against PyTorch: forward and input gradient, the
kinks at -3 and 3 included, float64 gradcheck, the nn layers."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet as fn
from foveanet import nn
from foveanet.functional.activation import hardsigmoid, hardswish
from tests.functional.test_activation import SHAPES, _check

CASES = [(hardsigmoid, TF.hardsigmoid), (hardswish, TF.hardswish)]


def _input(rng, shape):
    x = (rng.standard_normal(shape) * 4).astype(np.float32)
    flat = x.reshape(-1)
    for i, v in enumerate([-3.0, 3.0, 0.0, -2.999, 2.999, -6.0]):  # both kinks, and beside them
        if i < flat.size:
            flat[i] = v
    return x


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("case", range(len(CASES)))
def test_matches_torch_with_the_kinks(case, shape, rng):
    ours, theirs = CASES[case]
    _check(ours, theirs, {}, _input(rng, shape), rng)


@pytest.mark.parametrize("case", range(len(CASES)))
def test_extreme_inputs(case, rng):
    ours, theirs = CASES[case]
    _check(ours, theirs, {}, np.array([-1e4, -30, -3.0001, 3.0001, 30, 1e4], np.float32), rng)


def test_hand_values():
    # hardsigmoid(1.5) = 1.5/6 + 1/2; hardswish(-1.5) = -1.5 * 1.5/6; slope x/3 + 1/2 at 1.5 = 1
    x = fn.tensor([-1.5, 1.5], requires_grad=True)
    y = hardswish(x)
    np.testing.assert_array_equal(y.numpy(), [-0.375, 1.125])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(hardsigmoid(np.array([1.5, -9.0], np.float32)).numpy(), [0.75, 0.0])


@pytest.mark.parametrize("op", [hardsigmoid, hardswish])
def test_gradcheck_float64(op, rng):
    x = rng.uniform(-5, 5, (3, 7))
    x = x[np.abs(np.abs(x) - 3) > 1e-3]   # finite differences across a kink are meaningless
    assert fn.gradcheck(op, (fn.tensor(x, dtype=np.float64, requires_grad=True),))
    assert op(x).dtype == np.float64


def test_layers_and_errors():
    x = np.linspace(-5, 5, 11, dtype=np.float32)
    np.testing.assert_allclose(nn.Hardswish()(x).numpy(), torch.nn.Hardswish()(torch.from_numpy(x)).numpy())
    np.testing.assert_allclose(nn.Hardsigmoid(inplace=True)(x).numpy(),
                               torch.nn.Hardsigmoid()(torch.from_numpy(x)).numpy())
    assert repr(nn.Hardswish(inplace=True)) == "Hardswish(inplace=True)"
    with pytest.raises(TypeError, match="hardswish: input must be a float tensor"):
        hardswish(np.arange(3))
