"""The slice U-Net pipeline and `foveanet medical` on a tiny synthetic head built here
(a few epochs of a narrow net), and the CLI's errors on bad input."""
import json

import numpy as np
import pytest

pytest.importorskip("nibabel")
pytest.importorskip("scipy")

from foveanet.cli.main import main  # noqa: E402
from foveanet.medical import evaluate, load_run, predict_volume, read_nifti, train, write_nifti  # noqa: E402
from foveanet.medical.data import TaskVolume, normalise_mri  # noqa: E402

TINY = dict(epochs=12, base_width=4, depth=2, mm=1.0, slab=6, gap=2, batch_size=4, lr=1e-2, threads=1)


def tiny_head(n=24, depth=48):
    """An ellipsoid brain (bright) in a dark skull and a bright scalp: (24, 24, 48), 1 mm."""
    x, y, z = np.meshgrid(*(np.arange(s) - (s - 1) / 2 for s in (n, n, depth)), indexing="ij")
    r = np.sqrt((x / 8) ** 2 + (y / 8) ** 2 + (z / 22) ** 2)
    t1 = np.where(r < 0.8, 100.0, 0.0) + np.where((r > 0.9) & (r < 1.05), 70.0, 0.0)
    t1 += np.random.default_rng(0).normal(0, 3, t1.shape)
    t1 = np.clip(t1, 0, None).astype(np.float32)
    affine = np.diag([1.0, 1.0, 1.0, 1.0])
    affine[:3, 3] = -10
    return TaskVolume(normalise_mri(t1), (r < 0.8).astype(np.int64), ["background", "brain"], affine, t1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("medical") / "run"
    train(out, quiet=True, task="brain", task_volume=tiny_head(), **TINY)
    return out


def test_training_learns_the_tiny_brain_and_scores_the_baseline(run):
    m = json.loads((run / "metrics.json").read_text())
    assert m["task"] == "brain" and len(m["history"]) == TINY["epochs"]
    # 48 slices in slabs of 6 with gaps of 2: train val train test train val
    assert m["test_slices"] == 6 and m["train_slices"] == 18 and m["val_slices"] == 12
    assert m["dice"] > 0.8                              # all-background would score 0
    assert m["iou"] == pytest.approx(m["dice"] / (2 - m["dice"]), abs=1e-9)   # one class: IoU = D / (2 - D)
    assert m["baseline"]["dice"] > 0.9                  # Otsu + morphology finds this easy brain
    best = max(m["history"], key=lambda r: r["val_dice"])
    assert m["best_epoch"] == best["epoch"]
    for name in ("best.safetensors", "last.safetensors", "config.json"):
        assert (run / name).is_file()
    if pytest.importorskip("matplotlib"):
        assert (run / "test_views.png").is_file() and (run / "dice_per_class.png").is_file()


def test_evaluate_reproduces_the_test_score(run):
    m = json.loads((run / "metrics.json").read_text())
    rep = evaluate(run, pictures=False, task_volume=tiny_head())
    assert rep["dice"] == pytest.approx(m["dice"], abs=1e-12)


def test_predict_keeps_the_affine_and_undoes_the_reorientation(run, tmp_path):
    head = tiny_head()
    # the same head stored with flipped, permuted voxel axes: the prediction must come back in
    # that storage order, equal to the canonical prediction moved the same way
    plain = predict_volume(run, _volume(head.raw, head.affine), pictures=False)
    flipped = head.raw[::-1].transpose(2, 0, 1)                 # (z, -x, y)
    aff = np.array([[0, -1.0, 0, 13], [0, 0, 1.0, -10], [1.0, 0, 0, -10], [0, 0, 0, 1]])
    write_nifti(tmp_path / "scan.nii.gz", flipped, aff)
    mask = predict_volume(run, tmp_path / "scan.nii.gz", tmp_path / "out")
    np.testing.assert_array_equal(mask, plain[::-1].transpose(2, 0, 1))
    written = read_nifti(tmp_path / "out" / "mask.nii.gz")
    np.testing.assert_allclose(written.affine, aff)
    assert written.data.dtype == np.uint8 and (written.data == mask).all()
    assert 0.5 < (plain == head.labels).mean()
    if pytest.importorskip("matplotlib"):
        for v in ("axial", "coronal", "sagittal"):
            assert (tmp_path / "out" / f"overlay_{v}.png").is_file()


def _volume(data, affine):
    from foveanet.medical import Volume

    return Volume(np.asarray(data), affine, "MR", "tiny")


def test_load_run_refuses_other_directories(tmp_path):
    from foveanet.errors import RunError

    with pytest.raises(RunError, match="no config.json"):
        load_run(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"task": "segment"}))
    with pytest.raises(RunError, match="not from `foveanet medical train`"):
        load_run(tmp_path)


