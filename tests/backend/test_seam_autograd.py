"""Autograd, modules, optimizers and checkpoints on 'cuda' give the CPU's numbers.

Each op runs on the CPU and on 'cuda' (the NumPy-backed stand-in here, which refuses any
direct NumPy call; real CuPy where it is installed, under the ``gpu`` mark) from the same
inputs; outputs and gradients must agree and live on the device. The stand-in computes with
NumPy, so its numbers are the CPU's exactly; a GPU's differ by rounding, hence the tolerance.
"""
import contextlib
import copy
import os

import numpy as np
import pytest

import foveanet as fn
import foveanet.nn as nn
from foveanet.backend import standin


def _has_cupy() -> bool:
    try:
        import cupy  # noqa: F401
    except ImportError:
        return False
    return fn.cuda.is_available()


@pytest.fixture(params=["standin", pytest.param("cupy", marks=[
    pytest.mark.gpu, pytest.mark.skipif(not _has_cupy(), reason="CuPy and a GPU are needed")])])
def cuda(request):
    """Yields the tolerance to compare with; inside, 'cuda' is the stand-in or the GPU."""
    on_gpu = request.param == "cupy"
    with (contextlib.nullcontext() if on_gpu else standin.cuda()):
        yield dict(rtol=1e-6, atol=1e-9) if on_gpu else dict(rtol=1e-12, atol=0)


def _pos(*shape):
    return ("+", shape)


# name -> (function of Tensors, input specs): a shape draws N(0, 1) float64, _pos(shape)
# draws U(0.5, 2) (for log, sqrt, pow), an int array is passed as it is (an index)
OPS = {
    "add_broadcast": (lambda a, b: a + b, [(3, 4), (4,)]),
    "sub_broadcast": (lambda a, b: a - b, [(3, 1), (3, 4)]),
    "rsub_scalar": (lambda a: 2.0 - a, [(3, 4)]),
    "mul_broadcast": (lambda a, b: a * b, [(2, 3, 4), (3, 1)]),
    "div": (lambda a, b: a / b, [(3, 4), _pos(3, 4)]),
    "rdiv_scalar": (lambda a: 1.0 / a, [_pos(5)]),
    "pow_tensor": (lambda a, b: a ** b, [_pos(3, 4), (3, 4)]),
    "pow_scalar": (lambda a: a ** 3, [(3, 4)]),
    "rpow_scalar": (lambda a: 2.0 ** a, [(3, 4)]),
    "neg": (lambda a: -a, [(3, 4)]),
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 5)]),
    "matmul_batched": (lambda a, b: a @ b, [(2, 3, 4), (4, 5)]),
    "matmul_vec_mat": (lambda a, b: a @ b, [(4,), (4, 5)]),
    "matmul_mat_vec": (lambda a, b: a @ b, [(3, 4), (4,)]),
    "matmul_dot": (lambda a, b: a @ b, [(4,), (4,)]),
    "clone": (lambda a: a.clone() * 2, [(3, 4)]),
    "cast": (lambda a: a.float().double() * 3, [(3, 4)]),
    "exp": (lambda a: a.exp(), [(3, 4)]),
    "log": (lambda a: a.log(), [_pos(3, 4)]),
    "sqrt": (lambda a: a.sqrt(), [_pos(3, 4)]),
    "abs": (lambda a: a.abs(), [(3, 4)]),
    "tanh": (lambda a: a.tanh(), [(3, 4)]),
    "sigmoid": (lambda a: a.sigmoid(), [(3, 4)]),
    "clamp": (lambda a: a.clamp(-0.5, 0.5), [(3, 4)]),
    "clamp_min": (lambda a: a.clamp(min=0.0), [(3, 4)]),
    "maximum_ties": (lambda a: a.maximum(a.clamp(max=0.0)), [(3, 4)]),
    "minimum": (lambda a, b: a.minimum(b), [(3, 4), (4,)]),
    "where": (lambda a, b: fn.where(a > b, a, b * 2), [(3, 4), (3, 4)]),
    "where_scalar": (lambda a: fn.where(a > 0, a, 0.0), [(3, 4)]),
    "sum": (lambda a: a.sum(), [(3, 4)]),
    "sum_dim": (lambda a: a.sum(dim=(0, 2), keepdim=True), [(2, 3, 4)]),
    "mean_dim": (lambda a: a.mean(dim=1), [(2, 3, 4)]),
    "var": (lambda a: a.var(dim=0, unbiased=False), [(3, 4)]),
    "std": (lambda a: a.std(), [(3, 4)]),
    "max_all_ties": (lambda a: a.clamp(max=0.3).max(), [(3, 4)]),
    "max_dim": (lambda a: a.max(dim=1)[0], [(3, 4)]),
    "min_dim_keepdim": (lambda a: a.min(dim=0, keepdim=True)[0], [(3, 4)]),
    "amax_dims": (lambda a: a.amax(dim=(1, 2)), [(2, 3, 4)]),
    "amin_keepdim": (lambda a: a.amin(dim=1, keepdim=True), [(3, 4)]),
    "gather": (lambda a: fn.gather(a, 1, [[0, 0], [2, 1], [3, 3]]), [(3, 4)]),
    "reshape": (lambda a: a.reshape(4, -1) * 2, [(2, 3, 2)]),
    "permute": (lambda a: a.permute(2, 0, 1) * 2, [(2, 3, 4)]),
    "transpose_T": (lambda a: a.transpose(0, 1) + a.T, [(3, 3)]),
    "expand": (lambda a: a.expand(2, 3, 4) * 2, [(3, 1)]),
    "squeeze_unsqueeze": (lambda a: a.unsqueeze(0).squeeze(2) * 2, [(3, 1, 4)]),
    "flatten": (lambda a: a.flatten(1) * 2, [(2, 3, 4)]),
    "index_basic": (lambda a: a[1:, ::2] * 2, [(3, 4)]),
    "index_list_repeats": (lambda a: a[[0, 2, 0]] * 2, [(3, 4)]),
    "index_tensor": (lambda a, i: a[:, i] * 2, [(3, 4), np.array([3, 1, 3])]),
    "index_mask": (lambda a: a[a > 0] * 2, [(3, 4)]),
    "cat": (lambda a, b: fn.cat([a, b, a], dim=1), [(2, 3), (2, 1)]),
    "stack": (lambda a, b: fn.stack([a, b], dim=1), [(2, 3), (2, 3)]),
    "split": (lambda a: a.split([1, 3], dim=1), [(2, 4)]),
    "chunk": (lambda a: a.chunk(2), [(4, 3)]),
}


