"""foveanet.onnx.export: models built from foveanet.nn run in onnxruntime with foveanet's (and,
for the reference CNN, torch's) outputs; what cannot be exported is named."""
import numpy as np
import pytest
import torch

import foveanet
import foveanet.functional as F
from foveanet import nn
from tests.interop.test_pretrained import FoveaNet
from tests.interop.test_torch_pt import torch_net

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")


class Zoo(nn.Module):
    """Layers and tensor ops beyond the reference CNN (a small U-Net-like path)."""

    def __init__(self):
        super().__init__()
        self.down = nn.Sequential(nn.Conv2d(3, 6, 3, stride=2, padding=1), nn.BatchNorm2d(6), nn.LeakyReLU(0.2))
        self.up = nn.ConvTranspose2d(6, 4, 3, stride=2, padding=1, output_padding=1)
        self.skip = nn.Conv2d(3, 4, 1)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.smooth = nn.Sequential(nn.Conv2d(8, 8, 3, padding="same", groups=2), nn.GELU(), nn.ELU(),
                                    nn.AvgPool2d(3, stride=2, padding=1), nn.SiLU())
        self.drop = nn.Dropout(0.5)
        self.seq = nn.Conv1d(8, 4, 3, padding=1)
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(4 * 25, 6), nn.Tanh(), nn.Softmax(dim=1))

    def forward(self, x):
        y = self.down(x)
        y = foveanet.cat([self.up(y), self.skip(x)], 1) * F.sigmoid(self.skip(x).mean(1, keepdim=True))
        y = self.smooth(y) - 0.5 * F.interpolate(self.upsample(y[:, :, 1::6, 1::6]), size=(8, 8),
                                                 mode="bilinear")
        y = F.pad(self.drop(y), (1, 1, 2, 0), mode="reflect")
        z = self.seq(y.view(y.size(0), 8, -1)).permute(0, 2, 1)
        return self.head(F.max_pool2d(z.reshape(z.shape[0], 10, 10, 4).transpose(1, 3), (2, 2), ceil_mode=True))


def _ort(path, x):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_reference_cnn_runs_in_onnxruntime_with_torch_outputs(tmp_path):
    reference = torch_net()
    model = FoveaNet()
    model.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    model.train()
    running = model.stem[1].running_mean.numpy().copy()
    proto = foveanet.onnx.export(model, np.random.default_rng(0).standard_normal((2, 3, 16, 16), dtype=np.float32),
                                 tmp_path / "net.onnx")
    assert model.training and model.stem[1].training  # modes are restored...
    np.testing.assert_array_equal(model.stem[1].running_mean.numpy(), running)  # ...stats untouched
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Add") == 1 and ops.count("Concat") == 1 and ops.count("BatchNormalization") == 2
    assert {i.name for i in proto.graph.initializer} >= {"stem.0.weight", "stem.1.running_var", "fc.bias"}
    for batch in (1, 4):  # dynamic batch axis
        x = torch.randn(batch, 3, 16, 16)
        np.testing.assert_allclose(_ort(tmp_path / "net.onnx", x.numpy()), reference(x).detach().numpy(),
                                   rtol=1e-4, atol=1e-4)


def test_layer_zoo_matches_foveanet_in_onnxruntime_and_round_trips(tmp_path):
    foveanet.manual_seed(3)
    model = Zoo().eval()
    for bn in (model.down[1],):
        bn.running_mean.data[...] = np.linspace(-0.3, 0.3, 6, dtype=np.float32)
        bn.running_var.data[...] = np.linspace(0.5, 1.5, 6, dtype=np.float32)
    x = np.random.default_rng(1).standard_normal((2, 3, 16, 16), dtype=np.float32)
    foveanet.onnx.export(model, x, tmp_path / "zoo.onnx")
    ops = {n.op_type for n in onnx.load(tmp_path / "zoo.onnx").graph.node}
    assert {"ConvTranspose", "Resize", "Pad", "Erf", "Transpose", "Softmax", "ReduceMean", "Slice"} <= ops
    x3 = np.random.default_rng(2).standard_normal((3, 3, 16, 16), dtype=np.float32)
    with foveanet.no_grad():
        want = model(foveanet.tensor(x3)).numpy()
    np.testing.assert_allclose(_ort(tmp_path / "zoo.onnx", x3), want, rtol=1e-4, atol=1e-4)
    back = foveanet.onnx.load(tmp_path / "zoo.onnx").eval()
    np.testing.assert_allclose(back(foveanet.tensor(x3)).numpy(), want, rtol=1e-4, atol=1e-5)


