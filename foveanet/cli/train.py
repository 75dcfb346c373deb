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
      foveanet train --dataset photos/ --image-size 64 --val-split 0.2 --out runs/photos
      foveanet train --out runs/lenet --resume           # continue a killed run exactly

    A run directory holds config.json, metrics.json, best/last.safetensors (weights),
    checkpoint.safetensors (for --resume) and learning_curves/confusion_matrix/predictions.png.
    """)
EVAL_EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet evaluate runs/lenet                  # accuracy and the per-class table
      foveanet evaluate runs/lenet --weights best   # the best epoch's weights instead of the last
    """)
PREDICT_EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet predict runs/lenet shirt.png boot.jpg
      foveanet predict runs/lenet photo.jpg --topk 5

    Images of any size or colour mode are converted to what the model was trained on
    (grey or RGB, resized, normalised with the training statistics in config.json).
    Fashion-MNIST shows light garments on a black background: invert photos on white.
    """)

_SETTINGS = ("model", "dataset", "epochs", "batch_size", "lr", "optimizer", "weight_decay",
             "schedule", "augment", "label_smoothing", "seed", "limit", "test_limit",
             "image_size", "val_split", "checkpoint_seconds", "patience", "threads", "tta",
             "crop_padding")


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def register(sub) -> None:
    from foveanet.train.build import AUGMENTS, OPTIMIZERS, RECIPES, SCHEDULES

    p = sub.add_parser("train", help="train an image classifier into a run directory",
                       description="Train a CNN from the model zoo on Fashion-MNIST, MNIST or a folder "
                                   "of class folders. Options left out come from --recipe.",
                       epilog=TRAIN_EXAMPLES, formatter_class=_formatter)
    p.add_argument("--recipe", choices=sorted(RECIPES), default="default",
                   help="settings bundle that the other options override (default: default)")
    p.add_argument("--model", help="a model name from the zoo (default: lenet5)")
    p.add_argument("--dataset", help="fashion-mnist, mnist, or a folder of class folders (default: fashion-mnist)")
    p.add_argument("--epochs", type=int)
    p.add_argument("--batch-size", type=int)
    p.add_argument("--lr", type=float, help="learning rate (the peak of the onecycle schedule)")
    p.add_argument("--optimizer", choices=OPTIMIZERS)
    p.add_argument("--weight-decay", type=float)
    p.add_argument("--schedule", choices=SCHEDULES)
    p.add_argument("--augment", choices=AUGMENTS, help="standard = flip+crop+random erasing")
    p.add_argument("--crop-padding", type=int,
                   help="pixels of zero padding around random crops (default: max(2, side/8))")
    p.add_argument("--label-smoothing", type=float)
    p.add_argument("--seed", type=int)
    p.add_argument("--limit", type=int, help="train on the first N training images only")
    p.add_argument("--test-limit", type=int, help="evaluate on the first N test images only")
    p.add_argument("--image-size", type=int, help="resize folder images to N x N (default 32)")
    p.add_argument("--val-split", type=float, help="test fraction split off an image folder (default 0.2)")
    p.add_argument("--patience", type=int, help="stop after N epochs without a better test accuracy")
    p.add_argument("--checkpoint-seconds", type=float,
                   help="mid-epoch checkpoint interval in seconds of training (default 30)")
    p.add_argument("--threads", type=int,
                   help="threads inside each op: BLAS, and the convolutions' sub-batch tasks "
                        "(default 1: small models lose more to thread syncing on a busy machine "
                        "than they gain; --recipe strong uses 2; 0 = leave BLAS's own choice)")
    p.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None,
                   help="test-time augmentation: evaluate and predict average each image's class "
                        "probabilities with its mirror image's (--recipe strong turns it on)")
    p.add_argument("--out", help="run directory (default: runs/MODEL-DATASET)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out from its checkpoint (settings come from its config.json)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=run_train)

    e = sub.add_parser("evaluate", help="accuracy and per-class table of a trained run",
                       description="Evaluate a run directory's weights on its test set.",
                       epilog=EVAL_EXAMPLES, formatter_class=_formatter)
    e.add_argument("run_dir", metavar="RUN_DIR")
    e.add_argument("--weights", choices=("last", "best"), default="last")
    e.set_defaults(func=run_evaluate)

    q = sub.add_parser("predict", help="classify image files with a trained run",
                       description="Print the most likely classes of each image.",
                       epilog=PREDICT_EXAMPLES, formatter_class=_formatter)
    q.add_argument("run_dir", metavar="RUN_DIR")
    q.add_argument("images", nargs="+", metavar="IMAGE")
    q.add_argument("--topk", type=int, default=3, help="classes to show per image (default 3)")
    q.add_argument("--weights", choices=("last", "best"), default="last")
    q.set_defaults(func=run_predict)


# ------------------------------------------------------------------- helpers
def _user_errors():
    from foveanet.data import ChecksumError, DatasetNotFoundError, IDXError
    from foveanet.train.build import ConfigError

    return (DatasetNotFoundError, ChecksumError, IDXError, ConfigError)


def _prepare(cfg):
    """Build the data (user errors -> CLIError with the loader's text)."""
    from foveanet.cli.main import CLIError
    from foveanet.train import build

    try:
        return build.prepare(cfg)
    except _user_errors() as e:
        raise CLIError(str(e)) from None
    except (FileNotFoundError, ValueError) as e:  # ImageFolder: empty class folders, unreadable files
        if Path(str(cfg["dataset"])).is_dir():
            raise CLIError(str(e)) from None
        raise


def _model(cfg):
    from foveanet.cli.main import CLIError
    from foveanet.train import build

    try:
        return build.model(cfg)
    except build.ConfigError as e:
        raise CLIError(str(e)) from None


def _read_config(run_dir) -> dict:
    from foveanet.train.run import read_config

    return read_config(run_dir)


def _load_run(run_dir, which: str):
    """(config, model with the run's weights)."""
    from foveanet.train.run import load_run

    return load_run(run_dir, which)


# --------------------------------------------------------------------- train
def _settings(args) -> dict:
    from foveanet.train.build import DEFAULTS, RECIPES

    cfg = {**DEFAULTS, **RECIPES[args.recipe], "recipe": args.recipe}
    cfg.update({k: getattr(args, k) for k in _SETTINGS if getattr(args, k) is not None})
    return cfg


def run_train(args) -> int:
    import foveanet
    from foveanet.cli.main import CLIError
    from foveanet.train import EarlyStopping, Trainer, build

    t0 = time.perf_counter()
    if args.resume:
        if not args.out:
            raise CLIError("--resume needs --out RUN_DIR (the run to continue)")
        cfg = _read_config(args.out)
        clash = [k for k in _SETTINGS if getattr(args, k) is not None and getattr(args, k) != cfg.get(k)]
        if clash:
            raise CLIError(f"--resume takes the settings from {args.out}/config.json; drop "
                           + ", ".join(f"--{k.replace('_', '-')}" for k in clash))
        if not (Path(args.out) / "checkpoint.safetensors").is_file():
            raise CLIError(f"{args.out} has no checkpoint.safetensors: nothing to resume "
                           f"(start it again without --resume)")
    else:
        cfg = _settings(args)
        if cfg["epochs"] < 1 or cfg["batch_size"] < 1:
            raise CLIError("--epochs and --batch-size must be at least 1")
        out = Path(args.out or f"runs/{cfg['model']}-{Path(str(cfg['dataset'])).name}")
        if (out / "checkpoint.safetensors").exists() or (out / "config.json").exists():
            raise CLIError(f"{out} already holds a run: add --resume to continue it, or pick another --out")
        args.out = str(out)
        cfg["foveanet_version"] = foveanet.__version__
    # kept alive for the whole run; a resumed run uses the same count, which bitwise
    # equality needs (the GEMM's summation order depends on the thread split)
    build.limit_blas_threads(cfg.get("threads"))
    foveanet.manual_seed(int(cfg["seed"]))
    cfg, train_loader, test_loader = _prepare(cfg)
    data_seconds = time.perf_counter() - t0
    net = _model(cfg)
    try:
        opt = build.optimizer(cfg, net.parameters())
        sched = build.scheduler(cfg, opt, len(train_loader))
    except build.ConfigError as e:
        raise CLIError(str(e)) from None
    callbacks = [EarlyStopping("test_accuracy", patience=int(cfg["patience"]))] if cfg.get("patience") else []
    trainer = Trainer(net, opt, build.loss(cfg), sched, train_loader, test_loader,
                      max_epochs=int(cfg["epochs"]), run_dir=args.out, callbacks=callbacks,
                      seed=int(cfg["seed"]), class_names=cfg["classes"], config=cfg,
                      progress=not args.quiet, checkpoint_seconds=float(cfg["checkpoint_seconds"]),
                      tta=bool(cfg.get("tta")))
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr, flush=True))
    if args.resume:
        # temporary files of a write the kill interrupted: never renamed, never read
        for stale in Path(args.out).glob(".*.safetensors.*.tmp"):
            stale.unlink(missing_ok=True)
        for stale in Path(args.out).glob(".*.json.*.tmp"):
            stale.unlink(missing_ok=True)
        try:
            trainer.load_checkpoint()
        except ValueError as e:
            raise CLIError(f"cannot resume: {e}") from None
        say(f"resuming {args.out} at epoch {trainer.epoch + 1}, batch {train_loader.start_batch}"
            f"/{len(train_loader)}")
    n_params = sum(p.data.size for p in net.parameters())
    say(f"{cfg['model']} ({n_params:,} parameters) on {cfg['dataset']}: {cfg['train_size']:,} train / "
        f"{cfg['test_size']:,} test images {tuple(cfg['input_shape'])}, {cfg['epochs']} epochs, "
        f"batch {cfg['batch_size']}, {cfg['optimizer']} lr {cfg['lr']:g}, {cfg['schedule']}, "
        f"augment {cfg['augment']} -> {args.out}")
    trainer.fit()
    m = trainer.write_metrics({**json.loads((Path(args.out) / "metrics.json").read_text()),
                               "data_seconds": data_seconds, "wall_seconds": time.perf_counter() - t0})
    print(f"test accuracy {100 * m['test_accuracy']:.2f}% (best {100 * m['best_test_accuracy']:.2f}% "
          f"at epoch {m['best_epoch']}), {m['seconds']:.0f} s training, run in {args.out}")
    return 0


