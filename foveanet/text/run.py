"""Train, evaluate and use text CNNs; a run directory like the image Trainer's.

    RUN/config.json        every setting (what `evaluate` and `predict` rebuild from)
    RUN/metrics.json       the chosen epoch's test metrics at top level (p@k, ndcg@k, psp@k ...),
                           its validation metrics under ``val``, per-epoch ``history`` (test
                           metrics and ``val``), ``best_epoch``, ``selected_by``, ``seconds``,
                           ``cpu_seconds``, data counts
    RUN/model.safetensors  the chosen epoch's weights (PyTorch key names)

Model selection never looks at the test split: ``val_split`` (default 0.1) holds out a seeded
share of the *training* documents, and the epoch with the best validation P@1 (accuracy for
``single``) is kept; its test metrics are what the run reports.  With ``val_split`` 0 there is
nothing to choose by and the last epoch is kept.  The test metrics of every epoch are still
in ``history``, for the learning curve, but nothing reads them to decide.
    RUN/vocab.json, RUN/labels.json   token and label vocabularies (JSON, no pickle)

Why a loop of its own rather than ``foveanet.train.Trainer``: the Trainer's evaluation,
progress line and best-model rule are built around single-label accuracy over image
loaders; text needs ranking metrics over whole score matrices every epoch, best by validation
P@1, an average of the weights and the max-norm constraint after each step.  The run-directory writers (atomic JSON,
safetensors weights) are the Trainer's own.

Word vectors (``foveanet.text.word_vectors``): ``word2vec_epochs`` (XML-CNN's default 5)
first learns word vectors by skip-gram with negative sampling on the run's own training
documents and starts the embedding from them, inside the run's time; ``vectors`` (a word2vec
text / GloVe file, e.g. from ``foveanet text embed``) starts it from a file instead, whose
learning time is *not* in this run's ``seconds`` / ``cpu_seconds``.  ``data.vectors`` in
metrics.json records either.

Reproducibility: ``seed`` fixes the initial weights and dropout (the global generator) and
the batch order (a NumPy generator of its own), so the same command gives the same numbers.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import foveanet
import foveanet.functional as F
from foveanet import backend
from foveanet.data.text import LabelVocab, Vocab, tokenize
from foveanet.train.checkpoint import load_weights, save_weights, write_json
from foveanet.train.ranking import accuracy, f1_scores, propensities, ranking_report
from foveanet.text.pipeline import DataError, TextData, document_parts, load_documents, prepare
from foveanet.text.word_vectors import vectors_from_file, vectors_from_training_split

__all__ = ["MODELS", "DEFAULTS", "build_model", "train", "evaluate", "load_run", "predict", "scores"]

MODELS = ("xml-cnn", "textcnn")

# Sized for the 20-minute CPU budget: conv cost grows with embed_dim * max_len * num_filters;
# length-bucketed batches let the padding skip convolve only up to each batch's longest
# document, so a longer max_len costs little.  Measured on debtags (benchmarks/results-text.md,
# session 3: 1 BLAS thread pinned to one core, OPENBLAS_CORETYPE=SKYLAKEX; epoch chosen on the
# 10 % validation hold-out, test numbers of that epoch):
#   xml-cnn: 256 filters per width, 8 pooling chunks, 1024 hidden units, AdamW (decoupled
#            weight decay 0.1), softmax loss over the labels, weight EMA 0.999, 10 epochs,
#            cosine from 2e-3: validation P@1 0.8731 (epoch 5); test P@1 0.8716, P@3 0.5942,
#            P@5 0.4359 in 931 s CPU (TF-IDF + LinearSVC: 0.8706, 0.6263, 0.4747 -- P@1 level
#            with it, P@3/P@5 still short); seed 1 gave test P@1 0.8607, so not reliably above.  The previous default (128 filters, 4 chunks, 512
#            hidden, Adam, no decay) under the same conditions: validation 0.8699, test 0.8607 /
#            0.5887 / 0.4323 in 449 s CPU (0.8602 / 0.5898 / 0.4328 in session 2).
#   textcnn (single-label role:: task): 81.98 % accuracy (epoch 4 of 6) in 135 s CPU; logistic
#            regression 83.0 %; E=128 + cosine + 10 epochs gave 81.96 %, so the default stays.
DEFAULTS = {
    "xml-cnn": dict(epochs=10, batch_size=64, lr=2e-3, max_len=256, embed_dim=128, pool_chunks=8,
                    hidden=1024, num_filters=256, min_count=2, vocab_size=None, dropout=0.5,
                    bucket=16.0, schedule="cosine", val_split=0.1, loss="softmax", optimizer="adamw",
                    weight_decay=0.1, ema=0.999, embed_dropout=0.0, word2vec_epochs=5),
    "textcnn": dict(epochs=6, batch_size=64, lr=1e-3, max_len=128, embed_dim=64, pool_chunks=None,
                    hidden=None, num_filters=100, min_count=2, vocab_size=None, dropout=0.5,
                    val_split=0.1, loss="bce", optimizer="adam", weight_decay=0.0, ema=None, word2vec_epochs=0),
}


def build_model(cfg: dict, vocab_size: int, n_labels: int):
    from foveanet.models.textcnn import TextCNN
    from foveanet.models.xmlcnn import XMLCNN

    if cfg["model"] == "xml-cnn":
        if cfg["task"] != "multi":
            raise DataError("xml-cnn is a multi-label model; use --model textcnn for --task single")
        return XMLCNN(vocab_size, n_labels, embed_dim=cfg["embed_dim"], num_filters=cfg["num_filters"],
                      pool_chunks=cfg["pool_chunks"], hidden=cfg["hidden"], dropout=cfg["dropout"],
                      embed_dropout=cfg.get("embed_dropout") or 0.0)
    if cfg["model"] == "textcnn":
        return TextCNN(vocab_size, n_labels, embed_dim=cfg["embed_dim"], num_filters=cfg["num_filters"],
                       dropout=cfg["dropout"], multi_label=cfg["task"] == "multi")
    raise DataError(f"unknown model {cfg['model']!r}; choose from {MODELS}")


def make_config(model: str = "xml-cnn", data=None, task: str = "multi", seed: int = 0,
                limit=None, split: str = "auto", **overrides) -> dict:
    if model not in MODELS:
        raise DataError(f"unknown model {model!r}; choose from {MODELS}")
    cfg = {"family": "text", "model": model, "task": task, "data": None if data is None else str(data),
           "seed": int(seed), "limit": limit, "split": split, "vectors": None, **DEFAULTS[model]}
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    if cfg.get("vectors") and overrides.get("word2vec_epochs") is None:
        cfg["word2vec_epochs"] = 0          # a vector file replaces the default word2vec pass
    return cfg


def init_output_bias(model, data: TextData) -> None:
    """Start the output biases at the training label log-odds (multi-label) or log-frequencies
    (single-label).  From zero, the first few hundred steps of BCE over hundreds of labels
    only learn how common each label is, and the model ranks by that prior until then;
    starting there, the gradient goes into the text features from the first step."""
    if data.task == "multi":
        f = np.clip(data.y_train.mean(axis=0), 1e-5, 1 - 1e-5)
        b = np.log(f) - np.log1p(-f)
    else:
        counts = np.bincount(data.y_train[data.y_train >= 0], minlength=len(data.labels))
        b = np.log(np.maximum(counts, 1) / max(counts.sum(), 1))
    model.fc.bias.data[...] = b.astype(model.fc.bias.data.dtype)


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


def scores(model, x: np.ndarray, batch_size: int = 512, softmax: bool | None = None) -> np.ndarray:
    """Probabilities for token ids ``x``: a sigmoid per label, or a softmax over the labels
    (single-label models, and multi-label ones trained with ``loss="softmax"``)."""
    was = model.training
    model.eval()
    out = []
    with foveanet.no_grad():
        for idx in _batches(len(x), batch_size):
            z = model(x[idx]).data.astype(np.float64)
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
            a += (1 - d) * p.data

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
        t = target / np.maximum(target.sum(axis=1, keepdims=True), 1.0)
        return F.cross_entropy(logits, t.astype(target.dtype))
    return softmax_loss


def _softmax_scores(cfg) -> bool | None:
    return True if cfg.get("task") == "multi" and cfg.get("loss") == "softmax" else None


def train(cfg: dict, out=None, docs=None, data: TextData | None = None, log=print,
          max_seconds: float | None = None) -> dict:
    """Train by ``cfg`` (see ``make_config``) on ``docs`` (or the file ``cfg['data']``); after
    every epoch score the validation and test parts, keep the epoch with the best validation
    P@1 (accuracy for ``single``; the last epoch without validation).  With ``out`` the run
    directory is written.  ``max_seconds`` stops after the epoch that would make the next one
    overrun it.  Returns the metrics dict."""
    t_start, cpu_start = time.perf_counter(), time.process_time()
    if cfg.get("vectors") and cfg.get("word2vec_epochs"):
        raise DataError("give either vectors (a file) or word2vec_epochs (learn them here), not both")
    read_stats = {}
    if data is None:
        if docs is None:
            docs, read_stats = load_documents(cfg["data"], cfg.get("limit"))
        elif cfg.get("limit"):
            docs = list(docs)[: cfg["limit"]]
        backend.manual_seed(cfg["seed"])
        probe = build_model(cfg, 16, 2)  # noqa: F841  (checks the model/task pair before the slow part)
        data = prepare(docs, task=cfg["task"], split_rule=cfg["split"], seed=cfg["seed"],
                       max_len=cfg["max_len"], min_count=cfg["min_count"], vocab_size=cfg["vocab_size"],
                       min_len=probe.min_length, val_fraction=float(cfg.get("val_split") or 0.0))
    stats = {**read_stats, **data.stats}
    has_val = data.x_val is not None and len(data.x_val) > 0
    log(f"data: {stats['n_train']:,} train / {stats.get('n_val', 0):,} validation / {stats['n_test']:,} "
        f"test documents ({data.split} split), {len(data.labels)} labels, vocabulary {len(data.vocab):,}, "
        f"test OOV {100 * stats['test_oov_rate']:.1f}%, {stats['train_truncated']:,} train docs cut to "
        f"{data.x_train.shape[1]} tokens")
    backend.manual_seed(cfg["seed"])
    model = build_model(cfg, len(data.vocab), len(data.labels))
    if cfg.get("prior_bias", True):
        init_output_bias(model, data)
    if cfg.get("vectors"):
        stats["vectors"] = vectors_from_file(model, data.vocab, cfg, log)
    elif cfg.get("word2vec_epochs"):
        train_docs = None
        if docs is not None:             # whole documents, not the rows cut at max_len
            train_docs = document_parts(docs, task=cfg["task"], split_rule=cfg["split"], seed=cfg["seed"],
                                        val_fraction=float(cfg.get("val_split") or 0.0))[0]
        stats["vectors"] = vectors_from_training_split(model, data, cfg, log, train_docs)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = _optimizer(cfg, params)
    loss_fn = _loss_fn(cfg, model)
    soft = _softmax_scores(cfg)
    ema = WeightAverage(params, cfg["ema"]) if cfg.get("ema") else None
    # cosine decay over the planned epochs: the last epochs refine at a small step instead of
    # bouncing around the minimum at the full one
    sched = (foveanet.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg["epochs"])
             if cfg.get("schedule") == "cosine" else None)
    rng = np.random.default_rng(cfg["seed"])
    prop = propensities(data.y_train) if data.task == "multi" else None
    key = "accuracy" if data.task == "single" else "p@1"
    out = Path(out) if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", cfg)
        data.vocab.save(out / "vocab.json")
        write_json(out / "labels.json", data.labels.to_dict())
    history, best, best_state = [], None, None
    lengths = (data.x_train != 0).sum(axis=1)
    n_params = sum(int(p.data.size) for p in model.parameters())
    log(f"model: {cfg['model']} ({n_params:,} parameters), {cfg['epochs']} epochs of "
        f"{-(-len(data.x_train) // cfg['batch_size'])} batches of {cfg['batch_size']}"
        f"{', best epoch by validation ' + key if has_val else ', no validation: the last epoch is kept'}")
    for epoch in range(cfg["epochs"]):
        t0 = time.perf_counter()
        model.train()
        loss_sum, seen = 0.0, 0
        batches = (_bucketed_batches(lengths, cfg["batch_size"], rng, cfg["bucket"]) if cfg.get("bucket")
                   else _batches(len(data.x_train), cfg["batch_size"], rng))
        for idx in batches:
            logits = model(data.x_train[idx])
            loss = loss_fn(logits, data.y_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            model.apply_max_norm()
            if ema is not None:
                ema.update()
            loss_sum += float(loss.data) * len(idx)
            seen += len(idx)
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
            best_state = {k: v_.numpy().copy() for k, v_ in model.state_dict().items()} if out is None else None
            if out is not None:
                save_weights(model.state_dict(), out / "model.safetensors")
        if ema is not None:
            ema.swap()                       # back to the raw weights to go on training
        val_txt = f"val {key} {v[key]:.4f} | " if has_val else ""
        log(f"epoch {epoch + 1}/{cfg['epochs']} loss {row['train_loss']:.4f} | {val_txt}test {_headline(m)} | "
            f"{row['seconds']:.0f}s (total {row['elapsed']:.0f}s wall, {row['cpu_elapsed']:.0f}s CPU)"
            f"{' *' if improved and has_val else ''}")
        elapsed = time.perf_counter() - t_start
        if max_seconds is not None and epoch + 1 < cfg["epochs"] and \
                elapsed + row["seconds"] > max_seconds:
            log(f"stopping: another epoch would pass the {max_seconds:.0f}s budget")
            break
    metrics = {k: v for k, v in best.items() if k not in ("epoch", "train_loss", "train_seconds", "seconds", "elapsed", "cpu_elapsed")}
    metrics.update(best_epoch=best["epoch"], epochs_run=len(history),
                   selected_by=f"validation {key}" if has_val else "last epoch", history=history,
                   seconds=time.perf_counter() - t_start, cpu_seconds=time.process_time() - cpu_start,
                   n_parameters=n_params, data=stats)
    if out is not None:
        write_json(out / "metrics.json", metrics)
    else:
        model.load_state_dict(best_state)
        metrics["model"] = model
    return metrics


# ----------------------------------------------------------------------------- using a run


class LoadedRun:
    def __init__(self, path):
        from foveanet.cli.main import CLIError

        self.path = Path(path)
        need = ("config.json", "vocab.json", "labels.json", "model.safetensors")
        missing = [n for n in need if not (self.path / n).exists()]
        if missing:
            raise CLIError(f"{self.path}: not a finished text run (missing {', '.join(missing)})")
        self.config = json.loads((self.path / "config.json").read_text())
        if self.config.get("family") != "text":
            raise CLIError(f"{self.path}: not a text run (config.json has no family 'text')")
        self.vocab = Vocab.load(self.path / "vocab.json")
        self.labels = LabelVocab.from_dict(json.loads((self.path / "labels.json").read_text()))
        self.model = build_model(self.config, len(self.vocab), len(self.labels))
        self.model.load_state_dict(load_weights(self.path / "model.safetensors"))
        self.model.eval()

    def encode(self, texts):
        length = max(self.config["max_len"], self.model.min_length)
        return self.vocab.encode_batch([tokenize(t) for t in texts], length)


def load_run(path) -> LoadedRun:
    return LoadedRun(path)


def predict(run: LoadedRun, texts, k: int = 5) -> list:
    """Per text, the ``k`` best ``(label, probability)`` pairs, best first."""
    S = scores(run.model, run.encode(texts), softmax=_softmax_scores(run.config))
    k = min(k, S.shape[1])
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return [[(run.labels.itos[j], float(S[i, j])) for j in row] for i, row in enumerate(top)]


def evaluate(run: LoadedRun, data_path=None, log=print) -> dict:
    """Recompute the test metrics of a run from its data file (or ``data_path``) with the
    run's own vocabularies, split rule and seed."""
    cfg = run.config
    docs, _ = load_documents(data_path or cfg["data"], cfg.get("limit"))
    # the same validation hold-out as in training, so that the propensities (from the training
    # labels) are the ones the run was scored with
    data = prepare(docs, task=cfg["task"], split_rule=cfg["split"], seed=cfg["seed"], max_len=1,
                   val_fraction=float(cfg.get("val_split") or 0.0))
    tr_lab = data.y_train
    # re-encode with the run's vocabularies: the data file may have changed since training
    x_test = run.encode([d.text for d in data.test_docs])
    if cfg["task"] == "single":
        names = [data.labels.itos[j] if j >= 0 else None for j in data.y_test]
        y_test = np.array([run.labels.stoi.get(n, -100) if n else -100 for n in names], dtype=np.int64)
        y_train = None
    else:
        y_test = run.labels.multi_hot([d.labels for d in data.test_docs], warn=False)
        y_train = run.labels.multi_hot([data.labels.decode(r) for r in tr_lab], warn=False)
    ev = TextData(run.vocab, run.labels, None, y_train, x_test, y_test, cfg["task"], data.split)
    m = metrics_for(scores(run.model, x_test, softmax=_softmax_scores(run.config)), ev)
    log(f"{run.path}: {len(x_test):,} test documents: {_headline(m)}")
    return m
