"""Odia lines: the real-text source and its disjoint split, the code-point labels, and the
fonts drawing every character the text uses."""
import unicodedata

import numpy as np
import pytest

from foveanet.ocr.alphabet import ODIA, UnknownCharacter
from foveanet.ocr.render import (FONTS, LOCALE_DIR, ODIA_CATALOGUES, UNDRAWN, fonts_for, odia_messages,
                                 render_line, text_lines)

needs_text = pytest.mark.skipif(not all((LOCALE_DIR / f"{c}.mo").is_file() for s in ODIA_CATALOGUES.values() for c in s),
                                reason="Odia gettext catalogues not installed (make ocr-data)")
needs_fonts = pytest.mark.skipif(not all(f.is_file() for s in ("train", "test") for f in fonts_for("odia", s)),
                                 reason="Odia fonts not installed (make ocr-data)")


@needs_text
def test_odia_text_is_real_messages_split_disjointly():
    train, val, test = odia_messages("train"), odia_messages("val"), odia_messages("test")
    assert len(train) > 5000 and len(test) > 500          # 6,644 and 1,032 on Debian 12
    assert 0.08 < len(val) / (len(train) + len(val)) < 0.12   # 750: a tenth is validation text
    assert not set(train) & set(test) and not set(val) & set(test) and not set(train) & set(val)
    assert len(set(train)) == len(train)
    assert all(unicodedata.is_normalized("NFC", m) and "_" not in m for m in train[:500] + test)
    # the test lines' text is cut from test messages only
    lines = text_lines(ODIA, "test", 40, seed=5)
    test_words = {w for m in test for w in m.split()}
    assert all(w in test_words for t in lines for w in t.split()[:-1])   # the last may be cut
    # and the validation lines' from validation messages only
    val_words = {w for m in val for w in m.split()}
    assert all(w in val_words for t in text_lines(ODIA, "val", 40, seed=5) for w in t.split()[:-1])


@needs_text
def test_odia_lines_round_trip_through_the_alphabet():
    lines = text_lines(ODIA, "train", 200, seed=1)
    assert text_lines(ODIA, "train", 200, seed=1) == lines
    assert all(c not in UNDRAWN["odia"] for t in lines for c in t)
    assert any("\u0b4d" in t for t in lines) and any("\u0b47" in t for t in lines)   # virama, sign E
    for t in lines:
        ids = ODIA.encode(t)
        assert len(ids) == len(t) and ODIA.decode(ids) == t and 0 not in ids


def test_odia_labels_are_code_points_and_bad_characters_error_clearly():
    word = "\u0b38\u0b4d\u0b25\u0b3e\u0b2a\u0b28"       # STHAPANA: 6 code points, 3 drawn clusters
    assert len(ODIA.encode(word)) == 6
    o = unicodedata.normalize("NFC", "\u0b15\u0b47\u0b3e")   # KA + E + AA composes to KA + O
    assert ODIA.encode(o) == [ODIA.index["\u0b15"], ODIA.index["\u0b4b"]]
    with pytest.raises(UnknownCharacter, match=r"'a' \(U\+0061\) not in the odia alphabet") as e:
        ODIA.encode("\u0b15a", where="labels.tsv:3")
    assert str(e.value).startswith("labels.tsv:3:") and "\n" not in str(e.value)
    with pytest.raises(UnknownCharacter, match=r"U\+200C"):     # zero-width non-joiner
        ODIA.encode("\u0b15\u0b4d\u200c\u0b37")


@needs_fonts
def test_every_font_draws_the_characters_its_text_may_hold():
    ttlib = pytest.importorskip("fontTools.ttLib")
    for script, alphabet in (("latin", None), ("odia", ODIA)):
        if alphabet is None:
            from foveanet.ocr.alphabet import LATIN as alphabet
        need = {ord(c) for c in alphabet.chars if c not in UNDRAWN[script] and c != " "}
        for split in ("train", "test"):
            for f in fonts_for(script, split):
                cmap = ttlib.TTFont(str(f), lazy=True).getBestCmap()
                missing = sorted(need - set(cmap))
                assert not missing, f"{f.name} lacks {[hex(c) for c in missing]}"


@needs_fonts
def test_odia_train_and_test_fonts_are_other_families_and_render():
    fam = lambda f: f.split("/")[-1].split("-")[0]  # noqa: E731
    assert {fam(f) for f in FONTS[("odia", "train")]}.isdisjoint({fam(f) for f in FONTS[("odia", "test")]})
    img = render_line("\u0b38\u0b4d\u0b25\u0b3e\u0b2a\u0b28 \u0b15\u0b30", fonts_for("odia", "test")[0], distort=False)
    assert img.shape[0] == 32 and img.min() < 50 and (img < 128).any(axis=0).sum() > 20


def test_scores_compare_nfc_text():
    from foveanet.ocr.pipeline import _norm

    assert _norm(["\u0b15\u0b47\u0b3e  \u0b15 "]) == ["\u0b15\u0b4b \u0b15"]


def test_odia_pictures_draw_every_glyph(tmp_path):
    """The line and alignment pictures draw Odia text in a face that has it (DejaVu Sans
    Mono has none: every label drew as a box) and mark the wrong code point."""
    import warnings

    from matplotlib import font_manager

    from foveanet.ocr import pictures
    from foveanet.ocr.alphabet import alphabet_for
    from foveanet.ocr.render import fonts_for, render_line

    if not any(f.name == pictures._FALLBACK for f in font_manager.fontManager.ttflist):
        pytest.skip("Noto Sans Oriya is not installed (fonts-noto-core)")
    true = "ପ୍ରତି ପିକସେଲ"
    img = render_line(true, fonts_for("odia", "test")[0], np.random.default_rng(0), distort=False)
    alphabet = alphabet_for("odia")
    lp = np.log(np.random.default_rng(1).dirichlet(np.ones(len(alphabet)), img.shape[1] // 4))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        pictures.lines_figure([img], ["ପ୍ରତି ପିକସେ"], [true], tmp_path / "lines.png")
        pictures.alignment_figure(img, lp, alphabet, tmp_path / "alignment.png")
    missing = [str(w.message) for w in seen if "missing from font" in str(w.message)]
    assert not missing, missing[:3]
    assert (tmp_path / "lines.png").stat().st_size > 0 and (tmp_path / "alignment.png").stat().st_size > 0
