"""nn.Sequential's Conv + ReLU and BatchNorm + ReLU pairs run as one op (functional.conv's
conv_relu, functional.normalization's batch_norm_relu): the numbers of the two layers run one
by one, forward, every gradient and the running statistics, on each kernel choice; a hook or
an exporter's tracer sees the layers apart."""
import copy

import numpy as np
import pytest
import torch

import foveanet
from foveanet import nn
from foveanet.backend import use_kernels
from foveanet.nn.modules import conv as conv_modules
from foveanet.nn.modules import normalization as norm_modules


def _net(dtype):
    foveanet.manual_seed(3)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True),   # grid kernel
                        nn.Conv2d(8, 8, 3, padding=1, groups=8), nn.ReLU(),     # depthwise
                        nn.Conv2d(8, 16, 5), nn.ReLU(),                         # batch-last
                        nn.Conv2d(16, 4, 2, stride=2), nn.ReLU(),               # GEMM engines
                        nn.MaxPool2d(2))
    for p in net.parameters():
        p.data = p.data.astype(dtype)
    return net


def _run(net, x, one_by_one):
    for p in net.parameters():
        p.grad = None
    xt = foveanet.tensor(x, requires_grad=True)
    y = xt
    if one_by_one:
        for layer in net:
            y = layer(y)
    else:
        y = net(xt)
    (y * y).sum().backward()
    return [y.numpy(), xt.grad.numpy()] + [p.grad.numpy().copy() for p in net.parameters()]


@pytest.fixture
def fused_calls(monkeypatch):
    calls = []
    original = conv_modules._Conv._forward_relu

    def counted(self, x):
        calls.append(type(self).__name__)
        return original(self, x)

    monkeypatch.setattr(conv_modules._Conv, "_forward_relu", counted)
    original_bn = norm_modules._BatchNorm._forward_relu

    def counted_bn(self, x):
        calls.append(type(self).__name__)
        return original_bn(self, x)

    monkeypatch.setattr(norm_modules._BatchNorm, "_forward_relu", counted_bn)
    return calls


@pytest.mark.parametrize("choice", ["default", "numpy", "reference"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_fused_pairs_give_the_one_by_one_numbers(choice, dtype, fused_calls):
    x = np.random.default_rng(0).standard_normal((4, 3, 14, 14)).astype(dtype)
    net = _net(dtype)
    with use_kernels(choice):
        fused = _run(net, x, one_by_one=False)
        apart = _run(net, x, one_by_one=True)
    assert fused_calls == ["Conv2d"] * 4
    for a, b in zip(fused, apart, strict=True):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    assert (fused[0] == 0).any() and (fused[0] > 0).any()   # the ReLUs cut something


def test_conv1d_pair_and_torch(fused_calls):
    """A Conv1d + ReLU pair (text CNNs), against torch's Sequential with the same weights."""
    foveanet.manual_seed(1)
    net = nn.Sequential(nn.Conv1d(6, 5, 3, padding=1), nn.ReLU())
    ref = torch.nn.Sequential(torch.nn.Conv1d(6, 5, 3, padding=1), torch.nn.ReLU()).double()
    with torch.no_grad():
        ref[0].weight.copy_(torch.from_numpy(net[0].weight.numpy()))
        ref[0].bias.copy_(torch.from_numpy(net[0].bias.numpy()))
    net = net.double()
    x = np.random.default_rng(2).standard_normal((3, 6, 11))
    xt = foveanet.tensor(x, requires_grad=True)
    y = net(xt)
    y.sum().backward()
    tx = torch.tensor(x, requires_grad=True)
    ty = ref(tx)
    ty.sum().backward()
    assert fused_calls == ["Conv1d"]
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(xt.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(net[0].weight.grad.numpy(), ref[0].weight.grad.numpy(),
                               rtol=1e-12, atol=1e-12)


def test_a_hook_on_either_layer_sees_them_apart(fused_calls):
    net = _net(np.float32)
    x = np.random.default_rng(4).standard_normal((2, 3, 14, 14)).astype(np.float32)
    seen = []
    handle = net[0].register_forward_hook(lambda m, args, out: seen.append(out.numpy().min()))
    net(foveanet.tensor(x))
    handle.remove()
    assert seen and seen[0] < 0                 # the conv's own output, before the ReLU
    assert fused_calls == ["Conv2d"] * 3        # the other three pairs still fused
    with net[3].register_forward_hook(lambda m, args, out: None):
        net(foveanet.tensor(x))
    assert fused_calls == ["Conv2d"] * 6        # three more: the hooked ReLU's pair apart


def test_an_export_sees_conv_and_relu_nodes(tmp_path, fused_calls):
    onnx = pytest.importorskip("onnx")
    net = _net(np.float32)
    net.eval()
    path = tmp_path / "net.onnx"
    foveanet.onnx.export(net, foveanet.ones(1, 3, 14, 14), str(path))
    ops = [n.op_type for n in onnx.load(str(path)).graph.node]
    assert ops.count("Conv") == 4 and ops.count("Relu") == 4
    assert fused_calls == []


@pytest.mark.parametrize("choice", ["default", "numpy"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_batch_norm_pairs_train_and_eval_as_one_by_one(choice, dtype, fused_calls):
    foveanet.manual_seed(5)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                        nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 7 * 7, 6),
                        nn.BatchNorm1d(6), nn.ReLU())
    for p in net.parameters():
        p.data = p.data.astype(dtype)
    for m in net:
        if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d):
            m.running_mean.data = m.running_mean.data.astype(dtype)
            m.running_var.data = m.running_var.data.astype(dtype)
    apart = copy.deepcopy(net)
    x = np.random.default_rng(6).standard_normal((5, 3, 14, 14)).astype(dtype)
    with use_kernels(choice):
        for mode in ("train", "eval"):
            getattr(net, mode)(), getattr(apart, mode)()
            got, want = _run(net, x, one_by_one=False), _run(apart, x, one_by_one=True)
            for a, b in zip(got, want, strict=True):
                np.testing.assert_array_equal(a, b)
    assert fused_calls == ["BatchNorm2d", "BatchNorm1d"] * 2
    for (name, a), (_, b) in zip(net.state_dict().items(), apart.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=name)
    assert int(net[1].num_batches_tracked.numpy()) == 1
