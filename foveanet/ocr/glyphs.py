"""Isolated printed glyphs, Latin and Odia, rendered from real fonts with scan distortions.

Classes: Latin, the 94 printable ASCII characters other than space (letters, digits,
punctuation); Odia, 60 base characters of the Oriya block: the 12 independent vowels, the
38 consonants (RRA, RHA, YYA and WA among them) and the 10 digits. Vowel signs and the virama
are left out: alone they are not characters a page shows.

Fonts (Debian packages, ``make ocr-data``): a font is either a training or a test font,
never both (``GLYPH_FONTS``). Latin uses the line recognizer's split (DejaVu and Noto train,
Liberation tests). Odia trains on Noto Sans Oriya (regular, bold), Lohit Odia and Utkal and
tests on Samyak Oriya and FreeSerif's Odia: two typefaces the model never saw.

A glyph is drawn as a cell of a line would be: every font is scaled once so that its whole
class set fits a 32x32 cell, and each character sits on the font's baseline, centred
horizontally. Position and size within the cell are kept, so 'o' and 'O', ',' and ''' differ.
Distortions, drawn per glyph from a seeded generator: size x0.9-1.1, a shift of up to 1
pixel, rotation of up to 3 degrees, ink spread or thinning (3x3 filters at twice the size),
ink grey level 0-60, Gaussian blur of radius up to 1, Gaussian noise of sigma up to 12 grey
levels, JPEG at quality 30-90. Images are returned white ink on black, as the digits.
"""
from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

from foveanet.errors import UserError
from foveanet.ocr.render import FONT_DIR, FONTS, load_font

__all__ = ["GLYPH_CLASSES", "GLYPH_FONTS", "SIZE", "glyph_fonts", "render_glyph", "glyph_set", "run_glyphs"]

SIZE = 32
_ODIA = ([c for c in range(0x0B05, 0x0B15) if c not in (0x0B0D, 0x0B0E, 0x0B11, 0x0B12)]
         + [c for c in range(0x0B15, 0x0B3A) if c not in (0x0B29, 0x0B31, 0x0B34)]
         + [0x0B5C, 0x0B5D, 0x0B5F, 0x0B71] + list(range(0x0B66, 0x0B70)))
GLYPH_CLASSES = {
    "latin": "".join(chr(c) for c in range(33, 127)),
    "odia": "".join(chr(c) for c in _ODIA),
}
GLYPH_FONTS = {
    ("latin", "train"): FONTS[("latin", "train")],
    ("latin", "test"): FONTS[("latin", "test")],
    ("odia", "train"): ["noto/NotoSansOriya-Regular.ttf", "noto/NotoSansOriya-Bold.ttf",
                        "lohit-oriya/Lohit-Odia.ttf", "fonts-orya-extra/utkal.ttf"],
    ("odia", "test"): ["samyak-fonts/Samyak-Oriya.ttf", "freefont/FreeSerif.ttf"],
}


def glyph_fonts(script: str, split: str) -> list:
    """Font paths of a script's training or test split."""
    if (script, split) not in GLYPH_FONTS:
        raise UserError(f"glyphs: unknown script/split {script!r}/{split!r}: expected latin or odia, train or test")
    return [FONT_DIR / f for f in GLYPH_FONTS[(script, split)]]


@functools.lru_cache(maxsize=32)
def _font_frame(path: str, script: str, cell: int):
    """(font size, baseline y) that fit every class of the script into a 2*cell
    canvas with a 10% margin, for one font."""
    probe = 100
    font = load_font(path, probe)
    boxes = np.array([font.getbbox(c, anchor="ls") for c in GLYPH_CLASSES[script]], np.float64)
    top, bottom = boxes[:, 1].min(), boxes[:, 3].max()
    widest = (boxes[:, 2] - boxes[:, 0]).max()
    size = int(probe * 0.9 * 2 * cell / max(bottom - top, widest))
    s = size / probe
    baseline = cell - (top + bottom) / 2 * s     # the class set's vertical extent centred
    return size, baseline


