"""The depthwise family in the tools: ``summary`` (parameters, mult-adds against torchvision's
published figures, receptive fields worked by hand) and ONNX export run in onnxruntime and
imported back."""
import numpy as np
import pytest

import foveanet
from foveanet import models, nn

# torchvision's weights meta: "_ops" (GFLOPS, counted as multiply-adds) at 224x224
PUBLISHED_GMACS = {"mobilenet_v2": 0.301, "mobilenet_v3_large": 0.217, "mobilenet_v3_small": 0.057,
                   "efficientnet_b0": 0.386}


def _rf(stem_stride, blocks):
    """Receptive field and jump along the depthwise path: the 3x3 stem, then each block's
    k x k depthwise conv (1x1 convs and the gate add nothing)."""
    r, j = 3, stem_stride
    for k, s in blocks:
        r += (k - 1) * j
        j *= s
    return r, j


@pytest.mark.parametrize("name", list(PUBLISHED_GMACS))
def test_summary_counts_and_mult_adds(name):
    s = foveanet.summary(models.get_model(name), (3, 224, 224), receptive_field=False)
    assert s.total_params == sum(p.numel() for p in models.get_model(name).parameters())
    assert round(s.total_mult_adds / 1e9, 3) == PUBLISHED_GMACS[name]


def test_summary_receptive_field_follows_the_depthwise_path():
    small = [(3, 2), (3, 2), (3, 1), (5, 2), (5, 1), (5, 1), (5, 1), (5, 1), (5, 2), (5, 1), (5, 1)]
    s = foveanet.summary(models.mobilenet_v3_small(), (3, 224, 224))
    assert (s["features"].rf, s["features"].jump) == _rf(2, small) == (639, 32)
    # the squeeze-excitation gate (a 1x1 map broadcast over the block's map) is left out
    assert s["features.1.block.1"].type == "SqueezeExcitation"
    assert (s["features.1.block.1"].rf, s["features.1.block.1"].jump) == _rf(2, small[:1])
    v2 = [(3, s_) for t, c, n, s0 in ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                                      (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))
          for s_ in [s0] + [1] * (n - 1)]
    s2 = foveanet.summary(models.mobilenet_v2(), (3, 224, 224))
    assert (s2["features"].rf, s2["features"].jump) == _rf(2, v2)


def test_cli_summary_lists_and_prints_them(capsys):
    from foveanet.cli.main import main
    assert main(["summary", "--list"]) == 0
    listed = capsys.readouterr().out.split()
    assert {"mobilenet_v2", "mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0"} <= set(listed)
    assert main(["summary", "efficientnet_b0", "--input", "3x64x64", "--depth", "1"]) == 0
    assert "Total params: 5,288,548" in capsys.readouterr().out


@pytest.mark.parametrize("name", list(PUBLISHED_GMACS))
def test_onnx_export_agrees_with_onnxruntime(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    import torch
    from tests.models import randomize_
    from tests.models.test_mobile import torch_ref
    tm = randomize_(torch_ref(name, num_classes=10)).eval()
    net = models.get_model(name, num_classes=10)
    net.load_state_dict(tm.state_dict())
    net.eval()
    x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
    proto = foveanet.onnx.export(net, x, tmp_path / "m.onnx")
    ops = {n.op_type for n in proto.graph.node}
    assert "Conv" in ops and ("HardSwish" in ops) == name.startswith("mobilenet_v3")
    with foveanet.no_grad():
        ours = net(foveanet.tensor(x)).numpy()
    got = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    with torch.no_grad():   # float64 truth: the random 15-block V3-large amplifies float32
        exact = tm.double()(torch.from_numpy(x).double()).numpy()   # rounding to ~6e-5 of scale
    tol = 2e-4 * np.abs(exact).max()
    assert np.abs(got - exact).max() <= tol and np.abs(ours - exact).max() <= tol
    back = foveanet.onnx.load(tmp_path / "m.onnx").eval()    # and back into foveanet
    with foveanet.no_grad():
        assert np.abs(back(foveanet.tensor(x)).numpy() - exact).max() <= tol


def test_onnx_hard_activations_at_opset_13(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    model = nn.Sequential(nn.Conv2d(2, 4, 1), nn.Hardswish(), nn.Hardsigmoid())
    x = np.linspace(-8, 8, 2 * 2 * 5 * 5, dtype=np.float32).reshape(2, 2, 5, 5)
    proto = foveanet.onnx.export(model, x, tmp_path / "h.onnx", opset=13)
    assert [n.op_type for n in proto.graph.node][:4] == ["Conv", "HardSigmoid", "Mul", "HardSigmoid"]
    got = ort.InferenceSession(str(tmp_path / "h.onnx"), providers=["CPUExecutionProvider"]).run(
        None, {"input": x})[0]
    np.testing.assert_allclose(got, model(x).numpy(), rtol=1e-5, atol=1e-6)
