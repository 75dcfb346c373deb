"""Rendering, line handling and the user-data reader, with their one-line errors."""
import numpy as np
import pytest
from PIL import Image

from foveanet.ocr.alphabet import LATIN, ODIA, UnknownCharacter
from foveanet.ocr.lines import ImageError, batch_lines, normalise_line, read_folder, read_gray, split_lines
from foveanet.ocr.render import FONTS, FontError, fonts_for, load_font, render_line, text_lines

pytestmark = pytest.mark.skipif(not fonts_for("latin", "test")[0].is_file(),
                                reason="fonts not installed (make ocr-data)")


def test_train_and_test_fonts_are_disjoint_families():
    for script in ("latin", "odia"):
        train, test = set(FONTS[(script, "train")]), set(FONTS[(script, "test")])
        assert not train & test
    fam = lambda f: f.split("/")[0]  # noqa: E731
    assert {fam(f) for f in FONTS[("latin", "train")]}.isdisjoint({fam(f) for f in FONTS[("latin", "test")]})


def test_text_lines_are_seeded_in_the_alphabet_and_split_by_source():
    a = text_lines(LATIN, "train", 50, seed=3)
    assert a == text_lines(LATIN, "train", 50, seed=3)
    assert all(8 <= len(t) <= 24 or t == t.strip() for t in a)
    assert all(c in LATIN.index for t in a for c in t)
    odia = text_lines(ODIA, "train", 5, seed=0)
    assert all(c in ODIA.index for t in odia for c in t)


def test_a_tenth_of_the_training_text_is_validation_text_read_by_no_training_line():
    from foveanet.ocr.render import latin_paragraphs

    train, val = latin_paragraphs("train"), latin_paragraphs("val")
    assert set(train).isdisjoint(val) and set(val).isdisjoint(latin_paragraphs("test"))
    assert 0.07 < len(val) / (len(train) + len(val)) < 0.15          # 43 of 375 paragraphs
    # a validation paragraph's rarer words reach validation lines and never the training lines
    # or the language model's text
    train_words = {w for p in train for w in p.split()}
    only_val = {w for p in val for w in p.split()} - train_words
    lines = text_lines(LATIN, "val", 300, seed=4, random_share=0.0)
    assert any(w in only_val for t in lines for w in t.split())
    lm_text = text_lines(LATIN, "train", 3000, seed=4, random_share=0.0)
    assert not any(w in only_val for t in lm_text for w in t.split()[1:-1])   # ends may be cut


def test_render_is_deterministic_and_distortion_changes_pixels():
    f = fonts_for("latin", "train")[0]
    a = render_line("Hello 123", f, np.random.default_rng(1))
    b = render_line("Hello 123", f, np.random.default_rng(1))
    clean = render_line("Hello 123", f, distort=False)
    assert a.shape[0] == 32 and np.array_equal(a, b)
    assert clean.min() < 50 and clean.max() == 255          # dark ink on white paper
    wider = render_line("Hello 123 Hello 123", f, distort=False)
    assert wider.shape[1] > 1.6 * clean.shape[1]


def test_a_file_that_is_not_a_font_is_a_one_line_error(tmp_path):
    bad = tmp_path / "fake.ttf"
    bad.write_text("not a font")
    with pytest.raises(FontError, match="is not a font file"):
        load_font(str(bad), 20)
    with pytest.raises(FontError, match="no such font file"):
        load_font(str(tmp_path / "missing.ttf"), 20)


def _page(tmp_path):
    f = fonts_for("latin", "test")[0]
    lines = [render_line(t, f, distort=False) for t in ("first line", "second one here", "third")]
    w = max(x.shape[1] for x in lines) + 20
    page = np.full((20 + sum(x.shape[0] + 12 for x in lines), w), 255, np.uint8)
    y = 10
    for x in lines:
        page[y:y + x.shape[0], 10:10 + x.shape[1]] = x
        y += x.shape[0] + 12
    return page


def test_projection_profile_splits_a_page_into_its_lines(tmp_path):
    parts = split_lines(_page(tmp_path))
    assert len(parts) == 3
    assert parts[1].shape[1] > parts[2].shape[1]            # "second one here" is the widest


