"""The three digit sources and their fixed splits; Tesseract through its command line."""
import numpy as np
import pytest

from foveanet.ocr.digits import DigitsMissing, _every_fifth, load_source
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
    # white ink on black, drawn inside the central 20x20 box (MNIST's own margins are wider)
    assert xtr[:, :, :4].max() <= (255 if name == "mnist5k" else 0)
    assert xtr.mean() < 60
    if name != "sklearn":
        assert np.bincount(yte).tolist() == [n_test // 10] * 10


def test_every_fifth_per_digit():
    y = np.array([0, 1] * 10)
    t = _every_fifth(y)
    assert np.nonzero(t)[0].tolist() == [8, 9, 18, 19]


@pytest.mark.skipif(not available("latin") or not fonts_for("latin", "test")[0].is_file(),
                    reason="tesseract or fonts not installed (make ocr-data)")
def test_tesseract_reads_a_clean_line():
    img = render_line("The quick brown fox 42", fonts_for("latin", "test")[0], distort=False)
    assert tesseract_lines([img]) == ["The quick brown fox 42"]
