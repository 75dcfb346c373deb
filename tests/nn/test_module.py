"""Module machinery: registration, iteration, hooks, modes, state_dict loading, dtype, repr."""
import copy
from collections import OrderedDict

import numpy as np
import pytest
import torch

import foveanet as fn
import foveanet.nn as nn
import foveanet.nn.functional as F
from tests.torch_ref import close


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 6, 3, stride=2)
        self.fc = nn.Linear(6 * 3 * 3, 5)

    def forward(self, x):
        x = F.relu(self.bn(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.conv2(x)), 1)
        return self.fc(x.flatten(1))


class TorchNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(1, 4, 3, padding=1)
        self.bn = torch.nn.BatchNorm2d(4)
        self.conv2 = torch.nn.Conv2d(4, 6, 3, stride=2)
        self.fc = torch.nn.Linear(6 * 3 * 3, 5)

    def forward(self, x):
        x = torch.relu(self.bn(self.conv1(x)))
        x = torch.nn.functional.max_pool2d(torch.relu(self.conv2(x)), 1)
        return self.fc(x.flatten(1))


def np_state(m):
    return {k: v.detach().numpy().copy() for k, v in m.state_dict().items()}


def test_tiny_cnn_gradients_equal_torch():
    ours, theirs = Net(), TorchNet()
    ours.load_state_dict(np_state(theirs))
    x = np.random.default_rng(0).standard_normal((3, 1, 7, 7)).astype(np.float32)
    y = np.array([0, 3, 4])
    lf = F.cross_entropy(ours(x), y)
    lt = torch.nn.functional.cross_entropy(theirs(torch.tensor(x)), torch.tensor(y))
    close(lf, lt)
    lf.backward(), lt.backward()
    theirs_params = dict(theirs.named_parameters())
    names = [k for k, _ in ours.named_parameters()]
    assert names == list(theirs_params)
    for k, p in ours.named_parameters():
        close(p.grad, theirs_params[k].grad, rtol=1e-4, atol=1e-5, what=k)
    for k, b in theirs.state_dict().items():
        close(ours.state_dict()[k], b, rtol=1e-5, atol=1e-6, what=k)


def test_registration_and_deletion():
    m = nn.Module()
    m.w = nn.Parameter(fn.zeros(3))
    m.register_buffer("stat", fn.ones(2))
    m.register_buffer("scratch", fn.zeros(2), persistent=False)
    m.child = nn.Linear(2, 2)
    m.plain = 5
    assert list(m._parameters) == ["w"] and list(m._buffers) == ["stat", "scratch"]
    assert list(m.state_dict()) == ["w", "stat", "child.weight", "child.bias"]
    assert [n for n, _ in m.named_buffers()] == ["stat", "scratch"]
    with pytest.raises(TypeError, match="cannot assign 'Tensor' as parameter 'w'"):
        m.w = fn.zeros(3)
    with pytest.raises(TypeError, match="child module 'child'"):
        m.child = 3
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", fn.zeros(1))
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'nope'"):
        m.nope
    m.child = nn.ReLU()  # a module replaced by a module keeps its slot
    del m.w, m.stat
    assert "w" not in m._parameters and "stat" not in m._buffers
    m.stat = fn.ones(1)  # after deletion a tensor is an ordinary attribute again
    assert "stat" not in m._buffers
    m.w = None
    assert m.w is None
    with pytest.raises(AttributeError, match="before Module.__init__"):
        class Bad(nn.Module):
            def __init__(self):
                self.p = nn.Parameter(fn.zeros(1))
        Bad()


