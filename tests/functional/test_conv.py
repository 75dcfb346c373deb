"""Convolutions against PyTorch: forward and every gradient over seeded sweeps of settings,
gradcheck in float64, the lecture's edge-detection example, and the error messages."""
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import foveanet
from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import gemm, route
from foveanet.functional.conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from foveanet.geometry import ConvGeom
from tests.torch_ref import close

# torch warns that it pads a copy for even kernels with padding="same"; that is its business
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")


def _compare(ours, theirs, x, w, b, kwargs, seed, need_x=True):
    """Run both frameworks on the same arrays; compare y, dX, dW, db."""
    xs = [foveanet.tensor(x, requires_grad=need_x), foveanet.tensor(w, requires_grad=True)]
    ts = [torch.tensor(x, requires_grad=need_x), torch.tensor(w, requires_grad=True)]
    if b is not None:
        xs.append(foveanet.tensor(b, requires_grad=True))
        ts.append(torch.tensor(b, requires_grad=True))
    y, ty = ours(*xs, **kwargs), theirs(*ts, **kwargs)
    assert y.dtype == np.float32
    # float32 sums of K products: error grows with the magnitude of the result
    tol = lambda ref: 2e-5 * max(1.0, float(np.abs(ref.detach().numpy()).max()))  # noqa: E731
    close(y, ty, rtol=1e-4, atol=tol(ty), what=f"forward {kwargs}")
    gy = np.random.default_rng(seed).standard_normal(ty.shape).astype(np.float32)
    y.backward(gy)
    ty.backward(torch.tensor(gy))
    for name, a, t in zip(("dX", "dW", "db"), xs, ts):
        if not a.requires_grad:
            assert a.grad is None
            continue
        close(a.grad, t.grad, rtol=1e-4, atol=tol(t.grad), what=f"{name} {kwargs}")


def _arrays(r, xshape, wshape, bias_n):
    x = r.standard_normal(xshape).astype(np.float32)
    w = r.standard_normal(wshape).astype(np.float32)
    b = r.standard_normal(bias_n).astype(np.float32) if r.random() < 0.7 else None
    return x, w, b


def _direct_config(seed, nd):
    """A random valid direct-conv setting: groups/depthwise, stride (often > kernel),
    dilation, odd and non-square sizes, int/tuple/'valid'/'same' padding, unbatched."""
    r = np.random.default_rng(seed)
    if r.random() < 0.2:  # depthwise, with a channel multiplier
        C = int(r.integers(1, 5))
        G, Cg, Co = C, 1, C * int(r.integers(1, 3))
    else:
        G = int(r.choice([1, 1, 2, 3]))
        Cg = int(r.integers(1, 4))
        C, Co = Cg * G, G * int(r.integers(1, 4))
    k = tuple(int(v) for v in r.integers(1, 6, size=nd))
    dil = tuple(int(v) for v in r.integers(1, 4, size=nd))
    stride = tuple(int(v) for v in r.integers(1, 6, size=nd))
    mode = r.choice(["int", "tuple", "valid", "same"])
    if mode == "same":
        stride, padding, pad = 1, "same", [0] * nd
    elif mode == "valid":
        padding, pad = "valid", [0] * nd
    elif mode == "int":
        padding = int(r.integers(0, 3))
        pad = [padding] * nd
    else:
        pad = [int(v) for v in r.integers(0, 3, size=nd)]
        padding = tuple(pad)
    eff = [d * (f - 1) + 1 for d, f in zip(dil, k)]
    size = [max(int(r.integers(1, 14)), e - 2 * p) for e, p in zip(eff, pad)]
    N = int(r.integers(1, 4))
    xshape = (C, *size) if r.random() < 0.15 else (N, C, *size)
    kwargs = dict(stride=stride, padding=padding, dilation=dil, groups=G)
    return _arrays(r, xshape, (Co, Cg, *k), Co), kwargs


