"""linear against PyTorch: forward, dX, dW, db over leading-dim shapes; gradcheck; errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import foveanet as fn
from foveanet.functional.linear import linear
from tests.torch_ref import close, f, t


@pytest.mark.parametrize("lead", [(), (1,), (5,), (2, 3), (2, 3, 4)])
@pytest.mark.parametrize("in_f,out_f", [(1, 1), (7, 3), (16, 32)])
@pytest.mark.parametrize("bias", [True, False])
def test_matches_torch(lead, in_f, out_f, bias, rng):
    x = rng.standard_normal(lead + (in_f,)).astype(np.float32)
    w = rng.standard_normal((out_f, in_f)).astype(np.float32)
    b = rng.standard_normal(out_f).astype(np.float32) if bias else None
    ours = [f(a, True) if a is not None else None for a in (x, w, b)]
    theirs = [t(a, True) if a is not None else None for a in (x, w, b)]
    yo, yt = linear(*ours), F.linear(*theirs)
    assert yo.dtype == np.float32 and yo.shape == lead + (out_f,)
    close(yo, yt, 1e-5, 1e-5, "forward")
    g = rng.standard_normal(yo.shape).astype(np.float32)
    yo.backward(fn.tensor(g))
    yt.backward(torch.from_numpy(g))
    for name, a, c in zip(("input", "weight", "bias"), ours, theirs):
        if a is not None:
            assert a.grad.dtype == np.float32
            close(a.grad, c.grad, 1e-5, 1e-4, f"grad of {name}")


def test_only_the_needed_gradients(rng):
    # a frozen layer (weight without grad) still passes the gradient to its input
    x = f(rng.standard_normal((3, 4)).astype(np.float32), True)
    w = f(rng.standard_normal((2, 4)).astype(np.float32))
    linear(x, w).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.tile(w.numpy().sum(0), (3, 1)), rtol=1e-6)
    assert w.grad is None


def test_non_contiguous_input(rng):
    x = rng.standard_normal((4, 6, 3)).astype(np.float32).transpose(1, 0, 2)  # (6, 4, 3) view
    w = rng.standard_normal((5, 3)).astype(np.float32)
    xo = fn.tensor(x, requires_grad=True)
    xt = torch.from_numpy(np.ascontiguousarray(x)).requires_grad_()
    close(linear(xo, w), F.linear(xt, t(w)), 1e-5, 1e-5)


def test_hand_example():
    # [1, 2] · [[1, 0], [1, 1]]ᵀ + [10, 20] = [11, 23]
    y = linear(np.array([1.0, 2.0], np.float32), np.array([[1.0, 0.0], [1.0, 1.0]], np.float32),
               np.array([10.0, 20.0], np.float32))
    np.testing.assert_array_equal(y.numpy(), [11.0, 23.0])


def test_gradcheck_float64(rng):
    x = fn.tensor(rng.standard_normal((2, 3, 4)), requires_grad=True)
    w = fn.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    b = fn.tensor(rng.standard_normal(5), requires_grad=True)
    assert fn.gradcheck(linear, (x, w, b))
    assert fn.gradcheck(linear, (x, w))


def test_errors():
    x = np.zeros((2, 400), np.float32)
    w = np.zeros((10, 256), np.float32)
    with pytest.raises(ValueError, match="linear: input has 400 features, weight expects 256"):
        linear(x, w)
    with pytest.raises(ValueError, match=r"linear: bias has shape \(3,\), expected \(10,\)"):
        linear(np.zeros((2, 256), np.float32), w, np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="linear: weight must be 2-d"):
        linear(x, np.zeros(400, np.float32))
    with pytest.raises(TypeError, match="linear: input is float64 but weight is float32"):
        linear(np.zeros((2, 256)), w)
    with pytest.raises(TypeError, match="linear: input must be a float tensor, got int64"):
        linear(np.zeros((2, 256), np.int64), w)
