"""foveanet.onnx.load: graphs exported by torch.onnx run in foveanet with torch's outputs and
gradients; hand-built graphs are checked against onnxruntime."""
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn as tnn

import foveanet
from tests.interop.test_torch_pt import torch_net

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402


def _torch_export(model, x, path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "N"}, "output": {0: "N"}}, **kw)


def _run(module, x):
    return module(foveanet.tensor(x.numpy())).numpy()


@pytest.mark.parametrize("preserve_bn", [False, True])
def test_torch_exported_cnn_gives_torch_outputs(tmp_path, preserve_bn):
    net = torch_net()
    kw = dict(do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE) if preserve_bn else {}
    _torch_export(net, torch.randn(2, 3, 16, 16), tmp_path / "net.onnx", **kw)
    model = foveanet.onnx.load(tmp_path / "net.onnx").eval()
    for batch in (1, 5):  # the exported batch axis is symbolic
        x = torch.randn(batch, 3, 16, 16)
        np.testing.assert_allclose(_run(model, x), net(x).detach().numpy(), rtol=1e-4, atol=1e-5)
    if preserve_bn:  # unfolded graph: the parameters keep torch's state_dict names
        sd = model.state_dict()
        for k, v in net.state_dict().items():
            if not k.endswith("num_batches_tracked"):
                np.testing.assert_array_equal(sd[k].numpy(), v.numpy(), err_msg=k)


class _Zoo(tnn.Module):
    """Ops torch.onnx emits as Shape/Gather/Concat chains, Resize, Pad, Erf-based GELU..."""

    def __init__(self):
        super().__init__()
        self.conv = tnn.Conv2d(3, 6, 3, stride=2, padding=1)
        self.up = tnn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
        self.pool = tnn.AvgPool2d(3, stride=2, padding=1)
        self.head = tnn.Linear(8 * 8 * 8 + 4 * 8 * 8, 7)
        self.drop = tnn.Dropout(0.3)

    def forward(self, x):
        y = TF.leaky_relu(self.conv(x), 0.1)
        y = torch.sigmoid(self.up(y)) * torch.tanh(TF.interpolate(y.mean(1, keepdim=True), scale_factor=2.0, mode="bilinear"))
        near = TF.interpolate(self.pool(y), scale_factor=2, mode="nearest")
        lin = TF.interpolate(TF.pad(y, (1, 1, 1, 1), mode="reflect"), size=(8, 8), mode="bilinear",
                             align_corners=False)
        z = torch.cat([TF.max_pool2d(near, 2, ceil_mode=True), TF.gelu(near[:, :, 4:12, 4:12])], 1)
        z = torch.cat([z.view(z.size(0), -1), lin.reshape(lin.shape[0], -1)], 1)
        return TF.softmax(self.head(self.drop(z)), dim=1)


def test_shape_chains_resize_pad_gelu(tmp_path):
    torch.manual_seed(1)
    net = _Zoo().eval()
    _torch_export(net, torch.randn(2, 3, 16, 16), tmp_path / "zoo.onnx", opset_version=17)
    model = foveanet.onnx.load(tmp_path / "zoo.onnx").eval()
    ops = {n.op_type for n in onnx.load(tmp_path / "zoo.onnx").graph.node}
    assert {"Resize", "Pad", "Erf", "Shape", "Concat", "Reshape", "ConvTranspose"} <= ops
    x = torch.randn(3, 3, 16, 16)
    np.testing.assert_allclose(_run(model, x), net(x).detach().numpy(), rtol=1e-4, atol=1e-6)


def test_imported_model_is_trainable_with_torch_gradients(tmp_path):
    net = torch_net(2)
    _torch_export(net, torch.randn(2, 3, 16, 16), tmp_path / "net.onnx", do_constant_folding=False,
                  training=torch.onnx.TrainingMode.PRESERVE)
    model = foveanet.onnx.load(tmp_path / "net.onnx").eval()
    x, w = torch.randn(4, 3, 16, 16), torch.randn(4, 5)
    (net(x) * w).sum().backward()
    out = model(foveanet.tensor(x.numpy()))
    (out * foveanet.tensor(w.numpy())).sum().backward()
    grads = dict(model.named_parameters())
    for name, p in net.named_parameters():
        np.testing.assert_allclose(grads[name].grad.numpy(), p.grad.numpy(), rtol=1e-4, atol=1e-5, err_msg=name)
    assert len(grads) == len(list(net.parameters()))


