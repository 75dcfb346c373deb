"""Reading a line at several widths: the resize, the per-line choice by the model's own
confidence, and the choice of width factors on validation lines."""
import numpy as np

from foveanet.ocr.alphabet import Alphabet
from foveanet.ocr.lines import widen
from foveanet.ocr.reading import SCALE_SETS, most_confident, pick_scales


def test_widen_keeps_the_height_and_scales_the_width():
    x = np.random.default_rng(0).random((32, 40)).astype(np.float32)
    assert widen(x, 1.25).shape == (32, 50) and widen(x, 0.8).shape == (32, 32)
    np.testing.assert_array_equal(widen(x, 1.0), x)      # same size: the line itself
    stripe = np.zeros((32, 40), np.float32)
    stripe[:, 20:] = 1
    wide = widen(stripe, 2.0)
    assert wide[0, :38].max() == 0 and wide[0, 42:].min() == 1   # the edge moves to 40


def _frames(labels, sure: float, classes: int = 4):
    """Log-probabilities of frames whose best label is ``labels[t]`` with probability
    ``sure``, the rest spread evenly."""
    p = np.full((len(labels), classes), (1 - sure) / (classes - 1))
    p[np.arange(len(labels)), labels] = sure
    return np.log(p)


def test_most_confident_picks_line_by_line_and_the_first_on_a_tie():
    a, b, c = _frames([1, 0], 0.9), _frames([2, 0], 0.6), _frames([3, 0], 0.6)
    got = most_confident({1.0: [a, b, b], 1.25: [b, a, c]})
    assert got[0] is a and got[1] is a and got[2] is b
    assert most_confident({1.0: [a], 1.25: [b]}, scales=[1.25])[0] is b


def test_pick_scales_takes_the_first_set_with_the_lowest_validation_cer():
    # truth "ab": read right (and surest) only at 1.25; every other factor reads "a"
    alphabet = Alphabet("abc", "demo")
    right, wrong = _frames([1, 0, 2], 0.95), _frames([1, 0, 0], 0.7)
    readings = {f: [right if f == 1.25 else wrong] for s in SCALE_SETS for f in s}
    scales, grid = pick_scales(readings, ["ab"], alphabet)
    first = next(s for s in SCALE_SETS if 1.25 in s)
    assert scales == first
    assert [g["val_cer"] for g in grid] == [0.0 if 1.25 in s else 0.5 for s in SCALE_SETS]
    # nothing gained anywhere: the plain reading, listed first
    readings = {f: [wrong] for s in SCALE_SETS for f in s}
    assert pick_scales(readings, ["ab"], alphabet)[0] == (1.0,)

