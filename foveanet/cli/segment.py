"""`foveanet segment train|evaluate|predict`: a U-Net on multi-object Fashion-MNIST scenes."""
from __future__ import annotations

import argparse
import importlib.util
import json
import textwrap
from pathlib import Path

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet segment train --out runs/unet                 # default recipe: test mIoU 0.756-0.761, 16-20 min on 2 cores
      foveanet segment train --epochs 1 --scenes 500 --base-width 8 --out runs/quick
      foveanet segment train --upsampling bilinear --size 96 --out runs/unet96
      foveanet segment evaluate runs/unet                    # mIoU, per-class IoU on test scenes
      foveanet segment evaluate runs/unet --tta none         # the same with one view instead of 8 shifts
      foveanet segment predict runs/unet photo.png -o overlay.png

    Scenes are composed from real Fashion-MNIST photographs pasted on a black canvas,
    possibly overlapping, fresh scenes every epoch: training scenes hold 3-5 training items
    (--train-items), validation and test scenes 2-4 (validation from held-back training items,
    test from the test items). Classes: 0 background, 1..10 the Fashion-MNIST classes.
    A run directory holds config.json, metrics.json (miou, pixel_accuracy, dice,
    per_class_iou, history), best/last.safetensors, test_predictions.png and
    learning_curves.png.
    """)
PREDICT_NOTE = textwrap.dedent("""\
    examples:
      foveanet segment predict runs/unet scene.png -o overlay.png
      foveanet segment predict runs/unet photo.jpg --invert -o overlay.png

    Any image is converted to grayscale and resized (bilinear) to the trained canvas size
    (config.json's size, 64 by default), since the network only saw such scenes. The
    scenes show light items on black: pass --invert for dark objects on a light background.
    """)


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def widths_arg(text: str) -> list:
    """'16,24,48' -> [16, 24, 48]: at least two positive channel counts."""
    try:
        c = [int(v) for v in text.split(",")]
    except ValueError:
        c = []
    if len(c) < 2 or min(c) < 1:
        raise argparse.ArgumentTypeError(f"expected >= 2 positive integers separated by commas "
                                         f"(level 0 to the bottleneck), got {text!r}")
    return c


def item_range_arg(text: str) -> list:
    """'3,5' -> [3, 5]: 1 <= low <= high."""
    from foveanet.segmentation.scenes import item_range

    try:
        return list(item_range(text.split(",")))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH with 1 <= LOW <= HIGH, got {text!r}") from None


def register(sub) -> None:
    p = sub.add_parser("segment", help="image segmentation: a U-Net on multi-object scenes",
                       description="Per-pixel classification with a U-Net (transposed-conv or "
                                   "bilinear decoder) on scenes of several Fashion-MNIST items.",
                       epilog=EXAMPLES, formatter_class=_formatter)
    ss = p.add_subparsers(dest="segment_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    from foveanet.cli.args import add_device_option, nonneg_int, open_fraction, positive_float, positive_int
    from foveanet.segmentation import DEFAULTS
    from foveanet.segmentation.inference import TTA_MODES, tta_mode

    t = ss.add_parser("train", help="train a U-Net into a run directory", epilog=EXAMPLES,
                      description="Train a U-Net on freshly composed scenes; settings left out "
                                  "take the default recipe's values (shown in brackets).",
                      formatter_class=_formatter)
    t.add_argument("--out", required=True, help="run directory to create")
    for flag, typ, hlp in (("epochs", positive_int, "passes, each over fresh scenes"),
                           ("size", positive_int, "canvas side in pixels (multiple of 2**depth)"),
                           ("scenes", positive_int, "training scenes per epoch"),
                           ("batch-size", positive_int, "scenes per step"),
                           ("lr", positive_float, "peak learning rate of the one-cycle schedule (AdamW)"),
                           ("base-width", positive_int, "channels of the first level (doubling per level)"),
                           ("depth", positive_int, "number of 2x2 poolings"),
                           ("bottleneck-dilation", positive_int, "dilation of the bottleneck's second 3x3 conv"),
                           ("val-scenes", positive_int, "validation scenes (held-back training items) for the best epoch"),
                           ("test-scenes", positive_int, "held-out test scenes scored at the end"),
                           ("threads", positive_int, "threads inside each op (capped at the cores)"),
                           ("item-weight", positive_float, "cross-entropy weight of the 10 item classes (background 1)"),
                           ("seed", int, "seed of the weights and the scenes"),
                           ("pretrain-epochs", nonneg_int, "passes of the encoder over the single training items "
                                                           "as a classifier first (0: none)"),
                           ("ema", open_fraction, "decay of a weight average that is validated and saved "
                                                  "(e.g. 0.999)")):
        key = flag.replace("-", "_")
        t.add_argument(f"--{flag}", type=typ, default=None, help=f"{hlp} [{DEFAULTS[key]}]")
    t.add_argument("--train-items", type=item_range_arg, default=None, metavar="LOW,HIGH",
                   help="items per training scene (validation and test scenes keep "
                        f"{DEFAULTS['items'][0]}-{DEFAULTS['items'][1]}) "
                        f"[{','.join(map(str, DEFAULTS['train_items'] or DEFAULTS['items']))}]")
    t.add_argument("--widths", type=widths_arg, default=None, metavar="C0,C1,...",
                   help="channels of every level, e.g. 16,24,48,96,192 (depth = their count - 1; "
                        "replaces --base-width and --depth)")
    t.add_argument("--upsampling", choices=("transpose", "bilinear"), default=None,
                   help=f"decoder upsampling: 2x2 transposed conv or bilinear + 1x1 conv [{DEFAULTS['upsampling']}]")
    t.add_argument("--flip", action=argparse.BooleanOptionalAction, default=None,
                   help=f"mirror the training items left-right at random [{DEFAULTS['flip']}]")
    # train has no positional argument for a bare --tta to swallow: --tta alone keeps its
    # old meaning (flip), and --no-tta its old one
    t.add_argument("--tta", nargs="?", const="flip", choices=TTA_MODES, default=None, metavar="VIEWS",
                   help=f"views averaged when scoring: none, flip (the mirror image too: use with --flip) "
                        f"or shift (8 diagonal shifts); --tta alone means flip [{tta_mode(DEFAULTS['tta'])}]")
    t.add_argument("--no-tta", dest="tta", action="store_const", const="none", help="score one view (--tta none)")
    t.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    add_device_option(t, "train the U-Net")
    t.set_defaults(func=run_train)

    e = ss.add_parser("evaluate", help="score a run on its held-out test scenes",
                      description="Recompute mIoU, pixel accuracy, Dice and per-class IoU of a run's "
                                  "weights on its test scenes (same seed and settings as in training).",
                      formatter_class=_formatter)
    e.add_argument("run", help="run directory written by `foveanet segment train`")
    _add_weights(e)
    _add_tta(e, "views averaged when scoring [the run's own setting]")
    e.set_defaults(func=run_evaluate)

    pr = ss.add_parser("predict", help="segment an image file and draw the overlay",
                       epilog=PREDICT_NOTE, formatter_class=_formatter)
    pr.add_argument("run", help="run directory written by `foveanet segment train`")
    pr.add_argument("image", help="an image file (any size or colour mode)")
    pr.add_argument("-o", "--output", default=None, help="overlay PNG to write [<image>_segments.png]")
    pr.add_argument("--invert", action="store_true", help="invert the grey image first (dark on light)")
    _add_weights(pr)
    _add_tta(pr, "views averaged [the run's own setting]")
    pr.set_defaults(func=run_predict)


def _add_weights(parser) -> None:
    from foveanet.cli.args import weights_arg
    from foveanet.train.run import WEIGHTS_HELP

    parser.add_argument("--weights", type=weights_arg, default="best", metavar="best|last|PATH",
                        help=WEIGHTS_HELP.replace("on the validation set", "on the validation scenes"))


def _add_tta(parser, hlp: str) -> None:
    from foveanet.segmentation.inference import TTA_MODES

    # a value is required here: an optional one would swallow the run directory in
    # `segment evaluate --tta RUN`
    parser.add_argument("--tta", choices=TTA_MODES, default=None, metavar="{none,flip,shift}", help=hlp)


def _check_run(run, weights: str) -> None:
    """The run directory and its weight file exist; says which file the command uses."""
    import sys

    from foveanet.errors import CLIError
    from foveanet.train.run import weights_file

    if not Path(run).is_dir():
        raise CLIError(f"{run}: no such run directory")
    if not (Path(run) / "config.json").is_file():
        raise CLIError(f"{run} has no config.json: is it a run directory written by `foveanet segment train`?")
    print(f"weights: {weights_file(run, weights)}", file=sys.stderr)


def run_train(args) -> int:
    from foveanet.cli.args import check_device
    from foveanet.cli.main import CLIError
    from foveanet.cli.ranks import join_ranks
    from foveanet.segmentation import DEFAULTS, train

    device = check_device(args.device)   # before anything is composed or written

    keys = ("epochs", "size", "scenes", "batch_size", "lr", "base_width", "depth", "bottleneck_dilation",
            "val_scenes", "test_scenes", "threads", "item_weight", "seed", "pretrain_epochs", "ema")
    settings = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if args.upsampling:
        settings["upsampling"] = args.upsampling
    if args.train_items:
        settings["train_items"] = args.train_items
    if args.widths:
        if args.base_width is not None or args.depth is not None:
            raise CLIError("give --widths or --base-width/--depth, not both (--widths sets every level's channels)")
        settings["widths"] = args.widths
    for k in ("flip", "tta"):
        if getattr(args, k) is not None:
            settings[k] = getattr(args, k)
    cfg = {**DEFAULTS, **settings}
    depth = len(cfg["widths"]) - 1 if cfg["widths"] else cfg["depth"]
    step = 2 ** depth
    if cfg["size"] % step:
        raise CLIError(f"--size {cfg['size']} must be a multiple of 2**depth = {step} (depth {depth})")
    out = Path(args.out)
    rank = join_ranks()   # under mpirun: data-parallel, rank 0 writes and reports
    if rank == 0 and (out / "config.json").exists():
        raise CLIError(f"{out} already holds a run (config.json): choose another --out or delete it")
    m = train(out, quiet=args.quiet, device=None if device.type == "cpu" else device, **settings)
    if rank == 0:
        _print_report(m, out)
    return 0


def _print_report(m: dict, run) -> None:
    views = {"none": "1 view", "flip": "image + mirror", "shift": "8 shifted views"}.get(m.get("tta"), "1 view")
    print(f"test scenes: {m['test_scenes']} ({views})  mIoU {m['miou']:.4f}  (items only {m['miou_items']:.4f})  "
          f"pixel accuracy {100 * m['pixel_accuracy']:.2f}%  Dice {m['dice']:.4f}")
    print(f"{'class':14s} {'IoU':>6s} {'Dice':>6s}")
    for name, iou in m["per_class_iou"].items():
        d = m["per_class_dice"][name]
        print(f"{name:14s} {'-' if iou is None else f'{iou:.3f}':>6s} {'-' if d is None else f'{d:.3f}':>6s}")
    if "seconds" in m:
        print(f"training took {m['seconds']:.0f} s; results in {run}")


def run_evaluate(args) -> int:
    from foveanet.segmentation import evaluate

    _check_run(args.run, args.weights)
    m = evaluate(args.run, which=args.weights, tta=args.tta)
    old = json.loads((Path(args.run) / "metrics.json").read_text())
    _print_report({**m, **({"seconds": old["seconds"]} if "seconds" in old else {})}, args.run)
    return 0


def run_predict(args) -> int:
    from foveanet.cli.main import CLIError
    from foveanet.segmentation import predict_image
    from foveanet.segmentation.scenes import CLASS_NAMES

    _check_run(args.run, args.weights)
    if not Path(args.image).is_file():
        raise CLIError(f"{args.image}: no such image file")
    out = args.output or str(Path(args.image).with_suffix("")) + "_segments.png"
    try:
        _, pred = predict_image(args.run, args.image, out, which=args.weights, invert=args.invert,
                                tta=args.tta)
    except (ValueError, FileNotFoundError) as e:
        raise CLIError(str(e)) from None
    counts = __import__("numpy").bincount(pred.ravel(), minlength=len(CLASS_NAMES))
    found = [f"{CLASS_NAMES[c]} {100 * counts[c] / pred.size:.1f}%" for c in range(1, len(CLASS_NAMES)) if counts[c]]
    print(f"{args.image}: {', '.join(found) or 'only background'}")
    if importlib.util.find_spec("matplotlib") is not None:  # else predict_image said it skipped it
        print(f"overlay written to {out}")
    return 0
