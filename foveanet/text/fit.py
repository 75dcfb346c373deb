"""One text CNN's training: epochs of (length-bucketed) batches, the weight average, and the
choice of the epoch by validation; plus the scores and metrics every epoch is judged by.

``foveanet.text.run`` builds the data and the models and calls ``fit`` once per member
of the run (``ensemble``); this module knows nothing of run directories beyond writing the
kept weights to the file it is given.

Under a process group of p ranks (``mpirun -n p``) ``fit`` trains data-parallel: every rank
draws the same batch order, takes every p-th document of each batch, and trains the model
inside ``DistributedDataParallel``, which averages the gradients over the ranks; the logged
loss is the batch's over all ranks. Every rank scores the validation and test parts itself
with the same weights, so all keep the same epoch; rank 0 alone logs and writes the weights.
"""
from __future__ import annotations

import time

import numpy as np

import foveanet
import foveanet.functional as F
from foveanet import backend
from foveanet.backend import devices
from foveanet.backend.arrays import array_module
from foveanet.text.pipeline import DataError, TextData
from foveanet.train.checkpoint import save_weights
from foveanet.train.guards import check_step, float_errors_quiet, global_step_stats, gradients_to_check
from foveanet.train.ranking import accuracy, f1_scores, propensities, ranking_report

# the per-epoch row keys that are bookkeeping, not metrics
ROW_KEYS = ("epoch", "train_loss", "train_seconds", "seconds", "elapsed", "cpu_elapsed")


