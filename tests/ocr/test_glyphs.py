"""Isolated glyphs rendered from fonts, the directional features and their classifiers."""
import numpy as np
import pytest
from PIL import ImageFont

from foveanet.errors import UserError
from foveanet.ocr.directional import decompose, directional_features, sobel
from foveanet.ocr.glyphs import GLYPH_CLASSES, glyph_fonts, glyph_set, render_glyph


def _fonts_installed(script):
    return all(f.is_file() for s in ("train", "test") for f in glyph_fonts(script, s))


needs_fonts = pytest.mark.skipif(not (_fonts_installed("latin") and _fonts_installed("odia")),
                                 reason="fonts not installed (make ocr-data)")


def test_sobel_and_decomposition_of_a_vertical_edge_by_hand():
    # dark left half, ink on the right: the gradient points along +x (direction 0) only.
    # Sobel x at the two middle columns: (1 + 2 + 1) * (1 - 0) = 4; edges replicated -> 0
    img = np.array([[0, 0, 1, 1]] * 4, float)
    gx, gy = sobel(img)
    assert gx.tolist() == [[0, 4, 4, 0]] * 4 and not gy.any()
    p8 = decompose(gx, gy, 8)
    assert p8[0].tolist() == [[0, 4, 4, 0]] * 4 and not p8[1:].any()
    # mirrored (ink on the left): direction 180 degrees for 8 directions, orientation 0 for 4
    gx, gy = sobel(img[:, ::-1])
    assert decompose(gx, gy, 8)[4].sum() == 32 and decompose(gx, gy, 4)[0].sum() == 32


def test_decomposition_rebuilds_each_gradient_vector():
    rng = np.random.default_rng(0)
    gx, gy = rng.normal(size=(2, 5, 6))
    planes = decompose(gx, gy, 8)
    ang = np.arange(8) * np.pi / 4
    back_x = (planes * np.cos(ang)[:, None, None]).sum(0)
    back_y = (planes * np.sin(ang)[:, None, None]).sum(0)
    assert np.allclose(back_x, gx) and np.allclose(back_y, gy)
    assert (planes >= -1e-12).all() and ((planes > 1e-12).sum(0) <= 2).all()


def test_directional_features_shape_and_a_hand_checked_value():
    # a 4x4 image, 2x2 zones: the edge between columns 1 and 2 gives Sobel 4 at columns 1
    # and 2, so each of the 4 zones holds 2 rows x 1 column x 4 = 8 in direction 0.
    # After sqrt: sqrt(8) in 4 places of 32 -> unit length: 0.5 each
    img = (np.array([[0, 0, 1, 1]] * 4) * 255).astype(np.uint8)
    f = directional_features(img[None], directions=8, zones=2)
    assert f.shape == (1, 32)
    assert np.allclose(f[0, :4], 0.5) and np.allclose(f[0, 4:], 0)
    assert directional_features(np.zeros((3, 32, 32)), 4, 4).shape == (3, 64)
    with pytest.raises(UserError, match="multiple of 4 zones"):
        directional_features(np.zeros((1, 30, 30)))
    with pytest.raises(UserError, match="must be 4 or 8"):
        decompose(gx := np.zeros((2, 2)), gx, 6)


def test_class_sets():
    assert len(GLYPH_CLASSES["latin"]) == 94 and " " not in GLYPH_CLASSES["latin"]
    odia = GLYPH_CLASSES["odia"]
    assert len(odia) == len(set(odia)) == 60
    assert "\u0B15" in odia and "\u0B6F" in odia and "\u0B3E" not in odia   # KA, digit 9 in; sign AA out


@needs_fonts
@pytest.mark.parametrize("script", ["latin", "odia"])
def test_train_and_test_fonts_are_disjoint_files_and_families(script):
    train, test = glyph_fonts(script, "train"), glyph_fonts(script, "test")
    assert not {f.name for f in train} & {f.name for f in test}
    families = [{ImageFont.truetype(str(f), 20).getname()[0] for f in fs} for fs in (train, test)]
    assert not families[0] & families[1], families


@needs_fonts
def test_glyph_set_is_seeded_and_keeps_case_apart():
    x, y, fonts = glyph_set("latin", "test", 1, seed=3)
    assert x.shape == (94 * 6, 32, 32) and x.dtype == np.uint8 and y.tolist() == list(range(94)) * 6
    assert np.array_equal(x, glyph_set("latin", "test", 1, seed=3)[0])
    assert fonts[0] == "LiberationSans-Regular"
    # 'o' and 'O' differ in size because a font is scaled once for its whole class set
    f = glyph_fonts("latin", "test")[0]
    o, big_o = (render_glyph(c, f, distort=False) > 128 for c in "oO")
    assert big_o.sum() > 1.3 * o.sum()
    with pytest.raises(UserError, match="expected one of latin, odia"):
        glyph_set("greek", "train", 1, 0)


@needs_fonts
@pytest.mark.slow
def test_run_glyphs_on_a_tiny_odia_run():
    from foveanet.ocr.glyphs import run_glyphs

    r = run_glyphs("odia", per_font=2, test_per_font=1, epochs=1, width=4)
    chance = 1 / 60
    assert r["train_glyphs"] == 60 * 4 * 2 and r["test_glyphs"] == 60 * 2
    assert r["dir8"] > 10 * chance and r["dir4"] > 5 * chance and r["hog"] > 10 * chance
    assert set(r["cnn_per_font"]) == {"Samyak-Oriya", "FreeSerif"}


def _odia_digits(split, per_font, seed):
    from foveanet.ocr.glyphs import render_glyph

    fonts = glyph_fonts("odia", split)
    rng = np.random.default_rng(seed)
    digits = GLYPH_CLASSES["odia"][50:]                       # the 10 Odia digits
    x = [render_glyph(c, f, rng, script="odia") for f in fonts for _ in range(per_font) for c in digits]
    return np.stack(x), np.tile(np.arange(10), len(fonts) * per_font)


@needs_fonts
def test_directional_svm_reads_unseen_fonts_odia_digits():
    from foveanet.ocr.directional import run_directional_baseline

    xtr, ytr = _odia_digits("train", 2, 0)
    xte, yte = _odia_digits("test", 2, 1)
    r = run_directional_baseline(xtr, ytr, xte, yte)
    assert r["num_features"] == 128 and r["test_accuracy"] > 0.5       # chance 0.1


@needs_fonts
def test_the_cnn_reads_unseen_fonts_odia_digits_on_a_tiny_run():
    from foveanet.ocr.digits import accuracy, train_digit_cnn

    xtr, ytr = _odia_digits("train", 4, 0)
    xte, yte = _odia_digits("test", 2, 1)
    model, _ = train_digit_cnn(xtr, ytr, epochs=4, width=4, batch_size=16, lr=5e-3)
    assert accuracy(model, xte, yte) > 0.4      # chance 0.1