def _inputs(specs):
    rng = np.random.default_rng(7)
    out = []
    for s in specs:
        if isinstance(s, np.ndarray):
            out.append(s)
        elif s[0] == "+":
            out.append(rng.uniform(0.5, 2.0, s[1]))
        else:
            out.append(rng.standard_normal(s))
    return out


def _run(op, arrays, device):
    """(outputs, input gradients, where they live) of ``op`` on ``device``, all on the host."""
    ts = [fn.tensor(a, device=device, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = op(*ts)
    outs = out if isinstance(out, (tuple, list)) else (out,)
    loss = None
    for k, o in enumerate(outs):
        probe = fn.tensor(np.random.default_rng(k).standard_normal(o.shape), dtype=o.dtype, device=device)
        term = (o * probe).sum()
        loss = term if loss is None else loss + term
    loss.backward()
    where = {str(o.device) for o in outs} | {str(t.grad.device) for t in ts if t.grad is not None}
    return ([o.cpu().numpy() for o in outs],
            [None if t.grad is None else t.grad.cpu().numpy() for t in ts], where)


@pytest.mark.parametrize("name", list(OPS))
def test_op_forward_and_backward_on_cuda_match_the_cpu(name, cuda):
    op, specs = OPS[name]
    arrays = _inputs(specs)
    outs, grads, where = _run(op, arrays, "cpu")
    d_outs, d_grads, d_where = _run(op, arrays, "cuda")
    assert where == {"cpu"} and d_where == {"cuda:0"}
    assert len(d_outs) == len(outs)
    for got, want in zip(d_outs, outs):
        np.testing.assert_allclose(got, want, **cuda)
    assert [g is None for g in d_grads] == [g is None for g in grads]
    assert any(g is not None for g in grads)
    for got, want in zip(d_grads, grads):
        if want is not None:
            np.testing.assert_allclose(got, want, **cuda)


def test_indices_and_comparisons_stay_on_the_device(cuda):
    a = _inputs([(3, 4)])[0]
    t, d = fn.tensor(a), fn.tensor(a, device="cuda")
    for f in (lambda x: x.argmax(), lambda x: x.argmin(dim=1, keepdim=True),
              lambda x: x.max(dim=0)[1], lambda x: x > 0.1, lambda x: x == x[0],
              lambda x: x <= 0, lambda x: x != 0.5):
        want, got = f(t), f(d)
        assert got.is_cuda and got.dtype == want.dtype
        np.testing.assert_array_equal(got.cpu().numpy(), want.numpy())


def test_gradcheck_runs_on_the_device(cuda):
    x = fn.tensor(_inputs([_pos(3, 4)])[0], device="cuda", requires_grad=True)
    assert fn.gradcheck(lambda t: (t.log() * t.sum(dim=0)).exp().sqrt(), (x,))
    with pytest.raises(fn.GradcheckError):
        fn.gradcheck(lambda t: t.detach() * t, (x,))


def test_numpy_of_a_device_tensor_refuses_as_torch(cuda):
    with pytest.raises(TypeError, match=r"\.cpu\(\)"):
        np.asarray(fn.ones(2, device="cuda"))


# ------------------------------------------------------------------ init functions
INITS = {
    "uniform_": lambda t: nn.init.uniform_(t, -0.5, 2.0),
    "normal_": lambda t: nn.init.normal_(t, 1.0, 0.5),
    "constant_": lambda t: nn.init.constant_(t, 0.25),
    "zeros_ones_": lambda t: nn.init.ones_(nn.init.zeros_(t)),
    "eye_": lambda t: nn.init.eye_(t),
    "xavier_uniform_": lambda t: nn.init.xavier_uniform_(t),
    "xavier_normal_": lambda t: nn.init.xavier_normal_(t, gain=2.0),
    "kaiming_uniform_": lambda t: nn.init.kaiming_uniform_(t, a=5 ** 0.5),
    "kaiming_normal_": lambda t: nn.init.kaiming_normal_(t, mode="fan_out"),
    "trunc_normal_": lambda t: nn.init.trunc_normal_(t, std=0.5, a=-0.4, b=0.6),
    "orthogonal_": lambda t: nn.init.orthogonal_(t),
}


@pytest.mark.parametrize("name", list(INITS))
def test_init_on_the_device_draws_what_the_cpu_draws(name, cuda):
    fn.manual_seed(3)
    want = INITS[name](fn.empty(4, 6)).numpy()
    fn.manual_seed(3)
    t = fn.empty(4, 6, device="cuda")
    data = t.data
    assert INITS[name](t) is t and t.data is data  # filled in place, on the device
    np.testing.assert_allclose(t.cpu().numpy(), want, **cuda)


# ------------------------------------------- a small CNN from autograd ops, trained
class ShiftConv(nn.Module):
    """A valid k x k convolution as the sum over kernel taps of a shifted slice times the
    tap's (C_in, C_out) matrix: slicing, permute and matmul only."""

    def __init__(self, cin, cout, k):
        super().__init__()
        self.k = k
        self.weight = nn.Parameter(fn.empty(cout, cin, k, k))
        self.bias = nn.Parameter(fn.empty(cout))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        nn.init.uniform_(self.bias, -0.3, 0.3)

    def forward(self, x):
        _, _, h, w = x.shape
        ho, wo, xs = h - self.k + 1, w - self.k + 1, x.permute(0, 2, 3, 1)
        out = self.bias
        for i in range(self.k):
            for j in range(self.k):
                out = out + xs[:, i:i + ho, j:j + wo, :] @ self.weight[:, :, i, j].T
        return out.permute(0, 3, 1, 2)


class Center(nn.Module):
    """Subtracts the batch mean per channel and keeps a running mean and a step count in
    buffers, as batch norm does."""

    def __init__(self, c):
        super().__init__()
        self.register_buffer("running_mean", fn.zeros(c))
        self.register_buffer("steps", fn.tensor(0))

    def forward(self, x):
        mean = x.mean(dim=(0, 2, 3), keepdim=True)
        if self.training:
            with fn.no_grad():
                self.running_mean.copy_(self.running_mean * 0.9 + mean.reshape(-1) * 0.1)
                self.steps.data += 1
        return x - mean


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = ShiftConv(1, 4, 3)
        self.center = Center(4)
        self.fc_weight = nn.Parameter(fn.empty(3, 36))
        self.fc_bias = nn.Parameter(fn.zeros(3))
        nn.init.xavier_uniform_(self.fc_weight)

    def forward(self, x, labels):
        h = self.center(self.conv(x)).clamp(min=0.0)                        # (N, 4, 6, 6)
        h = h.reshape(h.shape[0], 4, 3, 2, 3, 2).amax(dim=(3, 5)).flatten(1)  # 2x2 max pool
        z = h @ self.fc_weight.T + self.fc_bias
        z = z - z.amax(dim=1, keepdim=True)
        logp = z - z.exp().sum(dim=1, keepdim=True).log()
        return -fn.gather(logp, 1, [[c] for c in labels]).mean()


OPTIMIZERS = {
    "sgd_nesterov_wd": (lambda ps: fn.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-2),
                        lambda opt: fn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)),
    "sgd_dampening_maximize": (lambda ps: fn.optim.SGD(ps, lr=0.05, momentum=0.8, dampening=0.3, maximize=True),
                               lambda opt: fn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4)),
    "adam_amsgrad_wd": (lambda ps: fn.optim.Adam(ps, lr=0.01, weight_decay=1e-2, amsgrad=True),
                        lambda opt: fn.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0)),
    "adamw": (lambda ps: fn.optim.AdamW(ps, lr=0.01),
              lambda opt: fn.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.02, total_steps=5)),
}
_X = np.random.default_rng(5).standard_normal((4, 1, 8, 8)).astype(np.float32)
_LABELS = [0, 2, 1, 2]


