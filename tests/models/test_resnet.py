import numpy as np
import pytest
import torch
from torch import nn as tnn

import foveanet
from foveanet import models
from tests.models import (assert_outputs_match, assert_same_layout, image, load_from_torch, meta,
                          n_params, randomize_)


class TBasic(tnn.Module):
    expansion = 1

    def __init__(self, cin, planes, stride=1, down=None, groups=1, width=64):
        super().__init__()
        self.conv1 = tnn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(planes)
        self.relu = tnn.ReLU()
        self.conv2 = tnn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = tnn.BatchNorm2d(planes)
        self.downsample = down

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + idt)


class TBottle(tnn.Module):
    expansion = 4

    def __init__(self, cin, planes, stride=1, down=None, groups=1, width=64):
        super().__init__()
        w = int(planes * width / 64) * groups
        self.conv1 = tnn.Conv2d(cin, w, 1, bias=False)
        self.bn1 = tnn.BatchNorm2d(w)
        self.conv2 = tnn.Conv2d(w, w, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = tnn.BatchNorm2d(w)
        self.conv3 = tnn.Conv2d(w, planes * 4, 1, bias=False)
        self.bn3 = tnn.BatchNorm2d(planes * 4)
        self.relu = tnn.ReLU()
        self.downsample = down

    def forward(self, x):
        idt = x if self.downsample is None else self.downsample(x)
        h = self.relu(self.bn1(self.conv1(x)))
        h = self.relu(self.bn2(self.conv2(h)))
        return self.relu(self.bn3(self.conv3(h)) + idt)


class TResNet(tnn.Module):
    def __init__(self, block, layers, num_classes=1000, groups=1, width=64, in_channels=3):
        super().__init__()
        self.conv1 = tnn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
        self.bn1 = tnn.BatchNorm2d(64)
        self.relu = tnn.ReLU()
        self.maxpool = tnn.MaxPool2d(3, 2, 1)
        cin = 64
        for i, (planes, n) in enumerate(zip((64, 128, 256, 512), layers)):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or cin != planes * block.expansion:
                down = tnn.Sequential(tnn.Conv2d(cin, planes * block.expansion, 1, stride, bias=False),
                                      tnn.BatchNorm2d(planes * block.expansion))
            blocks = [block(cin, planes, stride, down, groups, width)]
            cin = planes * block.expansion
            blocks += [block(cin, planes, groups=groups, width=width) for _ in range(1, n)]
            setattr(self, f"layer{i + 1}", tnn.Sequential(*blocks))
        self.avgpool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(cin, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


SPECS = {
    "resnet18": ((TBasic, [2, 2, 2, 2]), {}, 11_689_512),
    "resnet34": ((TBasic, [3, 4, 6, 3]), {}, 21_797_672),
    "resnet50": ((TBottle, [3, 4, 6, 3]), {}, 25_557_032),
    "resnet101": ((TBottle, [3, 4, 23, 3]), {}, 44_549_160),
    "resnet152": ((TBottle, [3, 8, 36, 3]), {}, 60_192_808),
    "resnext50_32x4d": ((TBottle, [3, 4, 6, 3]), {"groups": 32, "width": 4}, 25_028_904),
    "resnext101_32x8d": ((TBottle, [3, 4, 23, 3]), {"groups": 32, "width": 8}, 88_791_336),
}


def torch_ref(name, **kw):
    (block, layers), extra, _ = SPECS[name]
    return TResNet(block, layers, **extra, **kw)


@pytest.mark.parametrize("name", list(SPECS))
def test_counts_and_layout(name):
    want = SPECS[name][2]
    tm = meta(torch_ref, name)
    assert n_params(tm) == want
    fm = models.get_model(name)
    assert n_params(fm) == want
    assert_same_layout(fm, tm)


@pytest.mark.parametrize("name", ["resnet18", "resnext50_32x4d"])
def test_outputs_match_torch_64px(name):
    tm = randomize_(torch_ref(name, num_classes=10, in_channels=1))
    fm = load_from_torch(models.get_model(name, num_classes=10, in_channels=1), tm)
    assert_outputs_match(fm, tm, image(2, 1, 64))


def test_resnet50_outputs_match_torch_32px():
    tm = randomize_(torch_ref("resnet50", num_classes=7))
    fm = load_from_torch(models.resnet50(num_classes=7), tm)
    assert_outputs_match(fm, tm, image(1, 3, 32))


def test_init_and_zero_init_residual():
    fm = models.resnet18(zero_init_residual=True)
    assert not fm.layer1[0].bn2.weight.numpy().any()
    assert (fm.layer1[0].bn1.weight.numpy() == 1).all() and not fm.bn1.bias.numpy().any()
    w = fm.layer3[0].conv1.weight.numpy()     # kaiming fan_out: std sqrt(2 / (256*9))
    assert abs(w.std() / (2 / (256 * 9)) ** 0.5 - 1) < 0.05
    fb = models.resnet50(zero_init_residual=True)
    assert not fb.layer2[1].bn3.weight.numpy().any() and fb.layer2[1].bn2.weight.numpy().all()


def test_train_step_gradients_match_torch():
    # a training-mode step (batch statistics) through residual blocks with projections
    # 64x64, batch 4: layer4's batch statistics then pool 16 values (at 1x1 x 2 they are
    # too ill-conditioned for a float32 comparison)
    tm = randomize_(torch_ref("resnet18", num_classes=5))
    fm = load_from_torch(models.resnet18(num_classes=5), tm)
    x = image(4, 3, 64)
    tout = tm(torch.from_numpy(x))
    tout.square().sum().backward()
    fout = fm(foveanet.tensor(x))
    (fout * fout).sum().backward()
    np.testing.assert_allclose(fout.numpy(), tout.detach().numpy(), rtol=1e-3, atol=1e-4)
    tparams = dict(tm.named_parameters())
    for name in ("conv1.weight", "layer2.0.downsample.0.weight", "layer4.1.bn2.weight", "fc.bias"):
        ours, ref = dict(fm.named_parameters())[name].grad.numpy(), tparams[name].grad.numpy()
        assert np.abs(ours - ref).max() <= 1e-3 * np.abs(ref).max(), name


@pytest.mark.slow
def test_resnet50_224_matches_torch():
    tm = randomize_(torch_ref("resnet50"))
    fm = load_from_torch(models.resnet50(), tm)
    assert_outputs_match(fm, tm, image(1, 3, 224))


def _count_folded(fm, x):
    """The output under no_grad and the number of conv2d_clamp calls (folded convs) it took."""
    from foveanet.models import fold
    calls, inner = [], fold.conv2d_clamp
    fold.conv2d_clamp = lambda *a, **k: calls.append(1) or inner(*a, **k)
    try:
        with foveanet.no_grad():
            return fm(foveanet.tensor(x)).numpy(), len(calls)
    finally:
        fold.conv2d_clamp = inner


@pytest.mark.parametrize("name", ["resnet18", "resnet50"])
def test_eval_under_no_grad_folds_each_block_and_matches_the_unfolded_net(name):
    """Under no_grad in eval mode every block runs as convs with BN folded in, the ReLUs
    and the residual add in their epilogues (models/fold.py): the same numbers as the
    block's modules one by one (autograd on) up to round-off, and torch's, at batch 1 (the
    one-image engine, conv/single.py, on two threads) and 2. A hook on a block's ReLU turns
    the block's fold off (the hook must see every output), and the hook sees them all."""
    tm = randomize_(torch_ref(name, num_classes=10))
    fm = load_from_torch(models.get_model(name, num_classes=10), tm).eval()
    convs = sum(type(m).__name__ == "Conv2d" for m in fm.modules())
    n = foveanet.get_num_threads()
    try:
        foveanet.set_num_threads(2)
        for batch in (1, 2):
            x = image(batch, 3, 64)
            plain = fm(foveanet.tensor(x)).numpy()   # autograd on: module by module
            folded, calls = _count_folded(fm, x)
            assert calls == convs
            np.testing.assert_allclose(folded, plain, rtol=1e-4, atol=1e-4 * np.abs(plain).max())
            assert_outputs_match(fm, tm, x)
    finally:
        foveanet.set_num_threads(n)
    block = fm.layer2[0]
    seen = []
    block.relu.register_forward_hook(lambda m, args, out: seen.append(out.shape))
    hooked, calls = _count_folded(fm, x)
    assert calls == convs - sum(type(m).__name__ == "Conv2d" for m in block.modules())
    relus = 2 if block.expansion == 1 else 3
    assert len(seen) == relus and seen[-1] == (2, 128 * block.expansion, 8, 8)
    np.testing.assert_allclose(hooked, folded, rtol=1e-4, atol=1e-4 * np.abs(folded).max())
