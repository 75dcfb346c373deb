import json

import pytest

from foveanet.cli.main import main
from foveanet.train.run import RunError, load_run, read_config


def test_missing_run_dir_and_config_say_what_to_do(tmp_path):
    with pytest.raises(RunError, match="no such directory"):
        read_config(tmp_path / "nope")
    with pytest.raises(RunError, match="has no config.json"):
        read_config(tmp_path)


def test_missing_weights_lists_what_the_run_has(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model": "lenet5"}))
    (tmp_path / "last.safetensors").write_bytes(b"")
    with pytest.raises(RunError, match=r"best.safetensors not found \(the run has last.safetensors"):
        load_run(tmp_path, "best")


def test_cli_prints_run_errors_without_traceback(tmp_path, capsys):
    assert main(["show", "filters", str(tmp_path), "-o", str(tmp_path / "f.png")]) == 2
    assert "has no config.json" in capsys.readouterr().err


def test_strong_recipe_builds_its_augmentation_and_model():
    from foveanet.data import transforms as T
    from foveanet.train import build

    cfg = {**build.DEFAULTS, **build.RECIPES["strong"], "input_shape": (1, 28, 28),
           "mean": [0.286], "std": [0.353], "classes": [str(i) for i in range(10)]}
    steps = build.transforms(cfg, train=True).transforms
    crop = next(s for s in steps if isinstance(s, T.RandomCrop))
    assert crop.padding == (2, 2, 2, 2)  # the recipe's 2 px, not the 28 // 8 = 3 default
    assert any(isinstance(s, T.RandomHorizontalFlip) for s in steps)
    assert sum(p.numel() for p in build.model(cfg).parameters()) == 298_858  # vgg_small
    cfg["crop_padding"] = None
    crop = next(s for s in build.transforms(cfg, train=True).transforms if isinstance(s, T.RandomCrop))
    assert crop.padding == (3, 3, 3, 3)