def _train(device, name, steps=3):
    make_opt, make_sched = OPTIMIZERS[name]
    fn.manual_seed(0)
    model = TinyCNN()
    opt = make_opt(model.parameters())  # built before the move: the Parameters stay the same
    model.to(device)
    sched = make_sched(opt)
    x, losses = fn.tensor(_X, device=device), []
    for _ in range(steps):
        opt.zero_grad()
        loss = model(x, _LABELS)
        loss.backward()
        opt.step()
        sched.step(loss) if isinstance(sched, fn.optim.lr_scheduler.ReduceLROnPlateau) else sched.step()
        losses.append(float(loss))
    return model, opt, losses


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_a_small_cnn_trains_on_cuda_to_the_cpus_numbers(name, cuda):
    model, opt, losses = _train("cpu", name)
    d_model, d_opt, d_losses = _train("cuda", name)
    assert losses[-1] != losses[0]
    np.testing.assert_allclose(d_losses, losses, rtol=1e-6)
    assert [g["lr"] for g in d_opt.param_groups] == [g["lr"] for g in opt.param_groups]
    want = model.state_dict()
    for key, value in d_model.state_dict().items():
        assert value.is_cuda, key
        np.testing.assert_allclose(value.cpu().numpy(), want[key].numpy(), rtol=1e-6, atol=1e-6)
    for p in d_model.parameters():
        assert p.grad.is_cuda
        for key, state in d_opt.state[p].items():
            assert key == "step" or fn.backend.device_of(state) == fn.device("cuda"), key


