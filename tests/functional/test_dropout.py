"""Dropout: statistics, reproducibility, eval identity, gradient = mask/(1-p), errors."""
import numpy as np
import pytest

import foveanet as fn
from foveanet.functional.dropout import dropout, dropout1d, dropout2d, dropout3d


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_statistics(p):
    x = fn.ones(400, 500)
    y = dropout(x, p).numpy()
    n = y.size
    zero = (y == 0).mean()
    # binomial: 5 standard deviations of the zero fraction, sqrt(p(1-p)/n) ~ 1e-3
    assert abs(zero - p) < 5 * np.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-6)  # survivors scaled
    assert abs(y.mean() - 1) < 5 * np.sqrt(p / (1 - p) / n)  # expectation preserved
    assert y.dtype == np.float32


def test_reproducible_with_manual_seed():
    x = fn.randn(50, 40)
    fn.manual_seed(7)
    a = dropout(x, 0.3).numpy().copy()
    b = dropout(x, 0.3).numpy().copy()
    fn.manual_seed(7)
    c = dropout(x, 0.3).numpy()
    np.testing.assert_array_equal(a, c)
    assert not np.array_equal(a, b)


def test_eval_and_p0_are_identity():
    x = fn.randn(3, 4, requires_grad=True)
    assert dropout(x, 0.5, training=False) is x
    assert dropout(x, 0.0) is x
    assert dropout2d(fn.randn(2, 3, 4, 4), 0.7, training=False).shape == (2, 3, 4, 4)


def test_p1_zeroes_everything():
    x = fn.randn(3, 4, requires_grad=True)
    y = dropout(x, 1.0)
    np.testing.assert_array_equal(y.numpy(), 0)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


@pytest.mark.parametrize("p", [0.25, 0.6])
def test_gradient_is_mask_over_keep(p, rng):
    x = fn.tensor(rng.standard_normal((20, 30)).astype(np.float32) + 5, requires_grad=True)  # never 0
    y = dropout(x, p)
    g = rng.standard_normal((20, 30)).astype(np.float32)
    y.backward(fn.tensor(g))
    mask = (y.numpy() != 0) / np.float32(1 - p)
    np.testing.assert_allclose(x.grad.numpy(), g * mask, rtol=1e-6)
    np.testing.assert_allclose(y.numpy(), x.numpy() * mask, rtol=1e-6)
    assert x.grad.dtype == np.float32


@pytest.mark.parametrize("op,shape", [(dropout1d, (8, 16, 10)), (dropout1d, (16, 10)),
                                      (dropout2d, (8, 16, 5, 6)), (dropout3d, (4, 8, 2, 3, 4)),
                                      (dropout3d, (8, 2, 3, 4))])
def test_channel_dropout_drops_whole_channels(op, shape, rng):
    p = 0.4
    x = fn.tensor(rng.uniform(1, 2, shape).astype(np.float32), requires_grad=True)
    y = op(x, p)
    lead = len(shape) - (1 if op is dropout1d else 2 if op is dropout2d else 3)  # (N,) C axes
    yc = y.numpy().reshape(shape[:lead] + (-1,))
    zero = (yc == 0)
    assert np.all(zero.all(-1) | (~zero).all(-1)), "a channel was partly dropped"
    kept = ~zero.all(-1)
    np.testing.assert_allclose(yc[kept], (x.numpy().reshape(yc.shape) / (1 - p))[kept], rtol=1e-6)
    g = rng.standard_normal(shape).astype(np.float32)
    y.backward(fn.tensor(g))
    scale = kept[..., None] / np.float32(1 - p)
    np.testing.assert_allclose(x.grad.numpy().reshape(yc.shape), g.reshape(yc.shape) * scale, rtol=1e-6)


def test_channel_dropout_statistics():
    y = dropout2d(fn.ones(200, 100, 2, 2), 0.3).numpy()
    frac = (y[:, :, 0, 0] == 0).mean()
    assert abs(frac - 0.3) < 5 * np.sqrt(0.3 * 0.7 / 20000)


def test_dropout2d_3d_input_warns_and_acts_per_channel():
    with pytest.warns(UserWarning, match=r"treated as \(N, C, L\)"):
        y = dropout2d(fn.ones(4, 6, 10), 0.5).numpy()
    assert np.all((y == 0).all(-1) | (y != 0).all(-1))


def test_errors():
    x = fn.ones(2, 3)
    with pytest.raises(ValueError, match="dropout: dropout probability has to be between 0 and 1, but got 1.5"):
        dropout(x, 1.5)
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got -0.1"):
        dropout2d(fn.ones(1, 2, 3, 3), -0.1)
    with pytest.raises(ValueError, match=r"dropout1d: expected a 2-d \(C, L\) or 3-d \(N, C, L\) input"):
        dropout1d(fn.ones(2, 3, 4, 5))
    with pytest.raises(ValueError, match=r"dropout2d: expected a 4-d \(N, C, H, W\) input"):
        dropout2d(fn.ones(2, 3))
    with pytest.raises(TypeError, match="dropout: input must be a float tensor"):
        dropout(np.arange(4))


def test_inplace_flag_leaves_the_input_alone():
    x = np.ones((10, 10), np.float32)
    y = dropout(x, 0.5, inplace=True)
    np.testing.assert_array_equal(x, 1.0)
    assert (y.numpy() == 0).any()
