"""The layer ops on a device: convolutions, pooling, linear, norms, embedding and dropout give
the CPU's numbers on 'cuda', forward and backward, and leave their results there.

Here 'cuda' is the stand-in (``backend.standin``: NumPy data that refuses NumPy calls). The
tests marked ``gpu`` run the same table with real CuPy against the CPU and PyTorch; they are
skipped without a GPU (``benchmarks/gpu_check.sh`` runs them on one).

Each case calls the op through ``F`` with PyTorch's signature, so one lambda serves foveanet
and torch. The gradient comes in as ``y.backward(g)`` with g on the op's device.
"""
from typing import Callable, NamedTuple

import numpy as np
import pytest

import foveanet as fn
import foveanet.nn.functional as FF
from foveanet.backend import devices, standin


class Case(NamedTuple):
    call: Callable            # call(F, *tensors) -> tensor or (tensor, extras...)
    arrays: tuple             # the inputs as NumPy arrays
    stats: tuple = ()         # inputs without a gradient, updated in place (running stats)


def _r(*shape, seed=0):
    return np.random.default_rng(seed + sum(shape)).standard_normal(shape).astype(np.float32)


X = _r(2, 4, 9, 9)
IDS = np.array([[1, 2, 1], [0, 3, 3]])

CASES = {
    "conv2d stride 2 pad 1 bias": Case(lambda F, x, w, b: F.conv2d(x, w, b, stride=2, padding=1),
                                       (X, _r(6, 4, 3, 3), _r(6))),
    "conv2d groups dilation same": Case(lambda F, x, w: F.conv2d(x, w, groups=2, dilation=2, padding="same"),
                                        (X, _r(4, 2, 3, 3))),
    "conv2d depthwise 5x5 valid": Case(lambda F, x, w: F.conv2d(x, w, groups=4, padding="valid"),
                                       (X, _r(4, 1, 5, 5))),
    "conv2d 1x1 stride (2, 1)": Case(lambda F, x, w: F.conv2d(x, w, stride=(2, 1)), (X, _r(3, 4, 1, 1))),
    "conv1d pad same bias": Case(lambda F, x, w, b: F.conv1d(x, w, b, padding="same"),
                                 (_r(2, 3, 10), _r(5, 3, 4), _r(5))),
    "conv1d stride dilation": Case(lambda F, x, w: F.conv1d(x, w, stride=2, dilation=2, padding=2),
                                   (_r(2, 3, 11), _r(5, 3, 3))),
    "conv_transpose2d stride 2": Case(
        lambda F, x, w, b: F.conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1),
        (X, _r(4, 3, 3, 3), _r(3))),
    "conv_transpose2d groups dilation": Case(
        lambda F, x, w: F.conv_transpose2d(x, w, groups=2, dilation=2), (X, _r(4, 2, 2, 2))),
    "conv_transpose1d": Case(lambda F, x, w: F.conv_transpose1d(x, w, stride=3), (_r(2, 3, 7), _r(3, 2, 3))),
    "max_pool2d 3/2 pad 1": Case(lambda F, x: F.max_pool2d(x, 3, 2, 1), (X,)),
    "max_pool2d 2 indices": Case(lambda F, x: F.max_pool2d(x, 2, return_indices=True), (_r(2, 3, 8, 8),)),
    "max_pool2d dilation ceil": Case(lambda F, x: F.max_pool2d(x, 2, 2, dilation=2, ceil_mode=True,
                                                               return_indices=True), (X,)),
    "max_pool1d": Case(lambda F, x: F.max_pool1d(x, 3, 2, 1), (_r(2, 3, 10),)),
    "avg_pool2d tiling": Case(lambda F, x: F.avg_pool2d(x, 3), (X,)),
    "avg_pool2d pad exclude": Case(lambda F, x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), (X,)),
    "avg_pool2d ceil override": Case(lambda F, x: F.avg_pool2d(x, 2, ceil_mode=True, divisor_override=3),
                                     (X,)),
    "avg_pool1d": Case(lambda F, x: F.avg_pool1d(x, 3, 2, 1), (_r(2, 3, 10),)),
    "adaptive_avg_pool2d overlapping": Case(lambda F, x: F.adaptive_avg_pool2d(x, (4, 5)), (X,)),
    "adaptive_avg_pool2d global": Case(lambda F, x: F.adaptive_avg_pool2d(x, 1), (X,)),
    "adaptive_max_pool2d overlapping": Case(lambda F, x: F.adaptive_max_pool2d(x, (4, 5), return_indices=True),
                                            (X,)),
    "adaptive_max_pool1d": Case(lambda F, x: F.adaptive_max_pool1d(x, 4), (_r(2, 3, 10),)),
    "linear 3-d input": Case(lambda F, x, w, b: F.linear(x, w, b), (_r(2, 5, 7), _r(3, 7), _r(3))),
    "linear many rows": Case(lambda F, x, w: F.linear(x, w), (_r(40, 7), _r(3, 7))),
    "batch_norm train stats": Case(lambda F, x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=True),
                                   (X, _r(4), np.abs(_r(4)) + 0.5, _r(4), _r(4)), stats=(1, 2)),
    "batch_norm eval": Case(lambda F, x, m, v, w, b: F.batch_norm(x, m, v, w, b),
                            (X, _r(4), np.abs(_r(4)) + 0.5, _r(4), _r(4)), stats=(1, 2)),
    "batch_norm1d no affine": Case(lambda F, x, m, v: F.batch_norm(x, m, v, training=True, momentum=0.3),
                                   (_r(8, 5), _r(5), np.abs(_r(5)) + 0.5), stats=(1, 2)),
    "layer_norm": Case(lambda F, x, w, b: F.layer_norm(x, (9, 9), w, b), (X, _r(9, 9), _r(9, 9))),
    "group_norm": Case(lambda F, x, w, b: F.group_norm(x, 2, w, b), (X, _r(4), _r(4))),
    "instance_norm (group_norm G = C)": Case(lambda F, x: F.group_norm(x, 4), (X,)),
    "embedding pad freq": Case(lambda F, ids, w: F.embedding(ids, w, padding_idx=0, scale_grad_by_freq=True),
                               (IDS, _r(4, 3))),
    "embedding max_norm": Case(lambda F, ids, w: F.embedding(ids, w, max_norm=1.0), (IDS, _r(4, 3) * 2)),
}


