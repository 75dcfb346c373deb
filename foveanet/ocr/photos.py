"""Real photographs and scans of text, with ground truth transcribed by hand, read by a
trained foveanet line recognizer and by Tesseract.

The images are the ones the OCR issue names: OpenCV's samples (Debian's ``opencv-doc``:
``imageTextN.png``, ``imageTextR.png``, ``text_defocus.jpg``, ``text_motion.jpg``,
``licenseplate_motion.jpg``) and scikit-image's ``text.png`` and ``page.png``. Their text was
typed by a person looking at each image into ``photos.tsv`` (image, line, text, note), top
to bottom. A note starting ``illegible`` marks an image whose text nobody can read (no
ground truth: the readers' outputs are listed, no CER); ``uncertain`` marks a reading that
may be wrong (its CER is shown apart from the total).

CER of an image: the edit distance between the reader's lines and the true lines, each side
joined with single spaces (so a line split differently costs at most a character), over the
true characters.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from foveanet.errors import UserError
from foveanet.ocr.decode import edit_distance

__all__ = ["TRANSCRIPTIONS", "load_transcriptions", "photo_path", "tesseract_page", "read_photos"]

TRANSCRIPTIONS = Path(__file__).with_name("photos.tsv")
OPENCV_DATA = Path("/usr/share/doc/opencv-doc/examples/data")


def load_transcriptions(path=TRANSCRIPTIONS) -> dict:
    """{image reference: {"lines": [...], "note": str}} in file order."""
    out = {}
    for n, row in enumerate(Path(path).read_text(encoding="utf-8").splitlines()[1:], 2):
        parts = row.split("\t")
        if len(parts) != 4:
            raise UserError(f"{path} line {n}: expected 4 tab-separated fields (image, line, text, note), got {len(parts)}")
        image, _, text, note = parts
        entry = out.setdefault(image, {"lines": [], "note": note})
        if text:
            entry["lines"].append(text)
    return out


def photo_path(ref: str) -> Path:
    """``opencv:NAME`` or ``skimage:NAME`` -> the installed file, or a one-line error."""
    where, _, name = ref.partition(":")
    if where == "opencv":
        p = OPENCV_DATA / name
        hint = "apt-get install opencv-doc (or `make ocr-data`)"
    elif where == "skimage":
        import skimage

        p = Path(skimage.__file__).parent / "data" / name
        hint = "pip install scikit-image"
    else:
        raise UserError(f"photo {ref!r}: expected 'opencv:NAME' or 'skimage:NAME'")
    if not p.is_file():
        raise UserError(f"photo {ref}: {p} is not installed ({hint})")
    return p


def tesseract_page(path, lang: str = "eng") -> list:
    """Tesseract's lines of a whole image, with its own page segmentation (``--psm 3``, its
    default), one thread."""
    if not shutil.which("tesseract"):
        raise UserError("tesseract is not installed (`make ocr-data` installs tesseract-ocr)")
    r = subprocess.run(["tesseract", str(path), "stdout", "--psm", "3", "-l", lang], capture_output=True,
                       text=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    return [" ".join(line.split()) for line in r.stdout.splitlines() if line.strip()]


def _cer(lines, truth) -> float:
    ref = " ".join(truth)
    return edit_distance(" ".join(" ".join(x.split()) for x in lines), ref) / max(1, len(ref))


def read_photos(run_dir=None, tesseract: bool = True) -> list:
    """One dict per image: its reference, note, true lines, and for each reader (foveanet's
    ``predict_image`` with the run in ``run_dir``; Tesseract) the lines read and the CER
    (None without ground truth). Where ``predict_image`` refuses the image, its one-line
    error is kept under ``foveanet_error`` and the reading counts as empty."""
    from foveanet.ocr.pipeline import predict_image

    rows = []
    for ref, entry in load_transcriptions().items():
        path = photo_path(ref)
        row = {"image": ref, "note": entry["note"], "truth": entry["lines"], "chars": len(" ".join(entry["lines"]))}
        readers = {}
        if run_dir is not None:
            try:
                readers["foveanet"] = predict_image(run_dir, path)
            except UserError as e:   # e.g. a split "line" too thin to read: the reader gives no text
                readers["foveanet"] = []
                row["foveanet_error"] = str(e)
        if tesseract:
            readers["tesseract"] = tesseract_page(path)
        for name, lines in readers.items():
            row[name] = lines
            row[name + "_cer"] = None if not entry["lines"] else _cer(lines, entry["lines"])
        rows.append(row)
    return rows
