"""Text lines rendered with Pillow from real fonts, with the distortions of a scan.

Fonts are Debian's (``make ocr-data`` installs fonts-dejavu, fonts-liberation,
fonts-noto-core, fonts-noto-extra (``EXTRA_FACES``), fonts-freefont-ttf, fonts-lohit-orya and
fonts-orya-extra), and three Odia families Debian does not package, Fontsource's builds from
the npm registry (``FONTSOURCE_DIR``; ``make ocr-fonts``). The training and test fonts are
disjoint families, so a test score measures reading a typeface the model never saw. Text
comes from real English prose, the licence texts Debian ships in
``/usr/share/common-licenses`` (base-files), split by file into training and test text,
mixed with random character strings so that every character of the alphabet (digits,
punctuation) is seen in training. A tenth of the training text
(``in_validation``: Latin paragraphs, Odia messages) is the validation text, which neither
the training lines nor the language model read, so the choices made on validation lines
(best epoch, language-model weight) see unseen text, as the test lines do.

Odia text is real text written by people: the Odia (``or``) translations of the GNOME,
freedesktop and iso-codes messages that Debian installs as gettext catalogues under
``/usr/share/locale/or/LC_MESSAGES`` (GTK, GLib, iso-codes' language and country names, ...,
``ODIA_CATALOGUES``), read with the standard library's ``gettext``. The test text is three
catalogues of other projects (Linux-PAM, system-config-printer, the GNOME desktop settings'
descriptions); a message that is also in a test
catalogue is dropped from training, so no test message is in the training text. Texts are
labelled by Unicode code point after NFC normalisation (see ``alphabet``).

Distortions, drawn from a seeded generator per line: a rotation of up to 1.5 degrees, ink
spread (a 3x3 min filter) or thinning, Gaussian blur of radius up to 1.0, Gaussian noise of
sigma up to 12 grey levels, and JPEG compression at quality 30-90.
"""
from __future__ import annotations

import functools
import io
import os
import zlib
from pathlib import Path

import numpy as np

from foveanet.errors import UserError

__all__ = ["FONT_DIR", "FONTSOURCE_DIR", "FONTS", "FontError", "load_font", "fonts_for", "in_validation",
           "text_lines", "render_line", "render_set", "HEIGHT"]

FONT_DIR = Path("/usr/share/fonts/truetype")
# the user's font folder, where ``make ocr-fonts`` puts the Oriya-subset WOFF2 files of
# Fontsource's npm packages (one folder per package)
FONTSOURCE_DIR = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share") / "fonts/fontsource"
LICENSES = Path("/usr/share/common-licenses")
HEIGHT = 32   # the recognizer's line height in pixels

