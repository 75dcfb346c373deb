"""vision.filters against the lecture's matrices and a plain nested-loop cross-correlation."""
import numpy as np
import pytest

from foveanet.vision import filters as F

LECTURE = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "box_blur": np.full((3, 3), 1 / 9),
    "gaussian_blur": np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "sobel_x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_y": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "prewitt_x": [[-1, 0, 1]] * 3,
    "prewitt_y": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "laplacian": [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    "vertical_edge": [[1, 0, -1]] * 3,
    "horizontal_edge": [[1, 1, 1], [0, 0, 0], [-1, -1, -1]],
    "emboss": [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


def correlate_loops(img, k, pad):
    """y[i, j] = sum_u sum_v k[u, v] * x[i + u, j + v] on the zero-padded image, by loops."""
    (t, b), (l, r) = pad
    h, w = img.shape
    x = np.zeros((h + t + b, w + l + r))
    x[t:t + h, l:l + w] = img
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            s = 0.0
            for u in range(kh):
                for v in range(kw):
                    s += k[u, v] * x[i + u, j + v]
            out[i, j] = s
    return out


def test_kernels_are_the_lecture_matrices():
    assert F.names() == list(LECTURE)
    for name, m in LECTURE.items():
        k = F.get(name)
        assert k.dtype == np.float32 and k.shape == (3, 3)
        np.testing.assert_allclose(k, np.asarray(m, dtype=np.float64), rtol=0, atol=1e-7, err_msg=name)
    np.testing.assert_array_equal(F.get("horizontal_edge"), F.get("vertical_edge").T)
    F.get("sobel_x")[0, 0] = 99  # a copy: editing it leaves the table alone
    assert F.get("sobel_x")[0, 0] == -1


def test_unknown_name_lists_the_names():
    with pytest.raises(ValueError, match="unknown filter 'blurry'.*sobel_x.*emboss"):
        F.get("blurry")


def test_gaussian_maker():
    k = F.gaussian(5, 1.0)
    assert k.shape == (5, 5) and k.dtype == np.float32
    assert abs(float(k.sum()) - 1) < 1e-6
    g = np.exp(-np.arange(-2, 3) ** 2 / 2.0)
    np.testing.assert_allclose(k, np.outer(g, g) / np.outer(g, g).sum(), rtol=1e-6)
    # the binomial 1-2-1 kernel is a 3x3 Gaussian with sigma ~0.85
    np.testing.assert_allclose(F.gaussian(3, 0.8493), F.get("gaussian_blur"), atol=2e-4)
    for bad in ((4, 1.0), (3, 0.0), (0, 1.0)):
        with pytest.raises(ValueError):
            F.gaussian(*bad)


@pytest.mark.parametrize("name", ["sobel_x", "sharpen", "emboss", "laplacian", "box_blur"])
@pytest.mark.parametrize("padding", ["same", "valid", 2])
def test_apply_equals_loops(rng, name, padding):
    img = rng.random((7, 9)).astype(np.float32)
    pad = {"same": ((1, 1), (1, 1)), "valid": ((0, 0), (0, 0)), 2: ((2, 2), (2, 2))}[padding]
    want = correlate_loops(img, F.get(name).astype(np.float64), pad)
    got = F.apply(img, name, padding=padding)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_apply_custom_even_kernel_same_padding(rng):
    # even kernels pad the extra pixel right/bottom, as conv2d and PyTorch
    img = rng.random((6, 5)).astype(np.float32)
    k = rng.standard_normal((2, 4)).astype(np.float32)
    want = correlate_loops(img, k.astype(np.float64), ((0, 1), (1, 2)))
    np.testing.assert_allclose(F.apply(img, k), want, rtol=1e-5, atol=1e-5)


def test_true_convolution_is_the_flipped_kernel(rng):
    img = rng.random((6, 6)).astype(np.float32)
    k = F.get("sobel_x")
    # true convolution: y[i, j] = sum k[u, v] x[i - u, j - v]; done here by loops on the padded image
    x = np.pad(img.astype(np.float64), 1)
    conv = np.array([[sum(k[u, v] * x[i + 2 - u, j + 2 - v] for u in range(3) for v in range(3))
                      for j in range(6)] for i in range(6)])
    np.testing.assert_allclose(F.apply(img, k[::-1, ::-1].copy()), conv, atol=1e-5)
    np.testing.assert_allclose(F.apply(img, k), -conv, atol=1e-5)  # sobel_x flipped is -sobel_x


def test_lecture_vertical_edge_example():
    img = np.zeros((6, 6), dtype=np.float32)
    img[:, :3] = 10
    out = F.apply(img, "vertical_edge", padding="valid")
    np.testing.assert_array_equal(out, np.tile([0, 30, 30, 0], (4, 1)))


def test_edge_magnitude_peaks_at_the_step():
    img = np.zeros((12, 12), dtype=np.float32)
    img[:, 6:] = 1  # dark | bright, the step between columns 5 and 6
    mag = F.edge_magnitude(img, padding="valid")  # no padding: no fake edges at the border
    # columns of the valid output: output column c sees input columns c..c+2
    row = mag[4]
    assert set(np.flatnonzero(row == row.max())) == {4, 5}  # windows straddling 5|6
    np.testing.assert_allclose(row.max(), 4.0)  # |(-1-2-1)*0 + (1+2+1)*1|
    assert np.all(row[[0, 1, 2, 3, 6, 7, 8, 9]] == 0)


def test_gray_uses_luminance(rng):
    rgb = rng.random((3, 5, 6)).astype(np.float32)
    grey = 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]
    np.testing.assert_allclose(F.luminance(rgb), grey, rtol=1e-6)
    np.testing.assert_allclose(F.apply(rgb, "sharpen"), F.apply(grey, "sharpen"), rtol=1e-5, atol=1e-6)


def test_per_channel_equals_each_channel_alone(rng):
    rgb = rng.random((3, 8, 7)).astype(np.float32)
    for name in ("sobel_y", "gaussian_blur", "emboss"):
        got = F.apply(rgb, name, mode="per-channel")
        assert got.shape == (3, 8, 7)
        for c in range(3):
            np.testing.assert_allclose(got[c], F.apply(rgb[c], name), rtol=1e-5, atol=1e-6)


def test_strips_give_the_same_result(rng, monkeypatch):
    rgb = rng.random((3, 23, 17)).astype(np.float32)
    whole = F.apply(rgb, "laplacian", "per-channel")
    monkeypatch.setattr(F, "_STRIP_PIXELS", 60)  # forces one-row strips
    np.testing.assert_array_equal(F.apply(rgb, "laplacian", "per-channel"), whole)


def test_uint8_is_scaled_like_load_image():
    img = np.full((4, 4), 255, dtype=np.uint8)
    np.testing.assert_allclose(F.apply(img, "identity"), np.ones((4, 4)), rtol=1e-6)


def test_bad_inputs():
    with pytest.raises(ValueError, match="mode"):
        F.apply(np.zeros((4, 4)), "identity", mode="hsv")
    with pytest.raises(ValueError, match="does not fit"):
        F.apply(np.zeros((2, 2)), "identity", padding="valid")
    with pytest.raises(ValueError, match="1 or 3 channels"):
        F.apply(np.zeros((2, 4, 4)), "identity")
    with pytest.raises(ValueError, match="2-d"):
        F.apply(np.zeros((4, 4)), np.ones(3))


def test_display_scaling():
    assert F.display_kind("sobel_x") == "abs" and F.display_kind("laplacian") == "abs"
    assert F.display_kind("sharpen") == "clip" and F.display_kind("emboss") == "clip"
    y = np.array([-0.5, 0.25, 1.5], dtype=np.float32)
    np.testing.assert_array_equal(F.to_display(y, "sharpen"), [0, 0.25, 1])
    np.testing.assert_allclose(F.to_display(y, "abs", percentile=100), [1 / 3, 1 / 6, 1])
    np.testing.assert_allclose(F.to_display(y, "signed", percentile=100), [1 / 3, 7 / 12, 1])
    # the default top is the 99.5th percentile: one outlier saturates instead of darkening the rest
    edges = np.r_[np.ones(999), 100.0].astype(np.float32)
    shown = F.to_display(edges, "sobel_x")
    assert shown.max() == 1 and shown[0] == 1
    np.testing.assert_array_equal(F.to_display(np.zeros(5), "abs"), np.zeros(5))
    np.testing.assert_array_equal(F.to_display(np.zeros(5), "signed"), np.full(5, 0.5))
