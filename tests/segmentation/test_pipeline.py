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
    # a few scenes of one or two unscaled items on 32x32, a 4-wide U-Net: 60 steps. Two epochs
    # (20 steps) failed the thresholds below for two seeds in six; six epochs clear them for
    # seeds 0-5 on both BLAS kernels (background IoU gain >= 0.25, mIoU >= 1.6x the baseline)
    out = tmp_path_factory.mktemp("seg") / "run"
    train(out, quiet=True, epochs=6, scenes=160, val_scenes=16, test_scenes=48, size=32, depth=2,
          base_width=4, batch_size=16, lr=0.02, items=[1, 2], scale=None, pretrain_epochs=0)
    return out


def test_training_beats_all_background(run):
    m = json.loads((run / "metrics.json").read_text())
    cfg = json.loads((run / "config.json").read_text())
    test = generate_scenes(cfg["test_scenes"], "test", size=32, items=cfg["items"], scale=cfg["scale"],
                           seed=cfg["test_seed"])
    base = ConfusionMatrix(len(CLASS_NAMES)).update(np.zeros_like(test.masks), test.masks)
    baseline = base.miou()
    assert baseline < 0.07  # background IoU ~0.6 (its pixel share) over 11 classes, items 0
    # 60 steps learn where the items are (background IoU ~0.9), barely yet which they are
    assert m["per_class_iou"]["background"] > base.iou()[0] + 0.15
    assert m["miou"] > 1.3 * baseline
    assert set(m["per_class_iou"]) == set(CLASS_NAMES)
    assert len(m["history"]) == 6 and m["seconds"] > 0
    for f in ("best.safetensors", "last.safetensors", "test_predictions.png", "learning_curves.png"):
        assert (run / f).is_file(), f


def test_model_selection_uses_validation_scenes(run):
    # best.safetensors holds the epoch of the highest *validation* mIoU (held-back training
    # items), and its score on those scenes is the one the history recorded
    from foveanet.segmentation.pipeline import _scenes, load_run, score

    m = json.loads((run / "metrics.json").read_text())
    vals = [r["val_miou"] for r in m["history"]]
    assert m["best_epoch"] == 1 + int(np.argmax(vals))
    model, cfg = load_run(run, "best")
    val = _scenes(cfg, "val", cfg["val_scenes"], cfg["seed"] + 1_000_003)
    assert val.split == "val" and len(val) == 16
    cm, _ = score(model, val)
    assert cm.miou() == pytest.approx(max(vals), abs=1e-6)
    for key in ("miou", "pixel_accuracy", "dice", "seconds", "cpu_seconds"):
        assert isinstance(m[key], float), key
    assert 0 < m["pixel_accuracy"] <= 1 and m["cpu_seconds"] > 0
    conf = np.array(m["confusion"])
    assert conf.sum() == 48 * 32 * 32                    # every test pixel scored once
    assert m["pixel_accuracy"] == pytest.approx(np.trace(conf) / conf.sum())
    shirt = CLASS_NAMES.index("Shirt")
    tp, fp, fn = conf[shirt, shirt], conf[:, shirt].sum() - conf[shirt, shirt], conf[shirt].sum() - conf[shirt, shirt]
    assert m["per_class_iou"]["Shirt"] == (pytest.approx(tp / (tp + fp + fn)) if tp + fp + fn else None)


def test_threads_flip_and_item_weight(tmp_path):
    import os

    import foveanet
    from foveanet.backend.cpu import threads as parallel

    foveanet.set_num_threads(1)
    try:
        m = train(tmp_path / "r", quiet=True, pictures=False, epochs=1, scenes=16, val_scenes=8,
                  test_scenes=8, size=16, depth=1, base_width=2, batch_size=8, items=[1, 1], scale=None,
                  threads=64, flip=True, item_weight=3.0, pretrain_epochs=0)
        cfg = json.loads((tmp_path / "r" / "config.json").read_text())
        assert cfg["threads"] == min(64, os.cpu_count()) and cfg["flip"] is True and cfg["item_weight"] == 3.0
        # the process-wide thread count is the caller's again, BLAS's own included (a count
        # held at one by the conv tasks must not be given back over it)
        assert foveanet.get_num_threads() == 1 and parallel.workers() == 1
        from threadpoolctl import threadpool_info
        assert all(i["num_threads"] == 1 for i in threadpool_info() if i["user_api"] == "blas")
    finally:
        foveanet.set_num_threads(1)
    assert len(m["history"]) == 1 and np.isfinite(m["history"][0]["train_loss"])
    with pytest.raises(ValueError, match="unknown settings"):
        train(tmp_path / "bad", quiet=True, thread=2)


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
    """The default recipe (benchmarks/segment_scenes.py, 16-20 min on 2 cores with SkylakeX
    kernels) measured 0.756 / 0.761 (seeds 0 / 1) test mIoU with its 8 shift views: the
    issue's target is 0.75 (the seed spread is ~0.008)."""
    m = train(tmp_path / "full", quiet=True)
    assert m["tta"] == "shift" and m["miou"] >= 0.75, m["per_class_iou"]


