"""The one-image inference engine (backend/cpu/conv/single.py): its bands of output rows and
its blocks of output channels, with the epilogue (scale, bias, residual, clamp), against the
reference im2col convolution in float64 on 1-3 threads, and through conv2d_clamp against
torch in float32."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import route, single
from foveanet.functional import im2col as ref
from foveanet.functional.conv import conv2d_clamp
from foveanet.geometry import ConvGeom

# (C, H, W, Co, kh, kw, stride, dilation, pads): bands where Ho*Wo >= Co, blocks below
CASES = [
    (3, 23, 19, 8, 7, 7, (2, 2), (1, 1), (3, 3, 3, 3)),   # a stem: bands
    (6, 12, 13, 5, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),   # 'same': bands
    (5, 11, 9, 7, 3, 2, (2, 1), (2, 1), (0, 2, 1, 0)),    # strided, dilated, asymmetric: bands
    (4, 9, 8, 6, 3, 3, (1, 1), (1, 1), (0, 0, 0, 0)),     # 'valid' (the input read as is): bands
    (16, 5, 4, 40, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),   # 20 pixels < 40 channels: blocks
    (8, 7, 7, 37, 3, 3, (2, 2), (1, 1), (1, 1, 1, 1)),    # 16 pixels, 37 channels: ragged blocks
]


def _reference(x, w, b, g, scale, residual, clamp):
    """The epilogue written out over the im2col conv: (conv * scale + b + residual), clamped;
    None skips a step (also used by test_winograd_one.py)."""
    y = ref.conv(x, w, None, g)
    if scale is not None:
        y = y * scale.reshape(1, -1, 1, 1)
    if b is not None:
        y = y + b.reshape(1, -1, 1, 1)
    if residual is not None:
        y = y + residual
    return y if clamp is None else np.clip(y, *clamp)


@pytest.mark.parametrize("workers", [1, 2, 3])
@pytest.mark.parametrize("case", CASES, ids=[f"case{i}" for i in range(len(CASES))])
def test_bands_and_blocks_match_the_reference_in_float64(case, workers, monkeypatch):
    C, H, W, Co, kh, kw, stride, dilation, pads = case
    g = ConvGeom(1, C, H, W, Co, 1, kh, kw, stride, dilation, pads)
    monkeypatch.setattr(threads, "workers", lambda: workers)
    monkeypatch.setattr(route, "SINGLE_PIECES_PER_THREAD", 3)  # ragged bands and blocks
    r = np.random.default_rng(sum(case[:6]))
    x = r.standard_normal((1, C, H, W))
    w = r.standard_normal((Co, C, kh, kw))
    b = r.standard_normal(Co)
    res = r.standard_normal((1, Co, g.Ho, g.Wo))
    scale = r.random(Co) + 0.5
    for s, rr, clamp in ((None, None, None), (scale, None, (0.0, 6.0)), (None, res, (0.0, np.inf)),
                         (scale, res, (-0.5, 0.5))):
        y = single.forward(x, w, g, b, s, clamp, rr)
        expected = _reference(x, w, b, g, s, rr, clamp)
        np.testing.assert_allclose(y, expected, rtol=1e-11, atol=1e-11 * np.abs(expected).max())


def test_route_sends_one_image_on_several_threads_here(monkeypatch):
    """Inference only, one image, one group, kernels larger than 1x1, more than one thread;
    bands where the cols outweigh the weight."""
    g = ConvGeom(1, 64, 56, 56, 64, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    late = ConvGeom(1, 512, 7, 7, 512, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    monkeypatch.setattr(threads, "workers", lambda: 2)
    assert route.path(g, inference=True) == "single" and route.single_bands(g)
    assert route.path(late, inference=True) == "single" and not route.single_bands(late)
    assert route.path(g) != "single"                       # a gradient will be asked for
    assert route.path(g.with_batch(2), inference=True) != "single"
    one = ConvGeom(1, 64, 56, 56, 64, 1, 1, 1, (1, 1), (1, 1), (0, 0, 0, 0))
    grouped = ConvGeom(1, 64, 56, 56, 64, 2, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    assert route.path(one, inference=True) != "single"
    assert route.path(grouped, inference=True) != "single"
    monkeypatch.setattr(threads, "workers", lambda: 1)
    assert route.path(g, inference=True) != "single"
    assert route.single_band_count(g, 2) == 4                # two bands per thread
    assert route.single_block_rows(late, 2) % 16 == 0


@pytest.mark.parametrize("shape", [(64, 64, 20, 3, 1, 1), (32, 96, 6, 3, 2, 1), (3, 16, 33, 7, 2, 3)])
def test_conv2d_clamp_with_a_residual_matches_torch(shape):
    """relu(conv(x) + b + shortcut) at batch 1 on two threads (the single engine) and one
    (the batch-chunk engines), in float32, against torch; and the reference path."""
    C, Co, H, k, s, p = shape
    r = np.random.default_rng(C + Co)
    x = r.standard_normal((1, C, H, H)).astype(np.float32)
    w = (r.standard_normal((Co, C, k, k)) / np.sqrt(C * k * k)).astype(np.float32)
    b = r.standard_normal(Co).astype(np.float32)
    y_t = TF.conv2d(torch.from_numpy(x), torch.from_numpy(w), torch.from_numpy(b), stride=s,
                    padding=p)
    res = r.standard_normal(tuple(y_t.shape)).astype(np.float32)
    expected = torch.relu(y_t + torch.from_numpy(res)).numpy()
    n = foveanet.get_num_threads()
    try:
        for workers in (1, 2):
            foveanet.set_num_threads(workers)
            with foveanet.no_grad():
                y = conv2d_clamp(foveanet.tensor(x), foveanet.tensor(w), foveanet.tensor(b),
                                 (s, s), (p, p), (1, 1), 1, (0.0, np.inf),
                                 residual=foveanet.tensor(res)).numpy()
            np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())
    finally:
        foveanet.set_num_threads(n)
    with foveanet.backend.use_kernels("reference"), foveanet.no_grad():
        y = conv2d_clamp(x, w, b, (s, s), (p, p), (1, 1), 1, (0.0, np.inf), residual=res).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5 * np.abs(expected).max())


def test_conv2d_clamp_refuses_a_residual_of_another_shape():
    x, w = np.ones((1, 2, 5, 5), np.float32), np.ones((3, 2, 3, 3), np.float32)
    with foveanet.no_grad(), pytest.raises(ValueError, match=r"residual has shape \(1, 3, 5, 5\), "
                                                             r"expected the output's \(1, 3, 3, 3\)"):
        conv2d_clamp(x, w, None, (1, 1), (0, 0), (1, 1), 1, None, residual=np.ones((1, 3, 5, 5)))
