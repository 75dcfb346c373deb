"""MobileNetV2, MobileNetV3 (large, small) and EfficientNet-B0 against torch references written
as torchvision builds them (tests/models/torch_mobile.py): parameter counts, state_dict keys and
shapes, BN settings, eval outputs, a training step's gradients, stochastic depth."""
import numpy as np
import pytest
import torch

import foveanet
from foveanet import models, nn
from foveanet.models import stochastic_depth
from tests.models import (assert_outputs_match, assert_same_layout, image, load_from_torch, meta,
                          n_params, randomize_)
from tests.models.torch_mobile import TEfficientNetB0, TMobileNetV2, TMobileNetV3

# torchvision's published counts (its weights' meta["num_params"]), 1000 classes
SPECS = {
    "mobilenet_v2": (TMobileNetV2, {}, 3_504_872),
    "mobilenet_v3_large": (TMobileNetV3, {"arch": "large"}, 5_483_032),
    "mobilenet_v3_small": (TMobileNetV3, {"arch": "small"}, 2_542_856),
    "efficientnet_b0": (TEfficientNetB0, {}, 5_288_548),
}


def torch_ref(name, **kw):
    cls, extra, _ = SPECS[name]
    return cls(**extra, **kw)


@pytest.mark.parametrize("name", list(SPECS))
def test_counts_layout_and_norm_settings(name):
    want = SPECS[name][2]
    tm = meta(torch_ref, name)
    assert n_params(tm) == want
    fm = models.get_model(name)
    assert n_params(fm) == want
    assert_same_layout(fm, tm)
    ours = [(m.eps, m.momentum) for m in fm.modules() if isinstance(m, nn.BatchNorm2d)]
    theirs = [(m.eps, m.momentum) for m in tm.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert ours == theirs
    if name.startswith("mobilenet_v3"):
        assert set(ours) == {(0.001, 0.01)}


@pytest.mark.parametrize("name", list(SPECS))
def test_eval_outputs_match_torch_64px(name):
    tm = randomize_(torch_ref(name, num_classes=10))
    fm = load_from_torch(models.get_model(name, num_classes=10), tm)
    assert_outputs_match(fm, tm, image(2, 3, 64))


def test_options_as_torchvision():
    tm = meta(TMobileNetV2, width_mult=0.5, num_classes=7, in_channels=1)
    fm = models.mobilenet_v2(width_mult=0.5, num_classes=7, in_channels=1, dropout=0.3)
    assert_same_layout(fm, tm)
    assert fm.classifier[0].p == 0.3 and fm.last_channel == 1280
    assert models.mobilenet_v2(width_mult=1.4).last_channel == 1792      # 1280 * 1.4
    assert models.mobilenet_v3_small(dropout=0.1).classifier[2].p == 0.1
    assert models.efficientnet_b0(dropout=0.4).classifier[0].p == 0.4
    # stochastic depth grows linearly with the block index, 0 .. 0.2 * 15/16
    probs = [m.stochastic_depth.p for m in models.efficientnet_b0().modules()
             if hasattr(m, "stochastic_depth")]
    np.testing.assert_allclose(probs, 0.2 * np.arange(16) / 16)
    with pytest.raises(TypeError, match="image_size"):     # what the trainer's fallback relies on
        models.get_model("mobilenet_v2", image_size=28)


def _train_step_both(fm, tm, x, rtol):
    """Training-mode forward of both, loss = sum of squared logits, backward; outputs agree."""
    tout = tm(torch.from_numpy(x))
    tout.square().sum().backward()
    fout = fm(foveanet.tensor(x))
    (fout * fout).sum().backward()
    np.testing.assert_allclose(fout.numpy(), tout.detach().numpy(), rtol=rtol, atol=1e-4)


def test_mobilenet_v2_train_step_gradients_match_torch():
    # training mode (batch statistics) at width 0.5; 64x64 batch 4 leaves 16 values per channel
    # for the last BN. In float64: through 17 training-mode BNs on so few values, float32
    # rounding alone moves the first layer's gradient by up to 0.4% (3% on late BN shifts)
    # between equally right summation orders (BLAS's SkylakeX kernels against Haswell's, the
    # compiled direct conv and batch norm against NumPy's), which is the size of the check
    tm = randomize_(TMobileNetV2(num_classes=5, width_mult=0.5, dropout=0.0)).double()
    fm = load_from_torch(models.mobilenet_v2(num_classes=5, width_mult=0.5, dropout=0.0), tm)
    fm.to(np.float64)
    _train_step_both(fm, tm, image(4, 3, 64).astype(np.float64), rtol=1e-7)
    tparams = dict(tm.named_parameters())
    # a BN shift whose output feeds conv + BN (no residual) has an exactly zero gradient (the
    # next BN subtracts the batch mean): both sides hold rounding noise there, so every
    # gradient is held to 1e-6 of its own scale or 1e-9 of the largest gradient
    top = max(float(np.abs(p.grad.numpy()).max()) for p in tparams.values())
    for name, p in fm.named_parameters():
        ours, ref = p.grad.numpy(), tparams[name].grad.numpy()
        assert np.abs(ours - ref).max() <= max(1e-6 * np.abs(ref).max(), 1e-9 * top), name
    tbuf = dict(tm.named_buffers())
    for name, b in fm.named_buffers():   # running statistics updated as torch's
        np.testing.assert_allclose(b.numpy(), tbuf[name].numpy(), rtol=1e-4, atol=1e-5, err_msg=name)


def test_v3_and_efficientnet_train_step_through_se_and_stochastic_depth():
    # with every drop probability at 0 the training step is deterministic: compare a few grads
    for name in ("mobilenet_v3_small", "efficientnet_b0"):
        extra = {"sd_prob": 0.0} if name == "efficientnet_b0" else {}
        tm = randomize_(torch_ref(name, num_classes=3, dropout=0.0, **extra))
        kw = {"stochastic_depth_prob": 0.0} if name == "efficientnet_b0" else {}
        fm = load_from_torch(models.get_model(name, num_classes=3, dropout=0.0, **kw), tm)
        _train_step_both(fm, tm, image(4, 3, 64), rtol=2e-3)
        tparams = dict(tm.named_parameters())
        names = (("features.0.0.weight", "features.4.block.2.fc1.weight", "classifier.3.bias")
                 if name != "efficientnet_b0" else
                 ("features.0.0.weight", "features.2.1.block.2.fc2.weight", "classifier.1.weight"))
        for pname in names:
            ours, ref = dict(fm.named_parameters())[pname].grad.numpy(), tparams[pname].grad.numpy()
            assert np.abs(ours - ref).max() <= 3e-3 * np.abs(ref).max(), (name, pname)


def test_stochastic_depth_semantics():
    x = foveanet.tensor(np.random.default_rng(0).standard_normal((4000, 3)).astype(np.float32),
                        requires_grad=True)
    foveanet.manual_seed(1)
    y = stochastic_depth(x, 0.25, "row")
    ratio = y.numpy() / x.numpy()
    rows = ratio[:, 0]
    assert np.allclose(ratio, rows[:, None])                       # one draw per sample
    assert set(np.round(rows.astype(float), 5)) == {0.0, round(1 / 0.75, 5)}     # dropped, or kept and scaled
    assert abs((rows == 0).mean() - 0.25) < 0.03                   # 4000 draws: sd 0.007
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(rows[:, None], x.shape), rtol=1e-6)
    b = stochastic_depth(x, 0.5, "batch").numpy() / x.numpy()
    assert len(set(np.round(b.ravel(), 5))) == 1                   # the whole batch together
    assert stochastic_depth(x, 0.3, "row", training=False) is x and stochastic_depth(x, 0.0, "row") is x
    assert not stochastic_depth(x, 1.0, "row").numpy().any()
    with pytest.raises(ValueError, match="between 0 and 1"):
        stochastic_depth(x, 1.5, "row")
    with pytest.raises(ValueError, match="'batch' or 'row'"):
        stochastic_depth(x, 0.5, "col")


