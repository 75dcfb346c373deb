"""A tiny end-to-end run through the CLI: training beats an all-background prediction, the
run directory is complete, evaluate and predict work."""
import json

import numpy as np
import pytest
from PIL import Image

from foveanet.cli.main import main
from foveanet.segmentation import ConfusionMatrix, generate_scenes, train
from foveanet.segmentation.scenes import CLASS_NAMES


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    # a few scenes of one or two unscaled items on 32x32, a 4-wide U-Net: ~20 steps
    out = tmp_path_factory.mktemp("seg") / "run"
    train(out, quiet=True, epochs=2, scenes=160, val_scenes=16, test_scenes=48, size=32, depth=2,
          base_width=4, batch_size=16, lr=0.02, items=[1, 2], scale=None)
    return out


def test_training_beats_all_background(run):
    m = json.loads((run / "metrics.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    test = generate_scenes(cfg["test_scenes"], "test", size=32, items=cfg["items"], scale=cfg["scale"],
                           seed=cfg["test_seed"])
    base = ConfusionMatrix(len(CLASS_NAMES)).update(np.zeros_like(test.masks), test.masks)
    baseline = base.miou()
    assert baseline < 0.07  # background IoU ~0.6 (its pixel share) over 11 classes, items 0
    # 20 steps learn where the items are (background IoU ~0.9), barely yet which they are
    assert m["per_class_iou"]["background"] > base.iou()[0] + 0.15
    assert m["miou"] > 1.3 * baseline
    assert set(m["per_class_iou"]) == set(CLASS_NAMES)
    assert len(m["history"]) == 2 and m["seconds"] > 0
    for f in ("best.safetensors", "last.safetensors", "test_predictions.png", "learning_curves.png"):
        assert (run / f).is_file(), f


def test_evaluate_reproduces_the_test_score(run, capsys):
    before = json.loads((run / "metrics.json").read_text())["miou"]
    assert main(["segment", "evaluate", str(run)]) == 0
    assert "mIoU" in capsys.readouterr().out
    assert json.loads((run / "metrics.json").read_text())["miou"] == pytest.approx(before)


def test_predict_writes_an_overlay(run, tmp_path, capsys):
    photo = tmp_path / "photo.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (50, 70, 3)).astype(np.uint8)).save(photo)
    out = tmp_path / "overlay.png"
    assert main(["segment", "predict", str(run), str(photo), "-o", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(out) as im:
        assert im.width > 300
    assert "overlay written" in capsys.readouterr().out


def test_cli_errors(run, tmp_path, capsys):
    assert main(["segment", "predict", str(tmp_path), "x.png"]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert main(["segment", "predict", str(run), str(tmp_path / "nope.png")]) == 2
    assert "no such image" in capsys.readouterr().err
    assert main(["segment", "train", "--size", "60", "--out", str(tmp_path / "r")]) == 2
    assert "multiple of 2**depth = 8" in capsys.readouterr().err
    assert main(["segment", "train", "--out", str(run)]) == 2
    assert "already holds a run" in capsys.readouterr().err


@pytest.mark.slow
def test_default_recipe(tmp_path):
    """The default recipe (benchmarks/segment_scenes.py, ~20 min on 2 cores) measured 0.615
    test mIoU; the issue's target of 0.75 is not reached, so this guards the measured level."""
    m = train(tmp_path / "full", quiet=True)
    assert m["miou"] >= 0.58, m["per_class_iou"]