# (script, split) -> font files under FONT_DIR. Latin: DejaVu and Noto families train,
# Liberation (metric clones of Arial, Times and Courier) tests.
FONTS = {
    ("latin", "train"): [f"dejavu/DejaVu{n}.ttf" for n in (
        "Sans", "Sans-Bold", "Sans-Oblique", "SansCondensed", "SansCondensed-Bold", "Serif",
        "Serif-Bold", "Serif-Italic", "SerifCondensed", "SansMono", "SansMono-Bold")]
    + [f"noto/Noto{n}.ttf" for n in ("Sans-Regular", "Sans-Bold", "Sans-Italic", "Serif-Regular",
                                     "Serif-Bold", "Serif-Italic", "SansDisplay-Regular")]
    # GNU FreeFont (fonts-freefont-ttf): a Courier-like monospace and Helvetica/Times-like
    # faces, the genres of the Liberation test faces (which are Arial, Times New Roman and
    # Courier New metric clones) drawn by other designers
    + [f"freefont/Free{n}.ttf" for n in ("Mono", "MonoBold", "Sans", "Serif")]
    # condensed Noto Sans and Serif and Noto Sans Mono (fonts-noto-extra): narrow letterforms
    # drawn as narrow, beside the width stretch of whole lines, for Liberation Sans Narrow,
    # and a third monospaced design for Liberation Mono, the two weakest test faces. With
    # DejaVu's condensed faces and FreeMono (+ Bold) held out of training (bench_ocr.py
    # shift, 3,000 lines x 6 epochs), adding these 7 read the held-out faces at 11.7% CER
    # against 14.0% (FreeMono 29.7% -> 24.8%, DejaVu Serif Condensed 6.9% -> 5.1%)
    + [f"noto/Noto{n}.ttf" for n in ("Sans-Condensed", "Sans-SemiCondensed", "Sans-CondensedBold",
                                     "Serif-Condensed", "Serif-SemiCondensedBold", "SansMono-Medium",
                                     "SansMono-SemiCondensed")],
    ("latin", "test"): [f"liberation/Liberation{n}.ttf" for n in (
        "Sans-Regular", "Sans-Bold", "Serif-Regular", "Serif-Bold", "Mono-Regular", "SansNarrow-Regular")],
    # Odia: Noto Sans Oriya (two weights) and Utkal (fonts-orya-extra) train, Lohit Odia
    # (fonts-lohit-orya) tests; EXTRA_FACES adds more with the ``extra_faces`` setting.
    # Samyak Oriya is left out: it lacks the danda, and Pillow's shaping draws its AU sign
    # apart from the consonant and drops subjoined TA
    ("odia", "train"): ["noto/NotoSansOriya-Regular.ttf", "noto/NotoSansOriya-Bold.ttf",
                        "fonts-orya-extra/utkal.ttf"],
    ("odia", "test"): ["lohit-oriya/Lohit-Odia.ttf"],
}
# training faces added by ``fonts_for(..., extra=True)``: Noto Sans Oriya Thin, Black and
# Condensed (fonts-noto-extra); FreeSerif, which stacks few conjuncts and draws most with
# a visible virama, another way Odia is printed; and three more designs (FONTSOURCE_DIR, the
# variable fonts at their default instance): Noto Serif Oriya, Anek Odia and Baloo Bhaina 2
# (Regular and Bold). With Utkal held out of training the four read it at 20.5-21.6% CER
# against 22.2-24.2% on each of four seeds (bench_ocr.py shift, benchmarks/results-ocr.md)
EXTRA_FACES = {"odia": [f"noto/NotoSansOriya-{n}.ttf" for n in ("Thin", "Black", "Condensed")]
               + ["freefont/FreeSerif.ttf"]
               + [FONTSOURCE_DIR / f for f in (
                   "noto-serif-oriya/noto-serif-oriya-oriya-wght-normal.woff2",
                   "anek-odia/anek-odia-oriya-standard-normal.woff2",
                   "baloo-bhaina-2/baloo-bhaina-2-oriya-400-normal.woff2",
                   "baloo-bhaina-2/baloo-bhaina-2-oriya-700-normal.woff2")]}
TEXT_FILES = {"train": ["GPL-3", "GFDL-1.3", "MPL-2.0", "Artistic", "LGPL-2.1"],
              "test": ["Apache-2.0"]}
LOCALE_DIR = Path("/usr/share/locale/or/LC_MESSAGES")
# split -> {gettext catalogue: the Debian package that installs it}; listed, not globbed, so
# that the text does not depend on what else a machine happens to have installed
ODIA_CATALOGUES = {
    "train": {"iso_639-3": "iso-codes", "iso_3166-1": "iso-codes", "iso_3166-3": "iso-codes",
              "gtk30": "libgtk-3-common", "gtk30-properties": "libgtk-3-common",
              "glib20": "libglib2.0-data", "gdk-pixbuf": "libgdk-pixbuf2.0-common",
              "at-spi2-core": "at-spi2-common"},
    "test": {"Linux-PAM": "libpam-runtime", "system-config-printer": "system-config-printer-common",
             "gsettings-desktop-schemas": "gsettings-desktop-schemas"},
}
# characters of the Odia alphabet that a font of FONTS lacks (Lohit and Utkal have no ASCII
# punctuation; Utkal no vocalic RR/L signs, AI length mark or fraction signs): text holding
# them would be drawn as a missing-glyph box, so words with them are not rendered
UNDRAWN = {"latin": "", "odia": ".,?!-\u0b44\u0b55\u0b62\u0b63" + "".join(chr(c) for c in range(0x0B72, 0x0B78))}