def test_opset_20_uses_the_gelu_operator(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.GELU(approximate="tanh"))
    x = np.random.default_rng(0).standard_normal((3, 4), dtype=np.float32)
    proto = foveanet.onnx.export(model, x, tmp_path / "g.onnx", opset=20)
    assert [n.op_type for n in proto.graph.node][:2] == ["Gemm", "Gelu"]
    np.testing.assert_allclose(_ort(tmp_path / "g.onnx", x), model(foveanet.tensor(x)).numpy(), atol=1e-5)


class _Norm(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.norm = nn.LayerNorm([2, 4, 4])

    def forward(self, x):
        return self.norm(self.conv(x))


def test_unknown_op_is_named_and_nothing_is_patched(tmp_path):
    conv2d, apply = F.conv2d, foveanet.Function.apply
    with pytest.raises(ValueError, match=r"no ONNX mapping for layer_norm .* in module 'norm' \(LayerNorm\)"):
        foveanet.onnx.export(_Norm(), np.zeros((1, 1, 6, 6), np.float32), tmp_path / "n.onnx")
    assert F.conv2d is conv2d and foveanet.Function.apply == apply
    assert not (tmp_path / "n.onnx").exists()
    with pytest.raises(ValueError, match=r"no ONNX mapping for Tensor\.var \(Var\) in module '_Var'"):
        foveanet.onnx.export(_Var(), np.zeros((2, 3), np.float32), tmp_path / "v.onnx")


class _Var(nn.Module):
    def forward(self, x):
        return x.var(1)


@pytest.mark.parametrize("size, out", [(8, 1), (8, 2), (2, 6), (1, 7)])
def test_adaptive_pooling_down_and_up(tmp_path, size, out):
    model = nn.Sequential(nn.Conv2d(2, 3, 1), nn.AdaptiveAvgPool2d(out))
    x = np.random.default_rng(size).standard_normal((2, 2, size, size), dtype=np.float32)
    foveanet.onnx.export(model, x, tmp_path / "p.onnx")
    np.testing.assert_allclose(_ort(tmp_path / "p.onnx", x), model(foveanet.tensor(x)).numpy(), atol=1e-6)


def test_export_leaves_lazily_loaded_names_as_they_were(tmp_path):
    # foveanet.cat loads on first use; touched for the first time inside an export it was
    # cached on the package as the export's wrapper, and every later export then failed with
    # "no ONNX mapping for cat". A fresh process is needed for the name to be still unloaded.
    script = f"""
import foveanet, foveanet.nn as nn
assert "cat" not in vars(foveanet)
class M(nn.Module):
    def forward(self, x):
        return foveanet.cat([x, x], 1)
for i in range(2):
    foveanet.onnx.export(M(), foveanet.randn(1, 2), r"{tmp_path}/m" + str(i) + ".onnx")
from foveanet.autograd.shape_ops import cat
assert foveanet.cat is cat, foveanet.cat
"""
    import subprocess
    import sys
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


class _Meet(nn.Module):
    """Waits mid-forward until every other thread of the test is mid-forward too, so that the
    exports overlap op for op."""

    def __init__(self, barrier):
        super().__init__()
        self.barrier = barrier

    def forward(self, x):
        if self.barrier is not None:
            self.barrier.wait(timeout=60)
        return x


def test_two_threads_export_different_models_at_once(tmp_path):
    import threading

    barrier = threading.Barrier(3)
    foveanet.manual_seed(4)
    models = {
        "a": nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), _Meet(barrier), nn.MaxPool2d(2), nn.Flatten(),
                           nn.Linear(4 * 3 * 3, 5)),
        "b": nn.Sequential(nn.Conv2d(3, 2, 1), nn.Sigmoid(), _Meet(barrier), nn.AvgPool2d(2), nn.Tanh()),
    }
    x = np.random.default_rng(5).standard_normal((2, 3, 8, 8), dtype=np.float32)
    errors, grads = [], []

    def export(key):
        try:
            foveanet.onnx.export(models[key], x, tmp_path / f"{key}.onnx")
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    def train():  # a thread that records graphs while the exporters run under no_grad
        w = foveanet.tensor(np.ones(3, np.float32), requires_grad=True)
        barrier.wait(timeout=60)
        grads.append((w * 2).requires_grad)

    threads = [threading.Thread(target=export, args=(k,)) for k in models] + [threading.Thread(target=train)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert grads == [True]
    ops = {k: [n.op_type for n in onnx.load(tmp_path / f"{k}.onnx").graph.node] for k in models}
    assert ops == {"a": ["Conv", "Relu", "MaxPool", "Flatten", "Gemm", "Identity"],
                   "b": ["Conv", "Sigmoid", "AveragePool", "Tanh", "Identity"]}
    for key, model in models.items():
        model[2].barrier = None
        np.testing.assert_allclose(_ort(tmp_path / f"{key}.onnx", x), model(foveanet.tensor(x)).numpy(),
                                   rtol=1e-5, atol=1e-6)


def test_every_export_rule_is_reachable_by_the_tracer():
    # a rule whose op is not traceable would never run: the export would refuse the op instead
    from foveanet.interop.onnx_export import _handlers

    for key in _handlers():
        owner, _, name = key.rpartition(".")
        op = getattr(foveanet.Tensor, name) if owner else getattr(F, name, None) or getattr(foveanet, name)
        assert getattr(op, "trace_name", None) == key, key


class _SizesFromInput(nn.Module):
    """Tensors built in forward from the input's sizes: a zero plane and a ones mask of the
    batch's size, an expanded per-sample bias, a channel shuffle by view(b, ...)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(6 * 4 * 4, 5)
        self.bias = nn.Parameter(foveanet.tensor(np.linspace(-1, 1, 5, dtype=np.float32)))

    def forward(self, x):
        b, _, h, w = x.shape
        y = self.conv(x)
        y = y.view(b, 2, 2, h, w).transpose(1, 2).reshape(b, 4, h, w)       # channel shuffle
        y = foveanet.cat([y, foveanet.zeros(b, 1, h, w), foveanet.ones_like(x[:, :1])], 1)
        y = F.max_pool2d(y, 2).view(x.size(0), -1)
        return self.fc(y) + self.bias.unsqueeze(0).expand(b, -1) * foveanet.full((b, 1), 0.5)


def test_exported_at_batch_1_runs_at_batch_7(tmp_path):
    foveanet.manual_seed(6)
    model = _SizesFromInput().eval()
    proto = foveanet.onnx.export(model, np.zeros((1, 3, 8, 8), np.float32), tmp_path / "s.onnx")
    assert {"Shape", "ConstantOfShape", "Expand"} <= {n.op_type for n in proto.graph.node}
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    x = np.random.default_rng(7).standard_normal((7, 3, 8, 8), dtype=np.float32)
    want = model(foveanet.tensor(x)).numpy()
    np.testing.assert_allclose(_ort(tmp_path / "s.onnx", x), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(foveanet.onnx.load(tmp_path / "s.onnx")(x).numpy(), want, rtol=1e-5, atol=1e-5)


def test_dynamic_axes_as_in_torch(tmp_path):
    model = nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.ReLU())
    x = np.zeros((1, 2, 6, 6), np.float32)
    proto = foveanet.onnx.export(model, x, tmp_path / "d.onnx",
                                 dynamic_axes={"input": {0: "n", 2: "h"}, "output": [0, 3]})
    dims = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in (proto.graph.input[0], proto.graph.output[0])]
    assert dims == [["n", 2, "h", 6], ["output_dynamic_axes_0", 3, 6, "output_dynamic_axes_3"]]
    x = np.random.default_rng(8).standard_normal((3, 2, 9, 6), dtype=np.float32)
    np.testing.assert_allclose(_ort(tmp_path / "d.onnx", x), model(foveanet.tensor(x)).numpy(), atol=1e-6)
    static = foveanet.onnx.export(model, x, tmp_path / "f.onnx", dynamic_batch=False)
    assert static.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 3
    with pytest.raises(ValueError, match="dynamic_axes names 'image'"):
        foveanet.onnx.export(model, x, tmp_path / "e.onnx", dynamic_axes={"image": [0]})


class _Assign(nn.Module):
    def forward(self, x):
        y = x * 2
        y[:, 0] = 0.0
        return y


def test_assignment_into_a_graph_value_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"__setitem__.*assigning into a tensor computed from the input"):
        foveanet.onnx.export(_Assign(), np.ones((1, 3), np.float32), tmp_path / "a.onnx")


class _Mask(nn.Module):
    """Comparisons and detach on values computed from the input: no Function records them."""

    def forward(self, x):
        y = x * 3 - 1
        return y * (y > 0).to(np.float32) + (y <= -2).to(np.float32) + x.detach() * (x == x).to(np.float32)


def test_comparisons_and_detach_are_exported_as_ops_not_constants(tmp_path):
    model = _Mask()
    proto = foveanet.onnx.export(model, np.zeros((1, 4), np.float32), tmp_path / "m.onnx")
    assert {"Greater", "LessOrEqual", "Equal"} <= {n.op_type for n in proto.graph.node}
    x = np.random.default_rng(9).standard_normal((5, 4), dtype=np.float32)
    np.testing.assert_allclose(_ort(tmp_path / "m.onnx", x), model(foveanet.tensor(x)).numpy(), atol=1e-6)


class _ArgMax(nn.Module):
    def forward(self, x):
        return x + x.argmax(dim=1, keepdim=True).to(np.float32)


def test_an_op_without_mapping_on_a_graph_value_is_refused(tmp_path):
    with pytest.raises(NotImplementedError, match="argmax of a value computed from the input"):
        foveanet.onnx.export(_ArgMax(), np.ones((1, 3), np.float32), tmp_path / "a.onnx")


class _SizeArithmetic(nn.Module):
    """Sizes computed from the input's: b * 2 rows, h * w columns, b // 2 pairs, b + 1 rows."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)

    def forward(self, x):
        b, _, h, w = x.shape
        y = self.conv(x).view(x.size(0) * 2, 2, h * w)             # two half-channel groups
        pairs = y.reshape(b // 2, 2 * 2, -1).sum(2)                  # samples paired up
        pad = foveanet.zeros(b + 1 - b, pairs.shape[1])              # one row, from sizes
        return foveanet.cat([pairs, pad], 0)


def test_sizes_computed_from_the_input_follow_the_batch(tmp_path):
    foveanet.manual_seed(8)
    model = _SizeArithmetic().eval()
    proto = foveanet.onnx.export(model, np.zeros((2, 3, 5, 5), np.float32), tmp_path / "a.onnx")
    assert {"Mul", "Div", "Add", "Sub"} <= {n.op_type for n in proto.graph.node}
    x = np.random.default_rng(9).standard_normal((6, 3, 5, 5), dtype=np.float32)
    want = model(foveanet.tensor(x)).numpy()
    assert want.shape == (4, 4)
    np.testing.assert_allclose(_ort(tmp_path / "a.onnx", x), want, rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(foveanet.onnx.load(tmp_path / "a.onnx")(x).numpy(), want, rtol=1e-5, atol=1e-4)
