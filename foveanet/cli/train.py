"""`foveanet train`, `foveanet evaluate`, `foveanet predict`: train an image classifier into a
run directory, then measure it or classify image files with it."""
from __future__ import annotations

import argparse
import json
import sys
import textwrap
import time
from pathlib import Path

TRAIN_EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet train                                     # lenet5 on Fashion-MNIST: >91% in <3 min
      foveanet train --model lenet5 --dataset fashion-mnist --epochs 15 --out runs/lenet
      foveanet train --limit 2000 --epochs 2 --out runs/quick     # a quick smoke run
      foveanet train --recipe quick --out runs/quick             # 5 epochs, about 35 s
      foveanet train --dataset photos/ --image-size 64 --test-split 0.2 --out runs/photos
      foveanet train --out runs/lenet --resume           # continue a killed run exactly
      mpirun -n 2 foveanet train --out runs/dp           # data-parallel on 2 processes (MPI)

    Under mpirun (or srun) every process trains on its share of each batch and the gradients
    are averaged: --batch-size is the global batch, rank 0 writes the run, and --resume works
    with any number of processes.
    A run directory holds config.json, metrics.json (validation and test numbers of every
    epoch), best.safetensors (the epoch with the best validation accuracy), last.safetensors,
    checkpoint.safetensors (for --resume) and learning_curves/confusion_matrix/predictions.png.
    Exit codes: 0 done, 2 a mistake in the command or the data, 3 the training diverged.
    """)
EVAL_EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet evaluate runs/lenet                  # the best epoch's accuracy and per-class table
      foveanet evaluate runs/lenet --weights last   # the final epoch's weights instead
    """)
