"""pad and interpolate against PyTorch: forward and input gradient over seeded sweeps."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import foveanet as fn
from foveanet.functional.shape import interpolate, pad
from tests.torch_ref import close, f, t


def _check(fn_ours, fn_torch, x, rng, rtol=1e-5, atol=1e-5):
    xo, xt = f(x, True), t(x, True)
    yo, yt = fn_ours(xo), fn_torch(xt)
    close(yo, yt, rtol, atol, "forward")
    assert yo.dtype == x.dtype
    g = rng.standard_normal(yo.shape).astype(x.dtype)
    yo.backward(fn.tensor(g))
    yt.backward(torch.from_numpy(g))
    close(xo.grad, xt.grad, rtol, atol * 10, "grad of input")
    assert xo.grad.dtype == x.dtype


# ----------------------------------------------------------------------------- pad

PAD_CASES = [
    # (input shape, pad)
    ((2, 3, 7), (1, 2)),
    ((3, 7), (3, 0)),
    ((2, 3, 5, 6), (1, 2, 3, 1)),
    ((3, 5, 6), (0, 0, 2, 4)),
    ((1, 2, 4, 5, 6), (1, 1, 2, 0, 3, 2)),
    ((2, 4, 5, 6), (2, 1, 0, 3, 1, 1)),
    ((2, 3, 7), (-2, 3)),
    ((2, 3, 7), (4, -3)),
    ((2, 3, 5, 6), (-1, 2, 3, -2)),
    ((2, 3, 5, 6), (-2, -1, -1, -3)),
]


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("shape,amounts", PAD_CASES)
def test_pad_matches_torch(mode, shape, amounts, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    kw = {"value": 1.5} if mode == "constant" else {}
    try:
        F.pad(torch.from_numpy(x), amounts, mode=mode, **kw)
    except (RuntimeError, NotImplementedError):
        with pytest.raises(ValueError, match="pad: "):
            pad(x, amounts, mode=mode)
        return
    _check(lambda a: pad(a, amounts, mode=mode, **kw), lambda a: F.pad(a, amounts, mode=mode, **kw), x, rng)


@pytest.mark.parametrize("amounts", [(1, 2, -1, 0, 2, 2, 0, 1), (0, 0, 0, 0, 1, 1), (-1, -1), (2, 3, 0, 0),
                                     (0, -7)])
def test_constant_pad_any_dims_and_crops(amounts, rng):
    x = rng.standard_normal((2, 3, 4, 7)).astype(np.float32)
    _check(lambda a: pad(a, amounts), lambda a: F.pad(a, amounts), x, rng)


def test_pad_random_sweep_against_torch(rng):
    for _ in range(60):
        mode = rng.choice(["constant", "reflect", "replicate", "circular"])
        k = int(rng.integers(1, 4))
        shape = tuple(int(s) for s in rng.integers(1, 7, k + int(rng.integers(1, 3))))
        amounts = tuple(int(p) for p in rng.integers(-3, 5, 2 * k))
        x = rng.standard_normal(shape).astype(np.float32)
        try:
            F.pad(torch.from_numpy(x), amounts, mode=mode)
        except (RuntimeError, NotImplementedError):
            continue
        if mode == "circular" and any(p < 0 for p in amounts):
            continue  # PyTorch reads uninitialised memory for some crop+wrap mixes
        _check(lambda a: pad(a, amounts, mode=mode), lambda a: F.pad(a, amounts, mode=mode), x, rng)


def test_pad_hand_examples():
    x = np.array([[[1.0, 2.0, 3.0]]], np.float32)
    np.testing.assert_array_equal(pad(x, (2, 2), mode="reflect").numpy()[0, 0], [3, 2, 1, 2, 3, 2, 1])
    np.testing.assert_array_equal(pad(x, (2, 1), mode="replicate").numpy()[0, 0], [1, 1, 1, 2, 3, 3])
    np.testing.assert_array_equal(pad(x, (1, 3), mode="circular").numpy()[0, 0], [3, 1, 2, 3, 1, 2, 3])
    np.testing.assert_array_equal(pad(x, (-1, 1), value=9).numpy()[0, 0], [2, 3, 9])
    np.testing.assert_array_equal(pad(x, (1, 0), value=None).numpy()[0, 0], [0, 1, 2, 3])
    # reflect fold: x_1 (value 2) is read by itself and both mirrors at positions 1 and 5
    xt = f(x, True)
    pad(xt, (2, 2), mode="reflect").sum().backward()
    np.testing.assert_array_equal(xt.grad.numpy()[0, 0], [2, 3, 2])


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_gradcheck(mode, rng):
    x = fn.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    amounts = (2, -1, 1, 2) if mode != "circular" else (2, 1, 1, 2)
    assert fn.gradcheck(lambda a: pad(a, amounts, mode=mode), (x,))


def test_pad_errors():
    x = np.zeros((1, 2, 5), np.float32)
    with pytest.raises(ValueError, match=r"pad: padding length must be divisible by 2, got 3"):
        pad(x, (1, 1, 1))
    with pytest.raises(ValueError, match=r"pad: padding length must be at most twice .* length 8"):
        pad(x, (1,) * 8)
    with pytest.raises(ValueError, match=r"pad: padding \(0, -7\) makes dimension 2 .* negative \(-2\)"):
        pad(x, (0, -7))
    with pytest.raises(ValueError, match=r"pad: reflect padding must be smaller than the padded dimension"):
        pad(x, (5, 5), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: circular padding \(6, 0\) would wrap around more than once"):
        pad(x, (6, 0), mode="circular")
    with pytest.raises(ValueError, match=r"pad: mode 'reflect' .* needs a 3-d or 4-d input, got shape \(1, 5\)"):
        pad(np.zeros((1, 5), np.float32), (1, 1, 1, 1), mode="reflect")
    with pytest.raises(ValueError, match=r"pad: unknown mode 'wrap'"):
        pad(x, (1, 1), mode="wrap")
    with pytest.raises(ValueError, match=r"pad: mode 'replicate' takes no fill value"):
        pad(x, (1, 1), mode="replicate", value=2.0)
    with pytest.raises(ValueError, match=r"pad: padding \(0, -5\) leaves no elements in dimension 2"):
        pad(x, (0, -5), mode="replicate")


# ---------------------------------------------------------------------- interpolate

INTERP_CASES = [
    # (spatial size, size or None, scale_factor or None)
    ((5, 7), (10, 14), None),
    ((6, 8), (3, 5), None),
    ((4, 5), None, 2.0),
    ((8, 9), None, 0.5),
    ((5, 7), None, (1.7, 2.3)),
    ((9, 6), None, (0.6, 1.45)),
    ((7, 7), (7, 11), None),
    ((3, 4), None, (2.37, 3.41)),
    ((1, 3), (4, 1), None),
]


@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None), ("bilinear", False),
                                        ("bilinear", True), ("bilinear", None)])
@pytest.mark.parametrize("spatial,size,scale", INTERP_CASES)
def test_interpolate_2d_matches_torch(mode, align, spatial, size, scale, rng):
    x = rng.standard_normal((2, 3) + spatial).astype(np.float32)
    kw = dict(size=size, scale_factor=scale, mode=mode)
    if align is not None:
        kw["align_corners"] = align
    _check(lambda a: interpolate(a, **kw), lambda a: F.interpolate(a, **kw), x, rng)


@pytest.mark.parametrize("mode,align", [("nearest", None), ("nearest-exact", None), ("linear", False),
                                        ("linear", True)])
@pytest.mark.parametrize("length,size,scale", [(5, 12, None), (9, 4, None), (4, None, 2.19), (7, None, 0.7),
                                               (8, None, 1.1), (1, 5, None), (6, None, 3)])
def test_interpolate_1d_matches_torch(mode, align, length, size, scale, rng):
    x = rng.standard_normal((2, 3, length)).astype(np.float32)
    kw = dict(size=size, scale_factor=scale, mode=mode)
    if align is not None:
        kw["align_corners"] = align
    out = size or int(length * scale)
    if mode == "nearest" and scale and out in (length, 2 * length) and out != length * scale:
        # PyTorch's 1-d nearest backward takes a shortcut (copy / halve) that its forward does
        # not, so its gradient is not that of its own output; check ours against the
        # transpose of the gather that torch's forward performs
        src = F.interpolate(torch.arange(length, dtype=torch.float32)[None, None], **kw)[0, 0].long().numpy()
        close(interpolate(x, **kw), F.interpolate(t(x), **kw), 1e-6, 1e-6, "forward")
        xo = f(x, True)
        g = rng.standard_normal((2, 3, out)).astype(np.float32)
        interpolate(xo, **kw).backward(fn.tensor(g))
        want = np.zeros_like(x)
        np.add.at(want, (slice(None), slice(None), src), g)
        close(xo.grad, want, 1e-6, 1e-6, "grad of input")
        return
    _check(lambda a: interpolate(a, **kw), lambda a: F.interpolate(a, **kw), x, rng)


def test_interpolate_random_sweep_against_torch(rng):
    # index rounding (float32 source coordinates, PyTorch's size shortcuts) is where resizes
    # drift apart, so the sweep covers many odd size/scale pairs, forward only
    for trial in range(400):
        k = int(rng.integers(1, 3))
        spatial = tuple(int(s) for s in rng.integers(1, 12, k))
        x = rng.standard_normal((1, 2) + spatial).astype(np.float32 if trial % 3 else np.float64)
        mode = str(rng.choice(["nearest", "nearest-exact", "bilinear" if k == 2 else "linear"]))
        kw = dict(mode=mode)
        if rng.random() < 0.5:
            kw["size"] = tuple(int(v) for v in rng.integers(1, 16, k))
        else:
            kw["scale_factor"] = tuple(float(np.round(v, int(rng.integers(0, 3)))) for v in rng.uniform(0.3, 3.5, k))
            kw["recompute_scale_factor"] = bool(rng.random() < 0.3)
        if "linear" in mode:
            kw["align_corners"] = bool(rng.random() < 0.5)
        try:
            yt = F.interpolate(torch.from_numpy(x), **kw)
        except (RuntimeError, ValueError):
            with pytest.raises(ValueError, match="interpolate: "):
                interpolate(x, **kw)
            continue
        close(interpolate(x, **kw), yt, 1e-5, 1e-5, f"{spatial} {kw}")


def test_interpolate_hand_examples():
    x = np.array([[[0.0, 10.0]]], np.float32)
    np.testing.assert_allclose(interpolate(x, size=4, mode="linear", align_corners=False).numpy()[0, 0],
                               [0, 2.5, 7.5, 10])
    np.testing.assert_allclose(interpolate(x, size=3, mode="linear", align_corners=True).numpy()[0, 0],
                               [0, 5, 10])
    np.testing.assert_array_equal(interpolate(x, scale_factor=2).numpy()[0, 0], [0, 0, 10, 10])
    # nearest upsampling by 2: each input's gradient is the sum of its two copies
    xt = f(x, True)
    interpolate(xt, scale_factor=2).backward(fn.tensor(np.array([[[1.0, 2.0, 3.0, 4.0]]], np.float32)))
    np.testing.assert_array_equal(xt.grad.numpy()[0, 0], [3, 7])


@pytest.mark.parametrize("mode,kw", [("nearest", {}), ("nearest-exact", {}), ("bilinear", {"align_corners": False}),
                                     ("bilinear", {"align_corners": True})])
def test_interpolate_gradcheck(mode, kw, rng):
    x = fn.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    assert fn.gradcheck(lambda a: interpolate(a, size=(5, 3), mode=mode, **kw), (x,))
    x1 = fn.tensor(rng.standard_normal((1, 2, 4)), requires_grad=True)
    mode1 = "linear" if mode == "bilinear" else mode
    assert fn.gradcheck(lambda a: interpolate(a, scale_factor=1.7, mode=mode1, **kw), (x1,))


def test_interpolate_errors():
    x = np.zeros((1, 2, 4, 4), np.float32)
    with pytest.raises(ValueError, match="interpolate: give exactly one of size and scale_factor, got both"):
        interpolate(x, size=3, scale_factor=2)
    with pytest.raises(ValueError, match="interpolate: give exactly one of size and scale_factor, got neither"):
        interpolate(x)
    with pytest.raises(ValueError, match=r"interpolate: mode 'nearest' expects a 3-d or 4-d input .* \(1, 4\)"):
        interpolate(np.zeros((1, 4), np.float32), scale_factor=2)
    with pytest.raises(ValueError, match=r"interpolate: mode 'bilinear' expects a 4-d input .* \(1, 2, 4\)"):
        interpolate(np.zeros((1, 2, 4), np.float32), scale_factor=2, mode="bilinear")
    with pytest.raises(ValueError, match=r"interpolate: mode 'linear' expects a 3-d input"):
        interpolate(x, scale_factor=2, mode="linear")
    with pytest.raises(ValueError, match=r"interpolate: unknown mode 'bicubic'"):
        interpolate(x, scale_factor=2, mode="bicubic")
    with pytest.raises(ValueError, match=r"interpolate: align_corners can only be set with the linear modes"):
        interpolate(x, scale_factor=2, mode="nearest", align_corners=True)
    with pytest.raises(ValueError, match=r"interpolate: size must have one value per spatial dim; input has 2"):
        interpolate(x, size=(3, 3, 3))
    with pytest.raises(ValueError, match=r"interpolate: input and output sizes must be positive"):
        interpolate(x, scale_factor=0.1)
    with pytest.raises(TypeError, match=r"interpolate: input must be a float tensor"):
        interpolate(np.zeros((1, 2, 4, 4), np.int64), scale_factor=2)