@pytest.mark.parametrize("seed", range(40))
def test_conv2d_matches_torch(seed):
    (x, w, b), kwargs = _direct_config(seed, 2)
    _compare(conv2d, TF.conv2d, x, w, b, kwargs, seed, need_x=seed % 7 != 3)


@pytest.mark.parametrize("seed", range(40, 60))
def test_conv2d_in_sub_batches_matches_torch(seed, monkeypatch):
    """Tiny CHUNK_BYTES: every image is a chunk of its own, and backward recomputes cols;
    every stride-1 dX goes through the adjoint (flipped-kernel) conv, whatever its size."""
    monkeypatch.setattr(route, "CHUNK_BYTES", 1)
    monkeypatch.setattr(route, "ADJOINT_MIN_CHANNELS", 1)
    (x, w, b), kwargs = _direct_config(seed, 2)
    if x.ndim == 4:
        x = np.concatenate([x, x[::-1] * 0.5])  # >= 2 images, so there are >= 2 chunks
    _compare(conv2d, TF.conv2d, x, w, b, kwargs, seed, need_x=seed % 7 != 3)


@pytest.mark.parametrize("stride, padding, dilation", [(1, 1, 1), (2, 0, 1), (1, "same", 2)])
def test_depthwise_in_channel_blocks_matches_torch(stride, padding, dilation, monkeypatch):
    """Tiny BLOCK_BYTES and two workers: one channel a block, blocks shared by two threads."""
    monkeypatch.setattr(route, "DEPTHWISE_BLOCK_BYTES", 1)
    monkeypatch.setattr(threads, "_workers", 2)
    r = np.random.default_rng(stride + dilation)
    x = r.standard_normal((3, 5, 8, 7)).astype(np.float32)
    w = r.standard_normal((5, 1, 3, 3)).astype(np.float32)
    b = r.standard_normal(5).astype(np.float32)
    kwargs = dict(stride=stride, padding=padding, dilation=dilation, groups=5)
    _compare(conv2d, TF.conv2d, x, w, b, kwargs, stride)


def test_depthwise_weight_gradient_of_an_input_without_grad():
    """Regression: dW alone (the input needs no gradient, so the weight is not kept) crashed."""
    r = np.random.default_rng(5)
    x, w = r.standard_normal((2, 4, 6, 6)).astype(np.float32), r.standard_normal((4, 1, 3, 3)).astype(np.float32)
    _compare(conv2d, TF.conv2d, x, w, None, dict(padding=1, groups=4), 5, need_x=False)


def test_sub_batches_keep_the_input_not_the_cols(monkeypatch):
    r = np.random.default_rng(4)
    x = foveanet.tensor(r.standard_normal((3, 2, 5, 5)).astype(np.float32), requires_grad=True)
    w = foveanet.tensor(r.standard_normal((4, 2, 3, 3)).astype(np.float32), requires_grad=True)
    assert conv2d(x, w).grad_fn.state.saved[0].ndim == 2  # one chunk: the whole batch's cols
    monkeypatch.setattr(route, "CHUNK_BYTES", 1)
    assert gemm.batch_chunks(conv2d(x, w).grad_fn.geom, 4) == [(0, 1), (1, 2), (2, 3)]
    kept = conv2d(x, w).grad_fn.state.saved[0]
    assert kept.shape == (3, 2, 5, 5) and np.shares_memory(kept, x.data)


@pytest.mark.parametrize("seed", range(60, 90))
def test_patch_major_path_matches_torch(seed, monkeypatch):
    """The patch-major engine on the random sweep (its size limits lifted): whole batch and
    sub-batches, dX by the flipped-kernel conv and by col2im (strided)."""
    monkeypatch.setattr(route, "PATCHES_MIN_CHANNELS", 1)
    monkeypatch.setattr(route, "PATCHES_MAX_WIDTH", 1 << 30)
    monkeypatch.setattr(route, "ADJOINT_MIN_CHANNELS", 1)
    if seed % 2:
        monkeypatch.setattr(route, "CHUNK_BYTES", 1)
    (x, w, b), kwargs = _direct_config(seed, 2)
    if x.ndim == 4 and seed % 2:
        x = np.concatenate([x, x[::-1] * 0.5])
    _compare(conv2d, TF.conv2d, x, w, b, kwargs, seed, need_x=seed % 7 != 3)


