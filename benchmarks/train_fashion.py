"""The default recipe end to end: `foveanet train` (lenet5 on Fashion-MNIST) timed per epoch.

    python benchmarks/train_fashion.py                    # the default recipe, table on stdout
    python benchmarks/train_fashion.py --epochs 15 --lr 3e-3 --out runs/bench
    python benchmarks/train_fashion.py --markdown         # the table in the README's format

Wall time counts everything a user waits for: imports, reading and decoding the IDX files,
the normalisation statistics, every epoch's training and test evaluation, and the pictures.
Under foreign load (other processes on the cores) the per-epoch img/s column shows it; the
"cpu" column (process CPU seconds) is far less sensitive to it.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

T_START = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", help="keep the run directory here (default: a temporary one)")
    ap.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    args, extra = ap.parse_known_args()  # anything else goes to `foveanet train`

    from foveanet.cli.main import main as cli

    out = Path(args.out) if args.out else Path(tempfile.mkdtemp(prefix="foveanet-bench-")) / "run"
    cpu0 = time.process_time()
    rc = cli(["train", "--out", str(out), *extra])
    if rc:
        return rc
    wall = time.perf_counter() - T_START
    cpu = time.process_time() - cpu0
    cfg = json.loads((out / "config.json").read_text())
    m = json.loads((out / "metrics.json").read_text())
    n = cfg["train_size"]
    print()
    print(f"{cfg['model']} on {cfg['dataset']}: {cfg['epochs']} epochs, batch {cfg['batch_size']}, "
          f"{cfg['optimizer']} lr {cfg['lr']:g} wd {cfg['weight_decay']:g}, {cfg['schedule']}, "
          f"augment {cfg['augment']}, seed {cfg['seed']}; {os.cpu_count()} cores")
    sep = "|" if args.markdown else " "
    head = ["epoch", "seconds", "cumulative", "img/s", "cpu s", "train loss", "train acc", "val acc",
            "test loss", "test acc"]
    print(sep.join(f"{h:>11}" for h in head))
    if args.markdown:
        print("|".join(["-" * 11] * len(head)))
    total = 0.0
    for h in m["history"]:
        total += h["seconds"]
        row = [h["epoch"], f"{h['seconds']:.1f}", f"{total:.1f}", f"{n / h['seconds']:,.0f}",
               f"{h.get('cpu_seconds', float('nan')):.1f}",
               f"{h['train_loss']:.4f}", f"{100 * h['train_accuracy']:.2f}%",
               f"{100 * h['val_accuracy']:.2f}%" if h.get("val_accuracy") is not None else "-",
               f"{h['test_loss']:.4f}", f"{100 * h['test_accuracy']:.2f}%"]
        print(sep.join(f"{v:>11}" for v in row))
    best = (f"best epoch {m['best_epoch']} by validation, test {100 * m['best_epoch_test_accuracy']:.2f}%"
            if m.get("best_val_accuracy") is not None else "no validation split")
    print(f"\nfinal test accuracy {100 * m['test_accuracy']:.2f}% ({best}), "
          f"training {m['seconds']:.1f} s, data loading {m.get('data_seconds', 0):.1f} s, "
          f"wall {wall:.1f} s including imports and pictures, {cpu:.0f} CPU s")
    if not args.out:
        shutil.rmtree(out.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