def test_cli_passes_the_recipe_flags(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["segment", "train", "--out", str(out), "--epochs", "1", "--scenes", "8",
                 "--val-scenes", "4", "--test-scenes", "4", "--size", "16", "--depth", "1",
                 "--base-width", "2", "--batch-size", "4", "--threads", "1", "--item-weight", "2.5",
                 "--flip", "--pretrain-epochs", "0", "--ema", "0.99", "--tta", "--quiet"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["threads"], cfg["item_weight"], cfg["flip"]) == (1, 2.5, True)
    assert (cfg["pretrain_epochs"], cfg["ema"], cfg["tta"]) == (0, 0.99, "flip")
    assert json.loads((out / "metrics.json").read_text())["tta"] == "flip"
    # evaluate with other views than the run's: the numbers say which views made them
    assert main(["segment", "evaluate", str(out), "--tta", "shift"]) == 0
    assert json.loads((out / "metrics.json").read_text())["tta"] == "shift"
    assert json.loads((out / "config.json").read_text())["tta"] == "flip"
    # a run from before the views existed has no "tta": it keeps its one view
    from foveanet.segmentation import load_run

    cfg.pop("tta")
    (out / "config.json").write_text(json.dumps(cfg))
    assert load_run(out)[1]["tta"] is False
    # the train flags --no-tta / --tta VIEWS / --tta (old meaning: flip)
    from foveanet.cli.main import build_parser

    parse = build_parser().parse_args
    assert [parse(["segment", "train", "--out", "r", *a]).tta for a in ([], ["--no-tta"], ["--tta", "shift"], ["--tta"])] \
        == [None, "none", "shift", "flip"]
    capsys.readouterr()
    for flag, value, said in (("--item-weight", "0", "expected a number > 0, got 0"),
                              ("--pretrain-epochs", "-1", "expected an integer >= 0, got -1"),
                              ("--ema", "1.5", "expected a fraction in (0, 1), got 1.5")):
        with pytest.raises(SystemExit) as e:  # argparse checks the range as it parses
            main(["segment", "train", "--out", str(tmp_path / "bad"), flag, value])
        assert e.value.code == 2 and f"argument {flag}: {said}" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()


def test_ema_update_by_hand():
    import foveanet
    from foveanet import nn
    from foveanet.segmentation.pipeline import ema_update

    foveanet.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    foveanet.manual_seed(1)
    ema = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2))
    model[1].running_mean.data[:] = [0.5, -0.5]
    e0 = [p.data.copy() for p in ema.parameters()]
    p0 = [p.data.copy() for p in model.parameters()]
    # step 0: warm-up decay (1 + 0) / (10 + 0) = 0.1 < 0.99
    assert ema_update(ema, model, 0.99, 0) == pytest.approx(0.1)
    for e, a, b in zip(ema.parameters(), e0, p0):
        np.testing.assert_allclose(e.data, 0.1 * a + 0.9 * b, rtol=1e-6)
    np.testing.assert_array_equal(ema[1].running_mean.data, [0.5, -0.5])   # buffers copied
    # late step: the decay itself, 0.5 < (1 + 1000) / (10 + 1000)
    e1 = [p.data.copy() for p in ema.parameters()]
    assert ema_update(ema, model, 0.5, 1000) == 0.5
    for e, a, b in zip(ema.parameters(), e1, p0):
        np.testing.assert_allclose(e.data, 0.5 * a + 0.5 * b, rtol=1e-6)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), p0))  # model untouched


def test_ema_and_tta_runs_score_and_save_the_averaged_weights(tmp_path):
    from foveanet.segmentation.pipeline import _scenes, load_run, score

    m = train(tmp_path / "r", quiet=True, pictures=False, epochs=2, scenes=16, val_scenes=8,
              test_scenes=8, size=16, depth=1, base_width=2, batch_size=8, items=[1, 1], scale=None,
              threads=1, ema=0.9, tta=True, pretrain_epochs=0)
    assert all("val_miou_plain" in r for r in m["history"])
    model, cfg = load_run(tmp_path / "r", "best")
    assert cfg["ema"] == 0.9 and cfg["tta"] is True
    val = _scenes(cfg, "val", cfg["val_scenes"], cfg["seed"] + 1_000_003)
    assert score(model, val, tta=True)[0].miou() == pytest.approx(max(r["val_miou"] for r in m["history"]), abs=1e-6)


