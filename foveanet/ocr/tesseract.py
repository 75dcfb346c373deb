"""Tesseract, the open-source OCR engine people use today, as the anchor: called through
its command line (``apt-get install tesseract-ocr tesseract-ocr-ori``) on the same line
images the recognizer reads."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from foveanet.errors import UserError

__all__ = ["available", "tesseract_lines", "LANGS"]

LANGS = {"latin": "eng", "odia": "ori"}


def available(script: str = "latin") -> bool:
    """Whether the tesseract command and the script's trained model are installed."""
    exe = shutil.which("tesseract")
    if not exe:
        return False
    out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True).stdout
    return LANGS[script] in out.split()


def tesseract_lines(images, script: str = "latin", scale: int = 2) -> list:
    """Tesseract's reading of each (H, W) uint8 line image (dark ink on light paper).

    Each line is upscaled ``scale`` times (bicubic) and given a 10-pixel white border
    before it is passed in page-segmentation mode 7 (one text line): Tesseract's
    documentation asks for an x-height of 20 pixels or more and a border, so the 32-pixel
    lines are shown to it at its preferred size. One thread (``OMP_THREAD_LIMIT=1``)."""
    from PIL import Image

    if not available(script):
        raise UserError(f"tesseract with the {LANGS[script]!r} model is not installed "
                        "(`make ocr-data` installs tesseract-ocr and tesseract-ocr-ori)")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "line.png"
        for img in images:
            im = Image.fromarray(np.asarray(img, np.uint8))
            im = im.resize((im.width * scale, im.height * scale), Image.BICUBIC)
            canvas = Image.new("L", (im.width + 20, im.height + 20), 255)
            canvas.paste(im, (10, 10))
            canvas.save(path)
            r = subprocess.run(["tesseract", str(path), "stdout", "--psm", "7", "-l", LANGS[script]],
                               capture_output=True, text=True, env=env)
            out.append(" ".join(r.stdout.split()))
    return out