@pytest.mark.parametrize("seed", range(90, 130))
def test_padded_grid_path_matches_torch(seed, monkeypatch):
    """The padded-grid im2col on the random sweep (its limits lifted, so every stride-1
    conv takes it, forward, the flipped-kernel dX and dW): whole batch and sub-batches."""
    for name, value in (("GRID_MAX_CHANNELS", 1 << 30), ("GRID_MIN_CHANNELS", 1),
                        ("GRID_MAX_JUNK", 1e9), ("ADJOINT_MIN_CHANNELS", 1)):
        monkeypatch.setattr(route, name, value)
    if seed % 2:
        monkeypatch.setattr(route, "CHUNK_BYTES", 1)
    (x, w, b), kwargs = _direct_config(seed, 2)
    kwargs["stride"] = 1  # the grid is for stride 1; 'same' padding is among the modes
    if x.ndim == 4 and seed % 2:
        x = np.concatenate([x, x[::-1] * 0.5])
    _compare(conv2d, TF.conv2d, x, w, b, kwargs, seed, need_x=seed % 7 != 3)


@pytest.mark.parametrize("chunk_bytes", [None, 1])
def test_grid_junk_columns_stay_out(chunk_bytes, monkeypatch):
    """Junk columns read past each image into the next one (and the zero slack after the
    last): huge values there must not reach y, dX or dW. Dilated 3x3 'same' conv, 16->8
    channels @18x40, 3 images whose magnitudes differ by 1e6, against torch in float64."""
    if chunk_bytes:
        monkeypatch.setattr(route, "CHUNK_BYTES", chunk_bytes)
    r = np.random.default_rng(7)
    x = r.standard_normal((3, 16, 18, 40)) * np.array([1.0, 1e6, 1.0]).reshape(3, 1, 1, 1)
    w, b = r.standard_normal((8, 16, 3, 3)), r.standard_normal(8)
    kwargs = dict(padding="same", dilation=(1, 2))
    g = ConvGeom(3, 16, 18, 40, 8, 1, 3, 3, (1, 1), (1, 2), (1, 1, 2, 2))
    assert route.grid(g) and route.path(g) == "gemm"
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = TF.conv2d(xt, wt, bt, **kwargs)
    gy = r.standard_normal(ty.shape)
    ty.backward(torch.tensor(gy))
    xf, wf, bf = (foveanet.tensor(a, requires_grad=True) for a in (x, w, b))
    y = conv2d(xf, wf, bf, **kwargs)
    y.backward(foveanet.tensor(gy))
    for ours, theirs in ((y, ty), (xf.grad, xt.grad), (wf.grad, wt.grad), (bf.grad, bt.grad)):
        np.testing.assert_allclose(ours.numpy(), theirs.detach().numpy(), rtol=1e-9, atol=1e-9 * np.abs(theirs.detach().numpy()).max())


@pytest.mark.parametrize("stride", [1, 2])
def test_small_maps_take_the_patch_major_path(stride):
    r = np.random.default_rng(stride)
    x, w, b = (r.standard_normal(s).astype(np.float32) for s in ((4, 32, 7, 7), (48, 32, 3, 3), 48))
    y = conv2d(foveanet.tensor(x, requires_grad=True), foveanet.tensor(w), padding=1, stride=stride)
    assert y.grad_fn.path == "patches"
    _compare(conv2d, TF.conv2d, x, w, b, dict(padding=1, stride=stride), stride)