def test_efficientnet_block_drops_whole_samples_in_training():
    # a residual MBConv in training: each sample gets either its input back (branch dropped)
    # or input + branch/(1-p); in eval mode the branch is always kept, unscaled
    foveanet.manual_seed(0)
    net = models.efficientnet_b0(stochastic_depth_prob=0.8)
    block = net.features[6][3]             # p = 0.8 * 14/16 = 0.7
    x = foveanet.tensor(image(64, 192, 4))
    block.eval()
    block.stochastic_depth.train()       # BN on running statistics, so that only the drop is random
    with foveanet.no_grad():
        branch = block.block(x).numpy()
        y = block(x).numpy()
    xs = x.numpy()
    dropped = np.all(np.isclose(y, xs, atol=1e-6), axis=(1, 2, 3))
    kept = np.all(np.isclose(y, xs + branch / 0.3, rtol=1e-4, atol=1e-4), axis=(1, 2, 3))
    assert np.all(dropped ^ kept) and 0 < kept.sum() < 64


def test_loads_a_torch_file_unchanged(tmp_path):
    # what loading torchvision's published .pth does: torch.save'd state_dict, read without pickle
    from foveanet.interop import load_torch
    tm = randomize_(TMobileNetV3(arch="small", num_classes=4))
    torch.save(tm.state_dict(), tmp_path / "v3.pth")
    fm = models.mobilenet_v3_small(num_classes=4)
    result = fm.load_state_dict(load_torch(tmp_path / "v3.pth"))
    assert not result.missing_keys and not result.unexpected_keys
    assert_outputs_match(fm, tm, image(1, 3, 48))


