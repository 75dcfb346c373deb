"""`foveanet show`: pictures of a trained run (filters, feature maps, receptive fields) and of the
lecture's arithmetic (padding/stride, FC vs conv)."""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

from foveanet.cli.main import help_formatter

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet show filters runs/lenet -o filters.png                # first-layer filters
      foveanet show features runs/lenet boot.png -o maps.png         # every conv layer's output
      foveanet show receptive-field runs/lenet boot.png --layer features.3 --unit 2 3 -o rf.png
      foveanet show padding --n 7 --f 3 --p 1 --s 2 -o grid.png      # floor((7+2-3)/2)+1 = 4
      foveanet show fc-vs-conv -o chart.png                          # parameters, log scale

    RUN_DIR is a directory written by `foveanet train --out RUN_DIR` (config.json and
    best.safetensors). Images are read like `foveanet predict` reads them: any file Pillow
    opens, converted to the run's channels and size, normalised with its statistics.
    """)


def register(sub) -> None:
    p = sub.add_parser(
        "show", help="pictures: learned filters, feature maps, receptive fields, padding, FC vs conv",
        description="Draw a picture as a PNG: what a trained run's layers do with an image, or the "
                    "lecture's size and parameter arithmetic.",
        epilog=EXAMPLES, formatter_class=help_formatter)
    kinds = p.add_subparsers(dest="picture", metavar="PICTURE")
    from foveanet.cli.args import nonneg_int, positive_int

    def add(name, help_, example):
        q = kinds.add_parser(name, help=help_, description=help_ + ".", formatter_class=help_formatter,
                             epilog=f"example:\n  {example}")
        q.add_argument("-o", "--out", required=True, help="the PNG to write")
        return q

    q = add("filters", "the first conv layer's learned filters as a grid",
            "foveanet show filters runs/lenet -o filters.png")
    _run_args(q, image=False)
    q.add_argument("--numbers", action=argparse.BooleanOptionalAction, default=None,
                   help="write each weight in its cell (default: small grey filters only)")
    q.set_defaults(func=_filters)

    q = add("features", "every conv layer's output (feature maps) for one image",
            "foveanet show features runs/lenet boot.png -o maps.png")
    _run_args(q, image=True)
    q.add_argument("--max-maps", type=positive_int, default=16, help="channels shown per layer [16]")
    q.set_defaults(func=_features)

    q = add("receptive-field", "the input pixels one unit of a layer sees, drawn on the image",
            "foveanet show receptive-field runs/lenet boot.png --layer features.3 --unit 2 3 -o rf.png")
    _run_args(q, image=True)
    q.add_argument("--layer", help="layer name as in `foveanet summary` (default: the last conv layer)")
    q.add_argument("--unit", nargs=2, type=nonneg_int, metavar=("Y", "X"),
                   help="row and column in the layer's output (default: its centre)")
    q.set_defaults(func=_receptive_field)

    q = add("padding", "padding and stride drawn: the input, its padding, filter positions, the output size",
            "foveanet show padding --n 7 --f 3 --p 1 --s 2 -o grid.png")
    q.add_argument("--n", type=positive_int, required=True, help="input size (n x n)")
    q.add_argument("--f", type=positive_int, required=True, help="filter size (f x f)")
    q.add_argument("--p", type=nonneg_int, default=0, help="padding on each side [0]")
    q.add_argument("--s", type=positive_int, default=1, help="stride [1]")
    q.add_argument("--positions", type=positive_int, default=3, help="filter positions to outline [3]")
    q.set_defaults(func=_padding)

    q = add("fc-vs-conv", "parameters of a fully connected layer against 3x3 and 5x5 conv layers",
            "foveanet show fc-vs-conv --sizes 32 64 128 224 400 -o chart.png")
    q.add_argument("--sizes", nargs="+", type=positive_int, default=[32, 64, 128, 224, 400],
                   help="image sizes [32 64 128 224 400]")
    q.add_argument("--channels", type=positive_int, default=3, help="input channels [3]")
    q.add_argument("--filters", type=positive_int, default=6, help="conv filters [6, the lecture's]")
    q.set_defaults(func=_fc_vs_conv)

    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _run_args(q, image: bool):
    from foveanet.cli.args import weights_arg
    from foveanet.train.run import WEIGHTS_HELP

    q.add_argument("run_dir", metavar="RUN_DIR", help="a `foveanet train` run directory")
    if image:
        q.add_argument("image", metavar="IMAGE", help="an image file")
    q.add_argument("--weights", type=weights_arg, default="best", metavar="best|last|PATH", help=WEIGHTS_HELP)
    if image:
        q.add_argument("--invert", action=argparse.BooleanOptionalAction, default=None,
                       help="invert the image first, as `foveanet predict --invert` "
                            "[decided from the training images' background]")


# ------------------------------------------------------------------- helpers
def _load_run(run_dir, which: str):
    """(config, model with the run's weights); says which weight file it read."""
    import sys

    from foveanet.train.run import load_run

    cfg, net, path = load_run(run_dir, which)
    print(f"weights: {path}", file=sys.stderr)
    return cfg, net


def _image(path, cfg, invert):
    """(image in [0, 1] as the run's model sees it, the run's test-time transform): read by
    predict's rule (``train.image_input``: aspect kept and padded, polarity, a warning)."""
    import sys

    from foveanet.errors import CLIError
    from foveanet.train import build
    from foveanet.train.image_input import read_for_model

    if not Path(path).is_file():
        raise CLIError(f"{path}: no such image file")
    try:
        _, img, notes = read_for_model(path, cfg, invert=invert)
    except ValueError as e:
        raise CLIError(str(e)) from None
    for line in notes:
        print(f"{path}: {line}", file=sys.stderr)
    return img, build.transforms(cfg, train=False)


def _done(out) -> int:
    print(f"wrote {out}")
    return 0


def _user(fn, *a, **k):
    """Call a picture function; its ValueErrors (bad layer, unit, sizes) are the user's to fix."""
    from foveanet.cli.main import CLIError

    try:
        return fn(*a, **k)
    except ValueError as e:
        raise CLIError(str(e)) from None


# ------------------------------------------------------------------ pictures
def _filters(args) -> int:
    from foveanet.vision.features import learned_filters

    _, net = _load_run(args.run_dir, args.weights)
    return _done(_user(learned_filters, net, args.out, numbers=args.numbers))


def _features(args) -> int:
    from foveanet.vision.features import feature_maps

    cfg, net = _load_run(args.run_dir, args.weights)
    img, tf = _image(args.image, cfg, args.invert)
    return _done(_user(feature_maps, net, img, args.out, transform=tf, max_maps=args.max_maps))


def _receptive_field(args) -> int:
    from foveanet.cli.main import CLIError
    from foveanet.concepts import receptive_field
    from foveanet.vision.features import _convs, receptive_field_picture

    cfg, net = _load_run(args.run_dir, args.weights)
    img, tf = _image(args.image, cfg, args.invert)
    convs = _convs(net)
    if args.layer is None and not convs:
        raise CLIError("the model has no conv layer: name one with --layer")
    layer = args.layer or convs[-1][0]
    unit = args.unit
    if unit is None:  # the centre unit sees the middle of the image: the most telling default
        sizes = {r.name: r.size for r in receptive_field(net, tuple(img.shape))}
        size = sizes.get(layer)
        unit = (size[0] // 2, size[1] // 2) if size else (0, 0)
    return _done(_user(receptive_field_picture, net, img, layer, tuple(unit), args.out, transform=tf))


def _padding(args) -> int:
    from foveanet.vision.pictures import padding_stride_grid

    return _done(_user(padding_stride_grid, args.n, args.f, args.p, args.s, args.out, positions=args.positions))


def _fc_vs_conv(args) -> int:
    from foveanet.vision.pictures import fc_vs_conv_chart

    return _done(_user(fc_vs_conv_chart, args.out, sizes=args.sizes, channels=args.channels,
                       filters=args.filters))
