"""Initialisation: PyTorch's default bounds and laws, computed here independently of nn.init."""
import math

import numpy as np
import pytest
import torch

import foveanet as fn
import foveanet.nn as nn
from foveanet.nn import init


def _uniform_on(arr, bound):
    """Uniform on [-bound, bound]: inside it, reaching near both ends, variance bound²/3."""
    a = np.asarray(arr, dtype=np.float64).ravel()
    assert a.max() <= bound and a.min() >= -bound
    assert a.max() > 0.98 * bound and a.min() < -0.98 * bound
    assert abs(a.var() / (bound ** 2 / 3) - 1) < 0.05


@pytest.mark.parametrize("layer,fan_in", [
    (lambda: nn.Conv2d(16, 32, 3), 16 * 3 * 3),
    (lambda: nn.Conv2d(32, 64, (3, 5), groups=4), 8 * 3 * 5),
    (lambda: nn.Conv1d(10, 40, 7), 10 * 7),
    (lambda: nn.Linear(300, 200), 300),
    # transposed weights are (in, out/groups, k...): PyTorch's fan_in is out/groups · k
    (lambda: nn.ConvTranspose2d(64, 16, 4), 16 * 4 * 4),
])
def test_default_init_is_uniform_one_over_sqrt_fan_in(layer, fan_in):
    fn.manual_seed(0)
    m = layer()
    bound = 1 / math.sqrt(fan_in)
    _uniform_on(m.weight.numpy(), bound)
    b = m.bias.numpy()
    assert np.abs(b).max() <= bound and b.std() > 0
    assert m.weight.dtype == np.float32 and m.bias.dtype == np.float32


@pytest.mark.parametrize("mode,nonlinearity,a", [("fan_in", "relu", 0), ("fan_out", "relu", 0),
                                                 ("fan_in", "leaky_relu", 0.2), ("fan_out", "tanh", 0)])
def test_kaiming_normal_std(mode, nonlinearity, a):
    fn.manual_seed(1)
    w = fn.empty(256, 128, 3, 3)
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    fan = (128 if mode == "fan_in" else 256) * 9
    gain = {"relu": math.sqrt(2), "leaky_relu": math.sqrt(2 / (1 + a * a)), "tanh": 5 / 3}[nonlinearity]
    std = float(np.asarray(w.numpy(), np.float64).std())
    assert abs(std / (gain / math.sqrt(fan)) - 1) < 0.02
    assert abs(float(w.numpy().mean())) < 0.01 * std


def test_kaiming_uniform_and_xavier_bounds():
    fn.manual_seed(2)
    w = fn.empty(200, 100, 3)
    init.kaiming_uniform_(w, mode="fan_out", nonlinearity="relu")
    _uniform_on(w.numpy(), math.sqrt(2) * math.sqrt(3 / (200 * 3)))
    init.xavier_uniform_(w, gain=2.0)
    _uniform_on(w.numpy(), 2.0 * math.sqrt(6 / (100 * 3 + 200 * 3)))
    init.xavier_normal_(w)
    assert abs(w.numpy().std() / math.sqrt(2 / 900) - 1) < 0.02


def test_calculate_gain_and_fans_match_torch():
    for name, param in [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
                        ("leaky_relu", None), ("leaky_relu", 0.3), ("selu", None)]:
        assert init.calculate_gain(name, param) == pytest.approx(torch.nn.init.calculate_gain(name, param))
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("softsign_x")
    t = torch.empty(6, 4, 3, 5)
    assert init._calculate_fan_in_and_fan_out(fn.empty(6, 4, 3, 5)) == \
        torch.nn.init._calculate_fan_in_and_fan_out(t)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(fn.empty(5))


def test_trunc_normal_law():
    fn.manual_seed(3)
    w = fn.empty(400, 500)
    init.trunc_normal_(w, mean=0.5, std=2.0, a=-1.0, b=3.0)
    x = np.asarray(w.numpy(), np.float64)
    assert x.min() >= -1.0 and x.max() <= 3.0
    # moments of N(0.5, 2²) truncated to [-1, 3]: alpha = -0.75, beta = 1.25
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    al, be = -0.75, 1.25
    z = cdf(be) - cdf(al)
    mean = 0.5 + 2.0 * (phi(al) - phi(be)) / z
    var = 4.0 * (1 + (al * phi(al) - be * phi(be)) / z - ((phi(al) - phi(be)) / z) ** 2)
    assert abs(x.mean() - mean) < 0.01 and abs(x.var() / var - 1) < 0.01


def test_orthogonal_constant_and_normal():
    fn.manual_seed(4)
    w = fn.empty(6, 10)
    init.orthogonal_(w, gain=2.0)
    np.testing.assert_allclose(w.numpy() @ w.numpy().T, 4 * np.eye(6), atol=1e-5)
    init.constant_(w, 0.25)
    assert np.all(w.numpy() == 0.25)
    init.normal_(w, 3.0, 0.0)
    assert np.all(w.numpy() == 3.0)


def test_embedding_and_norm_defaults():
    fn.manual_seed(5)
    e = nn.Embedding(2000, 100)
    assert abs(e.weight.numpy().std() - 1) < 0.02 and abs(e.weight.numpy().mean()) < 0.02
    bn = nn.BatchNorm2d(7)
    assert np.all(bn.weight.numpy() == 1) and np.all(bn.bias.numpy() == 0)
    assert np.all(bn.running_mean.numpy() == 0) and np.all(bn.running_var.numpy() == 1)


def test_seeded_models_are_reproducible():
    def build():
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(8, 4), nn.Embedding(5, 3))

    fn.manual_seed(42)
    a = build().state_dict()
    fn.manual_seed(42)
    b = build().state_dict()
    fn.manual_seed(43)
    c = build().state_dict()
    for k in a:
        np.testing.assert_array_equal(a[k].numpy(), b[k].numpy())
    assert not np.array_equal(a["0.weight"].numpy(), c["0.weight"].numpy())


def test_default_init_with_no_inputs_zeroes_the_bias():
    # fan_in = 0: no bound to draw from; torch's Linear gives zeros, and so do our Linear and
    # Conv (whose bias used to be left as np.empty memory)
    assert np.all(torch.nn.Linear(0, 3).bias.detach().numpy() == 0)
    np.testing.assert_array_equal(nn.Linear(0, 3).bias.numpy(), np.zeros(3, np.float32))
    np.testing.assert_array_equal(nn.Conv2d(0, 4, 3).bias.numpy(), np.zeros(4, np.float32))
