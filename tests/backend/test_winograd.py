"""Winograd F(2x2, 3x3): the transforms by hand, every gradient against PyTorch (float64
and float32, odd sizes, padding 0/1/2/'same', batch chunks on threads), and the routing."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
from foveanet.backend.cpu.conv import route
from foveanet.backend.cpu.conv import winograd as WG
from foveanet.geometry import ConvGeom as Geom
from foveanet.functional.conv import conv2d
from foveanet.kernels import route as compiled_route


def _route_all(monkeypatch):
    """Send every 3x3 stride-1 conv down the Winograd path, however small (and none to
    the compiled direct conv, which small training layers take first)."""
    monkeypatch.setattr(compiled_route, "DIRECT_MAX_OUT_CHANNELS", 0)
    for name, value in (("MIN_CHANNELS", 1), ("MIN_WIDE_CHANNELS", 1), ("MIN_SIDE", 1),
                        ("TRAIN_MIN_SIDE", 1),
                        ("MIN_TILES", 1), ("MIN_GEMM_MACS", 1), ("MAX_IMAGE_BYTES", 1 << 40),
                        ("INFERENCE_MIN_TILES", 1)):
        monkeypatch.setattr(route, "WINOGRAD_" + name, value)


def test_one_tile_by_hand():
    """A single 4x4 patch and one 3x3 filter: Y = A^T[(G g G^T) * (B^T d B)]A equals the
    four 3x3 correlations written out, and U, V match the textbook matrices."""
    d = np.arange(16.0).reshape(1, 1, 4, 4)
    w = np.array([[1.0, 0, -1], [2, 0, -2], [1, 0, -1]]).reshape(1, 1, 3, 3)  # Sobel x
    g = Geom(1, 1, 4, 4, 1, 1, 3, 3, (1, 1), (1, 1), (0, 0, 0, 0))
    y, u, kept = WG.conv_forward(d, w, g, keep=True)
    # each output: sum of the patch under the filter; x increases by 1 per column, so -8
    np.testing.assert_allclose(y[0, 0], [[-8.0, -8.0], [-8.0, -8.0]])
    BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], float)
    G = np.array([[1, 0, 0], [.5, .5, .5], [.5, -.5, .5], [0, 0, 1]])
    np.testing.assert_allclose(u.reshape(4, 4), G @ w[0, 0] @ G.T)
    v = kept[0][1].reshape(16, 2)[:, 0]  # tile 0 (tile 1 is the junk column)
    np.testing.assert_allclose(v.reshape(4, 4), BT @ d[0, 0] @ BT.T)


CASES = [  # (N, C, Co, H, W, padding)
    (2, 3, 5, 7, 9, 1), (1, 4, 6, 6, 5, 1), (3, 4, 6, 6, 5, 0), (2, 5, 3, 8, 8, 0),
    (1, 2, 2, 3, 3, 1), (2, 3, 3, 4, 3, 0), (3, 4, 4, 5, 6, 2), (2, 6, 4, 11, 4, "same"),
    (4, 8, 16, 10, 13, 1),
]


@pytest.mark.parametrize("chunk_bytes", [None, 1], ids=["whole", "per-image"])
@pytest.mark.parametrize("case", CASES, ids=str)
def test_matches_torch_float64(case, chunk_bytes, monkeypatch):
    _route_all(monkeypatch)
    if chunk_bytes:
        monkeypatch.setattr(route, "WINOGRAD_CHUNK_BYTES", chunk_bytes)
    N, C, Co, H, W, pad = case
    r = np.random.default_rng(sum(case[:5]))
    x, w, b = r.standard_normal((N, C, H, W)), r.standard_normal((Co, C, 3, 3)), r.standard_normal(Co)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = TF.conv2d(xt, wt, bt, padding=pad)
    gy = r.standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    xf, wf, bf = (foveanet.tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv2d(xf, wf, bf, padding=pad)
    assert y.grad_fn.path == "winograd" and y.dtype == np.float64
    y.backward(foveanet.tensor(gy))
    for ours, theirs in ((y, ty), (xf.grad, xt.grad), (wf.grad, wt.grad), (bf.grad, bt.grad)):
        ref = theirs.detach().numpy()
        np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())


def test_junk_tiles_stay_out(monkeypatch):
    """The junk tile column reads the next tile row (and, at a plane's end, the next image):
    images whose magnitudes differ by 1e6 must not leak into each other's y, dX or dW."""
    _route_all(monkeypatch)
    r = np.random.default_rng(3)
    x = r.standard_normal((3, 4, 9, 7)) * np.array([1.0, 1e6, 1.0]).reshape(3, 1, 1, 1)
    w = r.standard_normal((5, 4, 3, 3))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = TF.conv2d(xt, wt, padding=1)
    gy = r.standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    xf, wf = foveanet.tensor(x, requires_grad=True), foveanet.tensor(w, requires_grad=True)
    y = conv2d(xf, wf, padding=1)
    y.backward(foveanet.tensor(gy))
    for n in range(3):  # image by image, each at its own scale
        for ours, theirs in ((y, ty), (xf.grad, xt.grad)):
            ref = theirs.detach().numpy()[n]
            np.testing.assert_allclose(ours.numpy()[n], ref, rtol=1e-9, atol=1e-9 * np.abs(ref).max())
    np.testing.assert_allclose(wf.grad.numpy(), wt.grad.numpy(), rtol=1e-9)


@pytest.mark.parametrize("need", ["x", "w", "both"])
def test_float32_with_frozen_parts(need, monkeypatch):
    """float32 in, float32 out; only the gradients asked for are computed (a frozen weight
    or an input without grad), and inference keeps no tiles."""
    _route_all(monkeypatch)
    monkeypatch.setattr(route, "WINOGRAD_CHUNK_BYTES", 1)
    r = np.random.default_rng(5)
    x = r.standard_normal((3, 16, 12, 10)).astype(np.float32)
    w = (r.standard_normal((24, 16, 3, 3)) * 0.1).astype(np.float32)
    xf = foveanet.tensor(x, requires_grad=need != "w")
    wf = foveanet.tensor(w, requires_grad=need != "x")
    y = conv2d(xf, wf, padding=1)
    assert y.grad_fn.path == "winograd" and y.dtype == np.float32
    assert (y.grad_fn.state.saved[0] is None) == (need == "x")
    gy = r.standard_normal(y.shape).astype(np.float32)
    y.backward(foveanet.tensor(gy))
    xt, wt = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ty = TF.conv2d(xt, wt, padding=1)
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-4, atol=1e-5)
    for ours, theirs, wanted in ((xf, xt, need != "w"), (wf, wt, need != "x")):
        if not wanted:
            assert ours.grad is None
            continue
        assert ours.grad.dtype == np.float32
        np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=1e-4, atol=1e-4)
    with foveanet.no_grad():
        assert np.array_equal(conv2d(foveanet.tensor(x), wf, padding=1).numpy(), y.numpy())