class FontError(UserError, ValueError):
    """A font file that is missing or that Pillow cannot read as a font."""


@functools.lru_cache(maxsize=64)
def load_font(path, size: int):
    """A Pillow FreeType font, or a one-line FontError naming the file (cached: opening a
    font costs more than drawing a line with it)."""
    from PIL import ImageFont

    p = Path(path)
    if not p.is_file():
        raise FontError(f"{p}: no such font file (install the fonts with `make ocr-data`)")
    try:
        return ImageFont.truetype(str(p), size)
    except OSError as e:
        raise FontError(f"{p} is not a font file Pillow can read (expected TrueType/OpenType: {e})") from None


def fonts_for(script: str, split: str, extra: bool = False) -> list:
    """The split's font files; ``extra`` adds the script's ``EXTRA_FACES`` to training
    (entries are under ``FONT_DIR`` unless absolute, as the ``FONTSOURCE_DIR`` faces are)."""
    more = EXTRA_FACES.get(script, []) if extra and split == "train" else []
    return [FONT_DIR / f for f in FONTS[(script, split)] + more]


def in_validation(text: str) -> bool:
    """Whether a unit of training text (a paragraph, a message) is validation text: a tenth
    of them, chosen by a CRC-32 of the text, so the split is the same on every machine and
    does not move when other text is added.

    >>> [in_validation(t) for t in ("Undo", "Redo", "Quit")]
    [False, True, False]
    """
    return zlib.crc32(text.encode("utf-8")) % 10 == 0


def odia_messages(split: str) -> list:
    """The distinct Odia messages (NFC, mnemonic underscores removed) of the ``split``'s
    gettext catalogues ("train", "val": a tenth of the training catalogues' messages, or
    "test"); training and validation ones exclude every message of the test catalogues."""
    import gettext
    import unicodedata

    def read(which):
        out = {}
        for name, package in ODIA_CATALOGUES[which].items():
            path = LOCALE_DIR / f"{name}.mo"
            if not path.is_file():
                raise UserError(f"{path}: missing, the Odia text needs it (apt-get install {package}; "
                                "`make ocr-data` installs every catalogue)")
            with open(path, "rb") as f:
                catalogue = gettext.GNUTranslations(f)._catalog
            for key, text in catalogue.items():
                if key and isinstance(text, str):
                    text = " ".join(unicodedata.normalize("NFC", text.replace("_", "")).split())
                    if any("\u0b00" <= c <= "\u0b7f" for c in text):
                        out.setdefault(text, None)
        return list(out)

    test = read("test")
    if split == "test":
        return test
    held = set(test)
    return [m for m in read("train") if m not in held and in_validation(m) == (split == "val")]


def latin_paragraphs(split: str) -> list:
    """The paragraphs (blank-line separated) of the split's licence texts: ``TEXT_FILES["test"]``
    for "test", and those of ``TEXT_FILES["train"]`` that are (for "val") or are not (for
    "train") validation text."""
    files = TEXT_FILES["test" if split == "test" else "train"]
    paras = [" ".join(p.split()) for n in files if (LICENSES / n).is_file()
             for p in (LICENSES / n).read_text(errors="ignore").split("\n\n")]
    return [p for p in paras if p and (split == "test" or in_validation(p) == (split == "val"))]


def _words(alphabet, split: str) -> list:
    """The split's real text as a word list, only words the script's fonts draw."""
    ok = set(alphabet.chars) - set(UNDRAWN.get(alphabet.name, ""))
    texts = odia_messages(split) if alphabet.name == "odia" else latin_paragraphs(split)
    return [w for t in texts for w in t.split() if all(c in ok for c in w)]


