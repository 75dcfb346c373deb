"""An embedding CNN trained by metric learning, scored by the open-set protocol: the
identities tested are never seen in training.

No identity-labelled face set is reachable offline, so the built-in data is a stand-in:
Fashion-MNIST classes play "identities" (``SEEN``: T-shirt, trouser, pullover, dress, coat,
sandal train; ``UNSEEN``: shirt, sneaker, bag, ankle boot are only tested, from the test
split).  Ten classes are far fewer identities than a face set has, and a class is far more
varied than one person: the numbers show the protocol and compare the losses, they are not
face-recognition accuracies.  ``--data FOLDER`` reads a real LFW-style folder instead, with
the identities split disjointly.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import foveanet
import foveanet.functional as F
import foveanet.nn as nn
from foveanet.errors import RunError, UserError
from foveanet.faces.verification import equal_error_rate, pair_scores, rank1, roc_curve, tar_at_far
from foveanet.train.guards import check_step, float_errors_quiet

__all__ = ["LOSSES", "SEEN", "UNSEEN", "DEFAULTS", "EmbeddingNet", "train_embedding",
           "load_embedding_run", "embed", "evaluate_embedding", "evaluate_pairs", "verify_pair"]

LOSSES = ("arcface", "triplet", "semi-hard", "contrastive", "softmax")
SEEN, UNSEEN = (0, 1, 2, 3, 4, 5), (6, 7, 8, 9)
DEFAULTS = {"data": "builtin", "loss": "arcface", "size": 28, "dim": 64, "width": 16,
            "steps": 600, "batch_size": 60, "lr": 2e-3, "per_identity": 2000, "val_fraction": 0.1,
            "test_images": 2000, "margin": None, "scale": 16.0, "seed": 0, "test_identities": 0.3, "crop": 1.0}
# each loss's margin: ArcFace's angle in radians (0.5 as in the paper; its scale s=16 rather
# than 64 because 6 classes' softmax saturates at 64), the triplet and contrastive losses'
# distance between unit embeddings (in [0, 2])
MARGINS = {"arcface": 0.5, "triplet": 0.2, "semi-hard": 0.2, "contrastive": 1.0, "softmax": 0.0}


class EmbeddingNet(nn.Module):
    """Three 3x3 conv blocks (conv, batch norm, ReLU, 2x2 max pool after the first two), global
    average pooling and a linear layer to a ``dim``-vector: the face descriptor.

    Example::

        >>> from foveanet.faces import EmbeddingNet
        >>> EmbeddingNet(dim=32, width=4)(fn.zeros((2, 1, 28, 28))).shape
        (2, 32)
    """

    def __init__(self, dim: int = 64, width: int = 16):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1), nn.BatchNorm2d(w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(w, 2 * w, 3, padding=1), nn.BatchNorm2d(2 * w), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.BatchNorm2d(4 * w), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.embed = nn.Linear(4 * w, dim)

    def forward(self, x):
        return self.embed(self.features(x))


def _builtin(cfg: dict, rng: np.random.Generator):
    from foveanet.data import FashionMNIST

    tr, te = FashionMNIST(train=True), FashionMNIST(train=False)
    keep = np.concatenate([rng.choice(np.flatnonzero(tr.targets == c), cfg["per_identity"], replace=False)
                           for c in SEEN])
    unseen = np.flatnonzero(np.isin(te.targets, UNSEEN))
    test = rng.choice(unseen, min(cfg["test_images"], len(unseen)), replace=False)
    scale = np.float32(1 / 255)
    return (tr.data[keep] * scale, tr.targets[keep].astype(np.int64),
            te.data[test] * scale, te.targets[test].astype(np.int64))


def _folder(cfg: dict, rng: np.random.Generator):
    from foveanet.faces.lfw import LFWFolder

    people = LFWFolder(cfg["data"], size=cfg["size"], crop=cfg["crop"])
    ids = [p for p in people.identities if len(people.images_of(p)) >= 2]
    if len(ids) < 4:
        raise UserError(f"{cfg['data']}: need >= 4 people with >= 2 images each for disjoint train and "
                        f"test identities, found {len(ids)}")
    ids = list(rng.permutation(ids))
    n_test = max(2, round(cfg["test_identities"] * len(ids)))
    test_ids = set(ids[:n_test])   # the rest are the training identities
    x, y = people.load_all()
    names = np.array(people.identities)[y]
    tr, te = ~np.isin(names, list(test_ids)), np.isin(names, list(test_ids))
    # training identities renumbered 0..C-1 for the classifier heads
    remap = {p: i for i, p in enumerate(sorted(set(names[tr])))}
    return x[tr], np.array([remap[n] for n in names[tr]], np.int64), x[te], y[te]


def _split_val(x, y, fraction, rng):
    """Per identity, ``fraction`` of its images (at least 2, so the validation has same
    pairs; none from an identity with under 4) held back for validation."""
    val = []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        if len(idx) >= 4:
            val.append(idx[:max(2, int(round(fraction * len(idx))))])
    val = np.concatenate(val) if val else np.zeros(0, np.int64)
    if len(np.unique(y[val])) < 2:
        raise UserError(f"too few images for a validation split: need >= 2 training identities with >= 4 "
                        f"images each, got {len(np.unique(y[val]))}")
    train = np.setdiff1d(np.arange(len(x)), val)
    return x[train], y[train], x[val], y[val]


def embed(model, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """(N, dim) embeddings of (N, H, W) grey images in [0, 1] (eval mode, no gradient)."""
    model.eval()
    out = []
    with foveanet.no_grad():
        for b in range(0, len(images), batch_size):
            out.append(model(foveanet.tensor(images[b:b + batch_size, None].astype(np.float32))).numpy())
    return np.concatenate(out)


def _scores(model, x, y) -> dict:
    far, tar, th = roc_curve(*pair_scores(embed(model, x), y))
    eer, eer_th = equal_error_rate(far, tar, th)
    tar2, th2 = tar_at_far(far, tar, th, 1e-2)
    return {"eer": eer, "eer_threshold": eer_th, "tar_at_far_1e-2": tar2, "threshold_far_1e-2": th2}


def _loss(cfg, head, emb, y):
    kind, m = cfg["loss"], cfg["margin"]
    if kind == "softmax":
        return F.cross_entropy(head(emb), y)
    if kind == "arcface":
        return F.cross_entropy(head(emb, y), y)
    u = F.normalize(emb)
    if kind in ("triplet", "semi-hard"):
        return F.batch_hard_triplet_loss(u, y, margin=m, mining="hard" if kind == "triplet" else "semi-hard")
    i, j = np.triu_indices(len(y), 1)     # every pair in the batch
    return F.contrastive_loss(u[i], u[j], (y[i] == y[j]).astype(np.float32), margin=m)


def train_embedding(out, quiet: bool = False, pictures: bool = True, **overrides) -> dict:
    """Train an embedding with one of ``LOSSES`` into the run directory ``out``; the weights
    with the best validation EER (pairs of held-back images of the training identities) are
    kept and scored once on the unseen identities.  Returns the metrics (also metrics.json)."""
    from foveanet.train.checkpoint import save_weights, write_json

    cfg = {**DEFAULTS, **{k: v for k, v in overrides.items() if v is not None}}
    if cfg["loss"] not in LOSSES:
        raise UserError(f"loss must be one of {', '.join(LOSSES)}, got {cfg['loss']!r}")
    if cfg["margin"] is None:
        cfg["margin"] = MARGINS[cfg["loss"]]
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(cfg["seed"])
    x, y, x_test, y_test = (_builtin if cfg["data"] == "builtin" else _folder)(cfg, rng)
    x, y, x_val, y_val = _split_val(x, y, cfg["val_fraction"], rng)
    cfg["train_identities"] = int(len(np.unique(y)))
    write_json(out / "config.json", {**cfg, "command": "faces train-embedding"})

    foveanet.manual_seed(cfg["seed"])
    model = EmbeddingNet(cfg["dim"], cfg["width"])
    C = cfg["train_identities"]
    head = (nn.ArcFace(cfg["dim"], C, margin=cfg["margin"], scale=cfg["scale"]) if cfg["loss"] == "arcface"
            else nn.Linear(cfg["dim"], C) if cfg["loss"] == "softmax" else None)
    params = list(model.parameters()) + (list(head.parameters()) if head is not None else [])
    opt = foveanet.optim.Adam(params, lr=cfg["lr"])
    sched = foveanet.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg["lr"], total_steps=cfg["steps"])
    named = list(model.named_parameters())
    history, best, t0 = [], None, time.perf_counter()
    every = max(1, cfg["steps"] // 5)
    by_id = [np.flatnonzero(y == c) for c in range(C)]
    per = max(2, cfg["batch_size"] // C)
    for step in range(cfg["steps"]):
        model.train()
        # every identity in every batch, several images each: the mined and pair losses need
        # positives in the batch, and all losses see the same batches
        idx = np.concatenate([rng.choice(b, per, replace=len(b) < per) for b in by_id])
        xb = x[idx, None].copy()
        flip = rng.random(len(idx)) < 0.5
        xb[flip] = xb[flip, :, :, ::-1]
        with float_errors_quiet():
            loss = _loss(cfg, head, model(foveanet.tensor(xb)), y[idx])
            opt.zero_grad()
            loss.backward()
            check_step(float(loss.item()), named, epoch=1, step=step + 1, steps_per_epoch=cfg["steps"],
                       lr=opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
        if (step + 1) % every == 0 or step + 1 == cfg["steps"]:
            val = _scores(model, x_val, y_val)
            row = {"step": step + 1, "loss": float(loss.item()), "val_eer": val["eer"],
                   "seconds": time.perf_counter() - t0}
            history.append(row)
            if not quiet:
                print(f"step {step + 1}/{cfg['steps']} loss {row['loss']:.4f} val EER {100 * val['eer']:.2f}% "
                      f"{row['seconds']:.0f}s", flush=True)
            if best is None or val["eer"] < best[0]:
                best = (val["eer"], val, {k: v.numpy().copy() for k, v in model.state_dict().items()})
    seconds = time.perf_counter() - t0
    model.load_state_dict({k: foveanet.tensor(v) for k, v in best[2].items()})
    save_weights(model.state_dict(), out / "best.safetensors")
    _save_test_set(out / "test_set.npz", x_test, y_test)
    metrics = {"loss": cfg["loss"], "train_seconds": seconds, "history": history,
               "val": best[1], "threshold": best[1]["eer_threshold"]}
    write_json(out / "metrics.json", metrics)
    metrics.update(evaluate_embedding(out, pictures=pictures))
    return metrics


def _save_test_set(path, x, y) -> None:
    import io

    from foveanet.train.checkpoint import atomic_write_bytes

    buf = io.BytesIO()
    np.savez(buf, x=x.astype(np.float32), y=y.astype(np.int64))
    atomic_write_bytes(path, buf.getvalue())


def load_embedding_run(run_dir):
    """(model, config, metrics) of a ``faces train-embedding`` run directory."""
    import json

    from foveanet.train.checkpoint import load_weights

    run = Path(run_dir)
    for name in ("config.json", "best.safetensors", "metrics.json"):
        if not (run / name).is_file():
            raise RunError(f"{run} is not a finished `foveanet faces train-embedding` run: {name} is missing")
    cfg = json.loads((run / "config.json").read_text())
    if cfg.get("command") != "faces train-embedding":
        raise RunError(f"{run} holds a run of `{cfg.get('command', 'another command')}`, not of "
                       "`foveanet faces train-embedding`")
    model = EmbeddingNet(cfg["dim"], cfg["width"])
    model.load_state_dict(load_weights(run / "best.safetensors"))
    model.eval()
    return model, cfg, json.loads((run / "metrics.json").read_text())


def evaluate_embedding(run_dir, pictures: bool = True) -> dict:
    """Open-set scores of a run on its unseen identities: verification over every pair of
    the test images (ROC, EER, TAR@FAR=1e-2, and the TAR/FAR at the validation threshold)
    and rank-1 identification with one gallery image per identity (10 random galleries).
    Writes them into metrics.json under ``test`` and draws roc.png."""
    from foveanet.train.checkpoint import write_json

    run = Path(run_dir)
    model, cfg, metrics = load_embedding_run(run)
    if not (run / "test_set.npz").is_file():
        raise RunError(f"{run}: test_set.npz is missing")
    with np.load(run / "test_set.npz") as z:
        x, y = z["x"], z["y"]
    e = embed(model, x)
    s, same = pair_scores(e, y)
    far, tar, th = roc_curve(s, same)
    eer, _ = equal_error_rate(far, tar, th)
    tar2, _ = tar_at_far(far, tar, th, 1e-2)
    r1, r1_sd = rank1(e, y)
    at = s >= metrics["threshold"]
    test = {"eer": eer, "tar_at_far_1e-2": tar2, "rank1": r1, "rank1_std": r1_sd,
            "tar_at_val_threshold": float(at[same].mean()), "far_at_val_threshold": float(at[~same].mean()),
            "images": int(len(y)), "identities": int(len(np.unique(y))), "pairs": int(len(s))}
    metrics["test"] = test
    write_json(run / "metrics.json", metrics)
    if pictures:
        from foveanet.train.plots import pictures_available

        if pictures_available(["roc.png"]):
            from foveanet.faces.pictures import roc_picture

            roc_picture({cfg["loss"]: (far, tar)}, run / "roc.png",
                        title=f"unseen identities: EER {100 * eer:.1f}%, TAR@FAR=1e-2 {100 * tar2:.1f}%")
    return {"test": test}


def evaluate_pairs(run_dir, pairs_path, root=None, pictures: bool = True) -> dict:
    """Verification scores of a run on an LFW ``pairs.txt``: ROC, EER, TAR@FAR=1e-2 and the
    accuracy at the run's threshold; the ROC is drawn into the run as roc_pairs.png."""
    from foveanet.faces.lfw import LFWFolder, read_pairs

    model, cfg, metrics = load_embedding_run(run_dir)
    pairs = read_pairs(pairs_path, root)
    folder = LFWFolder.__new__(LFWFolder)
    folder.size, folder.crop = cfg["size"], cfg.get("crop", 1.0)
    files = sorted({p for a, b, _ in pairs for p in (a, b)})
    where = {f: i for i, f in enumerate(files)}
    u = embed(model, np.stack([folder.load(f) for f in files]))
    u = u / np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    a = np.array([where[p[0]] for p in pairs])
    b = np.array([where[p[1]] for p in pairs])
    same = np.array([p[2] for p in pairs])
    s = (u[a] * u[b]).sum(1)
    far, tar, th = roc_curve(s, same)
    eer, _ = equal_error_rate(far, tar, th)
    res = {"pairs": len(pairs), "eer": eer, "tar_at_far_1e-2": tar_at_far(far, tar, th, 1e-2)[0],
           "accuracy_at_threshold": float(((s >= metrics["threshold"]) == same).mean())}
    if pictures:
        from foveanet.train.plots import pictures_available

        if pictures_available(["roc_pairs.png"]):
            from foveanet.faces.pictures import roc_picture

            roc_picture({Path(pairs_path).name: (far, tar)}, Path(run_dir) / "roc_pairs.png",
                        title=f"{Path(pairs_path).name}: EER {100 * eer:.1f}%")
    return res


def verify_pair(run_dir, path_a, path_b) -> dict:
    """Cosine similarity of two image files' embeddings and the decision at the run's
    threshold (the validation EER's)."""
    from foveanet.faces.image import fit_square, read_photo

    model, cfg, metrics = load_embedding_run(run_dir)
    imgs = []
    for p in (path_a, path_b):
        g = read_photo(p)
        side = cfg["size"]
        imgs.append(fit_square(g, side) if g.shape != (side, side) else g)
    e = embed(model, np.stack(imgs))
    u = e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
    sim = float(u[0] @ u[1])
    return {"similarity": sim, "threshold": metrics["threshold"], "same": sim >= metrics["threshold"]}