def render_glyph(char: str, font_path, rng=None, distort: bool = True, cell: int = SIZE,
                 script: str = "latin") -> np.ndarray:
    """One character as a (cell, cell) uint8 image, white ink on black (module docstring)."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = rng if rng is not None else np.random.default_rng(0)
    size, baseline = _font_frame(str(font_path), script, cell)
    big = 2 * cell
    scale = rng.uniform(0.9, 1.1) if distort else 1.0
    font = load_font(str(font_path), max(4, int(round(size * scale))))
    left, _, right, _ = font.getbbox(char, anchor="ls")
    dx, dy = rng.uniform(-2, 2, 2) if distort else (0.0, 0.0)
    x = cell - (left + right) / 2 + dx
    y = cell + (baseline - cell) * scale + dy
    canvas = Image.new("L", (big, big), 255)
    ImageDraw.Draw(canvas).text((x, y), char, font=font, anchor="ls",
                                fill=int(rng.integers(0, 61)) if distort else 0)
    if distort:
        canvas = canvas.rotate(rng.uniform(-3, 3), resample=Image.BILINEAR, fillcolor=255)
        ink = rng.random()
        if ink < 0.2:
            canvas = canvas.filter(ImageFilter.MinFilter(3))   # ink spread
        elif ink < 0.35:
            canvas = canvas.filter(ImageFilter.MaxFilter(3))   # thin, faded print
    img = canvas.resize((cell, cell), Image.BILINEAR)
    if distort:
        radius = rng.uniform(0, 1.0)
        if radius > 0.3:
            img = img.filter(ImageFilter.GaussianBlur(radius))
        noisy = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(0, 12), (cell, cell))
        buf = io.BytesIO()
        Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(buf, format="JPEG",
                                                                      quality=int(rng.integers(30, 91)))
        img = Image.open(io.BytesIO(buf.getvalue())).convert("L")
    return 255 - np.asarray(img, np.uint8)


def glyph_set(script: str, split: str, per_font: int, seed: int, distort: bool = True):
    """(images (N, 32, 32) uint8, labels (N,) int64, font names (N,)): ``per_font`` renderings
    of every class in every font of the split, in (font, copy, class) order."""
    if script not in GLYPH_CLASSES:
        raise UserError(f"glyphs: unknown script {script!r}: expected one of {', '.join(GLYPH_CLASSES)}")
    rng = np.random.default_rng(seed)
    classes = GLYPH_CLASSES[script]
    images, labels, names = [], [], []
    for f in glyph_fonts(script, split):
        for _ in range(per_font):
            for k, c in enumerate(classes):
                images.append(render_glyph(c, f, rng, distort, script=script))
                labels.append(k)
                names.append(Path(f).stem)
    return np.stack(images), np.array(labels, np.int64), np.array(names)


def _per_font(pred, labels, fonts) -> dict:
    return {f: float((pred[fonts == f] == labels[fonts == f]).mean()) for f in dict.fromkeys(fonts)}


def _confusions(pred, labels, classes: str, top: int = 8) -> list:
    pairs = {}
    for t, p in zip(labels[pred != labels], pred[pred != labels]):
        pairs[(classes[t], classes[p])] = pairs.get((classes[t], classes[p]), 0) + 1
    return [(a, b, n) for (a, b), n in sorted(pairs.items(), key=lambda kv: -kv[1])[:top]]


def run_glyphs(script: str, per_font: int = 6, test_per_font: int = 6, epochs: int = 12, width: int = 16,
               seed: int = 0, threads: int = 2) -> dict:
    """Render a script's training and test glyphs, train ``DigitNet`` (with the digits'
    recipe: AdamW, one-cycle, affine warps, the best epoch on every 10th training glyph) and
    fit HOG and directional features (4 and 8 directions) + linear SVMs on the same images;
    test accuracy overall and per test font, the CNN's frequent confusions, timings."""
    import time

    import foveanet
    from foveanet.baselines.image import run_image_baseline
    from foveanet.ocr.digits import train_digit_cnn
    from foveanet.ocr.directional import run_directional_baseline

    foveanet.set_num_threads(threads)
    t0 = time.perf_counter()
    xtr, ytr, _ = glyph_set(script, "train", per_font, seed)
    xte, yte, fte = glyph_set(script, "test", test_per_font, seed + 1000)
    out = {"script": script, "classes": len(GLYPH_CLASSES[script]), "train_glyphs": len(xtr),
           "test_glyphs": len(xte), "train_fonts": [Path(f).stem for f in glyph_fonts(script, "train")],
           "test_fonts": [Path(f).stem for f in glyph_fonts(script, "test")],
           "render_seconds": time.perf_counter() - t0, "width": width, "epochs": epochs, "seed": seed}
    t0 = time.perf_counter()
    model, history = train_digit_cnn(xtr, ytr, epochs=epochs, seed=seed, width=width)
    out["cnn_seconds"] = time.perf_counter() - t0
    out["cnn_history"] = [h["val_accuracy"] for h in history]
    model.eval()
    with foveanet.no_grad():
        pred = np.concatenate([model(foveanet.tensor(xte[s:s + 500, None].astype(np.float32) / 255)).numpy().argmax(1)
                               for s in range(0, len(xte), 500)])
    out["cnn"] = float((pred == yte).mean())
    out["cnn_per_font"] = _per_font(pred, yte, fte)
    out["cnn_confusions"] = _confusions(pred, yte, GLYPH_CLASSES[script])
    for name, fit in (("hog", lambda: run_image_baseline(xtr, ytr, xte, yte, features="hog")),
                      ("dir8", lambda: run_directional_baseline(xtr, ytr, xte, yte, directions=8)),
                      ("dir4", lambda: run_directional_baseline(xtr, ytr, xte, yte, directions=4))):
        t0 = time.perf_counter()
        r = fit()
        out[name] = r["test_accuracy"]
        out[name + "_per_font"] = _per_font(r["predictions"], yte, fte)
        out[name + "_seconds"] = time.perf_counter() - t0
        out[name + "_features"] = r["num_features"]
    return out
