"""Vertical-scale normalisation (``body``): lines whose text is drawn at different heights
reach the model with the same body height (old runs and predict: tests/ocr/test_cli.py)."""
import numpy as np
import pytest

from foveanet.ocr.lines import fit_body, ink_rows, normalise_line


def _bar_line(text_rows: int, height: int, width: int, top: int) -> np.ndarray:
    """A white line image with one black block ``text_rows`` high starting at row ``top``."""
    img = np.full((height, width), 255, np.uint8)
    img[top:top + text_rows, 5:width - 5] = 0
    return img


def _body_rows(x: np.ndarray) -> int:
    rows = np.nonzero((x > 0.5).any(axis=1))[0]
    return int(rows[-1] - rows[0] + 1)


def test_lines_of_different_text_heights_get_the_same_body_height():
    # 10 rows of text in a 40-row line and 30 in a 60-row line: at body 0.5 each is cut or
    # padded to twice its text (20 and 60 rows), then scaled to 32 rows -> a 16-row body
    small = normalise_line(_bar_line(10, 40, 40, top=4), body=0.5)
    large = normalise_line(_bar_line(30, 60, 120, top=25), body=0.5)
    assert small.shape == (32, 64) and large.shape == (32, 64)   # 40 * 32/20, 120 * 32/60
    assert _body_rows(small) == _body_rows(large) == 16
    # centred: 8 rows of paper above and below
    assert np.nonzero((small > 0.5).any(axis=1))[0][0] == 8
    # without body the two bodies keep their own fractions: 10/40 and 30/60 of 32 rows
    assert _body_rows(normalise_line(_bar_line(10, 40, 40, top=4))) == 8
    assert _body_rows(normalise_line(_bar_line(30, 60, 120, top=25))) == 16


def test_a_speck_does_not_move_the_body():
    img = _bar_line(12, 48, 200, top=18)
    assert ink_rows(img) == (18, 30)
    img[2:4, 100:102] = 0    # a 2x2 speck 14 rows above the text: 4 of 2,280 ink pixels
    assert ink_rows(img) == (18, 30)
    assert fit_body(img, 0.5).shape == (24, 200)


def test_body_out_of_range_is_an_error():
    with pytest.raises(ValueError, match=r"body must be a fraction"):
        normalise_line(_bar_line(10, 40, 40, top=4), body=1.5)


def test_odia_recipe_turns_body_on_and_latin_keeps_lines_as_cropped():
    from foveanet.ocr.pipeline import recipe

    assert recipe()["body"] is None and recipe(script="latin")["body"] is None
    assert recipe(script="odia")["body"] == 0.6
    assert recipe(script="odia", body=None)["body"] is None
