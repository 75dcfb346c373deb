import numpy as np
import pytest

PIL = pytest.importorskip("PIL")
from PIL import Image  # noqa: E402

from foveanet.data import DataLoader, ImageFolder, load_image  # noqa: E402


def _save(path, array, **kw):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **kw)
    return path


def _tree(root, rng, size=(8, 6)):
    """cat: 2 grey PNG + 1 grey BMP; dog: 2 lossless grey PNG/BMP; returns the pixels by path."""
    want = {}
    for cls, names in (("cat", ["a.png", "b.png", "c.bmp"]), ("dog", ["x.PNG", "y.bmp"])):
        for name in names:
            a = rng.integers(0, 256, size=size, dtype=np.uint8)
            want[str(_save(root / cls / name, a))] = a
    return want


def test_grey_tree_is_loaded_exactly(tmp_path, rng):
    want = _tree(tmp_path, rng)
    (tmp_path / "dog" / "notes.txt").write_text("not an image")
    ds = ImageFolder(tmp_path)
    assert ds.classes == ["cat", "dog"] and ds.class_to_idx == {"cat": 0, "dog": 1}
    assert ds.mode == "L" and ds.images.shape == (5, 1, 8, 6) and ds.images.dtype == np.uint8
    np.testing.assert_array_equal(ds.targets, [0, 0, 0, 1, 1])
    for (path, ci), img in zip(ds.samples, ds.images):
        np.testing.assert_array_equal(img[0], want[path])
    x, y = ds[3]
    assert x.dtype == np.float32 and x.shape == (1, 8, 6) and y == 1
    np.testing.assert_allclose(x[0], want[ds.samples[3][0]] / 255, atol=1e-7)
    xs, ys = ds.arrays()
    assert xs.shape == (5, 1, 8, 6) and xs.max() <= 1
    assert [len(b) for _, b in DataLoader(ds, batch_size=2)] == [2, 2, 1]
    assert ds.skipped == []


def test_colour_auto_mode_mixed_sizes_and_formats(tmp_path, rng):
    grey = rng.integers(0, 256, size=(10, 12), dtype=np.uint8)
    # smooth colour ramps: JPEG keeps them close, so the decoded JPEG can be compared
    yy, xx = np.mgrid[0:20, 0:16]
    rgb = np.stack([yy * 12, xx * 15, 255 - yy * 6 - xx * 5], axis=-1).astype(np.uint8)
    _save(tmp_path / "a" / "g.png", grey)
    _save(tmp_path / "b" / "c.png", rgb)
    _save(tmp_path / "b" / "c.jpg", rgb, quality=95)
    with pytest.raises(ValueError, match=r"different sizes.*10x12.*20x16.*pass size="):
        ImageFolder(tmp_path)
    ds = ImageFolder(tmp_path, size=(20, 16))
    assert ds.mode == "RGB" and ds.images.shape == (3, 3, 20, 16)
    # a grey image in an RGB set has three equal channels
    g = ds.images[0]
    assert np.array_equal(g[0], g[1]) and np.array_equal(g[1], g[2])
    png = ds.images[[p.endswith("c.png") for p, _ in ds.samples].index(True)]
    np.testing.assert_array_equal(png, rgb.transpose(2, 0, 1))  # same size: no resampling
    jpg = ds.images[[p.endswith("c.jpg") for p, _ in ds.samples].index(True)]
    assert np.abs(jpg.astype(int) - png.astype(int)).mean() < 4  # lossy, but the same picture
    small = ImageFolder(tmp_path, size=7, mode="L")
    assert small.images.shape == (3, 1, 7, 7)


def test_corrupt_image_skipped_with_warning_or_raised(tmp_path, rng):
    _tree(tmp_path, rng)
    (tmp_path / "cat" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
    with pytest.warns(UserWarning, match=r"skipped 1 unreadable image\(s\).*broken\.png"):
        ds = ImageFolder(tmp_path, on_error="skip")
    assert len(ds) == 5 and len(ds.skipped) == 1 and ds.skipped[0][0].endswith("broken.png")
    with pytest.raises(ValueError, match=r"cannot read image .*broken\.png"):
        ImageFolder(tmp_path, on_error="raise")


def test_truncated_pixel_data_is_caught_in_the_decode_pass(tmp_path, rng):
    _tree(tmp_path, rng, size=(64, 64))
    p = tmp_path / "dog" / "cut.png"
    _save(p, rng.integers(0, 256, size=(64, 64), dtype=np.uint8))
    p.write_bytes(p.read_bytes()[:200])  # header intact, pixel data cut
    with pytest.warns(UserWarning, match="cut.png"):
        ds = ImageFolder(tmp_path)
    assert len(ds) == 5 and np.bincount(ds.targets).tolist() == [3, 2]


def test_empty_and_missing(tmp_path, rng):
    with pytest.raises(FileNotFoundError):
        ImageFolder(tmp_path / "nope")
    with pytest.raises(ValueError, match="no class folders"):
        ImageFolder(tmp_path)
    _tree(tmp_path, rng)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(ValueError, match="empty_class"):
        ImageFolder(tmp_path)


def test_load_image_any_mode_and_size(tmp_path, rng):
    rgba = rng.integers(0, 256, size=(9, 7, 4), dtype=np.uint8)
    rgba[..., 3] = 255
    p = _save(tmp_path / "x.png", rgba)
    a = load_image(p)
    assert a.shape == (3, 9, 7) and a.dtype == np.float32
    np.testing.assert_allclose(a, rgba[..., :3].transpose(2, 0, 1) / 255, atol=1e-7)
    assert load_image(p, mode="L", size=28).shape == (1, 28, 28)
    assert load_image(p, size=(5, 3)).shape == (3, 5, 3)
    g = _save(tmp_path / "g.bmp", rgba[..., 0])
    assert load_image(g).shape == (1, 9, 7)
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    with pytest.raises(ValueError, match="bad.jpg"):
        load_image(bad)
