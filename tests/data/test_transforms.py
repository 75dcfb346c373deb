import numpy as np
import pytest
import torch

import foveanet
from foveanet.data import transforms as T


def _batch(rng, n=64, c=3, h=12, w=10):
    # distinct positive values so every window and every erased pixel is identifiable
    return rng.uniform(0.1, 1.0, size=(n, c, h, w)).astype(np.float32)


@pytest.mark.parametrize("padding,size", [(4, (12, 10)), (2, (8, 8)), ((1, 3), (10, 9)), (0, (5, 7))])
def test_random_crop_matches_per_sample_reference(rng, padding, size):
    x = _batch(rng)
    crop = T.RandomCrop(size, padding=padding)
    out = crop(x, np.random.default_rng(0))
    assert out.shape == (64, 3) + size and out.dtype == np.float32
    ph, pw = (padding, padding) if np.isscalar(padding) else padding
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    H, W = padded.shape[2:]
    seen = set()
    for i in range(len(x)):  # reference: search every offset of the padded image
        hits = [(a, b) for a in range(H - size[0] + 1) for b in range(W - size[1] + 1)
                if np.array_equal(padded[i, :, a:a + size[0], b:b + size[1]], out[i])]
        assert len(hits) == 1, f"sample {i}: crop is no window of the padded image"
        seen.add(hits[0])
    # offsets differ per sample (a shared offset would give one hit for all)
    assert len(seen) > min(10, (H - size[0] + 1) * (W - size[1] + 1) - 1)


def test_random_crop_single_image_and_modes(rng):
    img = _batch(rng, n=1)[0]
    out = T.RandomCrop(12, padding=3, padding_mode="reflect")(img)
    assert out.shape == (3, 12, 12)
    full = T.RandomCrop((12, 10), padding=0)(img)
    np.testing.assert_array_equal(full, img)  # only one possible window
    assert T.RandomCrop(16, pad_if_needed=True)(img).shape == (3, 16, 16)
    with pytest.raises(ValueError, match="larger than"):
        T.RandomCrop(16)(img)


def test_horizontal_flip_is_exact(rng):
    x = _batch(rng, n=200)
    out = T.RandomHorizontalFlip(0.5)(x, np.random.default_rng(3))
    flipped = np.array([np.array_equal(o, s[..., ::-1]) for o, s in zip(out, x)])
    kept = np.array([np.array_equal(o, s) for o, s in zip(out, x)])
    assert np.all(flipped ^ kept)
    assert 60 < flipped.sum() < 140  # Binomial(200, 0.5): 6 sigma either side
    np.testing.assert_array_equal(T.RandomHorizontalFlip(1.0)(x[0]), x[0][:, :, ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(0.0)(x), x)
    np.testing.assert_array_equal(T.RandomVerticalFlip(1.0)(x), x[:, :, ::-1])


@pytest.mark.parametrize("scale,ratio", [((0.02, 0.33), (0.3, 3.3)), ((0.1, 0.2), (1.0, 1.0))])
def test_random_erasing_rectangle_within_bounds(rng, scale, ratio):
    x = _batch(rng, n=300, c=2, h=40, w=40)
    out = T.RandomErasing(p=1.0, scale=scale, ratio=ratio, value=(0.0, -1.0))(x, np.random.default_rng(5))
    A = 40 * 40
    erased = 0
    for o, s in zip(out, x):
        changed = np.any(o != s, axis=0)
        if not changed.any():
            continue  # no fitting rectangle in 10 tries: left unchanged, as torchvision
        erased += 1
        ys, xs = np.nonzero(changed)
        h, w = ys.max() - ys.min() + 1, xs.max() - xs.min() + 1
        assert changed.sum() == h * w, "erased region is not a rectangle"
        assert np.all(o[0][changed] == 0) and np.all(o[1][changed] == -1)
        # h = round(sqrt(a r)), w = round(sqrt(a / r)) with a in scale * A, r in ratio
        a_lo, a_hi = scale[0] * A, scale[1] * A
        assert (np.sqrt(a_lo * ratio[0]) - 0.5 <= h + 1e-9 and h <= np.sqrt(a_hi * ratio[1]) + 0.5)
        area_hi = a_hi + 0.5 * (np.sqrt(a_hi * ratio[1]) + np.sqrt(a_hi / ratio[0])) + 0.25
        area_lo = a_lo - 0.5 * (np.sqrt(a_lo * ratio[1]) + np.sqrt(a_lo / ratio[0]))
        assert area_lo <= h * w <= area_hi
    assert erased > 250


def test_random_erasing_probability_and_random_value(rng):
    x = _batch(rng, n=400, c=1, h=16, w=16)
    out = T.RandomErasing(p=0.3)(x, np.random.default_rng(1))
    n = sum(not np.array_equal(o, s) for o, s in zip(out, x))
    assert 80 < n < 160  # Binomial(400, 0.3) = 120 +- 9
    noisy = T.RandomErasing(p=1.0, value="random")(x[0], np.random.default_rng(2))
    assert noisy.dtype == np.float32 and np.any(noisy < 0)


def test_normalize_values():
    x = np.arange(2 * 2 * 3, dtype=np.float32).reshape(1, 2, 2, 3)
    out = T.Normalize([1.0, 2.0], [2.0, 4.0])(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out[0, 0], (x[0, 0] - 1) / 2, rtol=1e-6)
    np.testing.assert_allclose(out[0, 1], (x[0, 1] - 2) / 4, rtol=1e-6)
    np.testing.assert_allclose(T.Normalize(0.5, 0.25)(x[0]), (x[0] - 0.5) * 4, rtol=1e-6)
    with pytest.raises(ValueError, match="3 values, input has 2 channels"):
        T.Normalize([0, 0, 0], [1, 1, 1])(x)


def test_to_float_mean_std_standardize(rng):
    u = rng.integers(0, 256, size=(50, 3, 4, 4), dtype=np.uint8)
    f = T.ToFloat()(u)
    assert f.dtype == np.float32 and np.allclose(f, u / 255.0)
    mean, std = T.mean_std(u, chunk=7)
    np.testing.assert_allclose(mean, (u / 255.0).mean(axis=(0, 2, 3)), rtol=1e-12)
    np.testing.assert_allclose(std, (u / 255.0).std(axis=(0, 2, 3)), rtol=1e-9)
    z = T.Standardize(f)(f)
    np.testing.assert_allclose(z.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=(0, 2, 3)), 1, atol=1e-4)


@pytest.mark.parametrize("size", [(7, 13), (20, 9), (10, 10)])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
def test_resize_matches_torch_interpolate(rng, size, mode):
    x = rng.standard_normal((2, 3, 10, 10)).astype(np.float32)
    out = T.Resize(size, interpolation=mode)(x)
    kw = {"align_corners": False} if mode == "bilinear" else {}
    ref = torch.nn.functional.interpolate(torch.from_numpy(x), size=size, mode=mode, **kw).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)  # float32 summation order
    assert T.Resize(5).output_size(10, 20) == (5, 10)  # int: the smaller edge, as torchvision


def test_compose_is_reproducible_with_global_seed(rng):
    x = _batch(rng, n=16)
    aug = T.Compose([T.RandomCrop(12, padding=2), T.RandomHorizontalFlip(), T.Lambda(lambda a: a * 2)])
    foveanet.manual_seed(7)
    a = aug(x)
    foveanet.manual_seed(7)
    b = aug(x)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, aug(x))
