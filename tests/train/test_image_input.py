"""The rule `predict` and `show` read a user's image by: aspect kept and padded, polarity,
and a warning for images unlike the training set."""
import numpy as np
import pytest
from PIL import Image

from foveanet.data import load_image
from foveanet.train.image_input import read_for_model, training_image_stats

CFG = {"input_shape": [1, 28, 28], "mean": [0.286], "std": [0.353], "augment": "none",
       # what training_image_stats gives for light objects on a black background
       "image_stats": {"border_mean": 0.0, "border_std": 0.02, "mean_range": [0.05, 0.6],
                       "std_range": [0.1, 0.5]}}


def _png(path, a):
    Image.fromarray(np.asarray(a, np.uint8)).save(path)
    return path


def _wide_object(tmp_path, fg=200, bg=0):
    """A 20x40 (h x w) image: a bright block on a plain background."""
    a = np.full((20, 40), bg, np.uint8)
    a[4:16, 8:32] = fg
    return _png(tmp_path / "wide.png", a)


def test_pad_keeps_the_aspect_and_pads_with_the_border_colour(tmp_path):
    path = _wide_object(tmp_path, bg=30)
    padded = load_image(path, mode="L", size=28, fit="pad")[0]
    # 40 wide -> 28, 20 high -> 14 rows, centred: rows 7..20 hold the image, the rest its border grey
    assert padded.shape == (28, 28)
    assert np.allclose(padded[:7], 30 / 255) and np.allclose(padded[21:], 30 / 255)
    assert padded[14].max() == pytest.approx(200 / 255, abs=0.02)
    # the block keeps its 2:1 aspect: 12 of 28 rows' worth of columns is 24 of 40 -> ~17 columns wide
    cols = np.flatnonzero(padded[14] > 0.5)
    assert 15 <= len(cols) <= 18
    stretched = load_image(path, mode="L", size=28)[0]
    assert (stretched[:, 14] > 0.5).sum() > 2 * (padded[:, 14] > 0.5).sum() - 4  # stretched twice as tall


def test_a_dark_on_light_image_is_inverted_and_said_so(tmp_path):
    path = _wide_object(tmp_path, fg=20, bg=250)
    x, img, notes = read_for_model(path, CFG)
    assert len(notes) == 1 and notes[0].startswith("inverted the image: its background is light")
    assert img[0, 0, 0] == pytest.approx(1 - 250 / 255, abs=1e-6)           # now dark
    np.testing.assert_allclose(x, (img - 0.286) / 0.353, rtol=1e-5)          # then normalised
    _, kept, notes = read_for_model(path, CFG, invert=False)
    assert kept[0, 0, 0] == pytest.approx(250 / 255, abs=1e-6)
    assert any("unlike the training images" in n and "mean brightness" in n for n in notes)
    _, _, notes = read_for_model(_wide_object(tmp_path, fg=200, bg=0), CFG)
    assert notes == []                                                      # already like the data


def test_no_polarity_guess_when_the_training_backgrounds_vary(tmp_path):
    cfg = {**CFG, "image_stats": {**CFG["image_stats"], "border_std": 0.3}}
    _, img, notes = read_for_model(_wide_object(tmp_path, fg=20, bg=250), cfg)
    assert img[0, 0, 0] > 0.9 and not any(n.startswith("inverted") for n in notes)
    old = {k: v for k, v in CFG.items() if k != "image_stats"}                 # runs from before: no checks
    assert read_for_model(_wide_object(tmp_path, fg=20, bg=250), old)[2] == []


def test_training_image_stats_of_light_objects_on_black():
    r = np.random.default_rng(0)
    x = np.zeros((50, 1, 12, 12), np.uint8)
    x[:, :, 3:9, 3:9] = r.integers(100, 255, (50, 1, 6, 6))
    s = training_image_stats(x)
    assert s["border_mean"] == 0.0 and s["border_std"] == 0.0
    means = x.astype(np.float64).mean(axis=(1, 2, 3)) / 255
    assert s["mean_range"][0] == pytest.approx(np.percentile(means, 0.5), rel=1e-5)
    assert s["mean_range"][1] == pytest.approx(np.percentile(means, 99.5), rel=1e-5)
