import numpy as np
import pytest
import torch
from torch import nn as tnn

import foveanet
from foveanet import models
from foveanet.models.lenet import C3_TABLE
from tests.models import (assert_outputs_match, assert_same_layout, image, load_from_torch,
                          n_params, randomize_)


class TorchLeNet5(tnn.Module):
    def __init__(self, in_channels=1, num_classes=10):
        super().__init__()
        self.features = tnn.Sequential(
            tnn.Conv2d(in_channels, 6, 5, padding=2), tnn.ReLU(), tnn.MaxPool2d(2, 2),
            tnn.Conv2d(6, 16, 5), tnn.ReLU(), tnn.MaxPool2d(2, 2))
        self.classifier = tnn.Sequential(
            tnn.Linear(400, 120), tnn.ReLU(), tnn.Linear(120, 84), tnn.ReLU(), tnn.Linear(84, num_classes))

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


def test_modern_parameter_count():
    # 156 + 2,416 + 48,120 + 10,164 + 850
    assert n_params(models.lenet5()) == 61_706


@pytest.mark.parametrize("in_channels,num_classes", [(1, 10), (3, 7)])
def test_modern_matches_torch(in_channels, num_classes):
    tm = randomize_(TorchLeNet5(in_channels, num_classes))
    fm = models.lenet5(in_channels=in_channels, num_classes=num_classes)
    assert_same_layout(fm, tm)
    load_from_torch(fm, tm)
    assert_outputs_match(fm, tm, image(4, in_channels, 28))


def test_modern_image_size_32():
    fm = models.lenet5(in_channels=3, image_size=32)
    assert fm.classifier[0].weight.shape == (120, 576)
    with foveanet.no_grad():
        assert fm(foveanet.tensor(image(2, 3, 32))).shape == (2, 10)


def test_1998_per_layer_counts():
    fm = models.lenet5(variant="1998")
    f, c = fm.features, fm.classifier
    # the paper's counts (section II-B): C3's sparse table leaves 1,516 weights, not 2,416
    counts = {"c1": 156, "s2": 12, "c3": 1_516, "s4": 32, "c5": 48_120}
    for name, want in counts.items():
        assert n_params(getattr(f, name)) == want, name
    assert n_params(c.f6) == 10_164
    assert n_params(c.output) == 84 * 10 + 10
    assert n_params(fm) == sum(counts.values()) + 10_164 + 850


def test_c3_table_is_table_one():
    # each S2 map feeds exactly 10 of the 16 C3 maps in the paper's Table I (60 connections)
    rows = [r for g in C3_TABLE for r in g]
    assert len(rows) == 16
    assert [len(r) for r in rows] == [3] * 6 + [4] * 9 + [6]
    assert [sum(i in r for r in rows) for i in range(6)] == [10] * 6
    assert rows[12:15] == [(0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5)]


def _dense_c3(c3) -> np.ndarray:
    """C3 as a full 16x6 conv weight with zeros where Table I has no connection."""
    w = np.zeros((16, 6, 5, 5), np.float32)
    o = 0
    for i, group in enumerate(C3_TABLE):
        gw = getattr(c3, f"weight{i}").numpy()
        for j, row in enumerate(group):
            w[o, list(row)] = gw[j]
            o += 1
    return w


def _torch_1998(fm, x):
    """The 1998 network written independently in torch (C3 as a masked dense conv)."""
    f, c = fm.features, fm.classifier
    T = lambda a: torch.tensor(a.numpy() if hasattr(a, "numpy") else a, requires_grad=True)
    p = {"c1w": T(f.c1.weight), "c1b": T(f.c1.bias), "s2w": T(f.s2.weight), "s2b": T(f.s2.bias),
         "c3w": T(_dense_c3(f.c3)), "c3b": T(f.c3.bias), "s4w": T(f.s4.weight), "s4b": T(f.s4.bias),
         "c5w": T(f.c5.weight), "c5b": T(f.c5.bias), "f6w": T(c.f6.weight), "f6b": T(c.f6.bias),
         "ow": T(c.output.weight), "ob": T(c.output.bias)}
    sq = lambda a: 1.7159 * torch.tanh(a * 2 / 3)
    sub = lambda a, w, b: torch.nn.functional.avg_pool2d(a, 2) * w[:, None, None] + b[:, None, None]
    F = torch.nn.functional
    h = F.pad(torch.from_numpy(x), (2, 2, 2, 2))
    h = sq(F.conv2d(h, p["c1w"], p["c1b"]))
    h = sq(sub(h, p["s2w"], p["s2b"]))
    h = sq(F.conv2d(h, p["c3w"], p["c3b"]))
    h = sq(sub(h, p["s4w"], p["s4b"]))
    h = sq(F.conv2d(h, p["c5w"], p["c5b"])).flatten(1)
    h = sq(F.linear(h, p["f6w"], p["f6b"]))
    return F.linear(h, p["ow"], p["ob"]), p


def test_1998_forward_and_c3_gradient_match_masked_dense_conv():
    fm = models.lenet5(variant="1998")
    x = image(3, 1, 28)
    ref, p = _torch_1998(fm, x)
    fx = foveanet.tensor(x)
    out = fm(fx)
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-4, atol=1e-5)
    g = np.random.default_rng(0).standard_normal(out.shape).astype(np.float32)
    out.backward(foveanet.tensor(g))
    ref.backward(torch.from_numpy(g))
    dense_grad = p["c3w"].grad.numpy()
    o = 0
    for i, group in enumerate(C3_TABLE):
        ours = getattr(fm.features.c3, f"weight{i}").grad.numpy()
        for j, row in enumerate(group):
            np.testing.assert_allclose(ours[j], dense_grad[o, list(row)], rtol=1e-4, atol=1e-6)
            o += 1
    np.testing.assert_allclose(fm.features.c3.bias.grad.numpy(), p["c3b"].grad.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(fm.features.s2.weight.grad.numpy(), p["s2w"].grad.numpy(), rtol=1e-4, atol=1e-6)


def test_1998_options_and_init_range():
    fm = models.lenet5(in_channels=3, num_classes=5, variant="1998")
    with foveanet.no_grad():
        assert fm(foveanet.tensor(image(2, 3, 32))).shape == (2, 5)
    # appendix C: uniform in +-2.4 / fan_in
    w = fm.features.c5.weight.numpy()
    assert np.abs(w).max() <= 2.4 / 400 and np.abs(w).max() > 0.9 * 2.4 / 400
    with foveanet.no_grad():   # image_size only validates: 28x28 is padded to 32x32
        assert models.lenet5(variant="1998", image_size=28)(foveanet.tensor(image(1, 1, 28))).shape == (1, 10)
    with pytest.raises(ValueError, match="image_size"):
        models.lenet5(variant="1998", image_size=64)
    with pytest.raises(ValueError, match="variant"):
        models.lenet5(variant="1989")


def test_registry():
    names = models.list_models()
    assert {"lenet5", "alexnet", "vgg16_bn", "resnet50", "resnext50_32x4d", "googlenet",
            "densenet121"} <= set(names)
    assert n_params(models.get_model("lenet5", num_classes=3)) == 61_706 - 7 * 85
    assert callable(models.alexnet) and callable(models.googlenet)
    with pytest.raises(ValueError, match="unknown model"):
        models.get_model("lenet6")