class ReLU(nn.Module):
    def forward(self, x):
        return x.clamp(min=0.0)


def _layers_cnn():
    # no conv bias before batch norm: its gradient is rounding noise, which Adam would amplify
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, bias=False), nn.BatchNorm2d(6), ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(6, 3))


@pytest.mark.parametrize("name", ["sgd_nesterov_wd", "adamw"])
def test_a_cnn_of_nn_layers_trains_on_cuda_to_the_cpus_numbers(name, cuda):
    """nn.Conv2d, BatchNorm2d (running stats in buffers), pooling and Linear: the CPU runs its
    fast kernels, 'cuda' the reference formulas, so the two agree to rounding."""
    results = {}
    for device in ("cpu", "cuda"):
        fn.manual_seed(0)
        model = _layers_cnn()
        opt = OPTIMIZERS[name][0](model.parameters())
        model.to(device)
        for _ in range(3):
            opt.zero_grad()
            out = model(fn.tensor(_X, device=device))
            loss = ((out - 1.0) ** 2).mean()
            loss.backward()
            opt.step()
        assert all(v.device == fn.device(device) for v in model.state_dict().values())
        results[device] = {k: v.cpu().numpy() for k, v in model.state_dict().items()}
    assert results["cuda"]["1.num_batches_tracked"] == 3
    for key, value in results["cpu"].items():
        np.testing.assert_allclose(results["cuda"][key], value, rtol=1e-6, atol=1e-6, err_msg=key)