PREDICT_EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet predict runs/lenet shirt.png boot.jpg
      foveanet predict runs/lenet photo.jpg --topk 5
      foveanet predict runs/lenet ink-on-paper.png --invert

    Images of any size or colour mode are converted to what the model was trained on: grey
    or RGB, scaled to fit the input with the aspect ratio kept and the rest padded with the
    image's own border colour, then normalised with the training statistics in config.json.
    Fashion-MNIST shows light garments on black: an image whose background is the other way
    round is inverted, and predict says so (--invert / --no-invert decide yourself). An image
    unlike the training images gets a warning.
    """)

_SETTINGS = ("model", "dataset", "epochs", "batch_size", "lr", "optimizer", "weight_decay",
             "schedule", "augment", "label_smoothing", "seed", "limit", "test_limit",
             "image_size", "val_split", "test_split", "checkpoint_seconds", "patience", "threads",
             "tta", "crop_padding")


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def _recipe_default(key: str) -> str:
    """``[20; quick: 5; strong: 14]``: the default recipe's value and every other recipe's
    own, as --help shows them."""
    from foveanet.train.build import DEFAULTS, RECIPES

    def shown(v):
        return "none" if v is None else str(v).lower() if isinstance(v, bool) else str(v)

    parts = [shown(DEFAULTS[key])]
    parts += [f"{name}: {shown(r[key])}" for name, r in sorted(RECIPES.items())
              if key in r and r[key] != DEFAULTS[key]]
    return f"[{'; '.join(parts)}]"


def register(sub) -> None:
    from foveanet.cli.args import (
        add_device_option, fraction, nonneg_float, nonneg_int, open_fraction, positive_float,
        positive_int, weights_arg,
    )
    from foveanet.train.build import AUGMENTS, OPTIMIZERS, RECIPES, SCHEDULES
    from foveanet.train.run import WEIGHTS_HELP

    p = sub.add_parser("train", help="train an image classifier into a run directory",
                       description=textwrap.dedent("""\
                           Train a CNN from the model zoo on Fashion-MNIST, MNIST or a folder of class
                           folders. Options left out come from --recipe; brackets show the default
                           recipe's value and the other recipes' own. A seeded validation split of the
                           training images chooses the best epoch and drives --patience; the test set
                           is only reported."""),
                       epilog=TRAIN_EXAMPLES, formatter_class=_formatter)

    def opt(flag, key, help_text, **kw):
        p.add_argument(flag, help=f"{help_text} {_recipe_default(key)}", **kw)

    p.add_argument("--recipe", choices=sorted(RECIPES), default="default",
                   help="settings bundle that the other options override [default]")
    opt("--model", "model", "a model name from the zoo (`foveanet summary --list`)")
    opt("--dataset", "dataset", "fashion-mnist, mnist, or a folder of class folders")
    opt("--epochs", "epochs", "passes over the training images", type=positive_int)
    opt("--batch-size", "batch_size", "images per optimizer step", type=positive_int)
    opt("--lr", "lr", "learning rate (the peak of the onecycle schedule)", type=positive_float)
    opt("--optimizer", "optimizer", "optimizer (sgd: Nesterov momentum 0.9)", choices=OPTIMIZERS)
    opt("--weight-decay", "weight_decay", "decoupled (adamw) or L2 (adam, sgd) weight decay",
        type=nonneg_float)
    opt("--schedule", "schedule", "learning-rate schedule", choices=SCHEDULES)
    opt("--augment", "augment", "training-time augmentation (standard = flip+crop+random erasing)",
        choices=AUGMENTS)
    opt("--crop-padding", "crop_padding", "pixels of zero padding around random crops "
        "(none: max(2, side/8))", type=nonneg_int)
    opt("--label-smoothing", "label_smoothing", "share of the target spread over the other classes",
        type=fraction)
    opt("--seed", "seed", "seed of the weights, the batch order and the splits", type=int)
    opt("--limit", "limit", "use only the first N training images (before the validation split)",
        type=positive_int)
    opt("--test-limit", "test_limit", "score only the first N test images", type=positive_int)
    opt("--image-size", "image_size", "resize folder images to N x N (none: 32)", type=positive_int)
    opt("--val-split", "val_split", "share of the training images held out as the validation set "
        "that chooses the best epoch (0: none, the last epoch is kept)", type=fraction)
    opt("--test-split", "test_split", "share of an image folder held out as its test set",
        type=open_fraction)
    opt("--patience", "patience", "stop after N epochs without a better validation accuracy",
        type=positive_int)
    opt("--checkpoint-seconds", "checkpoint_seconds", "mid-epoch checkpoint interval in seconds of "
        "training (0: after every batch)", type=nonneg_float)
    opt("--threads", "threads", "threads inside each op: BLAS, and the layers' sub-batch tasks "
        "(default 2; 1 per rank under mpirun, as torchrun does; 0 = leave BLAS's own choice)",
        type=nonneg_int)
    opt("--tta", "tta", "test-time augmentation: the final test evaluation and predict average each "
        "image's class probabilities with its mirror image's", action=argparse.BooleanOptionalAction,
        default=None)
    p.add_argument("--out", help="run directory [runs/MODEL-DATASET]")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint (settings come from its config.json)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    # not a setting of the run: one trained on a GPU resumes, evaluates and predicts anywhere
    add_device_option(p)
    p.set_defaults(func=run_train)

    e = sub.add_parser("evaluate", help="accuracy and per-class table of a trained run",
                       description="Evaluate a run directory's weights on its test set.",
                       epilog=EVAL_EXAMPLES, formatter_class=_formatter)
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--weights", type=weights_arg, default="best", metavar="best|last|PATH", help=WEIGHTS_HELP)
    e.set_defaults(func=run_evaluate)

    q = sub.add_parser("predict", help="classify image files with a trained run",
                       description="Print the most likely classes of each image, with probabilities.",
                       epilog=PREDICT_EXAMPLES, formatter_class=_formatter)
    q.add_argument("run_dir", metavar="RUN_DIR")
    q.add_argument("images", nargs="+", metavar="IMAGE")
    q.add_argument("--topk", type=positive_int, default=3, help="classes to show per image [3]")
    q.add_argument("--weights", type=weights_arg, default="best", metavar="best|last|PATH", help=WEIGHTS_HELP)
    q.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                   help="invert the images first (dark on light -> light on dark); --no-invert "
                        "never [decided per image from the training images' background]")
    q.set_defaults(func=run_predict)


# ------------------------------------------------------------------- helpers
def _prepare(cfg, device=None):
    """(cfg, train, val, test loaders); the data layer's UserErrors reach the CLI as they are."""
    from foveanet.errors import CLIError, UserError
    from foveanet.train import build

    try:
        return build.prepare(cfg, device=device)
    except (FileNotFoundError, ValueError) as e:  # ImageFolder: empty class folders, unreadable files
        if Path(str(cfg["dataset"])).is_dir() and not isinstance(e, UserError):
            raise CLIError(str(e)) from None
        raise


def _load_run(run_dir, weights: str):
    """(config, model with the weights, the weight file), and a line saying which file."""
    from foveanet.train.run import load_run

    cfg, net, path = load_run(run_dir, weights)
    print(f"weights: {path}", file=sys.stderr)
    return cfg, net


