"""Odia conjunct labels: a subjoined form (virama + consonant) and the reph (RA + virama
opening a cluster) are one label each, and every text decodes back to its code points."""
import pytest

from foveanet.errors import UserError
from foveanet.ocr.alphabet import ODIA, ODIA_CONJUNCT, UnknownCharacter, alphabet_for

KA, RA, MA, TA, SA, VIRAMA, II, I = "\u0b15", "\u0b30", "\u0b2e", "\u0b24", "\u0b38", "\u0b4d", "\u0b40", "\u0b3f"


def test_subjoined_forms_and_the_reph_are_one_label():
    a = ODIA_CONJUNCT
    assert a.tokenize(KA + RA + VIRAMA + MA) == [KA, RA + VIRAMA, MA]          # KARMA: reph over MA
    assert a.tokenize(SA + VIRAMA + TA + VIRAMA + RA + II) == [SA, VIRAMA + TA, VIRAMA + RA, II]   # STRII
    assert a.tokenize(KA + VIRAMA + TA + I) == [KA, VIRAMA + TA, I]
    # a RA after a virama is subjoined, not a reph, even with a virama after it
    assert a.tokenize(KA + VIRAMA + RA + VIRAMA + MA) == [KA, VIRAMA + RA, VIRAMA + MA]
    # a virama with no consonant after it (word end, before a space) stays a code point
    assert a.tokenize(KA + VIRAMA + " " + MA) == [KA, VIRAMA, " ", MA]
    assert a.tokenize(RA + VIRAMA) == [RA, VIRAMA]
    ids = a.encode(SA + VIRAMA + TA + VIRAMA + RA + II)
    assert len(ids) == 4 and min(ids) > 0 and max(ids) < len(a)
    # the code-point labels come first with the same ids: the two alphabets share them
    assert all(a.encode(c) == ODIA.encode(c) for c in ODIA.chars)
    assert len(a) == len(ODIA) + 39   # 38 subjoined forms and the reph


def test_every_training_line_round_trips_with_fewer_labels():
    from foveanet.ocr.render import LOCALE_DIR, text_lines

    if not (LOCALE_DIR / "gtk30.mo").is_file():
        pytest.skip("Odia gettext catalogues not installed (make ocr-data)")
    lines = text_lines(ODIA, "train", 400, seed=2)
    assert all(ODIA_CONJUNCT.decode(ODIA_CONJUNCT.encode(t)) == t for t in lines)
    n_chars = sum(len(ODIA.encode(t)) for t in lines)
    n_conj = sum(len(ODIA_CONJUNCT.encode(t)) for t in lines)
    assert n_conj < 0.95 * n_chars   # ~8% fewer labels on the gettext text


def test_labels_are_chosen_per_run_and_checked():
    from foveanet.ocr.pipeline import build_model, recipe

    assert alphabet_for("odia") is ODIA and alphabet_for("odia", "conjuncts") is ODIA_CONJUNCT
    with pytest.raises(UserError, match="labels 'conjuncts' are not defined for latin"):
        alphabet_for("latin", "conjuncts")
    with pytest.raises(UnknownCharacter, match="U\\+0061"):
        ODIA_CONJUNCT.encode(KA + "a")
    assert recipe(script="latin")["labels"] == "chars"
    cfg = recipe(script="odia", labels="conjuncts")
    assert build_model(cfg).classifier.weight.shape[0] == len(ODIA_CONJUNCT)
