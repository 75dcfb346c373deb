"""Odia face variety: marks drawn above a face's ascent stay on the line, and the per-line
word-gap and slant augmentations of the training lines (Latin's lines are unchanged)."""
import numpy as np
import pytest

from foveanet.ocr.alphabet import LATIN, ODIA
from foveanet.ocr.render import FONT_DIR, load_font, render_line, render_set

LOHIT = FONT_DIR / "lohit-oriya/Lohit-Odia.ttf"
NOTO = FONT_DIR / "noto/NotoSansOriya-Regular.ttf"
pytestmark = pytest.mark.skipif(not (LOHIT.is_file() and NOTO.is_file()), reason="Odia fonts not installed (make ocr-data)")

KARMA = "\u0b15\u0b30\u0b4d\u0b2e"            # KA RA VIRAMA MA: a reph over MA
WORDS = "\u0b15\u0b30\u0b4d\u0b2e \u0b2a\u0b26 \u0b2e\u0b28"


def _ink_rows(img):
    return np.nonzero((img < 128).any(axis=1))[0]


def test_a_reph_above_the_ascent_is_drawn_whole():
    # Lohit Odia draws the reph 20 pixels (at 64 px) above its ascent, past the 9 rows of
    # paper above the text origin: the line grows so that paper stays above the mark
    assert load_font(str(LOHIT), 64).getbbox(KARMA)[1] < -9
    img = render_line(KARMA, LOHIT, distort=False)
    rows = _ink_rows(img)
    assert img.shape[0] == 32 and rows[0] >= 1 and rows[-1] <= 30
    # the reph is a separate mark above the letters: a paper row between them
    assert not all(r + 1 in rows for r in rows[:-1] if r < rows[0] + 8)
    # without the reph (KA MA) the ink starts lower, relative to the line's height
    plain = render_line("\u0b15\u0b2e", LOHIT, distort=False)
    assert _ink_rows(plain)[0] / plain.shape[0] > rows[0] / img.shape[0]


def test_word_gap_sets_the_space_and_leaves_the_words_alone():
    narrow = render_line(WORDS, NOTO, np.random.default_rng(0), distort=False, word_gap=(0.05, 0.05))
    wide = render_line(WORDS, NOTO, np.random.default_rng(0), distort=False, word_gap=(0.8, 0.8))
    own = render_line(WORDS, NOTO, distort=False)
    assert narrow.shape[0] == wide.shape[0] == 32
    assert narrow.shape[1] < own.shape[1] < wide.shape[1]
    # two gaps of 0.75 em between the narrow and the wide line: 48 pixels each at the 64-pixel
    # drawing size, whose line (ascent + descent + 0.3 em of paper) is then shrunk to 32 rows
    ascent, descent = load_font(str(NOTO), 64).getmetrics()
    shrink = 32 / (ascent + descent + int(64 * 0.3))
    assert abs((wide.shape[1] - narrow.shape[1]) - 2 * 0.75 * 64 * shrink) <= 2
    # a single word is the same drawing with or without the option
    one = render_line(KARMA, NOTO, np.random.default_rng(0), distort=False, word_gap=(0.5, 0.5))
    assert np.array_equal(one, render_line(KARMA, NOTO, distort=False))


def test_slant_shears_without_losing_ink():
    danda = "\u0964"   # an upright bar
    upright = render_line(danda, NOTO, np.random.default_rng(0), distort=False)
    slanted = render_line(danda, NOTO, np.random.default_rng(0), distort=False, slant=1.0)
    t = np.random.default_rng(0).uniform(-1.0, 1.0)   # the tangent render_line draws first (0.27)
    assert slanted.shape[0] == 32 and slanted.shape[1] > upright.shape[1]   # widened for the shear
    ink_u, ink_s = (255 - upright.astype(float)).sum(), (255 - slanted.astype(float)).sum()
    assert abs(ink_s - ink_u) < 0.1 * ink_u

    def lean(img):
        """Column of the bar's ink centre 2 rows below its top minus that 2 rows above its
        bottom, and the rows between them."""
        ink = 255 - img.astype(float)
        rows = _ink_rows(img)
        top, bottom = rows[0] + 2, rows[-1] - 2
        cols = np.arange(img.shape[1])
        centre = lambda r: (ink[r] @ cols) / ink[r].sum()  # noqa: E731
        return centre(top) - centre(bottom), bottom - top
    du, _ = lean(upright)
    ds, rows = lean(slanted)
    assert abs(du) < 0.25
    # each output row y reads the input at x + t (y - h/2): a row higher up by d reads t d
    # further left, so its ink sits t d further right
    assert abs(ds - t * rows) < 0.5 and ds > 1