def text_lines(alphabet, split: str, count: int, seed: int, min_len: int = 8, max_len: int = 24,
               random_share: float | None = None) -> list:
    """``count`` line texts of the ``split`` ("train", "val" or "test"): spans of real text
    (``latin_paragraphs``, or the Odia messages of ``odia_messages``) cut at word boundaries
    to ``min_len``-``max_len`` characters, and a ``random_share`` of random strings over the
    alphabet (0.25 for Latin, so every digit and punctuation mark is seen; 0 for Odia, whose
    random code points would not make syllables)."""
    rng = np.random.default_rng(seed)
    words = _words(alphabet, split)
    if random_share is None:
        random_share = 0.25 if alphabet.name == "latin" else 0.0
    chars = [c for c in alphabet.chars if c != " " and c not in UNDRAWN.get(alphabet.name, "")]
    out = []
    for _ in range(count):
        if not words or rng.random() < random_share:
            n = int(rng.integers(min_len, max_len + 1))
            s = ""
            while len(s) < n:   # random "words" of 1-7 characters, single spaces between
                s += ("" if not s else " ") + "".join(rng.choice(chars, int(rng.integers(1, 8))))
            s = s[:n].strip()
            out.append(s)
            continue
        start = int(rng.integers(len(words)))
        target = int(rng.integers(min_len, max_len + 1))
        s = words[start]
        i = start + 1
        while i < len(words) and len(s) + 1 + len(words[i]) <= max_len and len(s) < target:
            s += " " + words[i]
            i += 1
        out.append(s[:max_len])
    return out


