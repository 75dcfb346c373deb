"""Devices and the CPU stand-in for CuPy: parsing, clear errors, and the stand-in's refusals."""
import sys

import numpy as np
import pytest

import foveanet as fn
from foveanet.backend import devices, standin


def test_device_parses_as_torch_device():
    assert str(fn.device("cuda")) == "cuda:0" and fn.device("cuda:2").index == 2
    assert fn.device("cpu") == "cpu" and fn.device("cpu").index is None
    assert fn.device("cuda", 1) == fn.device("cuda:1") and len({fn.device("cuda"), fn.device("cuda:0")}) == 1
    for bad in ("gpu", "cuda:x", "cpu:1"):
        with pytest.raises(ValueError, match="device"):
            fn.device(bad)


def test_cuda_without_cupy_says_what_to_install(monkeypatch):
    monkeypatch.setattr(devices, "_cuda", None)
    monkeypatch.setattr(devices, "_cuda_error", None)
    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    assert not fn.cuda.is_available() and fn.cuda.device_count() == 0
    with pytest.raises(RuntimeError, match="cupy-cuda12x"):
        fn.tensor([1.0]).to("cuda")
    with pytest.raises(RuntimeError, match="cupy-cuda12x"):
        fn.zeros(2, device="cuda")


@pytest.mark.parametrize("call", [
    lambda x: np.exp(x), lambda x: np.zeros_like(x), lambda x: np.asarray(x),
    lambda x: x + np.ones(3), lambda x: np.ones(3) * x, lambda x: x[np.array([0, 1])],
])
def test_standin_refuses_numpy_on_device_arrays(call):
    x = standin.xp.arange(3.0)
    with pytest.raises(standin.StandInError):
        call(x)


def test_standin_offers_exactly_cupys_names():
    xp = standin.xp
    with pytest.raises(AttributeError, match="CuPy"):
        xp.errstate  # noqa: B018  NumPy has it, CuPy does not
    with pytest.raises(AttributeError, match="normal"):
        xp.random.default_rng(0).normal  # noqa: B018  cupy's Generator has standard_normal only
    x = xp.arange(6.0).reshape(2, 3)
    assert isinstance(x.sum(), xp.ndarray) and float(x.sum()) == 15.0  # 0-d device array, as CuPy
    assert xp.asnumpy(xp.maximum(x, 2.0)).tolist() == [[2, 2, 2], [3, 4, 5]]
    acc = xp.zeros(3)
    xp.add.at(acc, xp.asarray([0, 0, 2]), 1.0)
    assert acc.get().tolist() == [2, 0, 1]


def test_tensors_move_and_gradients_come_back():
    with standin.cuda():
        x = fn.tensor([1.0, -2.0, 3.0], requires_grad=True)
        y = x.to("cuda")
        assert y.device == fn.device("cuda") and isinstance(y.data, standin.DeviceArray)
        y.backward(fn.tensor([1.0, 1.0, 2.0], device="cuda"))
        assert x.grad.device.type == "cpu" and x.grad.numpy().tolist() == [1.0, 1.0, 2.0]
        assert y.cpu().numpy().tolist() == [1.0, -2.0, 3.0]
        with pytest.raises(TypeError, match=r"\.cpu\(\)\.numpy\(\)"):
            y.numpy()
        z = fn.tensor([1.0, 2.0], device="cuda", requires_grad=True)
        assert fn.zeros_like(z).device == z.device and fn.randn(2, device="cuda").is_cuda


def test_tensors_on_two_devices_in_one_op_raise_as_torch():
    with standin.cuda():
        a, b = fn.tensor([1.0, 2.0], device="cuda"), fn.tensor([1.0, 2.0])
        with pytest.raises(RuntimeError, match="same device, but found cpu and cuda:0"):
            a + b


def test_layers_built_with_device_live_there_and_match_the_cpu_build():
    import foveanet.nn as nn

    for make in (lambda d: nn.Conv2d(3, 4, 3, device=d), lambda d: nn.Embedding(10, 4, device=d),
                 lambda d: nn.LSTM(4, 5, device=d), lambda d: nn.Linear(4, 3, device=d),
                 lambda d: nn.BatchNorm2d(4, device=d), lambda d: nn.LayerNorm(4, device=d),
                 lambda d: nn.GroupNorm(2, 4, device=d)):
        fn.manual_seed(3)
        host = make(None)
        with standin.cuda():
            fn.manual_seed(3)
            dev = make("cuda")
            pairs = zip((*host.named_parameters(), *host.named_buffers()),
                        (*dev.named_parameters(), *dev.named_buffers()))
            for (name, p), (_, q) in pairs:
                assert q.device == fn.device("cuda"), name
                np.testing.assert_array_equal(q.cpu().numpy(), p.numpy(), err_msg=name)