def test_latin_lines_ignore_no_options_and_odia_augments_training_only():
    from foveanet.ocr.pipeline import _lines_set, recipe

    lat = recipe(script="latin")
    assert lat["word_gap"] is None and lat["slant"] == 0.0
    a = render_set(LATIN, "latin", "train", 6, 3)[0]
    b = render_set(LATIN, "latin", "train", 6, 3, draw_kw={"word_gap": None, "slant": 0.0})[0]
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    odia = recipe(script="odia", train_lines=4, val_lines=4, stretch=0.0)
    if not odia["word_gap"] and not odia["slant"]:
        odia = {**odia, "word_gap": (0.1, 0.7), "slant": 0.15}
    plain = {**odia, "word_gap": None, "slant": 0.0}
    # validation lines are the faces as they are; training lines get the face variety
    assert all(np.array_equal(x, y) for x, y in zip(_lines_set(odia, "val", 4, 9)[3], _lines_set(plain, "val", 4, 9)[3]))
    assert not all(x.shape == y.shape and np.array_equal(x, y)
                   for x, y in zip(_lines_set(odia, "train", 4, 9)[3], _lines_set(plain, "train", 4, 9)[3]))


def test_extra_faces_draw_the_odia_text_and_stay_apart_from_the_test_face():
    from foveanet.ocr.render import EXTRA_FACES, UNDRAWN, fonts_for

    ttlib = pytest.importorskip("fontTools.ttLib")
    extra = fonts_for("odia", "train", extra=True)
    if not all(f.is_file() for f in extra):
        pytest.skip("fonts-noto-extra or the Fontsource faces not installed (make ocr-data)")
    pytest.importorskip("brotli")   # fontTools reads WOFF2 with it
    assert extra[:3] == fonts_for("odia", "train") and len(extra) == 3 + len(EXTRA_FACES["odia"])
    assert fonts_for("odia", "test", extra=True) == fonts_for("odia", "test")   # training only
    assert LOHIT not in extra and not any("ohit" in f.name for f in extra)
    need = {ord(c) for c in ODIA.chars if c not in UNDRAWN["odia"] and c != " "}
    for f in extra[3:]:
        missing = need - set(ttlib.TTFont(str(f), lazy=True).getBestCmap())
        assert not missing, f"{f.name} lacks {sorted(hex(c) for c in missing)}"


def test_thinning_never_erases_a_hairline_face():
    # the faded-print distortion (a 3x3 max filter at the 64-pixel drawing size) erased Noto
    # Sans Oriya Thin's strokes: lines with a label and no visible text
    from PIL import Image, ImageDraw

    from foveanet.ocr.render import _thinned, fonts_for

    thin_face = FONT_DIR / "noto/NotoSansOriya-Thin.ttf"
    if not all(f.is_file() for f in fonts_for("odia", "train", extra=True)):
        pytest.skip("fonts-noto-extra or the Fontsource faces not installed (make ocr-data)")

    def drawn(path):
        canvas = Image.new("L", (400, 100), 255)
        ImageDraw.Draw(canvas).text((10, 10), WORDS, font=load_font(str(path), 64), fill=0)
        return canvas

    hairline, regular = drawn(thin_face), drawn(NOTO)
    assert np.array_equal(np.asarray(_thinned(hairline, 0)), np.asarray(hairline))
    kept = np.asarray(_thinned(regular, 0))
    assert 0.3 < (kept < 127).sum() / (np.asarray(regular) < 127).sum() < 0.95   # thinned
    # every Thin line of a seeded training set keeps contrast (70-255 grey levels; erased ones read 21-64)
    images, _, names = render_set(ODIA, "odia", "train", 210, 3, extra_faces=True)
    faces = [f.stem for f in fonts_for("odia", "train", extra=True)]
    thin = [x for x, n in zip(images, names) if n == "NotoSansOriya-Thin"]
    assert len(thin) == len(range(faces.index("NotoSansOriya-Thin"), 210, len(faces))) >= 19 and min(int(x.max()) - int(x.min()) for x in thin) > 50