def _model(nodes, inputs, outputs, inits=(), opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def test_unknown_ops_are_all_listed_at_load_time():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [helper.make_node("Relu", ["x"], ["a"]), helper.make_node("Hardmax", ["a"], ["b"]),
             helper.make_node("NonZero", ["b"], ["c"]),
             helper.make_node("FancyOp", ["c"], ["y"], domain="com.example")]
    with pytest.raises(ValueError, match=r"cannot run: Hardmax, NonZero, com\.example::FancyOp \(supported"):
        foveanet.onnx.load(_model(nodes, [x], [y]))


def test_auto_pad_and_asymmetric_pools_match_onnxruntime():
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    wt = numpy_helper.from_array(rng.standard_normal((4, 2, 3, 3)).astype(np.float32), "wt")
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 11, 10])
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [None] * 4) for n in "cmavt"]
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], auto_pad="SAME_UPPER", strides=[2, 2]),
        helper.make_node("MaxPool", ["c"], ["m"], kernel_shape=[2, 3], auto_pad="SAME_LOWER", strides=[2, 2]),
        helper.make_node("AveragePool", ["x"], ["a"], kernel_shape=[3, 3], pads=[0, 1, 2, 1], strides=[2, 1]),
        helper.make_node("Conv", ["x", "w"], ["v"], auto_pad="VALID", dilations=[2, 1]),
        helper.make_node("ConvTranspose", ["c", "wt"], ["t"], strides=[2, 2], pads=[0, 1, 1, 0]),
    ]
    proto = _model(nodes, [x], outs, [w, wt])
    onnx.checker.check_model(proto)
    data = rng.standard_normal((2, 3, 11, 10)).astype(np.float32)
    want = ort.InferenceSession(proto.SerializeToString()).run(None, {"x": data})
    got = foveanet.onnx.load(proto)(foveanet.tensor(data))
    for name, g, e in zip("cmavt", got, want):
        np.testing.assert_allclose(g.numpy(), e, rtol=1e-4, atol=1e-5, err_msg=name)


class _Fusable(tnn.Module):
    """Conv -> Relu, Conv -> Add -> Relu with the shortcut made before the conv and after it
    (torch's ResNet exports the projection after the block's second conv), Conv -> Clip
    (ReLU6), an Add that broadcasts, and a Conv whose output two nodes read."""

    def __init__(self):
        super().__init__()
        self.c1 = tnn.Conv2d(3, 8, 3, padding=1)
        self.c2 = tnn.Conv2d(8, 8, 3, padding=1)
        self.c3 = tnn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.proj = tnn.Conv2d(8, 16, 1, stride=2)
        self.c4 = tnn.Conv2d(16, 16, 3, padding=1, bias=False)
        self.c5 = tnn.Conv2d(16, 16, 1)
        self.c6 = tnn.Conv2d(16, 16, 1)
        self.shift = tnn.Parameter(torch.randn(1, 16, 1, 1))

    def forward(self, x):
        a = torch.relu(self.c1(x))
        b = torch.relu(self.c2(a) + a)                  # shortcut made before the conv
        c = torch.relu(self.c3(b) + self.proj(b))      # projection exported after c3
        d = TF.relu6(self.c4(c))
        e = self.c5(d)
        f = torch.relu(self.c6(d) + self.shift)        # planned, but the Add broadcasts
        return torch.relu(e + self.shift) * e.mean() + f  # e read twice: not planned