def test_shared_parameters_and_modules_are_yielded_once():
    lin = nn.Linear(3, 3)
    m = nn.Sequential(lin, nn.ReLU(), lin)
    other = nn.Linear(3, 3)
    other.weight = lin.weight  # tied
    m.append(other)
    names = [n for n, _ in m.named_parameters()]
    assert names == ["0.weight", "0.bias", "3.bias"]
    assert len(list(m.parameters())) == 3
    assert [n for n, _ in m.named_modules()] == ["", "0", "1", "3"]
    assert [n for n, _ in m.named_children()] == ["0", "1", "3"]
    # state_dict keeps every name, like PyTorch, and loading fills all of them
    assert list(m.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias", "3.weight", "3.bias"]


def test_hooks_fire_with_inputs_and_outputs_and_are_removable():
    m = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    seen = []
    h1 = m[0].register_forward_hook(lambda mod, args, out: seen.append((mod, args, out)))
    h2 = m[1].register_forward_pre_hook(lambda mod, args: (args[0] * 0 - 1,))
    x = fn.randn(2, 4)
    y = m(x)
    assert len(seen) == 1 and seen[0][0] is m[0] and seen[0][1][0] is x
    assert seen[0][2].shape == (2, 3)
    np.testing.assert_array_equal(y.numpy(), 0)  # the pre-hook replaced ReLU's input by -1
    h1.remove()
    h2.remove()
    y = m(x)
    assert len(seen) == 1
    np.testing.assert_allclose(y.numpy(), np.maximum(seen[0][2].numpy(), 0), rtol=1e-6)
    with m.register_forward_hook(lambda mod, args, out: out * 2):
        np.testing.assert_allclose(m(x).numpy(), 2 * y.numpy(), rtol=1e-6)
    np.testing.assert_allclose(m(x).numpy(), y.numpy(), rtol=1e-6)


def test_train_eval_propagate_and_zero_grad_apply_requires_grad():
    m = Net()
    assert all(s.training for s in m.modules())
    assert m.eval() is m and not any(s.training for s in m.modules())
    m.train()
    assert all(s.training for s in m.modules())
    m(np.ones((2, 1, 7, 7), np.float32)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad.numpy() == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    order = []
    m.apply(lambda s: order.append(type(s).__name__))
    assert order == ["Conv2d", "BatchNorm2d", "Conv2d", "Linear", "Net"]
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())
    assert m.get_submodule("bn") is m.bn
    with pytest.raises(AttributeError, match="no submodule `x`"):
        m.get_submodule("bn.x")


def test_load_state_dict_strict_errors_name_every_key():
    m = Net()
    state = np_state(TorchNet())
    del state["fc.bias"], state["bn.running_var"]
    state["extra.weight"] = np.zeros(3, np.float32)
    state["fc.weightt"] = np.zeros(3, np.float32)
    before = m.conv1.weight.numpy().copy()
    with pytest.raises(RuntimeError) as err:
        m.load_state_dict(state)
    msg = str(err.value)
    for key in ("fc.bias", "bn.running_var", "extra.weight", "fc.weightt"):
        assert f'"{key}"' in msg
    assert "Missing key(s)" in msg and "Unexpected key(s)" in msg
    np.testing.assert_array_equal(m.conv1.weight.numpy(), before)  # nothing half-loaded
    result = m.load_state_dict(state, strict=False)
    assert result.missing_keys == ["bn.running_var", "fc.bias"]
    assert result.unexpected_keys == ["extra.weight", "fc.weightt"]
    np.testing.assert_array_equal(m.conv1.weight.numpy(), state["conv1.weight"])


def test_load_state_dict_shape_mismatch_always_errors():
    m = Net()
    state = np_state(TorchNet())
    state["fc.weight"] = np.zeros((5, 53), np.float32)
    for strict in (True, False):
        with pytest.raises(RuntimeError, match=r"size mismatch for fc.weight: .*shape \(5, 53\).*shape in "
                                               r"current model is \(5, 54\)"):
            m.load_state_dict(state, strict=strict)


def test_load_casts_into_existing_arrays_and_tolerates_missing_counter():
    m = nn.BatchNorm2d(3)
    weight = m.weight
    arr = m.weight.data
    state = {"weight": np.arange(3, dtype=np.float64), "bias": fn.tensor([1.0, 2.0, 3.0]),
             "running_mean": np.zeros(3), "running_var": np.ones(3)}
    result = m.load_state_dict(state)
    assert repr(result) == "<All keys matched successfully>"
    assert m.weight is weight and m.weight.data is arr and arr.dtype == np.float32
    np.testing.assert_array_equal(arr, [0, 1, 2])
    m.load_state_dict({**state, "num_batches_tracked": np.array(7)})
    assert m.num_batches_tracked.item() == 7 and m.num_batches_tracked.dtype == np.int64


def test_to_double_keeps_parameter_objects_and_casts_float_buffers():
    m = Net()
    params = list(m.parameters())
    m.double()
    assert [id(p) for p in m.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 for p in m.parameters())
    assert m.bn.running_mean.dtype == np.float64 and m.bn.num_batches_tracked.dtype == np.int64
    assert m(np.ones((1, 1, 7, 7))).dtype == np.float64
    m.to("cpu").to(np.float32)
    assert all(p.dtype == np.float32 for p in m.parameters())


def test_deepcopy_gives_independent_parameters():
    m = Net()
    c = copy.deepcopy(m)
    assert isinstance(c.fc.weight, nn.Parameter) and c.fc.weight.requires_grad
    c.fc.weight.data[...] = 0
    assert not np.all(m.fc.weight.numpy() == 0)


def test_repr_matches_torch_for_nested_models():
    ours = nn.Sequential(OrderedDict(
        features=nn.Sequential(nn.Conv2d(3, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(inplace=True)),
        pool=nn.AdaptiveAvgPool2d((1, 1)), flat=nn.Flatten(), fc=nn.Linear(64, 10)))
    theirs = torch.nn.Sequential(OrderedDict(
        features=torch.nn.Sequential(torch.nn.Conv2d(3, 64, 3, padding=1), torch.nn.BatchNorm2d(64),
                                     torch.nn.ReLU(inplace=True)),
        pool=torch.nn.AdaptiveAvgPool2d((1, 1)), flat=torch.nn.Flatten(), fc=torch.nn.Linear(64, 10)))
    assert repr(ours) == repr(theirs)
    assert repr(nn.Conv2d(3, 64, 3, padding=1)) == "Conv2d(3, 64, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))"
    ml = [nn.ReLU(), nn.ReLU(), nn.Linear(2, 3), nn.ReLU()]
    tl = [torch.nn.ReLU(), torch.nn.ReLU(), torch.nn.Linear(2, 3), torch.nn.ReLU()]
    assert repr(nn.ModuleList(ml)) == repr(torch.nn.ModuleList(tl))
    assert repr(nn.Parameter(fn.zeros(2))).startswith("Parameter containing:\ntensor(")


def test_containers():
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b, c)
    assert len(s) == 3 and s[0] is a and s[-1] is c and list(s) == [a, b, c]
    tail = s[1:]
    assert isinstance(tail, nn.Sequential) and list(tail._modules) == ["1", "2"]
    s.append(nn.Sigmoid())
    assert list(s._modules) == ["0", "1", "2", "3"]
    del s[1]
    assert list(s._modules) == ["0", "1", "2"] and s[1] is c
    with pytest.raises(IndexError, match="out of range"):
        s[5]
    ml = nn.ModuleList([a, b])
    ml.append(c)
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    md = nn.ModuleDict({"enc": a, "dec": c})
    assert list(md.keys()) == ["enc", "dec"] and "enc" in md
    assert list(md.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    pl = nn.ParameterList([fn.zeros(2), nn.Parameter(fn.ones(3))])
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"] and pl[0].requires_grad


def test_functional_module_reexports_and_falls_back():
    import foveanet.functional as base
    assert F.conv2d is base.conv2d and F.relu is base.relu
    base._late_op_for_test = lambda: 42
    try:
        assert F._late_op_for_test() == 42
    finally:
        del base._late_op_for_test
    with pytest.raises(AttributeError):
        F.no_such_op
