"""The three digit sources and their fixed splits; Tesseract through its command line."""
import numpy as np
import pytest

from foveanet.ocr.digits import DigitNet, DigitsMissing, _every_fifth, augment, load_source, normalise
from foveanet.ocr.render import fonts_for, render_line
from foveanet.ocr.tesseract import available, tesseract_lines


def _load(name):
    try:
        return load_source(name)
    except DigitsMissing as e:
        pytest.skip(str(e))


@pytest.mark.parametrize("name,n_train,n_test", [("sklearn", 1442, 355), ("opencv", 2500, 2500),
                                                 ("mnist5k", 4000, 1000)])
def test_sources_have_their_documented_splits(name, n_train, n_test):
    xtr, ytr, xte, yte = _load(name)
    assert xtr.shape == (n_train, 28, 28) and xte.shape == (n_test, 28, 28)
    assert xtr.dtype == np.uint8 and set(np.unique(yte)) == set(range(10))
    # white ink on black in MNIST's frame: the ink's longer side 20 pixels (give or take the
    # faint edge pixels), its centre of mass within a pixel of the centre
    assert xtr.mean() < 60
    x = xtr[:200].astype(float)
    rows, cols = x.sum(2), x.sum(1)
    cy = (rows * np.arange(28)).sum(1) / rows.sum(1)
    cx = (cols * np.arange(28)).sum(1) / cols.sum(1)
    assert np.abs(cy - 13.5).max() <= 1.0 and np.abs(cx - 13.5).max() <= 1.0
    sides = []
    for img in xtr[:200]:
        ys, xs = np.nonzero(img > img.max() // 8)
        sides.append(max(np.ptp(ys), np.ptp(xs)) + 1)
    assert 18 <= min(sides) and max(sides) <= 21, (min(sides), max(sides))
    raw = load_source(name, normalise_frame=False)[0]
    assert raw.shape == xtr.shape and raw[:, :, :4].max() <= (255 if name == "mnist5k" else 0)
    if name != "sklearn":
        assert np.bincount(yte).tolist() == [n_test // 10] * 10


def test_normalise_frames_a_block_by_hand():
    # a 4 (high) x 2 (wide) block of ink: scaled by 20/4 = 5 to 20 x 10, its centre of mass
    # (9.5, 4.5) put on the canvas centre (13.5, 13.5): rows 4-23, columns 9-18
    img = np.zeros((1, 10, 10), np.uint8)
    img[0, 3:7, 5:7] = 200
    out = normalise(img)[0]
    assert out.shape == (28, 28)
    assert np.nonzero(out.any(1))[0][[0, -1]].tolist() == [4, 23]
    assert np.nonzero(out.any(0))[0][[0, -1]].tolist() == [9, 18]
    assert (out[4:24, 9:19] == 200).all() and out.sum() == 200 * 200
    assert not normalise(np.zeros((1, 8, 8), np.uint8)).any()


def test_augment_without_change_is_the_identity_and_a_shift_moves_pixels():
    class Fixed:   # a generator that draws 0 (no rotation, shear, shift) and scale 1
        def __init__(self, shift=0.0):
            self.shift = shift

        def uniform(self, lo, hi, size):
            return np.full(size, self.shift if isinstance(size, tuple) else (lo + hi) / 2)

    x = np.random.default_rng(0).random((3, 1, 28, 28)).astype(np.float32)
    assert np.allclose(augment(x, Fixed()), x)
    moved = augment(x, Fixed(shift=1.0))   # output (y, x) samples the input at (y + 1, x + 1)
    assert np.allclose(moved[:, :, :-1, :-1], x[:, :, 1:, 1:]) and not moved[:, :, -1].any()


def test_digitnet_shapes():
    assert DigitNet(width=4, hidden=8)(__import__("foveanet").zeros(2, 1, 28, 28)).shape == (2, 10)
    assert DigitNet(width=4, hidden=8, num_classes=94, size=32)(__import__("foveanet").zeros(1, 1, 32, 32)).shape == (1, 94)


def test_every_fifth_per_digit():
    y = np.array([0, 1] * 10)
    t = _every_fifth(y)
    assert np.nonzero(t)[0].tolist() == [8, 9, 18, 19]


@pytest.mark.skipif(not available("latin") or not fonts_for("latin", "test")[0].is_file(),
                    reason="tesseract or fonts not installed (make ocr-data)")
def test_tesseract_reads_a_clean_line():
    img = render_line("The quick brown fox 42", fonts_for("latin", "test")[0], distort=False)
    assert tesseract_lines([img]) == ["The quick brown fox 42"]
