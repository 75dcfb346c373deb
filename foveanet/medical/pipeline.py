"""Train, evaluate and predict with a U-Net on the axial slices of one real volume.

Each task (``medical.data``: ``brain``, ``regions``, ``bone``) is one scan and its label
volume.  Its axial slices are dealt into train / validation / test slabs with unused gaps
between them (``medical.slices.slab_split``), resampled to the net's pixel size, and a
U-Net (``foveanet.models.unet``) is trained on the training slabs with cross-entropy + Dice
(``segmentation.losses.ce_dice``), random left-right mirroring and a random intensity
scale.  The weights of the epoch with the best validation Dice are kept; the test slabs are
scored once, at full resolution, beside the task's hand-crafted baseline
(``medical.baselines``) on the same voxels.

Reading a run back and segmenting new scans: ``medical.inference``.

Run directory: config.json, metrics.json (``dice``, ``iou``, per-class ``per_class_dice``,
``baseline``, ``history``, ``seconds``), best.safetensors / last.safetensors, and pictures
(test_views.png: truth, CNN and baseline in three orientations with the test slabs marked;
dice_per_class.png; learning_curves.png).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

import foveanet

__all__ = ["DEFAULTS", "TASK_DEFAULTS", "train", "evaluate", "predict_probabilities", "build_model"]

# the recipes of benchmarks/bench_medical.py (benchmarks/results-medical.md)
DEFAULTS = {
    "task": "brain", "epochs": 30, "batch_size": 8, "lr": 3e-3, "weight_decay": 1e-4, "base_width": 16,
    "depth": 3, "mm": 2.0, "slab": 16, "gap": 4, "dice_weight": 1.0, "flip": True, "scale": 0.1,
    "threads": 2, "seed": 0, "views": "axial",
}
# mm: the net's pixel side; slab/gap: slices per slab and unused slices between slabs
# (the CT has 108 slices of 1.5 mm against the MRI's 181 of 1 mm: shorter slabs keep two
# test slabs).  scale: training intensities times a random factor in [1 - scale, 1 + scale]
# (MRI has no absolute unit; other scanners' contrasts differ).  views: "axial", or "all": one
# net trained on axial, coronal and sagittal slices (every 2nd of the last two; their labels
# outside the training slabs ignored, so the net sees the other slabs' intensities but never
# their labels, as when a few slices of a scan are annotated) whose three predictions are
# averaged.
# The CT's bone: 1.5 mm pixels, finer than the MRI's 2 mm for the thin bones of the face (not
# compared with 2 mm), and 15 epochs (930 s wall under a load of 15-18, 137 s of CPU; its
# best epoch 13 of 15: results-medical.md).  regions: the brain's recipe for 120 epochs, not
# 30: the lobes are learned far more slowly than the brain (test Dice 0.297 after 30 epochs,
# 0.380 after 120, 333 s on 2 quiet cores: results-medical.md).
TASK_DEFAULTS = {"brain": {}, "regions": {"epochs": 120},
                 "bone": {"epochs": 15, "mm": 1.5, "slab": 10, "gap": 3, "scale": 0.0}}


def build_model(cfg: dict):
    from foveanet.models.unet import unet

    return unet(in_channels=1, num_classes=len(cfg["class_names"]), base_width=cfg["base_width"],
                depth=cfg["depth"], upsampling="transpose", batch_norm=True)


def _log(msg: str, quiet: bool):
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _axial(vol: np.ndarray) -> np.ndarray:
    """(X, Y, Z) -> (Z, X, Y): the axial slices."""
    from foveanet.medical.slices import to_view

    return to_view(vol, "axial")


def _views(cfg: dict) -> tuple:
    from foveanet.medical.slices import VIEWS

    if cfg["views"] not in ("axial", "all"):
        raise ValueError(f"medical: views must be 'axial' or 'all', got {cfg['views']!r}")
    return VIEWS if cfg["views"] == "all" else ("axial",)


def _grid(cfg: dict, vol_shape, affine, view: str = "axial"):
    from foveanet.medical.slices import NetGrid, to_view, view_spacing

    shape = to_view(np.empty(vol_shape, np.bool_), view).shape[1:]
    return NetGrid(shape, view_spacing(affine, view), cfg["mm"], 2 ** cfg["depth"])


def predict_probabilities(model, vol: np.ndarray, affine, cfg: dict, batch_size: int = 16) -> np.ndarray:
    """(X, Y, Z) RAS+ volume -> (C, X, Y, Z) class probabilities: per view of ``cfg['views']``,
    the net's softmax on its grid resampled (linear) to the slices' own grid; the views'
    probabilities averaged."""
    from foveanet.medical.slices import from_view, to_view
    from foveanet.segmentation.inference import softmax

    model.eval()
    views = _views(cfg)
    total = None
    with foveanet.no_grad():
        for view in views:
            grid = _grid(cfg, vol.shape, affine, view)
            slices = to_view(vol, view)
            probs = np.zeros((len(slices), len(cfg["class_names"])) + slices.shape[1:], np.float32)
            for i in range(0, len(slices), batch_size):
                x = grid.to_net(slices[i:i + batch_size])[:, None]
                p = softmax(model(foveanet.tensor(np.ascontiguousarray(x, np.float32))).data)
                probs[i:i + batch_size] = grid.from_net(p)
            p = np.moveaxis(from_view(probs.transpose(0, 2, 3, 1), view), 3, 0)   # (N, H, W, C) -> (C, X, Y, Z)
            total = p if total is None else total + p
    return total / np.float32(len(views))


def _training_sets(cfg: dict, tv, split: dict) -> dict:
    """split name -> [(view, x (N, 1, h, w), y (N, h, w)), ...] on the net's grids.  Axial
    slices of the split's slabs; with views 'all', also every 2nd coronal and sagittal slice
    with labels outside the split's slabs set to -100 (ignored)."""
    from foveanet.medical.slices import to_view

    out = {}
    for s in ("train", "val"):
        groups = []
        for view in _views(cfg) if s == "train" else ("axial",):
            grid = _grid(cfg, tv.image.shape, tv.affine, view)
            if view == "axial":
                img, lab = _axial(tv.image)[split[s]], _axial(tv.labels)[split[s]]
            else:
                masked = np.full(tv.labels.shape, -100, np.int64)
                masked[:, :, split[s]] = tv.labels[:, :, split[s]]
                img, lab = to_view(tv.image, view)[::2], to_view(masked, view)[::2]
            groups.append((view, grid.to_net(img)[:, None],
                           grid.to_net(lab.astype(np.float32), order=0).astype(np.int64)))
        out[s] = groups
    return out