@pytest.mark.parametrize("name", list(SPECS))
def test_outputs_match_torch_224(name):     # the published input size; under 1 s each
    tm = randomize_(torch_ref(name))
    fm = load_from_torch(models.get_model(name), tm)
    assert_outputs_match(fm, tm, image(1, 3, 224))


def test_init_as_torchvision():
    v2 = models.mobilenet_v2()
    # depthwise 3x3 over 32 channels, (32, 1, 3, 3): torch's fan_out ignores groups, 32 * 9
    w = v2.features[1].conv[0][0].weight.numpy()
    assert abs(w.std() / (2 / (32 * 9)) ** 0.5 - 1) < 0.1
    assert abs(v2.classifier[1].weight.numpy().std() / 0.01 - 1) < 0.02
    assert (v2.features[0][1].weight.numpy() == 1).all() and not v2.classifier[1].bias.numpy().any()
    fc = models.efficientnet_b0().classifier[1].weight.numpy()   # U(-1/sqrt(1000), 1/sqrt(1000))
    assert np.abs(fc).max() <= 1000 ** -0.5 and abs(fc.std() / (1000 ** -0.5 / 3 ** 0.5) - 1) < 0.02
    se = models.efficientnet_b0().features[1][0].block[1].fc1
    assert not se.bias.numpy().any()


def test_eval_under_no_grad_folds_bn_into_the_conv_and_matches_the_unfolded_net():
    """Under no_grad in eval mode conv + BN (+ ReLU6) run as one conv with a scale, shift
    and clamp epilogue (foveanet/models/fold.py): the
    same numbers as conv then BN (the path with autograd on) up to round-off, and torch's.
    A hook on a BN turns the fold off for that pair, and the hook sees BN's output."""
    from foveanet.models import fold
    tm = randomize_(torch_ref("mobilenet_v2", num_classes=10))
    fm = load_from_torch(models.mobilenet_v2(num_classes=10), tm).eval()
    x = image(2, 3, 64)
    plain = fm(foveanet.tensor(x)).numpy()           # autograd on: conv, then BN
    with foveanet.no_grad():
        folded = fm(foveanet.tensor(x)).numpy()
    np.testing.assert_allclose(folded, plain, rtol=1e-4, atol=1e-4 * np.abs(plain).max())
    assert_outputs_match(fm, tm, x)
    conv, bn = fm.features[1].conv[0][0], fm.features[1].conv[0][1]
    scale, b = fold.bn_affine(conv, bn)
    s = bn.weight.numpy() / np.sqrt(bn.running_var.numpy() + bn.eps)
    np.testing.assert_allclose(scale, s, rtol=1e-6)
    np.testing.assert_allclose(b, bn.bias.numpy() - bn.running_mean.numpy() * s, rtol=1e-5,
                               atol=1e-6)
    seen = []
    bn.register_forward_hook(lambda m, args, out: seen.append(out.numpy().copy()))
    with foveanet.no_grad():
        hooked = fm(foveanet.tensor(x)).numpy()
        assert not fold.foldable(conv, bn)
    assert len(seen) == 1 and seen[0].shape == (2, 32, 32, 32)
    np.testing.assert_allclose(hooked, folded, rtol=1e-4, atol=1e-4 * np.abs(plain).max())
    fm.train()
    with foveanet.no_grad():
        assert not fold.foldable(fm.features[2].conv[2], fm.features[2].conv[3])
