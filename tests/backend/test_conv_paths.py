"""Every CPU convolution engine against the reference im2col (functional/im2col.py) in
float64, forward and both gradients, on a layer that route.py sends to it by its own rules;
and the reference itself against PyTorch and a hand-worked example."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
from foveanet.backend import get_kernels, kernels, use_kernels
from foveanet.backend.cpu import conv as cpu_conv
from foveanet.backend.cpu.conv import route
from foveanet.functional import im2col as ref
from foveanet.functional.conv import conv1d, conv2d, conv_transpose2d
from foveanet.geometry import ConvGeom

# (name, N, C, H, W, Co, G, kh, kw, stride, dilation, pads): each is routed to `name` by
# route.path with the shipped thresholds (asserted below), so a change of thresholds that
# leaves an engine without a case here fails instead of silently testing less
CASES = [
    ("depthwise", 2, 6, 9, 8, 6, 6, 3, 3, (2, 1), (1, 2), (1, 1, 2, 2)),
    ("rows", 3, 64, 1, 17, 5, 1, 1, 4, (1, 1), (1, 2), (0, 0, 3, 3)),
    ("winograd", 8, 64, 28, 28, 128, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1)),
    ("patches", 3, 16, 7, 9, 20, 1, 3, 3, (1, 1), (1, 1), (1, 1, 0, 2)),
    ("patches", 2, 24, 11, 11, 16, 1, 3, 3, (2, 2), (1, 1), (1, 1, 1, 1)),
    ("gemm", 2, 3, 12, 10, 5, 1, 5, 3, (2, 1), (1, 1), (2, 2, 1, 1)),      # col2im dX
    ("gemm", 2, 16, 18, 20, 8, 2, 3, 3, (1, 1), (1, 2), (1, 1, 2, 2)),     # grid cols, adjoint dX
    ("gemm", 1, 8, 14, 14, 12, 4, 3, 3, (1, 1), (2, 2), (2, 2, 2, 2)),     # grouped
]


def _geom(case) -> ConvGeom:
    _, N, C, H, W, Co, G, kh, kw, stride, dilation, pads = case
    return ConvGeom(N, C, H, W, Co, G, kh, kw, stride, dilation, pads)


def _arrays(g: ConvGeom, seed: int):
    r = np.random.default_rng(seed)
    x = r.standard_normal((g.N, g.C, g.H, g.W))
    w = r.standard_normal((g.Co, g.C // g.G, g.kh, g.kw))
    b = r.standard_normal(g.Co)
    gy = r.standard_normal((g.N, g.Co, g.Ho, g.Wo))
    return x, w, b, gy


def _close(ours, expected):
    """Equal to float64 round-off; an engine may hand back its own layout of the same
    numbers (rows: (N, C, L) for a 1-d input), which functional.conv reshapes."""
    assert ours.size == expected.size, (ours.shape, expected.shape)
    np.testing.assert_allclose(ours.reshape(expected.shape), expected, rtol=1e-11, atol=1e-11 * np.abs(expected).max())


@pytest.mark.parametrize("chunked", [False, True], ids=["whole", "per-image"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_engine_matches_the_reference_in_float64(case, chunked, monkeypatch):
    g = _geom(case)
    assert route.path(g) == case[0]
    if chunked:  # every image (or channel) a block of its own, as on a large batch
        for name in ("CHUNK_BYTES", "WINOGRAD_CHUNK_BYTES", "DEPTHWISE_BLOCK_BYTES"):
            monkeypatch.setattr(route, name, 1)
    x, w, b, gy = _arrays(g, sum(case[1:9]))
    y, state = cpu_conv.forward(x, w, b, g, True, True)
    assert state.path == case[0]
    dx, dw = cpu_conv.backward(gy, state, g, True, True)
    _close(y, ref.conv(x, w, b, g))
    _close(dx, ref.conv_input_grad(gy, w, g))
    _close(dw, ref.conv_weight_grad(gy, x, g))


@pytest.mark.parametrize("case", [c for c in CASES if c[0] == "gemm"], ids=str)
def test_both_data_gradients_of_gemm_match_the_reference(case, monkeypatch):
    """dX by the flipped-kernel conv and by col2im, whichever route.adjoint picks."""
    g = _geom(case)
    x, w, b, gy = _arrays(g, 3)
    for channels in (1, 1 << 30):  # adjoint wherever the padding allows, then never
        monkeypatch.setattr(route, "ADJOINT_MIN_CHANNELS", channels)
        y, state = cpu_conv.forward(x, w, b, g, True, False)
        dx, dw = cpu_conv.backward(gy, state, g, True, False)
        assert dw is None
        _close(dx, ref.conv_input_grad(gy, w, g))


def test_transposed_conv_matches_the_reference_in_float64():
    """The transposed conv is the adjoint: forward = the direct conv's dX, backward = the
    direct conv of dY and its dW with the roles of X and dY swapped."""
    g = ConvGeom(2, 4, 11, 9, 6, 2, 3, 2, (2, 3), (1, 1), (1, 1, 0, 0), Ho=5, Wo=3)
    r = np.random.default_rng(8)
    x = r.standard_normal((g.N, g.Co, g.Ho, g.Wo))
    w = r.standard_normal((g.Co, g.C // g.G, g.kh, g.kw))
    gy = r.standard_normal((g.N, g.C, g.H, g.W))
    y, state = cpu_conv.transpose_forward(x, w, g, True)
    dx, dw = cpu_conv.transpose_backward(gy, state, g, True, True)
    _close(y, ref.conv_input_grad(x, w, g))
    _close(dx, ref.conv(gy, w, None, g))
    _close(dw, ref.conv_weight_grad(x, gy, g))


def test_im2col_by_hand():
    """A 1x1x3x3 input, a 2x2 kernel, stride 1, padding 0: four windows, read row by row."""
    x = np.arange(9.0).reshape(1, 1, 3, 3)
    g = ConvGeom(1, 1, 3, 3, 1, 1, 2, 2, (1, 1), (1, 1), (0, 0, 0, 0))
    cols = ref.im2col(x, g)
    # rows: taps (0,0) (0,1) (1,0) (1,1); columns: the windows at (0,0) (0,1) (1,0) (1,1)
    assert cols.shape == (1, 1, 4, 4)
    assert cols[0, 0].tolist() == [[0, 1, 3, 4], [1, 2, 4, 5], [3, 4, 6, 7], [4, 5, 7, 8]]
    # col2im sums what overlaps: the centre pixel is read by all four windows
    assert ref.col2im(np.ones_like(cols), g)[0, 0].tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]


@pytest.mark.parametrize("seed", range(6))
def test_reference_kernels_run_the_library_and_match_torch(seed):
    """With the reference kernels chosen, conv1d/conv2d/conv_transpose2d run functional's
    im2col and agree with PyTorch (forward and every gradient)."""
    r = np.random.default_rng(seed)
    G = [1, 2, 3][seed % 3]
    x = r.standard_normal((2, 3 * G, 9, 8))
    w = r.standard_normal((2 * G, 3, 3, 2))
    b = r.standard_normal(2 * G)
    kw = dict(stride=(1 + seed % 2, 1), padding=(seed % 3, 1), dilation=(1, 1 + seed % 2), groups=G)
    wt = r.standard_normal((3 * G, 2, 2, 3))
    cases = [(conv2d, TF.conv2d, x, w, kw),
             (conv1d, TF.conv1d, x[:, :, 0], w[:, :, 0], dict(stride=2, padding=1, groups=G)),
             (conv_transpose2d, TF.conv_transpose2d, x, wt, dict(stride=2, padding=1, groups=G))]
    before = get_kernels()
    with use_kernels("reference"):
        assert get_kernels() == "reference" and kernels(x).conv is None
        for ours_fn, torch_fn, xa, wa, kwargs in cases:
            bias = b if ours_fn is not conv_transpose2d else r.standard_normal(2 * G)
            leaves = [foveanet.tensor(a, requires_grad=True) for a in (xa, wa, bias)]
            tleaves = [torch.tensor(a, requires_grad=True) for a in (xa, wa, bias)]
            y = ours_fn(*leaves, **kwargs)
            ty = torch_fn(*tleaves, **kwargs)
            assert y.grad_fn.path == "reference"
            gy = r.standard_normal(ty.shape)
            y.backward(foveanet.tensor(gy))
            ty.backward(torch.tensor(gy))
            _close(y.numpy(), ty.detach().numpy())
            for a, t in zip(leaves, tleaves):
                _close(a.grad.numpy(), t.grad.numpy())
    assert get_kernels() == before


def test_a_bad_kernel_choice_is_refused():
    with pytest.raises(ValueError, match="expected one of default, numba, numpy, reference, got 'fast'"):
        with use_kernels("fast"):
            pass