def test_normalise_and_batch():
    x = normalise_line(np.pad(np.full((16, 40), 0, np.uint8), 4, constant_values=255))
    assert x.shape == (32, 64) and x.max() == 1.0 and x.min() == 0.0   # ink high, 24 -> 32 rows
    b, frames = batch_lines([x, x[:, :30]])
    assert b.shape == (2, 1, 32, 64) and frames.tolist() == [16, 8]


@pytest.mark.parametrize("mode,size,match", [
    ("L", (0, 0), None), ("L", (40, 1), "1 pixel"), ("CMYK", (40, 32), "unsupported image mode"),
])
def test_bad_images_are_one_line_errors(tmp_path, mode, size, match):
    path = tmp_path / ("x.tif" if mode == "CMYK" else "x.png")
    if size == (0, 0):
        path.write_bytes(b"")
        with pytest.raises(ImageError, match="not an image"):
            read_gray(path)
        with pytest.raises(ImageError, match="empty"):
            normalise_line(np.zeros((0, 0), np.uint8))
        return
    img = Image.new(mode, size, 0 if mode == "CMYK" else 255)
    img.putpixel((3, 0), (0, 0, 0, 255) if mode == "CMYK" else 0)   # some ink: not blank
    img.save(path)
    with pytest.raises(ImageError, match=match) as e:
        normalise_line(read_gray(path))
    assert "\n" not in str(e.value)


def test_blank_image_is_an_error():
    with pytest.raises(ImageError, match="blank"):
        normalise_line(np.full((32, 50), 255, np.uint8))


def test_user_folder_reader_and_its_errors(tmp_path):
    f = fonts_for("latin", "test")[0]
    Image.fromarray(render_line("abc", f, distort=False)).save(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_text("file\ttext\na.png\tabc\n")
    images, texts = read_folder(tmp_path, LATIN)
    assert texts == ["abc"] and images[0].shape[0] == 32
    (tmp_path / "labels.tsv").write_bytes("\ufefffile\ttext\na.png\tabc\n".encode("utf-8"))  # as spreadsheets save it
    assert read_folder(tmp_path, LATIN)[1] == ["abc"]
    (tmp_path / "labels.tsv").write_bytes("a.png\tabc\na.png\tcaf\u00e9\n".encode("cp1252"))
    with pytest.raises(Exception, match=r"labels.tsv:2: not UTF-8 text"):
        read_folder(tmp_path, LATIN)
    (tmp_path / "labels.tsv").write_text("a.png\tabc\nb.png\tdef\n")
    with pytest.raises(Exception, match=r"labels.tsv:2: image b.png not found"):
        read_folder(tmp_path, LATIN)
    (tmp_path / "labels.tsv").write_text("a.png\tab\u00e9\n")
    with pytest.raises(UnknownCharacter, match=r"'\u00e9' \(U\+00E9\) not in the latin alphabet"):
        read_folder(tmp_path, LATIN)


def test_stretch_lines_scales_width_only_within_the_range():
    from foveanet.ocr.pipeline import stretch_lines

    lines = [np.full((32, 100), 255, np.uint8) for _ in range(50)]
    lines[0][:, 40:60] = 0
    out = stretch_lines(lines, 0.3, seed=1)
    widths = np.array([x.shape[1] for x in out])
    assert all(x.shape[0] == 32 and x.dtype == np.uint8 for x in out)
    assert widths.min() >= 70 and widths.max() <= 130 and len(set(widths.tolist())) > 10
    ink = (out[0] < 128).any(axis=0).sum()      # the 20-column bar scales with the line
    assert abs(ink - 20 * widths[0] / 100) <= 2
    assert [x.shape for x in stretch_lines(lines, 0.3, seed=1)] == [x.shape for x in out]


def test_every_latin_face_draws_every_character_of_the_alphabet():
    # a face without a glyph would train (or test) on its missing-glyph box under the label
    TTFont = pytest.importorskip("fontTools.ttLib").TTFont   # with matplotlib (the vision extra)
    for split in ("train", "test"):
        for path in fonts_for("latin", split):
            cmap = TTFont(str(path), lazy=True).getBestCmap()
            assert [c for c in LATIN.chars if ord(c) not in cmap] == [], path.name