def _run(F, tensor, call, arrays, stats, device):
    """Run a case with library F (``tensor`` makes its tensors); numbers back on the host."""
    ts = [tensor(a, device, a.dtype.kind == "f" and i not in stats) for i, a in enumerate(arrays)]
    out = call(F, *ts)
    y, extras = (out[0], out[1:]) if isinstance(out, tuple) else (out, ())
    g = _r(*y.shape, seed=1)
    y.backward(tensor(g, device, False))
    return {"device": [y.device] + [t.grad.device for t in ts if t.grad is not None],
            "y": y, "extras": list(extras), "grads": [t.grad for t in ts], "inputs": ts}


def _fv_tensor(a, device, grad):
    return fn.tensor(a.copy(), device=device, requires_grad=grad)


def _host(t):
    return None if t is None else (t.cpu().numpy() if hasattr(t, "cpu") else np.asarray(t))


def _same(got, want, rtol, atol):
    """Every output, extra output, gradient and in-place-updated input agrees."""
    for key in ("y", "extras", "grads", "inputs"):
        a, b = got[key], want[key]
        pairs = zip(a, b) if isinstance(a, list) else [(a, b)]
        for i, (u, v) in enumerate(pairs):
            u, v = _host(u), _host(v)
            assert (u is None) == (v is None), f"{key}[{i}]"
            if u is not None:
                np.testing.assert_allclose(u, v, rtol=rtol, atol=atol, err_msg=f"{key}[{i}]")


@pytest.mark.parametrize("name", list(CASES))
def test_op_gives_the_cpus_numbers_on_the_standin_device(name):
    case = CASES[name]
    want = _run(FF, _fv_tensor, *case, "cpu")
    with standin.cuda():
        got = _run(FF, _fv_tensor, *case, "cuda")
        assert all(d == fn.device("cuda") for d in got["device"]), got["device"]
        assert all(isinstance(t.data, standin.DeviceArray) for t in got["inputs"])  # stats stayed
        _same(got, want, rtol=1e-4, atol=2e-4)


def test_embedding_ids_on_another_device_say_so():
    with standin.cuda():
        w = fn.ones(4, 3, device="cuda")
        with pytest.raises(RuntimeError, match="same device, but found cpu and cuda:0"):
            FF.embedding(fn.tensor([1, 2]), w)


def test_batch_norm_running_stats_on_the_host_are_refused_for_a_device_input():
    with standin.cuda():
        x = fn.randn(4, 3, device="cuda")
        with pytest.raises(RuntimeError, match="running_mean on the same device, but found cpu and cuda:0"):
            FF.batch_norm(x, np.zeros(3, np.float32), np.ones(3, np.float32), training=True)


# ------------------------------------------------------------------------------- dropout


@pytest.mark.parametrize("op, shape, per", [
    (FF.dropout, (4, 50), (4, 50)), (FF.dropout1d, (4, 6, 5), (4, 6, 1)),
    (FF.dropout2d, (3, 8, 2, 2), (3, 8, 1, 1)), (FF.dropout3d, (2, 8, 2, 2, 2), (2, 8, 1, 1, 1)),
])
def test_dropout_draws_its_mask_on_the_device_and_replays_with_the_seed(op, shape, per):
    p = 0.25
    with standin.cuda():
        x = fn.tensor(_r(*shape), device="cuda", requires_grad=True)
        fn.manual_seed(3)
        y = op(x, p)
        g = fn.tensor(_r(*shape, seed=1), device="cuda")
        y.backward(g)
        assert y.is_cuda and x.grad.is_cuda
        xs, ys, gs, dx = (t.cpu().numpy() for t in (x, y, g, x.grad))
        keep = ys != 0
        # kept values scaled by 1/(1-p), the same cells get the gradient, whole channels share
        np.testing.assert_allclose(ys[keep], xs[keep] / (1 - p), rtol=1e-6)
        np.testing.assert_allclose(dx, np.where(keep, gs / (1 - p), 0), rtol=1e-6)
        per_unit = keep.reshape(per + (-1,))[..., 0] if per != shape else keep
        assert (keep == np.broadcast_to(per_unit.reshape(per), shape)).all()
        assert 0 < per_unit.mean() < 1
        fn.manual_seed(3)
        again = op(x, p).cpu().numpy()
        assert (again == ys).all()