@pytest.mark.parametrize("groups", [1, 2])
@pytest.mark.parametrize("chunk_bytes", [None, 1])
def test_cols_with_a_padded_row_stride_match_torch(groups, chunk_bytes, monkeypatch):
    """N*Ho*Wo a multiple of 256 floats: im2col's rows get slack (row_stride) and every GEMM
    reads them through the 2-d view, in the whole batch and in sub-batches of one image."""
    E = gemm
    assert (E.row_stride(512, 4), E.row_stride(500, 4), E.row_stride(256, 8)) == (528, 500, 264)
    if chunk_bytes:
        monkeypatch.setattr(route, "CHUNK_BYTES", chunk_bytes)
    r = np.random.default_rng(groups)
    x, w, b = (r.standard_normal(s).astype(np.float32) for s in ((2, 4, 16, 16), (6, 4 // groups, 3, 3), 6))
    g = ConvGeom(2, 4, 16, 16, 6, groups, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    cols = E.im2col(E.pad_cn(x, g), g)
    assert cols.shape == (36, 512) and cols.strides == (528 * 4, 4)
    _compare(conv2d, TF.conv2d, x, w, b, dict(padding=1, groups=groups), groups)
    # the transposed conv runs im2col in its backward: 16x16 -> 32x32 output
    wt = r.standard_normal((4, 6 // groups, 2, 2)).astype(np.float32)
    _compare(conv_transpose2d, TF.conv_transpose2d, x, wt, None, dict(stride=2, groups=groups), groups)


@pytest.mark.parametrize("rows", [False, True], ids=["im2col", "rows"])
@pytest.mark.parametrize("seed", range(20))
def test_conv1d_matches_torch(seed, rows, monkeypatch):
    if rows:  # route every stride-1 single-group case through the row-GEMM path
        monkeypatch.setattr(route, "ROWS_MIN_CHANNELS", 1)
    (x, w, b), kwargs = _direct_config(1000 + seed, 1)
    _compare(conv1d, TF.conv1d, x, w, b, kwargs, seed)


def _transposed_config(seed, nd):
    r = np.random.default_rng(seed)
    G = int(r.choice([1, 1, 2, 3]))
    Cin, Coutg = G * int(r.integers(1, 4)), int(r.integers(1, 4))
    k = tuple(int(v) for v in r.integers(1, 5, size=nd))
    stride = tuple(int(v) for v in r.integers(1, 4, size=nd))
    dil = tuple(int(v) for v in r.integers(1, 3, size=nd))
    opad = tuple(int(r.integers(0, max(s, d))) for s, d in zip(stride, dil))
    size = tuple(int(v) for v in r.integers(1, 8, size=nd))
    # the largest padding that keeps the output size positive
    pad = []
    for n, s, d, f, o in zip(size, stride, dil, k, opad):
        full = (n - 1) * s + d * (f - 1) + o + 1
        pad.append(int(r.integers(0, min(3, (full - 1) // 2) + 1)))
    padding = tuple(pad) if r.random() < 0.5 else pad[0] if len(set(pad)) == 1 else tuple(pad)
    N = int(r.integers(1, 4))
    xshape = (Cin, *size) if r.random() < 0.15 else (N, Cin, *size)
    kwargs = dict(stride=stride, padding=padding, output_padding=opad, groups=G, dilation=dil)
    return _arrays(r, xshape, (Cin, Coutg, *k), Coutg * G), kwargs


@pytest.mark.parametrize("seed", range(25))
def test_conv_transpose2d_matches_torch(seed):
    (x, w, b), kwargs = _transposed_config(2000 + seed, 2)
    _compare(conv_transpose2d, TF.conv_transpose2d, x, w, b, kwargs, seed, need_x=seed % 5 != 1)


@pytest.mark.parametrize("seed", range(8))
def test_conv_transpose1d_matches_torch(seed):
    (x, w, b), kwargs = _transposed_config(3000 + seed, 1)
    _compare(conv_transpose1d, TF.conv_transpose1d, x, w, b, kwargs, seed)


@pytest.mark.parametrize("k", [(2, 2), (4, 3), (2, 5)])
def test_same_padding_with_even_kernels_pads_right_and_bottom(k):
    r = np.random.default_rng(7)
    x = r.standard_normal((2, 3, 7, 6)).astype(np.float32)
    w = r.standard_normal((4, 3, *k)).astype(np.float32)
    y = conv2d(x, w, padding="same", dilation=(1, 2))
    assert y.shape == (2, 4, 7, 6)
    _compare(conv2d, TF.conv2d, x, w, None, dict(padding="same", dilation=(1, 2)), 0)


@pytest.mark.parametrize("k, kwargs, batched", [
    (2, {}, True), (5, {"padding": 2}, True), (8, {"padding": "same"}, True),
    (3, {"dilation": 2, "padding": (1,)}, True), (4, {"padding": "same", "dilation": 3}, False),
    (1, {}, True),
])
def test_text_cnn_conv1d(k, kwargs, batched):
    """Embedding-sized channels take the row-GEMM path (stride 1, one group)."""
    r = np.random.default_rng(k)
    x = r.standard_normal((2, 64, 23) if batched else (64, 23)).astype(np.float32)
    w = (r.standard_normal((6, 64, k)) * 0.2).astype(np.float32)
    b = r.standard_normal(6).astype(np.float32)
    _compare(conv1d, TF.conv1d, x, w, b, kwargs, k, need_x=k != 2)


# --------------------------------------------------------------------------- float64


def _f64(r, *shape):
    return foveanet.tensor(r.standard_normal(shape), requires_grad=True, dtype=np.float64)


def test_gradcheck_float64():
    r = np.random.default_rng(11)
    x, w, b = _f64(r, 2, 4, 5, 6), _f64(r, 4, 2, 3, 2), _f64(r, 4)
    assert foveanet.gradcheck(
        lambda x, w, b: conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2), groups=2),
        (x, w, b))
    x, w = _f64(r, 3, 3, 4, 4), _f64(r, 3, 1, 2, 2)
    assert foveanet.gradcheck(lambda x, w: conv2d(x, w, padding="same", groups=3), (x, w))
    x, w, b = _f64(r, 2, 4, 9), _f64(r, 3, 4, 3), _f64(r, 3)
    assert foveanet.gradcheck(lambda x, w, b: conv1d(x, w, b, stride=2, padding=1), (x, w, b))
    x, w, b = _f64(r, 2, 4, 3, 2), _f64(r, 4, 1, 3, 2), _f64(r, 2)
    assert foveanet.gradcheck(
        lambda x, w, b: conv_transpose2d(x, w, b, stride=2, padding=1, output_padding=1,
                                         groups=2), (x, w, b))
    assert conv2d(x.data, w.data.transpose(1, 0, 2, 3)).dtype == np.float64


# ------------------------------------------------------------------- lecture example


def test_vertical_edge_detector():
    image = np.zeros((6, 6), np.float32)
    image[:, :3] = 10
    kernel = np.array([[1, 0, -1]] * 3, np.float32)
    y = conv2d(image[None, None], kernel[None, None])
    np.testing.assert_array_equal(y.numpy()[0, 0], np.tile([0, 30, 30, 0], (4, 1)))


def test_unneeded_gradients_keep_no_buffers():
    r = np.random.default_rng(5)
    x = r.standard_normal((2, 3, 6, 6)).astype(np.float32)
    w = foveanet.tensor(r.standard_normal((4, 3, 3, 3)).astype(np.float32), requires_grad=True)
    y = conv2d(x, w)  # a first layer: dX is never needed, so W is not kept for it
    assert y.grad_fn.state.saved[1] is None and y.grad_fn.state.saved[0] is not None
    y.sum().backward()
    xt = foveanet.tensor(x, requires_grad=True)
    y = conv2d(xt, w.detach())  # frozen weight: no im2col buffer kept
    assert y.grad_fn.state.saved[0] is None and y.grad_fn.state.saved[1] is not None
    with foveanet.no_grad():
        assert conv2d(x, w).grad_fn is None


# ------------------------------------------------------------------------ bad input

X = np.zeros((2, 3, 8, 8), np.float32)
W = np.zeros((4, 3, 3, 3), np.float32)


@pytest.mark.parametrize("call, exc, match", [
    (lambda: conv2d(np.zeros((8, 8), np.float32), W), ValueError,
     r"conv2d: expected a 3-d or 4-d input .*got shape \(8, 8\)"),
    (lambda: conv2d(X, W[0]), ValueError, r"conv2d: expected a 4-d weight, got shape \(3, 3, 3\)"),
    (lambda: conv2d(np.zeros((2, 5, 8, 8), np.float32), W), ValueError,
     r"conv2d: input has 5 channels, weight expects 3 \(weight shape \(4, 3, 3, 3\)\)"),
    (lambda: conv1d(np.zeros((2, 5, 8), np.float32), np.zeros((4, 3, 2), np.float32)),
     ValueError, r"conv1d: input has 5 channels, weight expects 3"),
    (lambda: conv2d(np.zeros((1, 3, 2, 2), np.float32), W), ValueError,
     r"conv2d: kernel size \(3, 3\) \(with dilation\) is larger than the padded input \(2, 2\)"),
    (lambda: conv2d(np.zeros((1, 3, 5, 5), np.float32), W, dilation=3), ValueError,
     r"kernel size \(7, 7\) \(with dilation\) is larger than the padded input \(5, 5\)"),
    (lambda: conv2d(X, W, stride=0), ValueError, r"conv2d: stride must be positive, got 0"),
    (lambda: conv2d(X, W, stride=(1, -2)), ValueError, r"conv2d: stride must be positive"),
    (lambda: conv2d(X, W, dilation=0), ValueError, r"conv2d: dilation must be positive"),
    (lambda: conv2d(X, W, padding=-1), ValueError, r"conv2d: padding must be non-negative, got -1"),
    (lambda: conv2d(X, W, padding=(1, 2, 3)), ValueError, r"conv2d: padding must have 2 values"),
    (lambda: conv2d(X, np.zeros((4, 1, 3, 3), np.float32), groups=2), ValueError,
     r"conv2d: in_channels 3 is not divisible by groups=2"),
    (lambda: conv2d(np.zeros((1, 4, 5, 5), np.float32), np.zeros((3, 2, 3, 3), np.float32),
                    groups=2), ValueError, r"conv2d: out_channels 3 .* not divisible by groups=2"),
    (lambda: conv2d(X, W, groups=0), ValueError, r"conv2d: groups must be a positive int, got 0"),
    (lambda: conv2d(X, W, stride=2, padding="same"), ValueError,
     r"conv2d: padding='same' is not supported for strided convolutions"),
    (lambda: conv1d(X[:, :, 0], W[:, :, 0], stride=2, padding="same"), ValueError,
     r"conv1d: padding='same' is not supported for strided convolutions \(stride=\(2,\)\)"),
    (lambda: conv2d(X, W, padding="full"), ValueError,
     r"conv2d: padding must be an int, a tuple, 'valid' or 'same', got 'full'"),
    (lambda: conv2d(X, W, np.zeros(3, np.float32)), ValueError,
     r"conv2d: bias must have shape \(4,\), got \(3,\)"),
    (lambda: conv2d(X, W.astype(np.float64)), TypeError,
     r"conv2d: input is float32 but weight is float64"),
    (lambda: conv2d(X, W, np.zeros(4)), TypeError, r"conv2d: input is float32 but bias is float64"),
    (lambda: conv2d(X.astype(np.int64), W), TypeError, r"conv2d: input must be a float tensor"),
    (lambda: conv_transpose2d(X, W), ValueError,
     r"conv_transpose2d: input has 3 channels, weight expects 4"),
    (lambda: conv_transpose2d(X, W.transpose(1, 0, 2, 3), stride=2, output_padding=2), ValueError,
     r"conv_transpose2d: output_padding must be .*smaller than either stride or dilation"),
    (lambda: conv_transpose2d(X, W.transpose(1, 0, 2, 3), padding="same"), ValueError,
     r"conv_transpose2d: padding must be an int or a tuple"),
    (lambda: conv_transpose2d(X, W.transpose(1, 0, 2, 3), padding=6), ValueError,
     r"conv_transpose2d: output size \(-2, -2\) is not positive"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