def test_cli_widths(tmp_path, capsys):
    # --widths sets every level's channels; the config records the depth and base width they
    # imply, and the run loads back as the same net
    out = tmp_path / "w"
    assert main(["segment", "train", "--out", str(out), "--epochs", "1", "--scenes", "4", "--val-scenes", "2",
                 "--test-scenes", "2", "--size", "16", "--widths", "2,3,5", "--batch-size", "4",
                 "--pretrain-epochs", "0", "--tta", "shift", "--quiet"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["widths"], cfg["depth"], cfg["base_width"]) == ([2, 3, 5], 2, 2)
    from foveanet.models.unet import unet_parameter_count
    from foveanet.segmentation import load_run

    model = load_run(out)[0]
    assert model.widths == (2, 3, 5)
    assert sum(p.data.size for p in model.parameters()) == unet_parameter_count(1, 11, widths=(2, 3, 5))
    capsys.readouterr()
    tiny = ["--epochs", "1", "--scenes", "4", "--val-scenes", "2", "--test-scenes", "2", "--pretrain-epochs", "0"]
    assert main(["segment", "train", "--out", str(tmp_path / "a"), "--widths", "2,3", "--depth", "1", *tiny]) == 2
    assert "give --widths or --base-width/--depth, not both" in capsys.readouterr().err
    assert main(["segment", "train", "--out", str(tmp_path / "b"), "--widths", "2,3,5,7", "--size", "20", *tiny]) == 2
    assert "multiple of 2**depth = 8 (depth 3)" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["segment", "train", "--out", str(tmp_path / "c"), "--widths", "16", *tiny])
    assert "expected >= 2 positive integers" in capsys.readouterr().err
    with pytest.raises(ValueError, match="mean depth 1"):  # the Python API checks the same
        train(tmp_path / "d", quiet=True, widths=[2, 3], depth=2, epochs=1, scenes=4, pretrain_epochs=0)


def test_train_items_change_only_the_training_scenes(tmp_path, monkeypatch, capsys):
    # denser training scenes (--train-items) must leave the validation and test scenes, the
    # task being measured, at --items
    import foveanet.segmentation.pipeline as pipeline

    seen = []
    real = pipeline.generate_scenes

    def spy(n, split, **kw):
        seen.append((split, kw["items"]))
        return real(n, split, **kw)

    monkeypatch.setattr(pipeline, "generate_scenes", spy)
    out = tmp_path / "t"
    assert main(["segment", "train", "--out", str(out), "--epochs", "2", "--scenes", "4", "--val-scenes", "2",
                 "--test-scenes", "2", "--size", "16", "--depth", "1", "--base-width", "2", "--batch-size", "4",
                 "--pretrain-epochs", "0", "--train-items", "3,4", "--quiet"]) == 0
    assert json.loads((out / "config.json").read_text())["train_items"] == [3, 4]
    assert sorted(set(seen)) == [("test", (2, 4)), ("train", (3, 4)), ("val", (2, 4))]
    assert [s for s, _ in seen].count("train") == 2          # fresh scenes every epoch
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["segment", "train", "--out", str(tmp_path / "x"), "--train-items", "4,3", "--epochs", "1"])
    assert "expected LOW,HIGH with 1 <= LOW <= HIGH, got '4,3'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="train_items must be \\(low, high\\)"):
        train(tmp_path / "y", quiet=True, train_items=[0, 2], epochs=1, scenes=4, pretrain_epochs=0)
    assert not (tmp_path / "y").exists()
    # the default trains on 3-5 items; asking for other scenes trains on their like
    from foveanet.segmentation import DEFAULTS

    assert DEFAULTS["train_items"] == [3, 5] and DEFAULTS["items"] == [2, 4]
    seen.clear()
    train(tmp_path / "z", quiet=True, items=[1, 1], epochs=1, scenes=2, val_scenes=1, test_scenes=1, size=16,
          depth=1, base_width=2, batch_size=2, pretrain_epochs=0, pictures=False)
    assert json.loads((tmp_path / "z" / "config.json").read_text())["train_items"] is None
    assert set(seen) == {("train", (1, 1)), ("val", (1, 1)), ("test", (1, 1))}