def _net_dice(model, x, y, num_classes: int) -> float:
    from foveanet.segmentation.inference import predict_logits
    from foveanet.segmentation.metrics import ConfusionMatrix

    cm = ConfusionMatrix(num_classes).update(predict_logits(model, x, batch_size=16), y)
    return float(np.nanmean(cm.dice()[1:]))


def _baseline(task: str, tv) -> np.ndarray | None:
    """The task's hand-crafted prediction over the whole volume (None: no baseline)."""
    from foveanet.medical import baselines

    if task == "brain":
        return baselines.brain_mask_baseline(tv.raw).astype(np.int64)
    if task == "bone":   # the bare threshold: the label adds the clean-up
        return baselines.bone_mask(tv.raw, clean=False).astype(np.int64)
    return None   # regions: the atlas lives in this subject's space, an atlas baseline would copy the labels


def _report(pred: np.ndarray, truth: np.ndarray, names: list) -> dict:
    from foveanet.segmentation.metrics import ConfusionMatrix

    cm = ConfusionMatrix(len(names), names).update(pred, truth)
    dice, iou = cm.dice()[1:], cm.iou()[1:]
    return {"dice": float(np.nanmean(dice)), "iou": float(np.nanmean(iou)),
            "per_class_dice": {n: (None if np.isnan(v) else float(v)) for n, v in zip(names[1:], dice)},
            "per_class_iou": {n: (None if np.isnan(v) else float(v)) for n, v in zip(names[1:], iou)}}


