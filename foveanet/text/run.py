"""Train, evaluate and use text CNNs; a run directory like the image Trainer's.

    RUN/config.json        every setting (what `evaluate` and `predict` rebuild from)
    RUN/metrics.json       the chosen epoch's test metrics at top level (p@k, ndcg@k, psp@k ...),
                           its validation metrics under ``val``, per-epoch ``history`` (test
                           metrics and ``val``), ``best_epoch``, ``selected_by``, ``seconds``,
                           ``cpu_seconds``, data counts
    RUN/model.safetensors  the chosen epoch's weights (PyTorch key names); an ensemble of n
                           adds model-2.safetensors ... model-n.safetensors, one per member, and
                           metrics.json then holds the ensemble's metrics with each member's
                           kept epoch under ``members``

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

Data-parallel: launched by ``mpirun -n p`` (after ``foveanet.distributed.init_process_group``)
every rank reads and prepares the same data, builds the same model and trains each member
on its share of every batch (``foveanet.text.fit``); ``batch_size`` is the global batch.
Rank 0 alone logs and writes the run directory, from the plain model, so ``evaluate`` and
``predict`` read it in one process.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from foveanet import backend
from foveanet.data.text import LabelVocab, Vocab, tokenize
from foveanet.errors import RunError
from foveanet.train.checkpoint import write_json
from foveanet.train.run import read_weights
from foveanet.train.ranking import propensities
from foveanet.text.fit import (
    ROW_KEYS, _any_rank, _headline, _ranks, _softmax_scores, check_global_batch, fit, metrics_for, scores,
)
from foveanet.text.pipeline import DataError, TextData, document_parts, load_documents, prepare
from foveanet.text.word_vectors import vectors_from_file, vectors_from_training_split

__all__ = ["MODELS", "DEFAULTS", "build_model", "train", "evaluate", "load_run", "predict", "scores"]

MODELS = ("xml-cnn", "textcnn")

# Sized for the 20-minute CPU budget: conv cost grows with embed_dim * max_len * num_filters;
# length-bucketed batches let the padding skip convolve only up to each batch's longest
# document, so a longer max_len costs little.  Measured on debtags (benchmarks/results-text.md,
# 2026-11-24/25 runs; epoch chosen on the 10 % validation hold-out, test numbers of that epoch;
# TF-IDF + LinearSVC scores test P@1 0.8706, P@3 0.6263, P@5 0.4747):
#   xml-cnn, one model (1 BLAS thread pinned to one core, OPENBLAS_CORETYPE=SKYLAKEX): 256
#            filters per width, 8 pooling chunks, 1024 hidden units, AdamW (decoupled weight
#            decay 0.1), softmax loss over the labels, weight EMA 0.999, 10 epochs, cosine from
#            2e-3: validation P@1 0.8731 (epoch 5); test P@1 0.8716, P@3 0.5942, P@5 0.4359 in
#            931 s CPU -- P@1 level with the baseline, P@3/P@5 short; seed 1 gave test P@1
#            0.8607, so not reliably above.  128 filters, 4 chunks, 512 hidden, Adam, no decay
#            (F2) under the same conditions: validation 0.8699, test 0.8607 / 0.5887 / 0.4323
#            in 449 s CPU (0.8602 / 0.5898 / 0.4328 with other BLAS kernels).
#   word2vec vectors learned on the run's training documents (word2vec_epochs 5) as the
#            embedding's start: test P@1 0.8663 / 0.8786 (seeds 0 / 1), mean of four vector
#            runs 0.873, against 0.8716 / 0.8607 from a random start.
#   ensemble 2: two such models, 6 epochs each (cosine over 6), scored by the mean of their
#            softmax scores: test P@1 0.8788 (members 0.8708, 0.8724), P@3 0.6014, P@5 0.4468
#            in 1,050 s on 2 threads (word2vec included); one 6-epoch model alone gave 0.8678:
#            the members' errors differ enough for the mean to beat both.
#   textcnn (single-label role:: task): 81.98 % accuracy (epoch 4 of 6) in 135 s CPU; logistic
#            regression 83.0 %; E=128 + cosine + 10 epochs gave 81.96 %, so E=64 and 6 epochs.
DEFAULTS = {
    "xml-cnn": dict(epochs=6, batch_size=64, lr=2e-3, max_len=256, embed_dim=128, pool_chunks=8,
                    hidden=1024, num_filters=256, min_count=2, vocab_size=None, dropout=0.5,
                    bucket=16.0, schedule="cosine", val_split=0.1, loss="softmax", optimizer="adamw",
                    weight_decay=0.1, ema=0.999, embed_dropout=0.0, word2vec_epochs=5, ensemble=2),
    "textcnn": dict(epochs=6, batch_size=64, lr=1e-3, max_len=128, embed_dim=64, pool_chunks=None,
                    hidden=None, num_filters=100, min_count=2, vocab_size=None, dropout=0.5,
                    val_split=0.1, loss="bce", optimizer="adam", weight_decay=0.0, ema=None, word2vec_epochs=0,
                    ensemble=1),
}


def build_model(cfg: dict, vocab_size: int, n_labels: int):
    """The network a text config names, with fresh weights: XML-CNN or Kim's TextCNN.

    Args:
        cfg: a config from ``make_config`` (``model``, ``task`` and the layer sizes).
        vocab_size: rows of the embedding (the vocabulary's length).
        n_labels: outputs (the label vocabulary's length).

    Returns:
        Module: ``XMLCNN`` or ``TextCNN``, mapping token ids (N, L) to logits (N, n_labels).

    Raises:
        DataError: an unknown model, or XML-CNN asked for the single-label task.

    Example::

        >>> from foveanet.text import build_model, make_config
        >>> cfg = make_config("textcnn", embed_dim=8, num_filters=4)
        >>> model = build_model(cfg, vocab_size=50, n_labels=3)
        >>> type(model).__name__, model(np.zeros((2, 10), np.int64)).shape
        ('TextCNN', (2, 3))
    """
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
    """A text run's settings: the model's ``DEFAULTS`` with ``overrides`` on top.

    Args:
        model: ``'xml-cnn'`` or ``'textcnn'`` (default ``'xml-cnn'``).
        data: the data file ``train`` reads when given no documents (default None).
        task: ``'multi'`` or ``'single'`` (default ``'multi'``).
        seed: initial weights, dropout, batch order and the data split (default 0).
        limit: use only the first ``limit`` documents (default None: all).
        split: the split rule, ``'auto'``, ``'hash'`` or ``'random'`` (default ``'auto'``).
        **overrides: any key of ``DEFAULTS[model]`` (``epochs``, ``lr``, ``ensemble`` ...) or
            ``vectors`` (a word-vector file); None values are ignored. A ``vectors`` file
            turns the word2vec pass off unless ``word2vec_epochs`` is given.

    Returns:
        dict: every setting, as ``config.json`` records it.

    Raises:
        DataError: an unknown model.

    Example::

        >>> from foveanet.text import make_config
        >>> cfg = make_config("textcnn", data="docs.jsonl", epochs=2, lr=None)
        >>> cfg["model"], cfg["data"], cfg["epochs"], cfg["lr"], cfg["num_filters"]
        ('textcnn', 'docs.jsonl', 2, 0.001, 100)
        >>> make_config(vectors="vec.txt")["word2vec_epochs"]  # the file replaces the word2vec pass
        0
    """
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


def member_file(m: int) -> str:
    """Weights file of ensemble member ``m`` (0-based): model.safetensors, model-2.safetensors, ..."""
    return "model.safetensors" if m == 0 else f"model-{m + 1}.safetensors"


def ensemble_scores(models, x: np.ndarray, softmax: bool | None = None) -> np.ndarray:
    """The mean of the members' scores (one model: its own)."""
    return sum(scores(mdl, x, softmax=softmax) for mdl in models) / len(models)


def train(cfg: dict, out=None, docs=None, data: TextData | None = None, log=print,
          max_seconds: float | None = None, device=None) -> dict:
    """Train a text CNN (or an ensemble of them) by ``cfg`` and report its test metrics.

    Each of the ``ensemble`` members (default 1) keeps its epoch with the best validation
    P@1 (see ``fit``), and the run scores with the mean of the members' scores. The members
    share the data, the vocabulary and the word vectors; each has its own initial weights
    and batch order (seed + m).

    Args:
        cfg: the settings, from ``make_config``.
        out: the run directory to write (default None: nothing is written, and the
            returned dict holds the model(s) under ``model``).
        docs: the documents (default None: read from ``cfg['data']``).
        data: documents already prepared by ``prepare`` (default None).
        log: called with each progress line (default ``print``).
        max_seconds: a time budget shared out among the members still to train; an epoch
            that would pass it is not started (default None: no budget).
        device: where the members train (``'cuda'``: a GPU); the kept weights come back to
            the host (default None: the CPU).

    Under a process group of several ranks, every rank calls ``train`` alike and trains
    data-parallel; rank 0 alone calls ``log`` and writes ``out``; every rank returns the
    metrics (the same numbers, but for the timings).

    Returns:
        dict: the metrics, as metrics.json holds them (the module docstring lists them).

    Raises:
        DataError: settings that cannot work together.
        DistributedError: under p ranks, a ``batch_size`` that p does not divide.
    """
    t_start, cpu_start = time.perf_counter(), time.process_time()
    rank, world = _ranks()
    check_global_batch(cfg["batch_size"])
    keep_models = out is None
    if rank != 0:
        out, log = None, (lambda line: None)
    if cfg.get("vectors") and cfg.get("word2vec_epochs"):
        raise DataError("give either vectors (a file) or word2vec_epochs (learn them here), not both")
    members = int(1 if cfg.get("ensemble") is None else cfg["ensemble"])
    if members < 1:
        raise DataError(f"ensemble must be at least 1 model, got {members}")
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
        # not parallelised: every rank runs the same word2vec pass with the same seed (and DDP
        # then copies rank 0's embedding to all ranks anyway)
        train_docs = None
        if docs is not None:             # whole documents, not the rows cut at max_len
            train_docs = document_parts(docs, task=cfg["task"], split_rule=cfg["split"], seed=cfg["seed"],
                                        val_fraction=float(cfg.get("val_split") or 0.0))[0]
        stats["vectors"] = vectors_from_training_split(model, data, cfg, log, train_docs)
    # learned or read word vectors are shared by every member; a random start is each member's own
    shared_vectors = "vectors" in stats
    start_embedding = model.embedding.weight.data.copy() if shared_vectors else None
    out = Path(out) if out is not None else None
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "config.json", cfg)
        data.vocab.save(out / "vocab.json")
        write_json(out / "labels.json", data.labels.to_dict())
    key = "accuracy" if data.task == "single" else "p@1"
    parallel = (f", data-parallel on {world} ranks: {cfg['batch_size'] // world} documents each per step"
                if world > 1 else "")
    log(f"model: {cfg['model']} ({sum(int(p.data.size) for p in model.parameters()):,} parameters)"
        f"{f' x {members} (an ensemble: the mean of their scores)' if members > 1 else ''}, "
        f"{cfg['epochs']} epochs of {-(-len(data.x_train) // cfg['batch_size'])} batches of "
        f"{cfg['batch_size']}{', best epoch by validation ' + key if has_val else ', no validation: the last epoch is kept'}"
        f"{parallel}")
    fits, models = [], []
    for m in range(members):
        if m:
            backend.manual_seed(cfg["seed"] + m)
            model = build_model(cfg, len(data.vocab), len(data.labels))
            if cfg.get("prior_bias", True):
                init_output_bias(model, data)
            if shared_vectors:
                model.embedding.weight.data[...] = start_embedding
        budget = None
        if max_seconds is not None:
            budget = (max_seconds - (time.perf_counter() - t_start)) / (members - m)
            # a member trains at least one epoch: one that cannot fit it is not started
            if fits and _any_rank(budget < fits[-1]["history"][0]["seconds"], world):
                log(f"stopping after {m} of {members} members: the next would pass the "
                    f"{max_seconds:.0f}s budget")
                break
        result = fit(model, cfg, data, seed=cfg["seed"] + m, log=log, max_seconds=budget,
                     weights_path=None if out is None else out / member_file(m),
                     prefix=f"member {m + 1}/{members} " if members > 1 else "", device=device)
        model.load_state_dict(result.pop("state"))
        fits.append(result)
        models.append(model)
    if len(models) < members:  # the run is the ensemble it trained; evaluate/predict load that
        cfg = {**cfg, "ensemble": len(models)}
        if out is not None:
            write_json(out / "config.json", cfg)
    metrics = _run_metrics(fits, models, cfg, data, log)
    metrics.update(seconds=time.perf_counter() - t_start, cpu_seconds=time.process_time() - cpu_start,
                   data=stats)
    if out is not None:
        write_json(out / "metrics.json", metrics)
    if keep_models:
        metrics["model"] = models[0] if len(models) == 1 else models
    return metrics


def _run_metrics(fits, models, cfg, data, log) -> dict:
    """metrics.json's content: one member's kept epoch, or the ensemble's scores (its test and
    validation metrics at top level, each member's kept epoch under ``members``)."""
    has_val = data.x_val is not None and len(data.x_val) > 0
    key = "accuracy" if data.task == "single" else "p@1"
    selected = f"validation {key}" if has_val else "last epoch"
    if len(fits) == 1:
        best = fits[0]["best"]
        metrics = {k: v for k, v in best.items() if k not in ROW_KEYS}
        metrics.update(best_epoch=best["epoch"], epochs_run=len(fits[0]["history"]), selected_by=selected,
                       history=fits[0]["history"], n_parameters=fits[0]["n_parameters"])
        return metrics
    soft = _softmax_scores(cfg)
    prop = propensities(data.y_train) if data.task == "multi" else None
    metrics = metrics_for(ensemble_scores(models, data.x_test, soft), data, prop)
    if has_val:
        metrics["val"] = metrics_for(ensemble_scores(models, data.x_val, soft), data, prop, y=data.y_val)
    members = [{"best_epoch": f["best"]["epoch"], "epochs_run": len(f["history"]),
                **{k: v for k, v in f["best"].items() if k not in ROW_KEYS}, "history": f["history"]}
               for f in fits]
    metrics.update(ensemble=len(fits), members=members, selected_by=f"{selected}, per member",
                   best_epoch=[m["best_epoch"] for m in members],
                   epochs_run=[m["epochs_run"] for m in members],
                   n_parameters=sum(f["n_parameters"] for f in fits))
    log(f"ensemble of {len(fits)}: test {_headline(metrics)} (members: "
        + ", ".join(f"P@1 {m[key]:.4f}" if key == "p@1" else f"acc {100 * m[key]:.2f}%" for m in members) + ")")
    return metrics


# ----------------------------------------------------------------------------- using a run


class LoadedRun:
    def __init__(self, path):
        self.path = Path(path)
        need = ("config.json", "vocab.json", "labels.json", "model.safetensors")
        missing = [n for n in need if not (self.path / n).exists()]
        if missing:
            raise RunError(f"{self.path}: not a finished text run (missing {', '.join(missing)})")
        self.config = json.loads((self.path / "config.json").read_text())
        if self.config.get("family") != "text":
            raise RunError(f"{self.path}: not a text run (config.json has no family 'text')")
        self.vocab = Vocab.load(self.path / "vocab.json")
        self.labels = LabelVocab.from_dict(json.loads((self.path / "labels.json").read_text()))
        files = [member_file(m) for m in range(int(self.config.get("ensemble") or 1))]
        missing = [f for f in files if not (self.path / f).exists()]
        if missing:
            raise RunError(f"{self.path}: an ensemble of {len(files)} is missing {', '.join(missing)}")
        self.models = []
        for f in files:
            model = build_model(self.config, len(self.vocab), len(self.labels))
            model.load_state_dict(read_weights(self.path / f))
            model.eval()
            self.models.append(model)
        self.model = self.models[0]

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The run's scores for token ids ``x`` (an ensemble's: the mean of its members')."""
        return ensemble_scores(self.models, x, softmax=_softmax_scores(self.config))

    def encode(self, texts):
        length = max(self.config["max_len"], self.model.min_length)
        return self.vocab.encode_batch([tokenize(t) for t in texts], length)


def load_run(path) -> LoadedRun:
    """A finished text run, ready for ``predict`` and ``evaluate``.

    Args:
        path: the run directory ``train`` wrote.

    Returns:
        LoadedRun: with ``config`` (config.json), ``vocab`` and ``labels`` (the run's
        vocabularies), ``models`` (every ensemble member, in eval mode) and ``model`` (the
        first), and ``scores(x)`` / ``encode(texts)``.

    Raises:
        RunError: not a text run, or a file of it is missing.

    Example::

        >>> import tempfile
        >>> from foveanet.data.text import Document
        >>> from foveanet.text import load_run, make_config, train
        >>> docs = [Document(str(i), "a fast text editor" if i % 2 else "an arcade game",
        ...                  ("use::editing",) if i % 2 else ("use::gameplaying",))
        ...         for i in range(1, 21)]
        >>> cfg = make_config("textcnn", embed_dim=8, num_filters=4, epochs=1)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     _ = train(cfg, out=out, docs=docs, log=lambda line: None)
        ...     run = load_run(out)
        >>> run.config["model"], run.labels.itos, len(run.models)
        ('textcnn', ['use::editing', 'use::gameplaying'], 1)
        >>> run.encode(["a fast editor"]).shape  # max_len 128 tokens
        (1, 128)
    """
    return LoadedRun(path)


def predict(run: LoadedRun, texts, k: int = 5) -> list:
    """The ``k`` most likely labels of each text, by a loaded run.

    Args:
        run: from ``load_run``.
        texts: the texts (strings), tokenized and encoded with the run's vocabulary.
        k: labels per text (default 5; at most the number of labels).

    Returns:
        list: per text, the ``k`` best ``(label, probability)`` pairs, best first.

    Example::

        >>> import tempfile
        >>> from foveanet.data.text import Document
        >>> from foveanet.text import load_run, make_config, predict, train
        >>> docs = [Document(str(i), "a fast text editor for code" if i % 2 else
        ...                  "an arcade shooter game with levels",
        ...                  ("use::editing",) if i % 2 else ("use::gameplaying",))
        ...         for i in range(1, 41)]
        >>> cfg = make_config("textcnn", embed_dim=8, num_filters=4, epochs=8, lr=5e-2,
        ...                   val_split=0)
        >>> with tempfile.TemporaryDirectory() as out:
        ...     _ = train(cfg, out=out, docs=docs, log=lambda line: None)
        ...     top = predict(load_run(out), ["a text editor", "a shooter game"], k=2)
        >>> [[label for label, p in row] for row in top]
        [['use::editing', 'use::gameplaying'], ['use::gameplaying', 'use::editing']]
        >>> all(0 < p < 1 for row in top for _, p in row)
        True
    """
    S = run.scores(run.encode(texts))
    k = min(k, S.shape[1])
    top = np.argsort(-S, axis=1, kind="stable")[:, :k]
    return [[(run.labels.itos[j], float(S[i, j])) for j in row] for i, row in enumerate(top)]


def evaluate(run: LoadedRun, data_path=None, log=print) -> dict:
    """Recompute a run's test metrics from its data file, with the run's own vocabularies.

    The file is split again by the run's split rule and seed (and the same validation
    hold-out, so that the propensities come from the same training labels); the test
    documents are encoded with the run's vocabulary and scored by its model(s).

    Args:
        run: from ``load_run``.
        data_path: the data file (default None: the run's ``config["data"]``).
        log: called with the one-line summary (default ``print``).

    Returns:
        dict: the test metrics, as in metrics.json (``p@k``, ``ndcg@k``, ``psp@k`` ... for
        ``multi``; ``accuracy``, ``macro_f1`` for ``single``).

    Example::

        >>> import json, os, tempfile
        >>> from foveanet.text import evaluate, load_run, make_config, train
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "docs.jsonl")
        ...     with open(path, "w") as f:
        ...         for i in range(40):
        ...             doc = ({"text": "a fast text editor for code", "labels": ["use::editing"]}
        ...                    if i % 2 else {"text": "an arcade shooter game with levels",
        ...                                   "labels": ["use::gameplaying"]})
        ...             print(json.dumps(doc), file=f)
        ...     cfg = make_config("textcnn", data=path, embed_dim=8, num_filters=4, epochs=8,
        ...                       lr=5e-2, val_split=0)
        ...     _ = train(cfg, out=os.path.join(tmp, "run"), log=lambda line: None)
        ...     metrics = evaluate(load_run(os.path.join(tmp, "run")), log=lambda line: None)
        >>> metrics["n_docs"], metrics["p@1"]
        (8, 1.0)
    """
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
    m = metrics_for(run.scores(x_test), ev)
    log(f"{run.path}: {len(x_test):,} test documents: {_headline(m)}")
    return m