def test_cli_predict_and_its_errors(run, tmp_path, capsys):
    import nibabel as nib

    head = tiny_head()
    write_nifti(tmp_path / "head.nii.gz", head.raw, head.affine)
    assert main(["medical", "predict", str(run), str(tmp_path / "head.nii.gz"), "-o", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "brain" in out and "mask written" in out and (tmp_path / "o" / "mask.nii.gz").is_file()
    (tmp_path / "photo.nii").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 400)
    assert main(["medical", "predict", str(run), str(tmp_path / "photo.nii")]) == 2
    assert "not a readable NIfTI file" in capsys.readouterr().err
    nib.save(nib.Nifti1Image(np.zeros((16, 16), np.float32), np.eye(4)), tmp_path / "flat.nii")
    assert main(["medical", "predict", str(run), str(tmp_path / "flat.nii")]) == 2
    assert "expected a 3-D volume, got a 2-D image" in capsys.readouterr().err
    assert main(["medical", "predict", str(run), str(tmp_path / "nope.nii.gz")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
    assert main(["medical", "predict", str(tmp_path), str(tmp_path / "head.nii.gz")]) == 2
    assert "no config.json" in capsys.readouterr().err
    assert main(["medical", "train", "--out", str(run)]) == 2
    assert "already holds a run" in capsys.readouterr().err


def test_cli_reports_a_dicom_folder_without_pixel_data(run, tmp_path, capsys):
    pytest.importorskip("pydicom")
    from tests.medical.test_volumes import _dicom_slice

    (tmp_path / "sr").mkdir()
    _dicom_slice(tmp_path / "sr" / "report.dcm", None, (0, 0, 0), pixel_data=False)
    assert main(["medical", "predict", str(run), str(tmp_path / "sr")]) == 2
    err = capsys.readouterr().err
    assert "none holds pixel data" in err and len(err.strip().splitlines()) == 1


def test_task_settings_are_checked(tmp_path):
    with pytest.raises(ValueError, match="unknown task 'lungs'"):
        train(tmp_path / "r", task="lungs")
    with pytest.raises(ValueError, match="unknown settings"):
        train(tmp_path / "r", size=3)


def test_three_views_train_on_every_orientation_and_average_them(tmp_path):
    from foveanet.medical.pipeline import build_model, predict_probabilities

    m = train(tmp_path / "r", quiet=True, pictures=False, task_volume=tiny_head(), views="all",
              **{**TINY, "epochs": 2})
    # 18 axial training slices, every 2nd of 24 coronal and 24 sagittal ones: steps of 4 slices
    assert len(m["history"]) == 2 and m["train_slices"] == 18
    cfg = {**json.loads((tmp_path / "r" / "config.json").read_text())}
    assert cfg["views"] == "all"
    net = build_model(cfg)
    head = tiny_head()
    p = predict_probabilities(net, head.image, head.affine, cfg)
    assert p.shape == (2,) + head.image.shape
    np.testing.assert_allclose(p.sum(axis=0), 1, atol=1e-5)
    axial = predict_probabilities(net, head.image, head.affine, {**cfg, "views": "axial"})
    assert not np.allclose(p, axial)          # the coronal and sagittal passes count
    with pytest.raises(ValueError, match="views must be 'axial' or 'all'"):
        predict_probabilities(net, head.image, head.affine, {**cfg, "views": "two"})


@pytest.mark.slow
def test_cli_train_and_evaluate_on_the_real_mri(tmp_path, capsys):
    from foveanet.data.datasets import DatasetNotFoundError
    from foveanet.medical.data import template_path

    try:
        template_path("ch2bet.nii.gz")
    except DatasetNotFoundError as e:
        pytest.skip(f"needs Debian's mricron-data (`make medical-data`): {e}")
    run = tmp_path / "brain"
    # one epoch of a narrow net on 4 mm pixels: the command's plumbing, not the recipe
    assert main(["medical", "train", "--out", str(run), "--epochs", "1", "--base-width", "4", "--depth", "2",
                 "--mm", "4", "--threads", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "task brain: test slabs 32 slices" in out and "baseline (threshold + morphology): Dice 0.9465" in out
    m = json.loads((run / "metrics.json").read_text())
    assert m["train_slices"] == 80 and m["val_slices"] == 33 and 0 <= m["dice"] <= 1
    assert main(["medical", "evaluate", str(run)]) == 0
    assert f"Dice {m['dice']:.4f}" in capsys.readouterr().out


def test_predict_without_matplotlib_writes_the_mask_and_names_the_skipped_pictures(run, tmp_path, capsys,
                                                                                     monkeypatch):
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # `import matplotlib` raises ImportError
    head = tiny_head()
    write_nifti(tmp_path / "head.nii.gz", head.raw, head.affine)
    assert main(["medical", "predict", str(run), str(tmp_path / "head.nii.gz"), "-o", str(tmp_path / "o")]) == 0
    assert "overlay_axial.png, overlay_coronal.png, overlay_sagittal.png were not drawn" in capsys.readouterr().err
    assert (tmp_path / "o" / "mask.nii.gz").is_file() and not list((tmp_path / "o").glob("*.png"))


def test_one_epoch_of_few_steps_trains(tmp_path):
    # 18 slices in batches of 4: 5 steps, where a 20% warm-up would last under one step
    m = train(tmp_path / "r", quiet=True, pictures=False, task_volume=tiny_head(), **{**TINY, "epochs": 1})
    assert len(m["history"]) == 1 and m["history"][0]["lr"] < TINY["lr"]