# --------------------------------------------------------------------- train
def _settings(args) -> dict:
    from foveanet.train.build import DEFAULTS, RECIPES

    cfg = {**DEFAULTS, **RECIPES[args.recipe], "recipe": args.recipe}
    cfg.update({k: getattr(args, k) for k in _SETTINGS if getattr(args, k) is not None})
    return cfg


def _check_resumable(out: str, cfg: dict) -> dict:
    """The run's checkpoint, read; a finished run, or one without a checkpoint, cannot be
    resumed: say why."""
    from foveanet.errors import CLIError
    from foveanet.train.checkpoint import load_checkpoint

    ckpt = Path(out) / "checkpoint.safetensors"
    if not ckpt.is_file():
        raise CLIError(f"{out} has no checkpoint.safetensors: nothing to resume "
                       f"(start it again without --resume)")
    try:
        st = load_checkpoint(ckpt)
    except ValueError as e:
        raise CLIError(f"cannot resume: {ckpt} is incomplete or corrupt ({e})") from None
    stopped = (st.get("callbacks") or {}).get("EarlyStopping", {}).get("stopped_epoch")
    if int(st["epoch"]) >= int(cfg["epochs"]) or stopped:
        why = f"early stopping ended it at epoch {stopped}" if stopped else \
            f"it has run all its {cfg['epochs']} epochs"
        raise CLIError(f"{out} is finished ({why}): nothing to resume. Evaluate it with "
                       f"`foveanet evaluate {out}`, or train longer in a new run "
                       f"(`foveanet train --epochs N --out NEW_DIR`)")
    return st


def run_train(args) -> int:
    import foveanet
    from foveanet.errors import CLIError
    from foveanet.train import EarlyStopping, Trainer, build
    from foveanet.cli.ranks import join_ranks
    from foveanet.cli.args import check_device
    from foveanet.train.run import read_config

    t0 = time.perf_counter()
    device = check_device(args.device)
    device = None if device.type == "cpu" else device
    rank = join_ranks()
    if args.resume:
        if not args.out:
            raise CLIError("--resume needs --out RUN_DIR (the run to continue)")
        cfg = read_config(args.out)
        clash = [k for k in _SETTINGS if getattr(args, k) is not None and getattr(args, k) != cfg.get(k)]
        if clash:
            raise CLIError(f"--resume takes the settings from {args.out}/config.json; drop "
                           + ", ".join(f"--{k.replace('_', '-')}" for k in clash))
        resume_state = _check_resumable(args.out, cfg)
    else:
        cfg = _settings(args)
        out = Path(args.out or f"runs/{cfg['model']}-{Path(str(cfg['dataset'])).name}")
        if rank == 0 and ((out / "checkpoint.safetensors").exists() or (out / "config.json").exists()):
            raise CLIError(f"{out} already holds a run: add --resume to continue it, or pick another --out")
        if cfg.get("patience") and not cfg.get("val_split"):
            raise CLIError("--patience stops on the validation accuracy: it needs --val-split > 0")
        args.out = str(out)
        cfg["foveanet_version"] = foveanet.__version__
        if args.threads is None and foveanet.distributed.get_world_size() > 1:
            cfg["threads"] = 1  # one core's worth per rank: ranks share the machine's cores
    # kept alive for the whole run; a resumed run uses the same count, which bitwise
    # equality needs (the GEMM's summation order depends on the thread split)
    build.limit_blas_threads(cfg.get("threads"))
    foveanet.manual_seed(int(cfg["seed"]))
    cfg, train_loader, val_loader, test_loader = _prepare(cfg, device)
    data_seconds = time.perf_counter() - t0
    net = build.model(cfg)
    if foveanet.distributed.get_world_size() > 1:
        net = foveanet.distributed.DistributedDataParallel(net)
    opt = build.optimizer(cfg, net.parameters())
    sched = build.scheduler(cfg, opt, len(train_loader))
    callbacks = [EarlyStopping("val_accuracy", patience=int(cfg["patience"]))] if cfg.get("patience") else []
    # rank 0 alone prints and writes the run's files; every rank computes the same numbers
    trainer = Trainer(net, opt, build.loss(cfg), sched, train_loader, val_loader,
                      max_epochs=int(cfg["epochs"]), run_dir=args.out if rank == 0 else None,
                      callbacks=callbacks, seed=int(cfg["seed"]), class_names=cfg["classes"],
                      config=cfg, progress=not args.quiet and rank == 0,
                      checkpoint_seconds=float(cfg["checkpoint_seconds"]),
                      tta=bool(cfg.get("tta")), test_loader=test_loader, device=device)
    quiet = args.quiet or rank != 0
    say = (lambda *a: None) if quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    if args.resume and rank == 0:
        # temporary files of a write the kill interrupted: never renamed, never read
        for stale in Path(args.out).glob(".*.safetensors.*.tmp"):
            stale.unlink(missing_ok=True)
        for stale in Path(args.out).glob(".*.json.*.tmp"):
            stale.unlink(missing_ok=True)
    if args.resume:
        try:
            trainer.load_checkpoint(state=resume_state)
        except ValueError as e:
            raise CLIError(f"cannot resume: {e}") from None
        say(f"resuming {args.out} at epoch {trainer.epoch + 1}, batch {train_loader.start_batch}"
            f"/{len(train_loader)}")
    n_params = sum(p.data.size for p in net.parameters())
    say(f"{cfg['model']} ({n_params:,} parameters) on {cfg['dataset']}: {cfg['train_size']:,} train / "
        f"{cfg['val_size']:,} validation / {cfg['test_size']:,} test images {tuple(cfg['input_shape'])}, "
        f"{cfg['epochs']} epochs, batch {cfg['batch_size']}, {cfg['optimizer']} lr {cfg['lr']:g}, "
        f"{cfg['schedule']}, augment {cfg['augment']}{f' on {device}' if device else ''} -> {args.out}")
    world = foveanet.distributed.get_world_size()
    if world > 1:
        say(f"data-parallel on {world} ranks: {cfg['batch_size'] // world} images each per step")
    trainer.fit()
    if rank != 0:
        return 0
    m = trainer.write_metrics({**json.loads((Path(args.out) / "metrics.json").read_text()),
                               "data_seconds": data_seconds, "wall_seconds": time.perf_counter() - t0})
    if m["best_val_accuracy"] is not None:
        best = (f"best epoch {m['best_epoch']} by validation accuracy {100 * m['best_val_accuracy']:.2f}% "
                f"(its test accuracy {100 * m['best_epoch_test_accuracy']:.2f}%, in best.safetensors)")
    else:
        best = "no validation set: best.safetensors is the last epoch"
    print(f"test accuracy {100 * m['test_accuracy']:.2f}% after {m['epochs']} epochs; {best}; "
          f"{m['seconds']:.0f} s training, run in {args.out}")
    return 0


