"""Every pipeline finishes without matplotlib (a plain `pip install .`): the numbers are
written, each skipped picture is named, nothing crashes after the training."""
import json
import sys

import pytest

from foveanet.cli.main import main
from tests.cli.test_user_mistakes import needs_data


@pytest.fixture
def no_matplotlib(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError


@needs_data
def test_classification_without_matplotlib(no_matplotlib, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["train", "--limit", "500", "--test-limit", "100", "--epochs", "1", "--quiet",
                 "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert "matplotlib is not installed, so learning_curves.png, confusion_matrix.png, predictions.png " \
           "were not drawn" in err
    assert json.loads((out / "metrics.json").read_text())["confusion"]
    assert not list(out.glob("*.png"))


@needs_data
def test_segmentation_train_evaluate_predict_without_matplotlib(no_matplotlib, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "seg"
    assert main(["segment", "train", "--out", str(out), "--epochs", "1", "--scenes", "16", "--val-scenes", "4",
                 "--test-scenes", "4", "--size", "32", "--depth", "2", "--base-width", "2",
                 "--pretrain-epochs", "0", "--threads", "1", "--tta", "none", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert "test_predictions.png, learning_curves.png were not drawn" in err
    assert "miou" in json.loads((out / "metrics.json").read_text())
    assert main(["segment", "evaluate", str(out)]) == 0
    assert "test_predictions.png was not drawn" in capsys.readouterr().err
    img = tmp_path / "scene.png"
    Image.new("L", (32, 32)).save(img)
    assert main(["segment", "predict", str(out), str(img), "-o", str(tmp_path / "o.png")]) == 0
    cap = capsys.readouterr()
    assert "o.png was not drawn" in cap.err and "overlay written" not in cap.out
    assert not (tmp_path / "o.png").exists() and not list(out.glob("*.png"))
