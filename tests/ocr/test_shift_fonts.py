"""bench_ocr.py shift's choice of training faces: faces added by --add-faces reach training."""
from pathlib import Path

from benchmarks.bench_ocr import shift_fonts


def base(script, split, extra=False):
    return [Path(f"/f/{n}.ttf") for n in ("a", "b")] + ([Path("/f/x.ttf")] if extra else [])


def test_added_faces_train_and_held_out_faces_do_not():
    added = [Path("/g/c.woff2")]
    fonts = shift_fonts(base, ["b"], added)
    assert [f.name for f in fonts("odia", "train", True)] == ["a.ttf", "x.ttf", "c.woff2"]
    assert [f.name for f in fonts("odia", "train")] == ["a.ttf", "c.woff2"]   # extra off: x stays out


def test_test_split_is_untouched():
    assert shift_fonts(base, ["a", "b"], [Path("/g/c.woff2")])("odia", "test") == base("odia", "test")