def test_conv_add_relu_chains_run_fused_under_no_grad_and_match_torch(tmp_path):
    """The inference fusions of interop/_onnx_fuse.py: which nodes each conv absorbs, the
    same outputs fused (no_grad, batch 1 on two threads: the one-image engine; batch 3)
    as node by node (autograd on) and as torch, and the fused step stays out of training."""
    from foveanet.interop import _onnx_fuse
    torch.manual_seed(0)
    net = _Fusable().eval()
    _torch_export(net, torch.randn(2, 3, 12, 12), tmp_path / "fuse.onnx", opset_version=17)
    model = foveanet.onnx.load(tmp_path / "fuse.onnx").eval()
    ops = [n.op_type for n in model._nodes]
    fused = {ops[i] + str(ops[:i].count("Conv")): tuple(ops[k] for k in f.absorbed)
             for i, f in model._fused.items()}
    # c1: Relu; c2: Add, Relu; c3 or proj (the later one): Add, Relu; c4: Clip; c6: Add,
    # Relu (at run time its shortcut's shape differs: node by node); c5: nothing
    assert sorted(fused.values()) == [("Add", "Relu")] * 3 + [("Clip",), ("Relu",)]
    assert sum(f.residual is not None for f in model._fused.values()) == 3
    n = foveanet.get_num_threads()
    try:
        for threads, batch in ((2, 1), (1, 3)):
            foveanet.set_num_threads(threads)
            x = torch.randn(batch, 3, 12, 12)
            expected = net(x).detach().numpy()
            plain = _run(model, x)                        # autograd on: node by node
            calls, inner = [], _onnx_fuse.conv
            _onnx_fuse.conv = lambda *a: calls.append(inner(*a)) or calls[-1]
            try:
                with foveanet.no_grad():
                    out = _run(model, x)
            finally:
                _onnx_fuse.conv = inner
            assert len(calls) == 5 and sum(c is not None for c in calls) == 4
            for got in (plain, out):
                np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    finally:
        foveanet.set_num_threads(n)
    y = model(foveanet.tensor(x.numpy()))          # still trainable: no fused step recorded
    y.sum().backward()
    assert model.state_dict()["c4.weight"].shape == (16, 16, 3, 3)
    assert dict(model.named_parameters())["c4.weight"].grad is not None


class _WithBN(tnn.Module):
    """Conv -> BN -> ReLU, Conv -> BN -> Add -> ReLU, depthwise Conv -> BN -> ReLU6."""

    def __init__(self):
        super().__init__()
        self.c1, self.b1 = tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8)
        self.c2, self.b2 = tnn.Conv2d(8, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8)
        self.c3, self.b3 = tnn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False), tnn.BatchNorm2d(8)
        for bn in (self.b1, self.b2, self.b3):   # statistics far from the identity
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.3, 3)
            bn.weight.data.uniform_(0.5, 2)
            bn.bias.data.uniform_(-1, 1)

    def forward(self, x):
        a = torch.relu(self.b1(self.c1(x)))
        a = torch.relu(self.b2(self.c2(a)) + a)
        return TF.relu6(self.b3(self.c3(a)))


def test_batch_norm_kept_in_the_graph_folds_into_the_conv_in_eval_only(tmp_path):
    """A graph exported with its BatchNormalization nodes (training=PRESERVE): in eval mode
    under no_grad each Conv -> BN [-> Add] -> Relu/Clip runs as one conv with BN's scale and
    shift (in the weights of the depthwise one), torch's outputs; in training mode the BN
    normalises with the batch's statistics, so the nodes run one by one."""
    from foveanet.interop import _onnx_fuse
    torch.manual_seed(1)
    net = _WithBN().eval()
    _torch_export(net, torch.randn(2, 3, 10, 10), tmp_path / "bn.onnx", opset_version=17,
                  do_constant_folding=False, training=torch.onnx.TrainingMode.PRESERVE)
    model = foveanet.onnx.load(tmp_path / "bn.onnx").eval()
    ops = [n.op_type for n in model._nodes]
    assert sorted(tuple(ops[k] for k in f.absorbed) for f in model._fused.values()) == [
        ("BatchNormalization", "Add", "Relu"), ("BatchNormalization", "Clip"),
        ("BatchNormalization", "Relu")]
    x = torch.randn(1, 3, 10, 10)
    calls, inner = [], _onnx_fuse.conv
    _onnx_fuse.conv = lambda *a: calls.append(inner(*a)) or calls[-1]
    try:
        with foveanet.no_grad():
            out = _run(model, x)
        np.testing.assert_allclose(out, net(x).detach().numpy(), rtol=1e-4, atol=1e-5)
        assert len(calls) == 3 and all(c is not None for c in calls)
        model.train()
        net.train()
        calls.clear()
        with foveanet.no_grad():
            out = _run(model, torch.cat([x, x + 1]))
        np.testing.assert_allclose(out, net(torch.cat([x, x + 1])).detach().numpy(), rtol=1e-4,
                                   atol=1e-5)
        assert len(calls) == 3 and all(c is None for c in calls)
    finally:
        _onnx_fuse.conv = inner