def test_dropout_on_the_cpu_draws_from_the_host_generator_as_before():
    x = fn.ones(3, 40)
    fn.manual_seed(7)
    y = FF.dropout(x, 0.3).numpy()
    keep = np.random.default_rng(7).random((3, 40), dtype=np.float32) >= 0.3
    np.testing.assert_array_equal(y, np.where(keep, np.float32(1 / 0.7), 0))


# --------------------------------------------------------------------- real GPU (CuPy)


def _real_gpu() -> bool:
    try:
        return devices.cuda_module().__name__ == "cupy"
    except RuntimeError:
        return False


def _torch_tensor(torch):
    def make(a, device, grad):
        return torch.tensor(a.copy(), device=device, requires_grad=grad)
    return make


def _torch_numbers(case, gpu):
    """The case run by PyTorch (on its GPU when ``gpu`` and it has one), as host arrays."""
    torch = pytest.importorskip("torch")
    tdev = "cuda" if gpu and torch.cuda.is_available() else "cpu"
    theirs = _run(torch.nn.functional, _torch_tensor(torch), *case, tdev)
    return {k: ([None if t is None else t.detach().cpu().numpy() for t in v] if isinstance(v, list)
                else v.detach().cpu().numpy()) for k, v in theirs.items() if k != "device"}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's note
@pytest.mark.parametrize("name", list(CASES))
def test_the_table_gives_pytorchs_numbers_on_the_cpu(name):
    """The oracle the GPU run compares with: the table's calls mean the same in both."""
    _same(_run(FF, _fv_tensor, *CASES[name], "cpu"), _torch_numbers(CASES[name], gpu=False),
          rtol=1e-4, atol=2e-4)


@pytest.mark.gpu
@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
@pytest.mark.parametrize("name", list(CASES))
def test_op_on_a_real_gpu_matches_the_cpu_and_pytorch(name):
    if not _real_gpu():
        pytest.skip("no CUDA GPU with CuPy here (pip install cupy-cuda12x on a GPU machine)")
    case = CASES[name]
    want = _run(FF, _fv_tensor, *case, "cpu")
    got = _run(FF, _fv_tensor, *case, "cuda")
    assert all(d == fn.device("cuda") for d in got["device"]), got["device"]
    _same(got, want, rtol=1e-3, atol=1e-3)
    _same(got, _torch_numbers(case, gpu=True), rtol=1e-3, atol=1e-3)


@pytest.mark.gpu
def test_dropout_on_a_real_gpu_keeps_about_1_minus_p():
    if not _real_gpu():
        pytest.skip("no CUDA GPU with CuPy here (pip install cupy-cuda12x on a GPU machine)")
    fn.manual_seed(0)
    y = FF.dropout(fn.ones(1000, 1000, device="cuda"), 0.3)
    kept = float((y.cpu().numpy() != 0).mean())
    assert abs(kept - 0.7) < 0.005 and y.is_cuda


def test_cupy_arrays_get_the_gpu_kernel_set_and_the_standin_the_references():
    from foveanet.backend import kernels, use_kernels

    class FakeCupyArray:
        pass

    devices.register_array_type(FakeCupyArray, type(devices)("cupy"), "cuda")
    try:
        with use_kernels("default"):  # FOVEANET_KERNELS=reference would hand out the references
            ks = kernels(FakeCupyArray())
        assert ks.name == "cuda" and ks.cols is not None and ks.max_pool.handles(np.float32)
        assert not ks.max_pool.handles(np.float16)
    finally:
        devices.unregister_array_type(FakeCupyArray)
    with standin.cuda():
        assert kernels(fn.zeros(2, device="cuda").data).name == "reference"


@pytest.mark.gpu
def test_the_gpu_kernels_run_on_cupy_arrays_unless_the_references_are_asked_for():
    if not _real_gpu():
        pytest.skip("no CUDA GPU with CuPy here (pip install cupy-cuda12x on a GPU machine)")
    x = fn.randn(1, 2, 6, 6, device="cuda", requires_grad=True)
    kernels_on = fn.backend.get_kernels() != "reference"
    assert (FF.max_pool2d(x, 3, 2, 1).grad_fn.device_kernel is not None) == kernels_on
    assert (FF.conv2d(x, fn.randn(3, 2, 3, 3, device="cuda")).grad_fn.cols is not None) == kernels_on