def _batches(n: int, size: int, rng=None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for s in range(0, n, size):
        yield order[s:s + size]


def _bucketed_batches(lengths: np.ndarray, size: int, rng, spread: float):
    """Batches of documents of similar length, in random order.  XML-CNN convolves only up
    to a batch's longest document, and in a random batch of 64 that is nearly always the
    128-token cap; sorted batches cut the conv work by ~40 % on debtags.  The uniform jitter of
    ``spread`` tokens on the sort key makes the batches differ from epoch to epoch."""
    order = np.argsort(lengths + rng.uniform(0.0, spread, len(lengths)), kind="stable")
    chunks = [order[s:s + size] for s in range(0, len(order), size)]
    for i in rng.permutation(len(chunks)):
        yield chunks[i]


def _ranks() -> tuple:
    """(rank, world size): (0, 1) without a process group."""
    from foveanet.distributed.process_group import get_rank, get_world_size

    return get_rank(), get_world_size()


def check_global_batch(batch_size: int) -> None:
    """Under p ranks, ``batch_size`` is the global batch and each rank takes batch_size / p of
    it: raise ``DistributedError`` unless p divides it."""
    world = _ranks()[1]
    if world > 1 and batch_size % world:
        from foveanet.distributed import DistributedError

        near = [b for b in (batch_size // world * world, (batch_size // world + 1) * world) if b > 0]
        raise DistributedError(f"--batch-size {batch_size} is the global batch: it must divide evenly "
                               f"over the {world} ranks (say {' or '.join(map(str, near))})")


def rank_share(idx: np.ndarray, rank: int, world: int) -> np.ndarray:
    """Rank ``rank``'s documents of the global batch ``idx``: every ``world``-th from position
    ``rank``. A batch that does not divide (an epoch's last) is first padded by repeating its
    first documents, as ``DistributedSampler`` pads a data set: every rank then holds as many
    documents, and DDP's mean of the ranks' gradients is the mean over the (padded) batch.

    Example::

        >>> from foveanet.text.fit import rank_share
        >>> [rank_share(np.arange(10, 15), r, 2).tolist() for r in (0, 1)]
        [[10, 12, 14], [11, 13, 10]]
    """
    if world == 1:
        return idx
    padded = -(-len(idx) // world) * world
    if padded != len(idx):
        idx = np.resize(idx, padded)
    return idx[rank::world]


def _any_rank(flag: bool, world: int) -> bool:
    """Whether ``flag`` holds on any rank. A decision read off the clock (the time budget)
    differs between ranks; taken alone, one rank would stop while the others wait for it in
    the next step's all-reduce."""
    if world == 1:
        return bool(flag)
    from foveanet.distributed import all_reduce

    votes = np.array([1.0 if flag else 0.0])
    all_reduce(votes, "max")
    return bool(votes[0])


def scores(model, x: np.ndarray, batch_size: int = 512, softmax: bool | None = None) -> np.ndarray:
    """Probabilities of every label for token ids ``x``, in eval mode and without a graph.

    A sigmoid per label, or a softmax over the labels: single-label models, and multi-label
    ones trained with ``loss="softmax"``. The model's training mode is restored after.

    Args:
        model: a text CNN (``XMLCNN`` or ``TextCNN``).
        x: token ids (N, L) int64.
        batch_size: documents per forward pass (default 512).
        softmax: True for a softmax, False for sigmoids (default None: the model's kind,
            softmax unless ``model.multi_label``).

    Returns:
        ndarray: (N, n_labels) float64 probabilities.

    Example::

        >>> from foveanet.text import build_model, make_config, scores
        >>> model = build_model(make_config("textcnn", embed_dim=8, num_filters=4), 50, 3)
        >>> model.fc.weight.data[...] = 0
        >>> model.fc.bias.data[...] = 0                  # every logit 0
        >>> x = np.zeros((2, 10), np.int64)
        >>> scores(model, x)                             # sigmoid(0) per label
        array([[0.5, 0.5, 0.5],
               [0.5, 0.5, 0.5]])
        >>> scores(model, x, softmax=True).sum(axis=1)   # a distribution over 3 labels
        array([1., 1.])
    """
    was = model.training
    model.eval()
    out = []
    with foveanet.no_grad():
        for idx in _batches(len(x), batch_size):
            z = devices.to_host(model(x[idx]).data).astype(np.float64)
            if not (softmax if softmax is not None else not getattr(model, "multi_label", True)):
                out.append(1.0 / (1.0 + np.exp(-z)))
            else:
                z = np.exp(z - z.max(axis=1, keepdims=True))
                out.append(z / z.sum(axis=1, keepdims=True))
    model.train(was)
    return np.concatenate(out) if out else np.zeros((0, 0))


def metrics_for(S: np.ndarray, data: TextData, prop=None, y=None) -> dict:
    """Metrics of scores ``S`` against ``y`` (default: the test truth ``data.y_test``)."""
    y_all = data.y_test if y is None else y
    if data.task == "single":
        keep = y_all >= 0                # documents whose class never occurred in training
        y = y_all[keep]
        pred = S[keep].argmax(axis=1)
        eye = np.eye(S.shape[1], dtype=np.float32)
        return {"accuracy": accuracy(pred, y), "macro_f1": f1_scores(eye[pred], eye[y])["macro_f1"],
                "n_docs": int(keep.sum()), "n_classes": int(S.shape[1])}
    if prop is None:
        prop = propensities(data.y_train)
    # every k up to 5, so that psp@1..psp@5 are all there (the XC repository's table)
    ks = tuple(k for k in (1, 2, 3, 4, 5) if k <= S.shape[1])    # fewer with under 5 labels
    return ranking_report(S, y_all, ks=ks, propensities=prop, threshold=0.5)


def _headline(m: dict) -> str:
    if "accuracy" in m:
        return f"acc {100 * m['accuracy']:.2f}% macro-F1 {m['macro_f1']:.4f}"
    # with under 5 labels the report stops at k = number of labels: show the ks it has
    top = max(k for k in range(1, 6) if f"p@{k}" in m)
    ks = sorted({1, min(3, top), top})
    return (" ".join(f"P@{k} {m[f'p@{k}']:.4f}" for k in ks)
            + f" nDCG@{top} {m[f'ndcg@{top}']:.4f} PSP@{top} {m[f'psp@{top}']:.4f}")


class WeightAverage:
    """Exponential moving average of the trainable weights, updated after every step:
    ``avg <- d_t * avg + (1 - d_t) * w`` with ``d_t = min(decay, (1 + t) / (10 + t))`` at
    step t = 1, 2, ... (TensorFlow's ``num_updates`` warm-up): a plain ``decay`` of 0.999 would
    still hold 25 % of the random initial weights after 1,400 steps (measured: P@1 0.80
    instead of 0.85 after 4 epochs).  Evaluated (and saved) in place of the raw weights: the
    average sits nearer the middle of the valley the last few hundred Adam steps bounce
    around in.  ``swap()`` exchanges the model's weights and the average."""

    def __init__(self, params, decay: float):
        if not 0 < decay < 1:
            raise DataError(f"ema decay must be in (0, 1), got {decay}")
        self.params, self.decay, self.steps = list(params), float(decay), 0
        self.avg = [p.data.copy() for p in self.params]

    def update(self) -> None:
        self.steps += 1
        d = np.float32(min(self.decay, (1.0 + self.steps) / (10.0 + self.steps)))
        for a, p in zip(self.avg, self.params):
            a *= d
            a += p.data * (1 - d)  # a NumPy scalar must not lead: p.data may be a GPU array

    def swap(self) -> None:
        for i, p in enumerate(self.params):
            self.avg[i], p.data = p.data, self.avg[i]


def _optimizer(cfg, params):
    wd = float(cfg.get("weight_decay") or 0.0)
    if cfg.get("optimizer", "adam") == "adamw":
        return foveanet.optim.AdamW(params, lr=cfg["lr"], weight_decay=wd)
    if cfg.get("optimizer", "adam") != "adam":
        raise DataError(f"unknown optimizer {cfg['optimizer']!r}; choose adam or adamw")
    return foveanet.optim.Adam(params, lr=cfg["lr"], weight_decay=wd)


def _loss_fn(cfg, model):
    """``bce`` (the paper's: a sigmoid per label) or ``softmax``: cross-entropy of a softmax
    over the labels against the document's labels spread evenly (y / |y|), which ranks
    directly, as P@k asks."""
    kind = cfg.get("loss", "bce")
    if kind == "bce" or cfg["task"] == "single":
        return model.loss
    if kind != "softmax":
        raise DataError(f"unknown loss {kind!r}; choose bce or softmax")

    def softmax_loss(logits, target):
        t = target / array_module(target).maximum(target.sum(axis=1, keepdims=True), 1.0)
        return F.cross_entropy(logits, t.astype(target.dtype))
    return softmax_loss


def _softmax_scores(cfg) -> bool | None:
    return True if cfg.get("task") == "multi" and cfg.get("loss") == "softmax" else None


def fit(model, cfg: dict, data: TextData, seed: int, log=print, weights_path=None,
        max_seconds: float | None = None, prefix: str = "", device=None) -> dict:
    """Train ``model`` for ``cfg['epochs']`` epochs; after every epoch score the validation and
    test parts and keep the epoch with the best validation P@1 (accuracy for ``single``; the
    last epoch without validation). ``seed`` orders the batches. With ``weights_path`` the
    kept weights are written there as they are chosen. ``max_seconds`` stops after the epoch
    that would make the next one overrun it. ``device`` (``'cuda'``: a GPU) is where the
    model moves to train; the token ids stay on the host and each batch moves there.

    Under a process group of several ranks (see the module docstring) ``cfg['batch_size']`` is
    the global batch, which the world size must divide (``DistributedError`` otherwise), and
    only rank 0 logs and writes ``weights_path``; ``model`` stays the plain model.

    Returns {"best": the kept epoch's row, "history": every row, "state": the kept weights,
    "n_parameters"}; a row holds the test metrics, ``val`` the validation ones."""
    t_start, cpu_start = time.perf_counter(), time.process_time()
    rank, world = _ranks()
    check_global_batch(cfg["batch_size"])
    net = model
    if world > 1:
        from foveanet.distributed import DistributedDataParallel

        net = DistributedDataParallel(model)      # every rank starts from rank 0's weights
        # dropout masks of each rank's own (the batch order is the separate generator below,
        # the same on every rank); one seed per (seed, rank) keeps the run reproducible
        backend.manual_seed(int(np.random.SeedSequence([seed, rank]).generate_state(1)[0]))
        if rank != 0:
            log, weights_path = (lambda line: None), None
    has_val = data.x_val is not None and len(data.x_val) > 0
    if device is not None:
        model.to(device)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _optimizer(cfg, params)
    loss_fn = _loss_fn(cfg, model)
    soft = _softmax_scores(cfg)
    ema = WeightAverage(params, cfg["ema"]) if cfg.get("ema") else None
    # cosine decay over the planned epochs: the last epochs refine at a small step instead of
    # bouncing around the minimum at the full one
    sched = (foveanet.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg["epochs"])
             if cfg.get("schedule") == "cosine" else None)
    rng = np.random.default_rng(seed)
    prop = propensities(data.y_train) if data.task == "multi" else None
    key = "accuracy" if data.task == "single" else "p@1"
    history, best, best_state = [], None, None
    lengths = (data.x_train != 0).sum(axis=1)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    for epoch in range(cfg["epochs"]):
        t0 = time.perf_counter()
        net.train()
        loss_sum, seen = 0.0, 0
        batches = (_bucketed_batches(lengths, cfg["batch_size"], rng, cfg["bucket"]) if cfg.get("bucket")
                   else _batches(len(data.x_train), cfg["batch_size"], rng))
        for step, batch in enumerate(batches, 1):
            idx = rank_share(batch, rank, world)
            with float_errors_quiet():
                logits = net(data.x_train[idx])
                target = data.y_train[idx]
                loss = loss_fn(logits, target if device is None else devices.to_device(target, device))
                opt.zero_grad()
                loss.backward()
                lv, n = float(loss.data), len(idx)
                if world > 1:
                    # the global batch's loss, and gradients averaged by DDP: the same on every
                    # rank, so all ranks stop together if the run diverges
                    lv, _, n = global_step_stats(lv, 0, n)
                check_step(lv, gradients_to_check(named), epoch=epoch + 1, step=step,
                           lr=opt.param_groups[0]["lr"])
            opt.step()
            model.apply_max_norm()
            if ema is not None:
                ema.update()
            loss_sum += lv * n
            seen += n
        t_train = time.perf_counter() - t0
        if sched is not None:
            sched.step()
        if ema is not None:
            ema.swap()                       # score (and save) the averaged weights
        m = metrics_for(scores(model, data.x_test, softmax=soft), data, prop)
        v = metrics_for(scores(model, data.x_val, softmax=soft), data, prop, y=data.y_val) if has_val else None
        row = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_seconds": t_train,
               "seconds": time.perf_counter() - t0,
               "elapsed": time.perf_counter() - t_start, "cpu_elapsed": time.process_time() - cpu_start, **m}
        if has_val:
            row["val"] = v
        history.append(row)
        # chosen by validation only; without it, every epoch replaces the previous one (the last is kept)
        improved = best is None or not has_val or v[key] > best["val"][key]
        if improved:
            best = row
            best_state = {k: v_.cpu().numpy().copy() for k, v_ in model.state_dict().items()}
            if weights_path is not None:
                save_weights(model.state_dict(), weights_path)
        if ema is not None:
            ema.swap()                       # back to the raw weights to go on training
        val_txt = f"val {key} {v[key]:.4f} | " if has_val else ""
        log(f"{prefix}epoch {epoch + 1}/{cfg['epochs']} loss {row['train_loss']:.4f} | {val_txt}test "
            f"{_headline(m)} | {row['seconds']:.0f}s (total {row['elapsed']:.0f}s wall, "
            f"{row['cpu_elapsed']:.0f}s CPU){' *' if improved and has_val else ''}")
        if _any_rank(max_seconds is not None and epoch + 1 < cfg["epochs"]
                     and time.perf_counter() - t_start + row["seconds"] > max_seconds, world):
            log(f"{prefix}stopping: another epoch would pass the {max_seconds:.0f}s budget")
            break
    n_params = sum(int(p.data.size) for p in model.parameters())
    return {"best": best, "history": history, "state": best_state, "n_parameters": n_params}