@pytest.mark.parametrize("shape, path", [
    ((8, 64, 64, 56, 56), "winograd"),    # the benchmark's 3x3 case: 1.17x
    ((32, 64, 128, 32, 32), "winograd"),  # 1.50x
    ((128, 32, 32, 28, 28), "gemm"),      # 32 channels: 0.97-1.03x, left to im2col
    ((1, 512, 512, 14, 14), "gemm"),      # 49 tiles: the weight transform dominates (0.33x)
    ((1, 64, 64, 56, 56), "gemm"),        # ResNet-18's layer1 at batch 1: small GEMMs, 0.97x
    ((1, 64, 64, 224, 224), "gemm"),      # VGG-16's first block: 51 MB of V for one image
    ((1, 128, 128, 112, 112), "winograd"),
    ((16, 512, 512, 7, 7), "patches"),    # 7x7: 2x2 tiles waste 63% of their outputs
])
def test_routing(shape, path):
    N, C, Co, H, W = shape
    g = Geom(N, C, H, W, Co, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    assert route.path(g) == path
    strided = Geom(N, C, H, W, Co, 1, 3, 3, (2, 2), (1, 1), (1, 1, 1, 1))
    assert route.path(strided) != "winograd"


@pytest.mark.parametrize("shape, one_thread", [
    ((1, 64, 64, 56, 56), "winograd"),    # ResNet-18's layer1 at batch 1, forward only: 1.60x
    ((1, 128, 128, 28, 28), "winograd"),  # layer2: 196 tiles, 1.54x
    ((1, 256, 256, 14, 14), "gemm"),      # 49 tiles: 0.94x
    ((2, 256, 256, 14, 14), "winograd"),  # 98 tiles: 1.28x
    ((1, 16, 16, 56, 56), "gemm"),        # too few channels for its GEMMs
])
def test_inference_on_one_thread_routes_small_batches_to_winograd(monkeypatch, shape, one_thread):
    N, C, Co, H, W = shape
    g = Geom(N, C, H, W, Co, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    monkeypatch.setattr(route.threads, "workers", lambda: 1)
    assert route.path(g, inference=True) == one_thread
    trained = route.path(g)  # a forward that keeps what backward needs routes as measured for training
    monkeypatch.setattr(route.threads, "workers", lambda: 2)
    # on two threads one image goes to the engine that splits it across them (conv/single.py)
    assert route.path(g, inference=True) == ("single" if N == 1 else trained)