# ------------------------------------------------------------ Module.to, checkpoints
def test_module_to_moves_parameters_grads_and_buffers_in_place(cuda):
    model = TinyCNN()
    params, buffers = list(model.parameters()), list(model.buffers())
    model(fn.tensor(_X), _LABELS).backward()
    assert model.cuda() is model and list(model.parameters()) == params
    assert [id(b) for b in model.buffers()] == [id(b) for b in buffers]
    assert all(p.is_cuda and p.grad.is_cuda for p in params) and all(b.is_cuda for b in buffers)
    model.to("cuda", fn.float64)
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert model.center.running_mean.dtype == np.float64 and model.center.steps.dtype == np.int64
    model(fn.tensor(_X, device="cuda", dtype=fn.float64), _LABELS).backward()
    model.to(fn.tensor([1.0], dtype=fn.float32))  # another tensor's device and dtype: the CPU's
    assert all(not p.is_cuda and p.dtype == np.float32 for p in params)
    assert not model.center.steps.is_cuda
    with pytest.raises(TypeError, match="floating point"):
        model.to(fn.int64)


def test_layers_buffers_and_copies_follow_the_module(cuda):
    bn = nn.BatchNorm2d(3).cuda()
    assert all(b.is_cuda for b in bn.buffers()) and bn.num_batches_tracked.dtype == np.int64
    model = TinyCNN().cuda()
    twin = copy.deepcopy(model)
    assert isinstance(twin.conv.weight, nn.Parameter) and twin.conv.weight.is_cuda
    assert twin.conv.weight.data is not model.conv.weight.data and twin.center.running_mean.is_cuda
    x = fn.tensor(_X, device="cuda")
    np.testing.assert_array_equal(twin(x, _LABELS).cpu().numpy(), model(x, _LABELS).cpu().numpy())