def _rows(top: int, bottom: int, line: int, pad: int) -> tuple:
    """(y of the text origin, canvas height): the font's line (ascent + descent) with pad/2
    of paper above and below, grown where the text's ink (rows ``top``-``bottom`` from the
    origin) runs past it. Lohit Odia draws the reph and the I sign up to 0.33 em above its
    ascent, past the pad: without the growth 245 of 300 test lines lost those marks' tops."""
    y0 = max(pad // 2, 1 - top)
    return y0, max(line + pad, y0 + bottom + 1)


def _thinned(canvas, fill: int):
    """The canvas with its strokes thinned by a 3x3 max filter, unless that erases them:
    at the 64-pixel drawing size the filter keeps 1% of Noto Sans Oriya Thin's ink pixels
    (0.37-0.76 of the other Odia training faces', 0.17 of FreeMono's), and thinning left 65 of
    Thin's 429 training lines of 3,000 (seed 3) with no visible text under their labels
    (one blank line stopped a run). Thinning that keeps under a tenth of the ink is not
    done: in the default training sets that is Thin's lines alone (216 of the 2,224 lines
    drawn for thinning among Odia's 15,000, none of Latin's 1,557; every other face, new
    ones included, thinned in 150 lines each)."""
    from PIL import ImageFilter

    thin = canvas.filter(ImageFilter.MaxFilter(3))
    mid = (fill + 255) // 2
    before = int((np.asarray(canvas) < mid).sum())
    after = int((np.asarray(thin) < mid).sum())
    return thin if after * 10 >= before else canvas


def render_line(text: str, font_path, rng=None, distort: bool = True, height: int = HEIGHT,
                word_gap: tuple | None = None, slant: float = 0.0) -> np.ndarray:
    """One line of ``text`` as a (height, W) uint8 image, dark ink on white, its width set by
    the text; with ``distort`` the scan distortions of the module docstring are drawn from
    ``rng``. Face variety beyond the font file, drawn from ``rng`` per line: ``word_gap``
    (lo, hi) draws the words one by one, each space as wide as a fraction of the em drawn
    uniformly from [lo, hi] for the line (a face's own space is 0.13-0.66 em: Lohit Odia's
    0.13, Noto Sans Oriya's 0.26, Utkal's 0.66); ``slant`` shears the glyphs by a tangent
    drawn from [-slant, slant]."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = rng if rng is not None else np.random.default_rng(0)
    size = 2 * height   # render large, then shrink: anti-aliasing like a scan's optics
    font = load_font(str(font_path), size)
    ascent, descent = font.getmetrics()
    fill = int(rng.integers(0, 60)) if distort else 0
    pad = int(size * 0.3)
    if word_gap is not None and " " in text.strip():
        # words shaped one at a time (shaping never crosses a space), placed by advance
        words = text.split()
        gap = size * rng.uniform(*word_gap)
        xs, x = [], 0.0
        for w in words:
            xs.append(x)
            x += font.getlength(w) + gap
        boxes = [font.getbbox(w) for w in words]
        left, right = min(0, boxes[0][0]), xs[-1] + boxes[-1][2]
        y0, h = _rows(min(b[1] for b in boxes), max(b[3] for b in boxes), ascent + descent, pad)
        canvas = Image.new("L", (max(int(np.ceil(right - left)), 1) + 2 * pad, h), 255)
        draw = ImageDraw.Draw(canvas)
        for w, x in zip(words, xs):
            draw.text((pad - left + x, y0), w, font=font, fill=fill)
    else:
        left, top, right, bottom = font.getbbox(text)
        y0, h = _rows(top, bottom, ascent + descent, pad)
        canvas = Image.new("L", (max(right - min(left, 0), 1) + 2 * pad, h), 255)
        ImageDraw.Draw(canvas).text((pad - min(left, 0), y0), text, font=font, fill=fill)
    if slant:
        # output pixel (x, y) takes the ink at (x + t (y - h/2), y): a shear about the line's
        # middle, on a canvas widened to keep every column
        t = rng.uniform(-slant, slant)
        extra = int(np.ceil(abs(t) * canvas.height / 2))
        wide = Image.new("L", (canvas.width + 2 * extra, canvas.height), 255)
        wide.paste(canvas, (extra, 0))
        canvas = wide.transform(wide.size, Image.AFFINE, (1, t, -t * canvas.height / 2, 0, 1, 0),
                                resample=Image.BILINEAR, fillcolor=255)
    if distort:
        ink = rng.random()
        if ink < 0.2:
            canvas = canvas.filter(ImageFilter.MinFilter(3))   # ink spread
        elif ink < 0.35:
            canvas = _thinned(canvas, fill)                    # thin, faded print
    w = max(1, round(canvas.width * height / canvas.height))
    img = canvas.resize((w, height), Image.BILINEAR)
    if distort:
        # rotated after the shrink: the same angle at a quarter of the pixels
        img = img.rotate(rng.uniform(-1.5, 1.5), resample=Image.BILINEAR, expand=False, fillcolor=255)
        radius = rng.uniform(0, 1.0)
        if radius > 0.3:
            img = img.filter(ImageFilter.GaussianBlur(radius))
        arr = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(0, 12), (height, w))
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(rng.integers(30, 91)))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    return np.asarray(img, np.uint8)


def render_set(alphabet, script: str, split: str, count: int, seed: int, distort: bool = True,
               draw_kw: dict | None = None, extra_faces: bool = False, **text_kw):
    """(images, texts, font names): ``count`` rendered lines of the split's texts and fonts
    (with ``extra_faces``, ``EXTRA_FACES`` too), fonts taken in turn; ``draw_kw``
    (``word_gap``, ``slant``) goes to every ``render_line``."""
    texts = text_lines(alphabet, split if split in ("val", "test") else "train", count, seed, **text_kw)
    fonts = fonts_for(script, "test" if split == "test" else "train", extra_faces)
    rng = np.random.default_rng(seed + 1)
    images, names = [], []
    for i, t in enumerate(texts):
        f = fonts[i % len(fonts)]
        images.append(render_line(t, f, rng, distort, **(draw_kw or {})))
        names.append(f.stem)
    return images, texts, names
