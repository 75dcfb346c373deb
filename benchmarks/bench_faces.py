"""Face recognition, measured: face/non-face accuracy per method over folds, detection on
whole photos, and open-set verification per metric-learning loss.

    nice -n 10 .venv/bin/python benchmarks/bench_faces.py --part crops       # CNN vs Haar+AdaBoost vs OpenCV
    nice -n 10 .venv/bin/python benchmarks/bench_faces.py --part detect      # boxes on scikit-image photos
    nice -n 10 .venv/bin/python benchmarks/bench_faces.py --part embedding   # EER, TAR@FAR, rank-1 per loss
    .venv/bin/python benchmarks/bench_faces.py --part report                 # -> benchmarks/results-faces.md

Each part writes runs/bench_faces/<part>.json; ``report`` turns them into the results file
with the date, the machine and the load average each part ran under (the machine is shared:
timings under load are provisional).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "runs" / "bench_faces"
PICTURES = ROOT / "docs" / "images"
LOSS_ORDER = ("softmax", "arcface", "triplet", "semi-hard", "contrastive")


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _save(part: str, obj: dict) -> None:
    from foveanet.train.checkpoint import write_json

    OUT.mkdir(parents=True, exist_ok=True)
    write_json(OUT / f"{part}.json", {**obj, "uptime_end": _uptime()})


def crops(args) -> None:
    import foveanet
    from foveanet.faces.baselines import CascadeOnCrops, HaarAdaBoost
    from foveanet.faces.crops import kfold, load_crops
    from foveanet.faces.detector import predict_proba, train_classifier

    foveanet.set_num_threads(1)
    x, y = load_crops()
    folds = kfold(y, k=5, seed=0)
    res = {"uptime_start": _uptime(), "folds": 5, "methods": {}}
    recipes = {"CNN (800 steps, width 16)": dict(steps=800, width=16),
               "CNN (300 steps, width 8)": dict(steps=300, width=8)}
    for name, kw in recipes.items():
        accs, secs = [], []
        for tr, te in folds:
            t0 = time.perf_counter()
            m = train_classifier(x[tr], y[tr], **kw)
            secs.append(time.perf_counter() - t0)
            accs.append(float(((predict_proba(m, x[te]) > 0.5) == y[te]).mean()))
            print(name, accs[-1], f"{secs[-1]:.0f}s", flush=True)
        res["methods"][name] = {"acc": accs, "seconds": secs}
    haar = HaarAdaBoost()
    t0 = time.perf_counter()
    feats = haar.features(x)
    feat_s = time.perf_counter() - t0
    accs, secs = [], []
    for tr, te in folds:
        t0 = time.perf_counter()
        haar.fit(labels=y[tr], features=feats[tr])
        secs.append(time.perf_counter() - t0 + feat_s * len(tr) / len(x))
        accs.append(float((haar.predict(features=feats[te]) == y[te]).mean()))
        print("haar", accs[-1], flush=True)
    res["methods"]["Haar-like + AdaBoost (3000-feature pool, 300 kept, 100 stumps)"] = {"acc": accs, "seconds": secs}
    cas = CascadeOnCrops()
    accs, secs, settings = [], [], []
    for tr, te in folds:
        t0 = time.perf_counter()
        cas.fit(x[tr], y[tr])
        secs.append(time.perf_counter() - t0)
        settings.append(list(cas.setting))
        accs.append(float((cas.predict(x[te]) == y[te]).mean()))
        print("cascade", accs[-1], cas.setting, flush=True)
    res["methods"]["OpenCV haarcascade_frontalface_default (upscale + border chosen per fold)"] = {
        "acc": accs, "seconds": secs, "settings": settings}
    _save("crops", res)


def detect(args) -> None:
    import skimage.data

    import foveanet
    from foveanet.faces.detector import detect as run, draw_boxes, train_detector
    from foveanet.faces.image import to_grey

    foveanet.set_num_threads(1)
    res = {"uptime_start": _uptime(), "photos": {}}
    t0 = time.perf_counter()
    model = train_detector(log=print)
    res["train_seconds"] = time.perf_counter() - t0
    PICTURES.mkdir(parents=True, exist_ok=True)
    # astronaut has one face; camera one (the cameraman, in profile-ish); coffee and chelsea none
    for name in ("astronaut", "camera", "coffee", "chelsea"):
        img = np.asarray(getattr(skimage.data, name)())
        t0 = time.perf_counter()
        boxes, scores = run(model, to_grey(img))
        res["photos"][name] = {"boxes": boxes.round(1).tolist(), "scores": scores.round(4).tolist(),
                               "seconds": time.perf_counter() - t0, "shape": list(img.shape)}
        print(name, len(boxes), scores[:3], flush=True)
        if name == "astronaut":
            draw_boxes(img, boxes, scores, PICTURES / "faces_astronaut.png")
    _save("detect", res)


def embedding(args) -> None:
    import foveanet
    from foveanet.faces.embedding import embed, load_embedding_run, train_embedding
    from foveanet.faces.pictures import feature_picture, roc_picture
    from foveanet.faces.verification import pair_scores, roc_curve

    foveanet.set_num_threads(1)
    losses = args.losses.split(",")
    res = {"uptime_start": _uptime(), "losses": {}}
    prev = OUT / "embedding.json"
    if prev.is_file():   # one loss at a time may be rerun
        res["losses"] = json.loads(prev.read_text())["losses"]
    for loss in losses:
        m = train_embedding(OUT / f"emb_{loss}", loss=loss, steps=args.steps, quiet=False, pictures=False)
        res["losses"][loss] = {"test": m["test"], "val": m["val"], "train_seconds": m["train_seconds"],
                               "steps": args.steps, "uptime": _uptime()}
        print(loss, m["test"], flush=True)
        _save("embedding", res)
    curves, feats = {}, {}
    for loss in LOSS_ORDER:
        run = OUT / f"emb_{loss}"
        if not (run / "metrics.json").is_file():
            continue
        model, cfg, _ = load_embedding_run(run)
        with np.load(run / "test_set.npz") as z:
            x, y = z["x"], z["y"]
        e = embed(model, x)
        far, tar, _ = roc_curve(*pair_scores(e, y))
        curves[loss] = (far, tar)
        if loss in ("softmax", "arcface"):
            feats[loss] = e
    PICTURES.mkdir(parents=True, exist_ok=True)
    roc_picture(curves, PICTURES / "faces_roc.png", title="unseen Fashion-MNIST classes as identities")
    if len(feats) == 2:
        from foveanet.data import FashionMNIST

        names = FashionMNIST(train=False).classes
        feature_picture(feats, y, names, PICTURES / "faces_features.png")


def _ms(v) -> str:
    return f"{100 * np.mean(v):.1f} ± {100 * np.std(v):.1f}"


def report(args) -> None:
    lines = ["# Face recognition benchmarks", "",
             f"Date: {time.strftime('%Y-%m-%d', time.gmtime())}. Machine: {_cpu()}, {os.cpu_count()} cores, "
             f"shared with other jobs (each part's load average below: timings under load are provisional).",
             "Command: `nice -n 10 python benchmarks/bench_faces.py --part crops|detect|embedding`, "
             "then `--part report`.", ""]
    c = OUT / "crops.json"
    if c.is_file():
        r = json.loads(c.read_text())
        lines += ["## Face / non-face on scikit-image's LFW crops (200: 100 faces, 100 non-faces)", "",
                  "Stratified 5-fold cross-validation, folds fixed by seed 0 (`foveanet.faces.kfold`); "
                  "accuracy on the held-out fold, mean ± standard deviation over the 5 folds (each fold holds 40 "
                  "crops: one mistake is 2.5 points).", "",
                  "| method | accuracy % (mean ± sd) | per fold | train s / fold |", "|---|---|---|---|"]
        for name, m in r["methods"].items():
            lines.append(f"| {name} | {_ms(m['acc'])} | {', '.join(f'{a:.3f}' for a in m['acc'])} | "
                         f"{np.mean(m['seconds']):.1f} |")
        if any("settings" in m for m in r["methods"].values()):
            s = [m["settings"] for m in r["methods"].values() if "settings" in m][0]
            lines += ["", f"OpenCV's setting picked on each training fold (upscale, border share): {s}."]
        lines += ["", f"Load: {r['uptime_start']} (start); {r['uptime_end']} (end).", ""]
    d = OUT / "detect.json"
    if d.is_file():
        r = json.loads(d.read_text())
        lines += ["## Detection on whole photos (CNN over an image pyramid, NMS)", "",
                  f"Detector trained once (3 trainings, 2 bootstrapping rounds between them) in "
                  f"{r['train_seconds']:.0f} s; on astronaut the best box is the face, the other two "
                  "are on the suit's collar and zip (the picture below).", "",
                  "| photo | faces in it | boxes found (P(face) >= 0.95, >= 2 windows) | scores | seconds |", "|---|---|---|---|---|"]
        truth = {"astronaut": 1, "camera": 1, "coffee": 0, "chelsea": "0 (a cat)"}
        for name, p in r["photos"].items():
            lines.append(f"| {name} {p['shape'][1]}x{p['shape'][0]} | {truth.get(name, '?')} | {len(p['boxes'])} | "
                         f"{', '.join(f'{s:.3f}' for s in p['scores'][:4])} | {p['seconds']:.1f} |")
        lines += ["", "The picture: `docs/images/faces_astronaut.png`. The detector's numbers change a little "
                  "with the thread count (`foveanet faces detect` on 2 threads mined 3,470 and 1,307 windows "
                  "and found the face with one false box).", "",
                  f"Load: {r['uptime_start']} (start); {r['uptime_end']} (end).", ""]
    e = OUT / "embedding.json"
    if e.is_file():
        r = json.loads(e.read_text())
        lines += ["## Open-set verification (stand-in identities: Fashion-MNIST classes)", "",
                  "Trained on classes 0-5 (T-shirt, trouser, pullover, dress, coat, sandal; 2,000 training "
                  "images each, 10% held back for validation: the weights with the best validation EER are "
                  "kept); tested on 2,000 test-split images of the 4 unseen classes (shirt, sneaker, bag, "
                  "ankle boot): every pair for the ROC, rank-1 with one gallery image per identity over 10 "
                  "random galleries. Ten classes are not ten thousand people: the numbers compare the "
                  "losses, they are not face accuracies.", "",
                  "| loss | EER % | TAR@FAR=1e-2 % | rank-1 % (± sd) | TAR / FAR at the val threshold % | train s | steps | load at end |",
                  "|---|---|---|---|---|---|---|---|"]
        for loss in LOSS_ORDER:
            if loss not in r["losses"]:
                continue
            m = r["losses"][loss]
            t = m["test"]
            lines.append(f"| {loss} | {100 * t['eer']:.2f} | {100 * t['tar_at_far_1e-2']:.2f} | "
                         f"{100 * t['rank1']:.1f} ± {100 * t['rank1_std']:.1f} | "
                         f"{100 * t['tar_at_val_threshold']:.1f} / {100 * t['far_at_val_threshold']:.2f} | "
                         f"{m['train_seconds']:.0f} | {m['steps']} | {m['uptime'].split('load average:')[-1].strip()} |")
        lines += ["", "Pictures: `docs/images/faces_roc.png` (ROC per loss), `docs/images/faces_features.png` "
                  "(softmax vs ArcFace embeddings of the unseen identities).", ""]
    from foveanet.serialization import atomic_write

    path = ROOT / "benchmarks" / "results-faces.md"
    atomic_write(path, ("\n".join(lines) + "\n").encode())
    print(path.read_text())


def _cpu() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        return next(l.split(":", 1)[1].strip() for l in out.splitlines() if l.startswith("Model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--part", choices=("crops", "detect", "embedding", "report"), required=True)
    p.add_argument("--losses", default=",".join(LOSS_ORDER), help="embedding: the losses to train")
    p.add_argument("--steps", type=int, default=600, help="embedding: training steps per loss")
    args = p.parse_args(argv)
    {"crops": crops, "detect": detect, "embedding": embedding, "report": report}[args.part](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
