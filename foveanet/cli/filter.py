"""`foveanet filter`: apply a classic 3x3 filter (blur, sharpen, Sobel, ...) to any image."""
from __future__ import annotations

import textwrap
from pathlib import Path

from foveanet.cli.main import help_formatter

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet filter sobel_x photo.jpg -o edges.png         # vertical edges, grey output
      foveanet filter gaussian_blur photo.jpg -o soft.png --color   # every colour channel blurred
      foveanet filter edge_magnitude photo.jpg -o edges.png  # sqrt(sobel_x^2 + sobel_y^2)
      foveanet filter --kernel "1,0,-1; 1,0,-1; 1,0,-1" photo.jpg -o mine.png   # your own matrix
      foveanet filter --all photo.jpg -o grid.png            # every filter in one picture
      foveanet filter --list                                 # names and matrices

    The filter is applied with foveanet's conv2d, which (like every CNN framework) computes a
    cross-correlation: the kernel is not flipped. Blur/sharpen/emboss results are clipped to
    [0, 1]; edge filters (weights summing to 0) are shown as |y|, scaled so that the strongest
    edges (the top 0.5% of |y|) are white (see --scale).
    """)


def register(sub) -> None:
    from foveanet.cli.args import int_at_least

    p = sub.add_parser(
        "filter", help="apply a classic 3x3 filter (blur, sharpen, Sobel, ...) to an image",
        description="Filter an image (any file Pillow reads, any size, grey or colour) with one of "
                    "the hand-made kernels that came before learned ones, or show them all.",
        epilog=EXAMPLES, formatter_class=help_formatter)
    p.add_argument("filter", nargs="?", help="a filter name (see --list) or edge_magnitude")
    p.add_argument("image", nargs="?", help="the image file")
    p.add_argument("-o", "--out", help="output picture (PNG)")
    p.add_argument("--all", action="store_true", help="one picture with every filter's result")
    p.add_argument("--list", action="store_true", help="print the filter names and matrices")
    p.add_argument("--kernel", metavar="ROWS", help='your own matrix, rows separated by ";", e.g. "0,1,0; 1,-4,1; 0,1,0"')
    p.add_argument("--color", "--colour", action="store_true",
                   help="filter every colour channel separately (default: the grey luminance image)")
    p.add_argument("--padding", default="same",
                   help="'same' (output as large as the input; default), 'valid' (shrinks by k-1) or a number")
    p.add_argument("--scale", choices=("auto", "clip", "abs", "signed"), default="auto",
                   help="how responses become pixels: clip to [0,1], |y|/top, or 0.5 + y/(2 top) "
                        "(top: the 99.5th percentile of |y|); "
                        "auto: clip for blur-like kernels, abs for edge kernels")
    p.add_argument("--max-size", type=int_at_least(8), default=512, metavar="PIXELS",
                   help="with --all, shrink the image so its long side is at most this (default 512)")
    p.set_defaults(func=run)


def _parse_kernel(text: str):
    import numpy as np

    from foveanet.cli.main import CLIError

    try:
        rows = [[float(v) for v in r.replace(",", " ").split()] for r in text.split(";") if r.strip()]
    except ValueError:
        rows = []
    if not rows or any(len(r) != len(rows[0]) or not r for r in rows):
        raise CLIError(f'--kernel must be rows of numbers separated by ";", all the same length, '
                       f"e.g. \"1,0,-1; 2,0,-2; 1,0,-1\"; got {text!r}")
    return np.array(rows, dtype=np.float32)


def _padding(text: str):
    from foveanet.cli.main import CLIError

    if text in ("same", "valid"):
        return text
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise CLIError(f"--padding must be 'same', 'valid' or a non-negative integer, got {text!r}")
    return value


def _read(path):
    from foveanet.cli.main import CLIError
    from foveanet.data import load_image

    if not Path(path).is_file():
        raise CLIError(f"{path}: no such image file")
    try:
        return load_image(path)
    except ValueError as e:
        raise CLIError(str(e)) from None


def _write(array, out) -> str:
    """(H, W) or (C, H, W) in [0, 1] -> an 8-bit image file; returns its Pillow mode."""
    import numpy as np
    from PIL import Image

    from foveanet.cli.main import CLIError

    a = np.asarray(array)
    a = a[0] if a.ndim == 3 and a.shape[0] == 1 else a
    a = a.transpose(1, 2, 0) if a.ndim == 3 else a
    pixels = np.round(np.clip(a, 0, 1) * 255).astype(np.uint8)
    im = Image.fromarray(pixels, "RGB" if pixels.ndim == 3 else "L")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        im.save(out) if out.suffix else im.save(out, format="PNG")
    except (ValueError, KeyError, OSError) as e:  # unknown extension or unwritable place
        raise CLIError(f"cannot write {out}: {e}") from None
    return im.mode


def _list() -> int:
    from foveanet.vision import filters
    from foveanet.vision.pictures import kernel_text

    for name in filters.names():
        k = filters.get(name)
        how = "edges: |y| scaled" if filters.display_kind(k) == "abs" else "clipped to [0,1]"
        print(f"{name}  ({how})")
        print(textwrap.indent(kernel_text(k), "    "))
    print("edge_magnitude  (sqrt(sobel_x^2 + sobel_y^2), scaled)")
    return 0


def run(args) -> int:
    from foveanet.cli.main import CLIError
    from foveanet.vision import filters

    if args.list:
        return _list()
    mode = "per-channel" if args.color else "gray"
    if args.all or args.kernel:
        # one positional was given: it is the image, not a filter name
        if args.image is not None:
            raise CLIError(f"with {'--all' if args.all else '--kernel'} give only the image, "
                           f"not a filter name ({args.filter!r})")
        args.filter, args.image = None, args.filter
    if not args.image:
        raise CLIError("give a filter and an image (foveanet filter sobel_x photo.jpg -o out.png), "
                       "--all IMAGE, or --list")
    if not args.out:
        raise CLIError("-o/--out is required: where to write the picture")
    if args.filter and args.filter.lower().replace("-", "_") not in ("edge_magnitude", "magnitude"):
        try:
            filters.get(args.filter)
        except ValueError as e:
            raise CLIError(f"{e} (or edge_magnitude)") from None
    image = _read(args.image)
    size = f"{image.shape[2]}x{image.shape[1]}, {'colour' if image.shape[0] == 3 else 'grey'}"
    if args.all:
        from foveanet.vision.pictures import filter_grid

        if args.max_size < 8:
            raise CLIError(f"--max-size must be at least 8, got {args.max_size}")
        out = filter_grid(image, args.out, mode=mode, max_side=args.max_size)
        print(f"{args.image} ({size}): wrote {out} with {len(filters.names()) + 2} panels "
              f"(original, {len(filters.names())} filters, edge magnitude)")
        return 0
    padding = _padding(args.padding)
    try:
        if args.kernel:
            kernel = _parse_kernel(args.kernel)
            label, raw = "your kernel", filters.apply(image, kernel, mode, padding)
        elif args.filter.lower().replace("-", "_") in ("edge_magnitude", "magnitude"):
            kernel, label = "abs", "edge_magnitude"
            raw = filters.edge_magnitude(image, mode, padding)
        else:
            kernel = filters.get(args.filter)
            label, raw = args.filter, filters.apply(image, kernel, mode, padding)
    except ValueError as e:  # unknown name, kernel larger than the image
        raise CLIError(str(e)) from None
    how = kernel if args.scale == "auto" else args.scale
    if not isinstance(how, str):
        how = filters.display_kind(how)
    pic = filters.to_display(raw, how)
    pil_mode = _write(pic, args.out)
    h, w = raw.shape[-2:]
    print(f"{label} on {args.image} ({size}): wrote {args.out} ({w}x{h}, {pil_mode}; "
          f"response {float(raw.min()):.3g}..{float(raw.max()):.3g}, shown as {how})")
    return 0
