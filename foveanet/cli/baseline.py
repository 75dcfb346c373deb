"""`foveanet baseline`: hand-crafted features + linear classifier, printed beside CNN runs."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

from foveanet.cli.main import help_formatter

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet baseline                                  # raw pixels and HOG on Fashion-MNIST
      foveanet baseline --features hog --runs runs/*     # beside your trained CNNs
      foveanet baseline --limit 10000                    # a quick look on 10k training images
    """)


def register(sub) -> None:
    from foveanet.cli.args import positive_int

    p = sub.add_parser(
        "baseline", help="hand-crafted features + a linear classifier (the lecture's first slide)",
        description="Train the pre-CNN recipe (fixed features, trainable linear classifier) on the "
                    "same split as the CNNs and print both side by side.",
        epilog=EXAMPLES, formatter_class=help_formatter)
    p.add_argument("--dataset", default="fashion-mnist", help="fashion-mnist, mnist, or an image folder")
    p.add_argument("--features", default="raw,hog", help="comma-separated: raw, hog (default: both)")
    p.add_argument("--limit", type=positive_int, default=None, help="train on the first N images only [all]")
    p.add_argument("--runs", nargs="*", default=None,
                   help="run directories to print beside (default: every runs/*/metrics.json)")
    p.add_argument("--out", help="also write the results as JSON to this file")
    p.set_defaults(func=run)


def _load(dataset: str, limit):
    from foveanet.cli.main import CLIError

    name = dataset.lower()
    if name in ("fashion-mnist", "fashion_mnist", "mnist"):
        from foveanet.data import MNIST, FashionMNIST

        cls = MNIST if name == "mnist" else FashionMNIST
        train, test = cls(train=True), cls(train=False)
        xtr, ytr, xte, yte = train.data, train.targets, test.data, test.targets
    elif Path(dataset).is_dir():
        from foveanet.data import ImageFolder

        folder = ImageFolder(dataset, mode="L", size=28)
        n = len(folder)
        idx = __import__("numpy").random.default_rng(0).permutation(n)
        cut = int(0.8 * n)
        imgs, labels = folder.images[:, 0], folder.targets
        xtr, ytr, xte, yte = imgs[idx[:cut]], labels[idx[:cut]], imgs[idx[cut:]], labels[idx[cut:]]
    else:
        raise CLIError(f"unknown dataset {dataset!r}: expected fashion-mnist, mnist or a folder of class folders")
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
    return xtr, ytr, xte, yte


def run(args) -> int:
    from foveanet.baselines.image import FEATURES, run_image_baseline
    from foveanet.cli.main import CLIError

    feats = [f.strip() for f in args.features.split(",") if f.strip()]
    bad = [f for f in feats if f not in FEATURES]
    if bad:
        raise CLIError(f"unknown features {bad}; choose from {list(FEATURES)}")
    xtr, ytr, xte, yte = _load(args.dataset, args.limit)
    rows = []
    for feat in feats:
        print(f"fitting {feat} features + linear SVM on {len(xtr):,} images ...", flush=True)
        res = run_image_baseline(xtr, ytr, xte, yte, features=feat)
        res.pop("predictions")
        rows.append({"name": res["model"], "test_accuracy": res["test_accuracy"],
                     "seconds": res["feature_seconds"] + res["fit_seconds"], "kind": "hand-crafted"})
    run_dirs = args.runs if args.runs is not None else sorted(str(p.parent) for p in Path("runs").glob("*/metrics.json"))
    for d in run_dirs:
        m = Path(d) / "metrics.json"
        if not m.exists():
            raise CLIError(f"{d}: no metrics.json (is it a finished `foveanet train` run?)")
        metrics = json.loads(m.read_text())
        cfg_path = Path(d) / "config.json"
        cfg = json.loads(cfg_path.read_text()) if cfg_path.exists() else {}
        rows.append({"name": f"{cfg.get('model', '?')} CNN ({d})", "test_accuracy": metrics.get("test_accuracy"),
                     "seconds": metrics.get("seconds"), "kind": "learned"})
    print(f"\n{'model':58s} {'features':12s} {'test acc':>9s} {'seconds':>8s}")
    for r in rows:
        acc = f"{100 * r['test_accuracy']:.2f}%" if r["test_accuracy"] is not None else "-"
        secs = f"{r['seconds']:.0f}" if r["seconds"] is not None else "-"
        print(f"{r['name'][:58]:58s} {r['kind']:12s} {acc:>9s} {secs:>8s}")
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2))
    return 0
