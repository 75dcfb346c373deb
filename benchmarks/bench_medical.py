"""Medical image computing on Debian's real scans: every task's default recipe, measured.

    nice -n 10 .venv/bin/python benchmarks/bench_medical.py                  # all three tasks
    nice -n 10 .venv/bin/python benchmarks/bench_medical.py --tasks brain    # one

Trains ``foveanet medical train --task T`` for each task into ``--out/T`` (U-Net width 16 /
depth 3 on axial slices resampled to the recipe's pixel size; train / validation / test slabs
with unused gaps; best epoch by validation Dice), scores the test slabs at full resolution
beside the hand-crafted baseline, and for the brain task applies the human-trained net to the
rhesus macaque template (``inia19-t1-brain``, already brain-only: its mask is the non-zero
voxels) as an out-of-distribution check.  Prints a markdown table with the machine, the load
average and wall / CPU seconds (on a shared machine the wall clock measures everyone's jobs)
and appends it to benchmarks/results-medical.md with ``--write``.

One subject per modality: the numbers show the method on real anatomy, not a clinically
validated model.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        model = next(line.split(":", 1)[1].strip() for line in out.splitlines() if line.startswith("Model name"))
    except Exception:
        model = platform.processor() or "unknown CPU"
    return f"{model}, {os.cpu_count()} cores"


def macaque_check(run, scale: float = 1.0) -> dict:
    """Dice of the human brain U-Net and of the baseline on the macaque template (mask = voxels
    > 0).  ``scale`` multiplies the voxel size the net is told (2.5: the macaque brain drawn at
    about a human brain's size; 1: its true size, less than half a human brain's width)."""
    import numpy as np

    from foveanet.medical import Volume, predict_volume, read_nifti
    from foveanet.medical.baselines import brain_mask_baseline
    from foveanet.medical.data import template_path

    vol = read_nifti(template_path("inia19-t1-brain.nii.gz"))
    truth = vol.data > 0
    affine = vol.affine.copy()
    affine[:3, :3] *= scale
    pred = predict_volume(run, Volume(vol.data, affine, "MR", f"inia19 macaque, voxels x{scale:g}"),
                          Path(run) / f"macaque-x{scale:g}") > 0
    base = brain_mask_baseline(vol.data.astype(np.float32))

    def dice(a):
        return float(2 * (a & truth).sum() / (a.sum() + truth.sum()))
    return {"dice": dice(pred), "baseline_dice": dice(base), "predicted_fraction": float(pred.mean()),
            "true_fraction": float(truth.mean())}


def main(argv=None) -> int:
    from foveanet.medical import train

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/medical")
    p.add_argument("--tasks", default="brain,regions,bone")
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--mm", type=float, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--write", action="store_true", help="append the table to benchmarks/results-medical.md")
    p.add_argument("--from-runs", default=None, metavar="DIR",
                   help="tabulate finished runs DIR/TASK/metrics.json instead of training")
    p.add_argument("--macaque", default=None, metavar="RUN",
                   help="only the out-of-distribution check of a trained brain run, at two scales")
    args = p.parse_args(argv)
    if args.macaque:
        text = f"## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC: macaque check of {args.macaque}\n\n"
        return _emit(text + "\n".join(_macaque_notes(args.macaque)) + "\n", args.write)
    rows, notes = [], []
    for task in args.tasks.split(","):
        if args.from_runs:   # a finished run's metrics.json (its load average was not recorded)
            m = json.loads((Path(args.from_runs) / task / "metrics.json").read_text())
            load = "-"
        else:
            load0 = os.getloadavg()[0]
            t0 = time.perf_counter()
            m = train(Path(args.out) / task, task=task, epochs=args.epochs, mm=args.mm, seed=args.seed,
                      batch_size=args.batch_size, lr=args.lr)
            load = f"{load0:.1f}-{os.getloadavg()[0]:.1f}"
            print(f"{task}: {time.perf_counter() - t0:.0f} s for the whole command", file=sys.stderr)
        base = m.get("baseline")
        cells = [task, f"{m['dice']:.4f}", f"{m['iou']:.4f}", f"{base['dice']:.4f}" if base else "-",
                 f"{base['iou']:.4f}" if base else "-", f"{m['best_epoch']}/{len(m['history'])}",
                 f"{m['seconds']:.0f} / {m['cpu_seconds']:.0f}", load]
        rows.append("| " + " | ".join(cells) + " |")
        if len(m["per_class_dice"]) > 1:
            notes.append(f"- {task}: Dice per class " + ", ".join(f"{k} {v:.3f}" for k, v in m["per_class_dice"].items()))
        if task == "brain" and not args.from_runs:
            notes += _macaque_notes(Path(args.out) / task)
    head = (f"## {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC\n\n"
            f"Machine: {_cpu()}; command: `nice -n 10 python benchmarks/bench_medical.py "
            f"{' '.join(argv if argv is not None else sys.argv[1:])}`\n\n"
            "| task | U-Net Dice | U-Net IoU | baseline Dice | baseline IoU | best epoch | train s wall / CPU | load avg |\n"
            "|---|---|---|---|---|---|---|---|\n")
    return _emit(head + "\n".join(rows) + "\n\n" + "\n".join(notes) + "\n", args.write)


def _macaque_notes(run) -> list:
    out = []
    for scale in (1.0, 2.5):
        mc = macaque_check(run, scale)
        out.append(f"- brain net on the macaque template (out of distribution), voxels x{scale:g}: U-Net Dice "
                   f"{mc['dice']:.3f} (predicted {100 * mc['predicted_fraction']:.1f}% of voxels as brain, truth "
                   f"{100 * mc['true_fraction']:.1f}%); baseline Dice {mc['baseline_dice']:.3f}")
    return out


def _emit(text: str, write: bool) -> int:
    print(text)
    if write:
        from foveanet.serialization import atomic_write

        path = Path(__file__).with_name("results-medical.md")
        old = path.read_text() if path.is_file() else ""
        atomic_write(path, (old + "\n" + text).encode() if old else text.encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
