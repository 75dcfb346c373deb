"""`foveanet medical train|evaluate|predict`: U-Nets on real MRI and CT volumes (one subject each)."""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet medical train --task brain --out runs/brain      # skull stripping on Colin27's T1 MRI
      foveanet medical train --task regions --out runs/lobes    # 8 AAL lobes on the same MRI
      foveanet medical train --task bone --out runs/bone        # bone on InVesalius's head CT
      foveanet medical train --views all --out runs/brain3      # axial + coronal + sagittal slices
      foveanet medical evaluate runs/brain                      # Dice / IoU on the held-out slabs, beside the baseline
      foveanet medical predict runs/brain scan.nii.gz -o out/   # mask.nii.gz + overlays in three orientations
      foveanet medical predict runs/bone dicom_folder/ -o out/

    Data: Debian's mricron-data and invesalius-examples (`make medical-data`): ONE subject per
    modality, so this shows the method, not a clinically validated model. The axial slices
    are split into train / validation / test slabs with unused gaps between them; the test
    slabs are scored at full resolution beside a threshold + morphology baseline.
    A run directory holds config.json, metrics.json (dice, iou, per_class_dice, baseline,
    history), best/last.safetensors, test_views.png, dice_per_class.png, learning_curves.png.
    """)


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def register(sub) -> None:
    p = sub.add_parser("medical", help="medical image computing: U-Nets on real MRI and CT volumes",
                       description="Brain extraction, lobe segmentation (MRI) and bone (CT) with a U-Net "
                                   "on 2-D axial slices, beside a threshold + morphology baseline.",
                       epilog=EXAMPLES, formatter_class=_formatter)
    ss = p.add_subparsers(dest="medical_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    from foveanet.cli.args import nonneg_int, positive_float, positive_int
    from foveanet.medical.data import TASKS
    from foveanet.medical.pipeline import DEFAULTS

    t = ss.add_parser("train", help="train a U-Net on a task's training slabs", epilog=EXAMPLES,
                      description="Train a U-Net on one task; settings left out take the task's "
                                  "recipe (the brain task's shown in brackets).", formatter_class=_formatter)
    t.add_argument("--out", required=True, help="run directory to create")
    t.add_argument("--task", choices=TASKS, default="brain", help="brain, regions (AAL lobes) or bone (CT) [brain]")
    for flag, typ, hlp in (("epochs", positive_int, "passes over the training slices"),
                           ("batch-size", positive_int, "slices per step"),
                           ("lr", positive_float, "peak learning rate of the one-cycle schedule (AdamW)"),
                           ("base-width", positive_int, "channels of the first level (doubling per level)"),
                           ("depth", positive_int, "number of 2x2 poolings"),
                           ("mm", positive_float, "the net's pixel side in mm (slices are resampled to it)"),
                           ("slab", positive_int, "slices per train/validation/test slab"),
                           ("gap", nonneg_int, "unused slices between slabs"),
                           ("threads", positive_int, "threads inside each op"),
                           ("seed", int, "seed of the weights and the batches")):
        key = flag.replace("-", "_")
        t.add_argument(f"--{flag}", type=typ, default=None, help=f"{hlp} [{DEFAULTS[key]}]")
    t.add_argument("--views", choices=("axial", "all"), default=None,
                   help="train on axial slices, or on axial, coronal and sagittal ones (averaged at "
                        "prediction) [axial]")
    t.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    t.set_defaults(func=run_train)

    e = ss.add_parser("evaluate", help="score a run on its held-out test slabs",
                      description="Dice and IoU of a run's weights and of the baseline on the test slabs.",
                      formatter_class=_formatter)
    e.add_argument("run", help="run directory written by `foveanet medical train`")
    _add_weights(e)
    e.set_defaults(func=run_evaluate)

    pr = ss.add_parser("predict", help="segment a NIfTI file or DICOM folder",
                       description="Write mask.nii.gz (one class per voxel, the input's affine) and "
                                   "overlay PNGs in three orientations.", formatter_class=_formatter)
    pr.add_argument("run", help="run directory written by `foveanet medical train`")
    pr.add_argument("volume", help="a .nii/.nii.gz file, a DICOM series folder or an InVesalius .inv3 project")
    pr.add_argument("-o", "--output", default=None, help="folder for mask.nii.gz and the PNGs [<volume>_mask/]")
    _add_weights(pr)
    pr.set_defaults(func=run_predict)


def _add_weights(parser) -> None:
    from foveanet.cli.args import weights_arg
    from foveanet.train.run import WEIGHTS_HELP

    parser.add_argument("--weights", type=weights_arg, default="best", metavar="best|last|PATH", help=WEIGHTS_HELP)


def _check_run(run) -> None:
    from foveanet.errors import CLIError

    if not Path(run).is_dir():
        raise CLIError(f"{run}: no such run directory")
    if not (Path(run) / "config.json").is_file():
        raise CLIError(f"{run} has no config.json: is it a run directory written by `foveanet medical train`?")


def _print_report(m: dict, run) -> None:
    print(f"task {m['task']}: test slabs {m['test_slices']} slices  Dice {m['dice']:.4f}  IoU {m['iou']:.4f}")
    base = m.get("baseline")
    print(f"{'class':12s} {'Dice':>6s} {'IoU':>6s}" + (f" {'baseline Dice':>14s}" if base else ""))
    for name, d in m["per_class_dice"].items():
        iou = m["per_class_iou"][name]
        row = f"{name:12s} {'-' if d is None else f'{d:.3f}':>6s} {'-' if iou is None else f'{iou:.3f}':>6s}"
        if base:
            b = base["per_class_dice"][name]
            row += f" {'-' if b is None else f'{b:.3f}':>14s}"
        print(row)
    if base:
        print(f"baseline (threshold + morphology): Dice {base['dice']:.4f}  IoU {base['iou']:.4f}")
    if "seconds" in m:
        print(f"training took {m['seconds']:.0f} s; results in {run}")


def run_train(args) -> int:
    from foveanet.errors import CLIError
    from foveanet.medical import train

    keys = ("epochs", "batch_size", "lr", "base_width", "depth", "mm", "slab", "gap", "threads", "seed", "views")
    settings = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    out = Path(args.out)
    if (out / "config.json").exists():
        raise CLIError(f"{out} already holds a run (config.json): choose another --out or delete it")
    _print_report(train(out, quiet=args.quiet, task=args.task, **settings), out)
    return 0


def run_evaluate(args) -> int:
    import json

    from foveanet.medical import evaluate

    _check_run(args.run)
    m = evaluate(args.run, which=args.weights)
    old = json.loads((Path(args.run) / "metrics.json").read_text())
    _print_report({**m, **({"seconds": old["seconds"]} if "seconds" in old else {})}, args.run)
    return 0


def run_predict(args) -> int:
    import numpy as np

    from foveanet.medical import predict_volume
    from foveanet.medical.inference import load_run

    _check_run(args.run)
    name = Path(args.volume).name
    for ext in (".nii.gz", ".nii", ".inv3"):
        if name.endswith(ext):
            name = name[: -len(ext)]
    out = Path(args.output) if args.output else Path(args.volume).parent / f"{name}_mask"
    mask = predict_volume(args.run, args.volume, out, which=args.weights)
    names = load_run(args.run, args.weights)[1]["class_names"]
    counts = np.bincount(mask.ravel(), minlength=len(names))
    found = [f"{names[c]} {100 * counts[c] / mask.size:.1f}%" for c in range(1, len(names)) if counts[c]]
    print(f"{args.volume}: {mask.shape} voxels, {', '.join(found) or 'only background'}")
    import importlib.util

    drawn = importlib.util.find_spec("matplotlib") is not None   # else predict_volume said it skipped them
    print(f"mask written to {out / 'mask.nii.gz'}" +
          (f" (overlays: {out}/overlay_{{axial,coronal,sagittal}}.png)" if drawn else ""))
    return 0
