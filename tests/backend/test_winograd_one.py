"""One image at inference through compiled Winograd F(2x2, 3x3) (backend/cpu/conv/winograd_one.py,
kernels/winograd.py): against the reference im2col convolution in float64 on 1-3 threads with
every epilogue, and through conv2d_clamp against torch in float32 and against the NumPy
engines (FOVEANET_KERNELS=numpy)."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
from foveanet import kernels
from foveanet.backend import use_kernels
from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import route, winograd_one
from foveanet.functional.conv import conv2d_clamp
from foveanet.geometry import ConvGeom
from tests.backend.test_single import _reference

pytestmark = pytest.mark.skipif(not kernels.available(), reason="needs Numba")

# (C, H, W, Co, pads (top, bottom, left, right)): odd and even outputs, 'valid', asymmetric;
# bands where the tiles outnumber the output channels, blocks below
CASES = [
    (6, 12, 13, 5, (1, 1, 1, 1)),
    (4, 9, 8, 6, (0, 0, 0, 0)),
    (5, 11, 9, 7, (0, 2, 1, 0)),
    (3, 7, 10, 4, (2, 1, 0, 2)),
    (16, 5, 4, 40, (1, 1, 1, 1)),   # 6 tiles < 40 channels: blocks
    (8, 7, 7, 37, (1, 1, 1, 1)),    # 16 tiles, 37 channels: ragged blocks
]


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bands_match_the_reference_in_float64(case, workers, monkeypatch):
    C, H, W, Co, pads = case
    g = ConvGeom(1, C, H, W, Co, 1, 3, 3, (1, 1), (1, 1), pads)
    monkeypatch.setattr(threads, "workers", lambda: workers)
    monkeypatch.setattr(route, "WINOGRAD_ONE_BANDS_PER_THREAD", 3)  # ragged bands and blocks
    r = np.random.default_rng(sum(case[:4]))
    x = r.standard_normal((1, C, H, W))
    w = r.standard_normal((Co, C, 3, 3))
    b = r.standard_normal(Co)
    res = r.standard_normal((1, Co, g.Ho, g.Wo))
    scale = r.random(Co) + 0.5
    for s, bb, rr, clamp in ((None, None, None, None), (None, b, None, None),
                             (scale, b, None, (0.0, 6.0)), (None, b, res, (0.0, np.inf)),
                             (scale, b, res, (-0.5, 0.5))):
        y = winograd_one.forward(x, w, g, kernels.load(), bb, s, clamp, rr)
        expected = _reference(x, w, bb, g, s, rr, clamp)
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())


def test_route_takes_one_image_on_large_maps_only():
    def geom(C, H, n=1, stride=1, k=3, groups=1):
        p = k // 2
        return ConvGeom(n, C, H, H, C, groups, k, k, (stride, stride), (1, 1), (p, p, p, p))

    assert route.winograd_one(geom(64, 56)) and route.winograd_one(geom(128, 28))
    assert not route.winograd_one(geom(512, 7))       # 16 tiles: thin GEMMs, costly U
    assert not route.winograd_one(geom(64, 56, n=2))  # a batch: the batch-chunk engines
    assert not route.winograd_one(geom(64, 56, stride=2))
    assert not route.winograd_one(geom(64, 56, k=5))
    assert not route.winograd_one(geom(64, 56, groups=2))
    assert not route.winograd_one(geom(16, 56))       # thin GEMMs


@pytest.mark.parametrize("workers", [1, 2])
def test_conv2d_clamp_matches_torch_and_the_numpy_engines(workers):
    """relu(conv(x) * s + b + shortcut) at batch 1 on a map the route sends here (32->48
    @28), float32: torch, and the same call with the NumPy engines (no compiled kernels)."""
    C, Co, H = 32, 48, 28
    g = ConvGeom(1, C, H, H, Co, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    assert route.winograd_one(g)
    r = np.random.default_rng(7)
    x = r.standard_normal((1, C, H, H)).astype(np.float32)
    w = (r.standard_normal((Co, C, 3, 3)) / np.sqrt(C * 9)).astype(np.float32)
    b = r.standard_normal(Co).astype(np.float32)
    s = (r.random(Co) + 0.5).astype(np.float32)
    res = r.standard_normal((1, Co, H, H)).astype(np.float32)
    y_t = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding=1)
    expected = torch.relu(y_t * torch.from_numpy(s).reshape(1, -1, 1, 1)
                          + torch.from_numpy(b).reshape(1, -1, 1, 1) + torch.from_numpy(res)).numpy()
    n = foveanet.get_num_threads()
    got = {}
    try:
        foveanet.set_num_threads(workers)
        for choice in ("default", "numpy"):
            with use_kernels(choice), foveanet.no_grad():
                got[choice] = conv2d_clamp(x, w, b, (1, 1), (1, 1), (1, 1), 1, (0.0, np.inf),
                                           s, residual=res).numpy()
    finally:
        foveanet.set_num_threads(n)
    scale = np.abs(expected).max()
    for choice, y in got.items():
        np.testing.assert_allclose(y, expected, rtol=1e-5, atol=2e-6 * scale, err_msg=choice)
    np.testing.assert_allclose(got["default"], got["numpy"], rtol=1e-5, atol=2e-6 * scale)


def test_compiled_weight_transform_matches_the_numpy_one():
    """kernels.winograd_weight on a block of output channels equals winograd.weight_u's rows."""
    from foveanet.backend.cpu.conv.winograd import weight_u
    w = np.random.default_rng(3).standard_normal((40, 24, 3, 3))
    u = np.empty((16, 13, 24))
    kernels.load().winograd_weight(w, 20, 33, u)
    np.testing.assert_allclose(u, weight_u(w)[:, 20:33], rtol=1e-13, atol=1e-13)