# ---------------------------------------------------------------- evaluate
def run_evaluate(args) -> int:
    from foveanet.train import Trainer, classification_report

    cfg, net = _load_run(args.run_dir, args.weights)
    cfg.pop("limit", None)  # evaluate on the run's test set, whatever the training subset was
    cfg, _, _, test_loader = _prepare(cfg)
    res = Trainer(net, None, progress=False, tta=bool(cfg.get("tta"))).evaluate(
        test_loader, num_classes=len(cfg["classes"]))
    print(f"{args.run_dir} ({cfg['model']}, {args.weights} weights) on {cfg['dataset']} test set, "
          f"{res['n']:,} images")
    print(f"accuracy {100 * res['accuracy']:.2f}%   loss {res['loss']:.4f}", end="")
    print(f"   top-5 {100 * res['top5']:.2f}%" if len(cfg["classes"]) > 5 else "")
    print()
    print(classification_report(res["confusion"], cfg["classes"]))
    return 0


# ----------------------------------------------------------------- predict
def run_predict(args) -> int:
    import numpy as np

    from foveanet.errors import CLIError
    from foveanet.train import Trainer
    from foveanet.train.image_input import read_for_model

    missing = [p for p in args.images if not Path(p).is_file()]
    if missing:
        raise CLIError(f"no such image file: {', '.join(missing)}")
    cfg, net = _load_run(args.run_dir, args.weights)
    inputs, notes = [], []
    for path in args.images:
        try:
            x, _, said = read_for_model(path, cfg, invert=args.invert)
        except ValueError as e:  # load_image: not an image / unreadable
            raise CLIError(str(e)) from None
        inputs.append(x)
        notes.append(said)
    probs = Trainer(net, None, progress=False, tta=bool(cfg.get("tta"))).predict(np.stack(inputs))
    names = cfg["classes"]
    k = min(args.topk, len(names))
    for path, p, said in zip(args.images, probs, notes):
        order = sorted(range(len(p)), key=lambda i: (-p[i], i))[:k]
        print(f"{path}:")
        for i in order:
            print(f"  {100 * p[i]:6.2f}%  {names[i]}")
        for line in said:
            print(f"{path}: {line}", file=sys.stderr)
    return 0