def train(out, quiet: bool = False, pictures: bool = True, task_volume=None, **overrides) -> dict:
    """Train a U-Net on one task's training slabs and score its test slabs.

    Args:
        out: the run directory (created).
        quiet: print no progress (default False).
        pictures: draw the pictures (default True).
        task_volume: a ``medical.data.TaskVolume`` to use instead of the task's Debian
            volume (tests build tiny ones) (default None).
        **overrides: keys of ``DEFAULTS``; ``task`` picks ``TASK_DEFAULTS``; None values
            are ignored.

    Returns:
        dict: the metrics written to metrics.json.

    Raises:
        ValueError: an unknown setting or task.
        DatasetNotFoundError: the task's Debian package is missing.
        TrainingDiverged: a non-finite loss or gradient.
    """
    from foveanet.medical.data import TASKS, load_task
    from foveanet.medical.slices import slab_split
    from foveanet.segmentation.losses import ce_dice
    from foveanet.segmentation.metrics import ConfusionMatrix
    from foveanet.train.checkpoint import save_weights, write_json
    from foveanet.train.guards import check_step, float_errors_quiet

    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"medical train: unknown settings {sorted(unknown)}")
    task = overrides.get("task") or DEFAULTS["task"]
    if task not in TASKS:
        raise ValueError(f"medical train: unknown task {task!r} (expected one of {', '.join(TASKS)})")
    cfg = {**DEFAULTS, **TASK_DEFAULTS[task], **{k: v for k, v in overrides.items() if v is not None}}
    tv = task_volume if task_volume is not None else load_task(task)
    cfg["class_names"] = list(tv.class_names)
    cfg["command"] = "medical"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", cfg)

    t_start, cpu_start = time.perf_counter(), time.process_time()
    saved_threads = foveanet.get_num_threads()
    foveanet.set_num_threads(cfg["threads"])
    foveanet.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    split = slab_split(tv.image.shape[2], cfg["slab"], cfg["gap"])
    sets = _training_sets(cfg, tv, split)
    c = len(cfg["class_names"])
    model = build_model(cfg)
    bs = cfg["batch_size"]
    steps = sum(-(-len(x) // bs) for _, x, _ in sets["train"])
    n_train = sum(len(x) for _, x, _ in sets["train"])
    opt = foveanet.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    # the warm-up needs 2 steps or more: OneCycleLR (as torch's) divides by its length - 1
    sched = foveanet.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], epochs=cfg["epochs"],
                                                   steps_per_epoch=steps,
                                                   pct_start=min(0.5, max(0.2, 2 / (steps * cfg["epochs"]))))
    named = list(model.named_parameters())
    history, best, best_state = [], -1.0, None
    try:
        for epoch in range(cfg["epochs"]):
            t0 = time.perf_counter()
            # batches within one view (their grids differ), in a random order across views
            batches = [(g, o[i:i + bs]) for g, (_, x, _) in enumerate(sets["train"])
                       for o in [rng.permutation(len(x))] for i in range(0, len(x), bs)]
            model.train()
            cm, loss_sum = ConfusionMatrix(c), 0.0
            for b, k in enumerate(rng.permutation(len(batches))):
                g, idx = batches[k]
                view, xs, ys = sets["train"][g]
                x, y = xs[idx].copy(), ys[idx].copy()
                # mirror left-right: an axial or coronal slice's first axis is x, the patient's
                # left-right; sagittal slices have no such symmetry
                if cfg["flip"] and view != "sagittal":
                    m = rng.random(len(idx)) < 0.5
                    x[m], y[m] = x[m][:, :, ::-1], y[m][:, ::-1]
                if cfg["scale"]:
                    x *= rng.uniform(1 - cfg["scale"], 1 + cfg["scale"], (len(idx), 1, 1, 1)).astype(np.float32)
                with float_errors_quiet():
                    logits = model(foveanet.tensor(x))
                    loss = ce_dice(logits, y, dice_weight=cfg["dice_weight"])
                    opt.zero_grad()
                    loss.backward()
                    lv = float(loss.item())
                    check_step(lv, named, epoch=epoch + 1, step=b + 1, steps_per_epoch=steps,
                               lr=opt.param_groups[0]["lr"])
                opt.step()
                sched.step()
                loss_sum += lv * len(idx)
                cm.update(logits.data.argmax(axis=1), y)
            val = _net_dice(model, sets["val"][0][1], sets["val"][0][2], c)   # axial validation slices
            row = {"epoch": epoch + 1, "train_loss": loss_sum / n_train,
                   "train_dice": float(np.nanmean(cm.dice()[1:])), "val_dice": val, "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
            history.append(row)
            _log(f"epoch {epoch + 1}/{cfg['epochs']} loss {row['train_loss']:.4f} train Dice {row['train_dice']:.4f} "
                 f"| val Dice {val:.4f} | {row['seconds']:.1f}s", quiet)
            save_weights(model.state_dict(), out / "last.safetensors")
            if val > best:
                best = val
                best_state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
                save_weights(model.state_dict(), out / "best.safetensors")
            write_json(out / "metrics.json", {"history": history, "seconds": time.perf_counter() - t_start})
    finally:
        foveanet.set_num_threads(saved_threads)
    train_seconds, cpu_seconds = time.perf_counter() - t_start, time.process_time() - cpu_start
    model.load_state_dict({k: foveanet.tensor(v) for k, v in best_state.items()})
    metrics = _evaluate(model, cfg, tv, out, pictures, history)
    metrics.update(history=history, seconds=train_seconds, cpu_seconds=cpu_seconds,
                   best_epoch=max(history, key=lambda r: r["val_dice"])["epoch"])
    write_json(out / "metrics.json", metrics)
    return metrics


def _evaluate(model, cfg: dict, tv, out: Path, pictures: bool, history=None) -> dict:
    """Test-slab report of the CNN and the baseline at full resolution; the pictures."""
    from foveanet.medical.slices import slab_split

    labels = _axial(tv.labels)
    split = slab_split(len(labels), cfg["slab"], cfg["gap"])
    t0 = time.perf_counter()
    # every slice: the pictures show the whole volume
    pred = predict_probabilities(model, tv.image, tv.affine, cfg).argmax(axis=0)
    test = split["test"]
    rep = _report(_axial(pred)[test], labels[test], cfg["class_names"])
    rep.update(task=cfg["task"], test_slices=len(test), val_slices=len(split["val"]),
               train_slices=len(split["train"]), eval_seconds=time.perf_counter() - t0)
    base = _baseline(cfg["task"], tv)
    if base is not None:
        rep["baseline"] = _report(_axial(base)[test], labels[test], cfg["class_names"])
    if pictures:
        from foveanet.train.plots import pictures_available

        names = ["test_views.png", "dice_per_class.png"] + (["learning_curves.png"] if history else [])
        if pictures_available(names):
            from foveanet.medical.pictures import dice_bars, test_views
            from foveanet.segmentation.pictures import learning_curves

            test_views(tv.image, tv.labels, pred, base, tv.affine, test, cfg["class_names"],
                       out / "test_views.png", title=f"{cfg['task']}: test slabs (dashed), Dice {rep['dice']:.3f}")
            dice_bars(rep, out / "dice_per_class.png", title=f"{cfg['task']}: Dice per class on the test slabs")
            if history:
                learning_curves(history, out / "learning_curves.png", "dice", "mean Dice over the foreground classes")
    return rep


def evaluate(run_dir, which: str = "best", pictures: bool = True, task_volume=None) -> dict:
    """Score a run's weights on its task's test slabs again (CNN and baseline) and refresh
    metrics.json's test numbers (its history is kept).

    Args:
        run_dir: the run directory.
        which: ``'best'``, ``'last'`` or a weight file (default ``'best'``).
        pictures: draw test_views.png and dice_per_class.png (default True).
        task_volume: the ``TaskVolume`` the run trained on, when not the Debian one.

    Returns:
        dict: the test report (``dice``, ``iou``, per class, ``baseline``).

    Example::

        >>> import json, os, tempfile
        >>> from foveanet.medical import DEFAULTS, evaluate
        >>> from foveanet.medical.data import TaskVolume
        >>> from foveanet.medical.pipeline import build_model
        >>> from foveanet.train.checkpoint import save_weights
        >>> cfg = {**DEFAULTS, "command": "medical", "base_width": 2, "depth": 1, "mm": 1.0, "slab": 4,
        ...        "gap": 1, "class_names": ["background", "brain"]}     # a tiny, untrained net
        >>> t1 = np.zeros((16, 16, 20), np.float32)
        >>> t1[1:15, 1:15] = 0.5; t1[3:13, 3:13] = 1.0                 # "scalp" around a "brain"
        >>> tv = TaskVolume(t1, (t1 == 1).astype(np.int64), cfg["class_names"], np.eye(4), t1 * 100)
        >>> with tempfile.TemporaryDirectory() as run:
        ...     with open(os.path.join(run, "config.json"), "w") as f:
        ...         json.dump(cfg, f)
        ...     save_weights(build_model(cfg).state_dict(), os.path.join(run, "best.safetensors"))
        ...     rep = evaluate(run, pictures=False, task_volume=tv)
        >>> rep["test_slices"], rep["train_slices"]        # 20 slices: slabs of 4, gaps of 1
        (4, 8)
        >>> round(rep["baseline"]["dice"], 3)   # Otsu + an opening that rounds the block's edges
        0.895
    """
    from foveanet.medical.data import load_task
    from foveanet.train.checkpoint import write_json

    from foveanet.medical.inference import load_run

    model, cfg = load_run(run_dir, which)
    tv = task_volume if task_volume is not None else load_task(cfg["task"])
    rep = _evaluate(model, cfg, tv, Path(run_dir), pictures)
    path = Path(run_dir) / "metrics.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    write_json(path, {**old, **rep})
    return rep