def test_checkpoints_from_cuda_load_anywhere(cuda, tmp_path):
    d_model, d_opt, _ = _train("cuda", "adam_amsgrad_wd", steps=2)
    path = os.fspath(tmp_path / "ckpt.safetensors")
    fn.save({"model": d_model.state_dict(), "optim": d_opt.state_dict()}, path)
    state = fn.load(path)
    assert all(not v.is_cuda for v in state["model"].values())
    assert all(v.is_cuda for v in fn.load(path, map_location="cuda")["model"].values())

    def resume(device):
        model = TinyCNN().to(device)
        weight = model.conv.weight
        model.load_state_dict(state["model"])  # host arrays copied into the model's device
        assert model.conv.weight is weight and weight.device == fn.device(device)
        opt = fn.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-2, amsgrad=True)
        opt.load_state_dict(state["optim"])
        assert all(fn.backend.device_of(opt.state[p]["exp_avg"]) == fn.device(device)
                   for p in model.parameters())
        opt.zero_grad()
        model(fn.tensor(_X, device=device), _LABELS).backward()
        opt.step()
        return {k: v.cpu().numpy() for k, v in model.state_dict().items()}

    on_cpu, on_cuda = resume("cpu"), resume("cuda")
    for key, value in on_cpu.items():
        np.testing.assert_allclose(on_cuda[key], value, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(state["model"]["center.steps"].numpy(), 2)


def test_torch_and_safetensors_files_from_a_cuda_model(cuda, tmp_path):
    model = TinyCNN().cuda()
    want = {k: v.cpu().numpy() for k, v in model.state_dict().items()}
    fn.interop.save_torch(model.state_dict(), tmp_path / "m.pt")
    fn.interop.save_safetensors(model.state_dict(), tmp_path / "m.safetensors")
    for read in (fn.interop.load_torch(tmp_path / "m.pt"),
                 fn.interop.load_safetensors(tmp_path / "m.safetensors")):
        assert list(read) == list(want)
        for key, value in read.items():
            np.testing.assert_array_equal(np.asarray(value), want[key])
    back = TinyCNN().cuda()
    fn.interop.load_pretrained(back, tmp_path / "m.pt")
    assert back.fc_weight.is_cuda
    np.testing.assert_array_equal(back.fc_weight.cpu().numpy(), want["fc_weight"])


# ---------------------------------------------------------------- gradient clipping
@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
def test_clip_grad_norm_on_cuda_matches_the_cpu_and_torch(norm_type, cuda):
    import torch

    arrays = [a.astype(np.float32) for a in _inputs([(3, 4), (5,)])]
    ref = [torch.nn.Parameter(torch.tensor(a)) for a in arrays]
    for p, a in zip(ref, arrays):
        p.grad = torch.tensor(a * 3)
    want = torch.nn.utils.clip_grad_norm_(ref, 1.5, norm_type=norm_type).item()
    for device in ("cpu", "cuda"):
        ps = [nn.Parameter(fn.tensor(a, device=device)) for a in arrays]
        for p, a in zip(ps, arrays):
            p.grad = fn.tensor(a * 3, device=device)
        grads = [p.grad.data for p in ps]
        norm = nn.utils.clip_grad_norm_(iter(ps), 1.5, norm_type=norm_type)
        assert norm.device == fn.device(device) and all(p.grad.data is g for p, g in zip(ps, grads))
        np.testing.assert_allclose(float(norm), want, rtol=1e-6)
        for p, r in zip(ps, ref):
            np.testing.assert_allclose(p.grad.cpu().numpy(), r.grad.numpy(), rtol=1e-6, atol=1e-7)


def test_clip_grad_value_and_the_nonfinite_check_on_cuda(cuda):
    w = fn.tensor([0.5, -3.0, 2.5], device="cuda", requires_grad=True)
    (w * w).sum().backward()
    nn.utils.clip_grad_value_(w, 2.0)
    assert w.grad.is_cuda and w.grad.cpu().numpy().tolist() == [1.0, -2.0, 2.0]
    w.grad.data[0] = float("inf")
    with pytest.raises(RuntimeError, match="inf"):
        nn.utils.clip_grad_norm_([w], 1.0, error_if_nonfinite=True)
    with pytest.raises(ValueError, match="positive"):
        nn.utils.clip_grad_value_(w, 0.0)


def test_without_cuda_a_model_and_a_checkpoint_say_what_to_install(monkeypatch, tmp_path):
    from foveanet.backend import devices

    monkeypatch.setattr(devices, "_cuda", None)
    monkeypatch.setattr(devices, "_cuda_error", "device 'cuda' needs CuPy, which is not installed: "
                                                "pip install cupy-cuda12x")
    model = TinyCNN()
    weight = model.conv.weight.data
    with pytest.raises(RuntimeError, match="cupy-cuda12x"):
        model.cuda()
    assert model.conv.weight.data is weight  # nothing moved
    fn.save(model.state_dict(), tmp_path / "m.safetensors")
    with pytest.raises(RuntimeError, match="cupy-cuda12x"):
        fn.load(tmp_path / "m.safetensors", map_location="cuda")
