"""`foveanet summary`: the layer table of a registered model (shapes, parameters with their
formula, mult-adds, receptive field)."""
from __future__ import annotations

import argparse
import textwrap

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet summary lenet5 --input 1x28x28                   # (5*5*1+1)*6 = 156 ...
      foveanet summary vgg16 --input 3x224x224                  # 138,357,544 parameters
      foveanet summary resnet18 --input 3x64x64 --depth 1       # one row per stage
      foveanet summary resnet50 --input 3x224x224 --num-classes 10 --in-channels 3
      foveanet summary densenet121 --input 3x224x224 --columns output_size,num_params
      foveanet summary --list                                   # the models it knows

    Spatial sizes only change the shapes, mult-adds and activation sizes, not the parameters
    (except where a model sizes its classifier from the image, e.g. lenet5 --input 1x32x32).
    """)


def register(sub) -> None:
    from foveanet.cli.args import positive_int

    p = sub.add_parser(
        "summary", help="layer table: shapes, parameters (with formulas), mult-adds, receptive field",
        description="Print a model's layers with output shapes, parameter counts and the formula "
                    "behind each, multiply-adds and receptive field/jump (one dry run on zeros).",
        epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", nargs="?", help="a model name (see --list)")
    p.add_argument("--input", default=None, metavar="CxHxW",
                   help="input shape without the batch axis, e.g. 3x224x224 (default: 1x28x28 for "
                        "lenet5, 3x224x224 otherwise)")
    p.add_argument("--num-classes", type=positive_int, default=None,
                   help="classifier outputs [the model's default]")
    p.add_argument("--in-channels", type=positive_int, default=None,
                   help="image channels the model is built for [the C of --input]")
    p.add_argument("--depth", type=positive_int, default=3, help="nesting levels to print [3]")
    p.add_argument("--columns", default=None,
                   help="comma-separated: kernel_size, input_size, output_size, num_params, formula, "
                        "mult_adds, receptive_field, trainable")
    p.add_argument("--no-rf", action="store_true", help="skip the receptive field column (no graph recorded)")
    p.add_argument("--list", action="store_true", help="list the model names and exit")
    p.set_defaults(func=run)


def _shape(text: str):
    from foveanet.cli.main import CLIError

    try:
        dims = tuple(int(v) for v in text.lower().replace(",", "x").split("x") if v.strip())
    except ValueError:
        dims = ()
    if not dims or any(d <= 0 for d in dims):
        raise CLIError(f"--input must look like 3x224x224 (positive sizes), got {text!r}")
    return dims


def _default_in_channels(name: str):
    """The ``in_channels`` default of the model's builder (None if it has none)."""
    import inspect

    from foveanet.models import _REGISTRY

    param = inspect.signature(_REGISTRY[name.lower()]).parameters.get("in_channels")
    return None if param is None or param.default is inspect.Parameter.empty else param.default


def _image_shape(model: str, shape: tuple, in_channels) -> tuple:
    """An image model's --input as CxHxW: HxW is read as 1xHxW for one-channel models (or with
    --in-channels), since that is what a user of lenet5 means by 28x28."""
    from foveanet.cli.main import CLIError

    if len(shape) != 2:
        return shape
    c = in_channels or _default_in_channels(model)
    if c == 1 or in_channels:
        import sys

        print(f"note: reading --input {shape[0]}x{shape[1]} as {c}x{shape[0]}x{shape[1]} (CxHxW)",
              file=sys.stderr)
        return (c, *shape)
    example = f"{c or 3}x{shape[0]}x{shape[1]}"
    raise CLIError(f"--input {shape[0]}x{shape[1]} gives only HxW; {model} takes CxHxW images"
                   f"{f' with {c} channels' if c else ''}: e.g. --input {example}")


def run(args) -> int:
    from foveanet.cli.main import CLIError
    from foveanet.models import get_model, list_models

    names = list_models()
    if args.list:
        print("\n".join(names))
        return 0
    if not args.model:
        raise CLIError(f"name a model; available: {', '.join(names)}")
    if args.model.lower() not in names:
        raise CLIError(f"unknown model {args.model!r}; available: {', '.join(names)}")
    shape = _shape(args.input or ("1x28x28" if args.model.lower() == "lenet5" else "3x224x224"))
    if args.model.lower() not in ("textcnn", "xmlcnn"):  # token ids, not images: no channel axis
        shape = _image_shape(args.model, shape, args.in_channels)
    from foveanet.concepts.summary import COLUMNS, DEFAULT_COLUMNS, summary

    cols = DEFAULT_COLUMNS
    if args.columns:
        cols = tuple(c.strip() for c in args.columns.split(",") if c.strip())
        bad = [c for c in cols if c not in COLUMNS]
        if bad:
            raise CLIError(f"unknown columns {bad}; choose from {', '.join(COLUMNS)}")
    if args.no_rf:
        cols = tuple(c for c in cols if c != "receptive_field")
    kwargs = {"in_channels": args.in_channels or shape[0]}
    if args.num_classes is not None:
        kwargs["num_classes"] = args.num_classes
    if args.model.lower() == "lenet5" and len(shape) == 3 and shape[1] == shape[2]:
        kwargs["image_size"] = shape[1]
    try:
        model = get_model(args.model, **kwargs)
    except (TypeError, ValueError) as e:  # an option the builder lacks or rejects
        raise CLIError(f"{args.model}: {e}") from None
    try:
        result = summary(model, shape, depth=args.depth, col_names=cols, receptive_field=not args.no_rf)
    except ValueError as e:  # an input too small for the network, wrong channel count, ...
        raise CLIError(f"{args.model} on input {'x'.join(map(str, shape))}: {e}") from None
    print(result)
    return 0
