"""`foveanet filter` and `foveanet show`: files written with the right size and mode, user errors."""
import json

import numpy as np
import pytest
from PIL import Image

from foveanet.cli.main import main
from foveanet.models import lenet5
from foveanet.train.checkpoint import save_weights
from foveanet.vision import filters as F
from foveanet.vision import pictures as P


@pytest.fixture
def photo(tmp_path, rng):
    path = tmp_path / "photo.jpg"
    Image.fromarray((rng.random((30, 45, 3)) * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def grey(tmp_path):
    path = tmp_path / "grey.png"
    a = np.zeros((20, 24), dtype=np.uint8)
    a[:, 12:] = 200
    Image.fromarray(a).save(path)
    return path


@pytest.fixture
def run_dir(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    cfg = {"model": "lenet5", "input_shape": [1, 28, 28], "classes": [str(i) for i in range(10)],
           "mean": [0.3], "std": [0.35], "augment": "flip"}
    (d / "config.json").write_text(json.dumps(cfg))
    save_weights(lenet5().state_dict(), d / "best.safetensors")
    return d


def opened(path):
    with Image.open(path) as im:
        return im.size, im.mode, np.asarray(im)


def test_filter_grey_and_colour(tmp_path, photo, grey, capsys):
    out = tmp_path / "e.png"
    assert main(["filter", "sobel_x", str(grey), "-o", str(out)]) == 0
    size, mode, a = opened(out)
    assert (size, mode) == ((24, 20), "L")
    # the step between columns 11 and 12 is the only edge inside; padding adds the border ones
    assert a[10, 11] == 255 and a[10, 12] == 255 and a[10, 5] == 0
    assert main(["filter", "gaussian_blur", str(photo), "-o", str(tmp_path / "b.png"), "--color"]) == 0
    assert opened(tmp_path / "b.png")[:2] == ((45, 30), "RGB")
    assert main(["filter", "sharpen", str(photo), "-o", str(tmp_path / "s.png")]) == 0
    assert opened(tmp_path / "s.png")[:2] == ((45, 30), "L")
    assert main(["filter", "edge_magnitude", str(photo), "-o", str(tmp_path / "m.png"), "--padding", "valid"]) == 0
    assert opened(tmp_path / "m.png")[:2] == ((43, 28), "L")
    assert main(["filter", "--kernel", "1,0,-1; 1,0,-1", str(grey), "-o", str(tmp_path / "k.png"),
                 "--padding", "valid"]) == 0
    assert opened(tmp_path / "k.png")[:2] == ((22, 19), "L")
    assert "wrote" in capsys.readouterr().out


def test_filter_all(tmp_path, photo, monkeypatch, capsys):
    figs = []
    save = P._save
    monkeypatch.setattr(P, "_save", lambda fig, out, **k: (figs.append(fig), save(fig, out, **k))[1])
    out = tmp_path / "grid.png"
    assert main(["filter", "--all", str(photo), "-o", str(out)]) == 0
    assert out.is_file() and Image.open(out).format == "PNG"
    assert len([ax for ax in figs[0].axes if ax.images]) == len(F.names()) + 2
    assert f"{len(F.names()) + 2} panels" in capsys.readouterr().out


def test_filter_list(capsys):
    assert main(["filter", "--list"]) == 0
    text = capsys.readouterr().out
    for name in F.names():
        assert name in text
    assert "-2  0  2" in text


@pytest.mark.parametrize("argv, message", [
    (["filter", "blurry", "{grey}", "-o", "{tmp}/x.png"], "unknown filter 'blurry'"),
    (["filter", "sobel_x", "{tmp}/missing.png", "-o", "{tmp}/x.png"], "no such image file"),
    (["filter", "sobel_x", "{grey}"], "-o/--out is required"),
    (["filter", "sobel_x"], "give a filter and an image"),
    (["filter", "--kernel", "1,2;3", "{grey}", "-o", "{tmp}/x.png"], "--kernel must be"),
    (["filter", "sobel_x", "{grey}", "-o", "{tmp}/x.png", "--padding", "-1"], "--padding must be"),
    (["filter", "sobel_x", "{notimage}", "-o", "{tmp}/x.png"], "cannot read image"),
])
def test_filter_errors(tmp_path, grey, argv, message, capsys):
    (tmp_path / "notes.png").write_text("not a picture")
    argv = [a.format(grey=grey, tmp=tmp_path, notimage=tmp_path / "notes.png") for a in argv]
    assert main(argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_show_pictures(tmp_path, run_dir, photo):
    for argv in (["show", "filters", str(run_dir)],
                 ["show", "features", str(run_dir), str(photo), "--max-maps", "4"],
                 ["show", "receptive-field", str(run_dir), str(photo), "--layer", "features.3", "--unit", "2", "3"],
                 ["show", "receptive-field", str(run_dir), str(photo)],
                 ["show", "padding", "--n", "7", "--f", "3", "--p", "1", "--s", "2"],
                 ["show", "fc-vs-conv", "--sizes", "32", "64"]):
        out = tmp_path / f"{argv[1]}-{len(argv)}.png"
        assert main(argv + ["-o", str(out)]) == 0, argv
        assert Image.open(out).format == "PNG"


@pytest.mark.parametrize("argv, message", [
    (["show", "filters", "{tmp}/nope"], "no such directory"),
    (["show", "filters", "{tmp}"], "no config.json"),
    (["show", "features", "{run}", "{tmp}/missing.png"], "no such image file"),
    (["show", "filters", "{run}", "--weights", "last"], "last.safetensors not found"),
    (["show", "receptive-field", "{run}", "{photo}", "--layer", "conv9"], "no layer named 'conv9'"),
    (["show", "receptive-field", "{run}", "{photo}", "--layer", "features.3", "--unit", "10", "0"], "outside"),
    (["show", "padding", "--n", "2", "--f", "5"], "does not fit"),
])
def test_show_errors(tmp_path, run_dir, photo, argv, message, capsys):
    argv = [a.format(tmp=tmp_path, run=run_dir, photo=photo) for a in argv] + ["-o", str(tmp_path / "x.png")]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_help_has_examples(capsys):
    for argv in (["filter", "--help"], ["show", "--help"], ["show", "padding", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        assert "example" in capsys.readouterr().out