# ---------------------------------------------------------------- evaluate
def run_evaluate(args) -> int:
    from foveanet.train import Trainer, classification_report

    cfg, net = _load_run(args.run_dir, args.weights)
    cfg.pop("limit", None)  # evaluate on the run's test set, whatever the training subset was
    cfg, _, test_loader = _prepare(cfg)
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
    from foveanet.cli.main import CLIError
    from foveanet.train import Trainer
    from foveanet.train.build import preprocess_images

    if args.topk < 1:
        raise CLIError("--topk must be at least 1")
    missing = [p for p in args.images if not Path(p).is_file()]
    if missing:
        raise CLIError(f"no such image file: {', '.join(missing)}")
    cfg, net = _load_run(args.run_dir, args.weights)
    try:
        x = preprocess_images(args.images, cfg)
    except ValueError as e:  # load_image: not an image / unreadable
        raise CLIError(str(e)) from None
    probs = Trainer(net, None, progress=False, tta=bool(cfg.get("tta"))).predict(x)
    names = cfg["classes"]
    k = min(args.topk, len(names))
    for path, p in zip(args.images, probs):
        order = sorted(range(len(p)), key=lambda i: (-p[i], i))[:k]
        print(f"{path}:")
        for i in order:
            print(f"  {100 * p[i]:6.2f}%  {names[i]}")
    return 0
