"""The user-folder reader: layout, grey and palette masks, and its errors."""
import numpy as np
import pytest
from PIL import Image

from foveanet.segmentation.folder import SegmentationFolder


def _write(root, name, size=(6, 4), mask_size=None, palette=False):
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "masks").mkdir(parents=True, exist_ok=True)
    w, h = size
    img = (np.arange(w * h).reshape(h, w) * 10 % 256).astype(np.uint8)
    Image.fromarray(img, "L").save(root / "images" / f"{name}.png")
    mw, mh = mask_size or size
    mask = (np.arange(mw * mh).reshape(mh, mw) % 3).astype(np.uint8)
    m = Image.fromarray(mask, "L")
    if palette:
        m = m.convert("P")
        m.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * 759)
        m.putdata(mask.ravel().tolist())
    m.save(root / "masks" / f"{name}.png")
    return img, mask


def test_reads_grey_and_palette_masks(tmp_path):
    img_a, mask_a = _write(tmp_path, "a")
    _, mask_b = _write(tmp_path, "b", palette=True)
    ds = SegmentationFolder(tmp_path)
    assert ds.names == ["a", "b"] and len(ds) == 2
    assert ds.images.shape == (2, 1, 4, 6) and ds.masks.shape == (2, 4, 6)
    np.testing.assert_allclose(ds.images[0, 0], img_a / 255, atol=1e-6)
    np.testing.assert_array_equal(ds.masks[0], mask_a)
    np.testing.assert_array_equal(ds.masks[1], mask_b)  # palette indices, not colours
    assert ds.masks.dtype == np.int64 and ds.num_classes == 3


def test_missing_mask_names_the_file(tmp_path):
    _write(tmp_path, "a")
    _write(tmp_path, "b")
    (tmp_path / "masks" / "b.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"b\.png has no mask .*masks/b\.png"):
        SegmentationFolder(tmp_path)


def test_size_mismatch_names_both_sizes(tmp_path):
    _write(tmp_path, "a", size=(6, 4), mask_size=(5, 4))
    with pytest.raises(ValueError, match=r"a\.png is 6x4 .*mask a\.png is 5x4"):
        SegmentationFolder(tmp_path)


def test_missing_folder_and_rgb_mask(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing images/"):
        SegmentationFolder(tmp_path)
    _write(tmp_path, "a")
    Image.new("RGB", (6, 4)).save(tmp_path / "masks" / "a.png")
    with pytest.raises(ValueError, match="mode 'RGB'"):
        SegmentationFolder(tmp_path)
