"""Starting the embedding of a text CNN from word vectors instead of random numbers.

Kim (2014) and Liu et al. (2017) start from word2vec vectors trained on a large corpus. None is
available offline here, so there are two sources, both as good as the documents they come from:

* ``vectors_from_file``: a word2vec text / GloVe file (``cfg["vectors"]``), e.g. one written by
  ``foveanet text embed``, whose ``.json`` says which documents it was learned from;
* ``vectors_from_training_split``: skip-gram with negative sampling (``foveanet.text.word2vec``)
  run first, inside the run, on the run's own training documents (``cfg["word2vec_epochs"]``
  passes; never the validation or test documents), its time counted in the run's time.

Either way a found word's vector replaces its random row, scaled so that the rows keep the random
init's spread (``RANDOM_EMBED_RMS``); ``<pad>`` stays zero and words without a vector keep theirs.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from foveanet.text.pipeline import DataError, TextData

__all__ = ["RANDOM_EMBED_RMS", "init_embedding", "set_embedding", "vectors_from_file",
           "vectors_from_training_split"]

# the spread of the random word vectors (U(-0.25, 0.25), Kim's): pretrained ones are scaled to it
RANDOM_EMBED_RMS = 0.25 / np.sqrt(3.0)


class _WordFilter:
    """``in`` for load_vectors: a file word is wanted if it, or its lower-cased form, is in the
    vocabulary (embedding_matrix falls back to the lower-cased word)."""

    def __init__(self, vocab):
        self.vocab = vocab

    def __contains__(self, word):
        return word in self.vocab or word.lower() in self.vocab


def set_embedding(model, vocab, words, vecs, match_rms: bool = True) -> dict:
    """Copy the vectors ``vecs`` of ``words`` into ``model.embedding`` for every vocabulary word
    among them (or whose lower-cased form is); the others, ``<unk>`` included, keep the model's
    random init, and ``<pad>`` stays zero.  With ``match_rms`` the found vectors are multiplied
    by one factor (cosines and relative norms unchanged) so that their root-mean-square entry is
    that of the random init, 0.144: the rest of the recipe (learning rate, weight decay, filter
    init) was tuned at that scale, and rows found and not found stay comparable.  Returns
    ``{"found", "total", "rate", "scale"}``."""
    from foveanet.data.text import embedding_matrix

    W = model.embedding.weight.data
    if vecs.shape[1] != W.shape[1]:
        raise DataError(f"vectors of dimension {vecs.shape[1]}, but the model's embedding has "
                        f"{W.shape[1]} (set embed_dim / --embed-dim to {vecs.shape[1]})")
    mat, cov = embedding_matrix(vocab, words, vecs)
    have = set(words) | {w.lower() for w in words}           # embedding_matrix's lookup
    n_special = len(getattr(vocab, "specials", ()))
    found = np.array([i >= n_special and vocab.itos[i] in have for i in range(len(vocab))], dtype=bool)
    scale = 1.0
    if match_rms and found.any():
        rms = float(np.sqrt(np.mean(np.square(mat[found], dtype=np.float64))))
        scale = RANDOM_EMBED_RMS / rms if rms > 0 else 1.0
    W[found] = (mat[found] * scale).astype(W.dtype)
    return {"found": int(found.sum()), "total": cov["total"],
            "rate": int(found.sum()) / cov["total"] if cov["total"] else 0.0, "scale": scale}


def init_embedding(model, vocab, path, match_rms: bool = True) -> dict:
    """``set_embedding`` from the word vectors in ``path`` (word2vec text or GloVe, gzip ok);
    the returned dict also holds ``"path"``."""
    from foveanet.data.text import load_vectors

    try:
        words, vecs = load_vectors(path, vocab=_WordFilter(vocab))
    except FileNotFoundError:
        raise DataError(f"{path}: no such vector file") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(str(e)) from None
    try:
        return {"path": str(path), **set_embedding(model, vocab, words, vecs, match_rms)}
    except DataError as e:
        raise DataError(f"{path}: {e}") from None


def _check_holdout(cfg, info, log) -> None:
    """Warn when the vectors were learned on documents this run validates or tests on."""
    if not info:
        log(f"note: {cfg['vectors']} has no .json beside it: cannot check that it was learned "
            f"without this run's validation and test documents")
        return
    mine = {"task": cfg["task"], "split": cfg["split"], "seed": int(cfg["seed"]),
            "val_split": float(cfg.get("val_split") or 0.0), "limit": cfg.get("limit")}
    theirs = {k: info.get(k) for k in mine}
    data = cfg.get("data")
    if info.get("data_sha256") and data and Path(data).is_file():
        from foveanet.text.word2vec import file_sha256

        if file_sha256(data) != info["data_sha256"]:
            log(f"warning: the vectors were learned from {info.get('data')}, whose contents differ from "
                f"{data} (SHA-256): the hold-outs cannot be checked")
    elif info.get("data") and data and Path(info["data"]).name != Path(data).name:
        log(f"warning: the vectors were learned from {info['data']}, this run reads {data}")
    if theirs != mine:
        diff = ", ".join(f"{k} {theirs[k]} (this run: {mine[k]})" for k in mine if theirs[k] != mine[k])
        log(f"warning: the vectors were learned with another hold-out ({diff}): some of this "
            f"run's validation documents may have been in their corpus")


def vectors_from_file(model, vocab, cfg: dict, log=print) -> dict:
    """Initialise from the file ``cfg["vectors"]``; checks its ``.json`` (``foveanet text
    embed``'s) against this run's hold-out and records the time it took, which is *not* in
    this run's seconds."""
    from foveanet.text.word2vec import vectors_info

    stats = init_embedding(model, vocab, cfg["vectors"])
    info = vectors_info(cfg["vectors"])
    _check_holdout(cfg, info, log)
    learned = info is not None and info.get("cpu_seconds") is not None
    if learned:
        stats["sgns_seconds"] = info.get("seconds")
        stats["sgns_cpu_seconds"] = info["cpu_seconds"]
    log(f"vectors: {stats['found']:,} of {stats['total']:,} words found in {cfg['vectors']} "
        f"({100 * stats['rate']:.1f}%; the rest keep the random init), scaled by "
        f"{stats['scale']:.3f} to the random init's RMS {RANDOM_EMBED_RMS:.3f}"
        + (f"; learned in {info['cpu_seconds']:.0f} s CPU, not counted in this run's time" if learned else ""))
    return stats


def vectors_from_training_split(model, data: TextData, cfg: dict, log=print, train_docs=None) -> dict:
    """Learn word vectors by SGNS on the run's training documents for ``cfg["word2vec_epochs"]``
    passes, seeded by the run's seed, then ``set_embedding``.  The corpus is ``train_docs``
    (the Documents ``data.x_train`` was encoded from, whole: not cut at ``max_len``) tokenized
    as the run tokenizes, or, without them, the encoded rows of ``data.x_train``; either way
    restricted to the run's vocabulary (words under its min count are dropped before the
    windows are formed, as word2vec drops its own rare words)."""
    from foveanet.data.text import tokenize
    from foveanet.text.word2vec import SGNS_DEFAULTS, train_sgns

    t0, c0 = time.perf_counter(), time.process_time()
    vocab = data.vocab
    n_special = len(getattr(vocab, "specials", ()))
    if train_docs is not None:
        if len(train_docs) != len(data.x_train):
            raise ValueError(f"{len(train_docs)} training documents for {len(data.x_train)} encoded rows")
        known = set(vocab.itos[n_special:])
        docs = [[t for t in tokenize(d.text) if t in known] for d in train_docs]
    else:
        docs = [[vocab.itos[i] for i in row if i >= n_special] for row in data.x_train.tolist()]
    settings = {**SGNS_DEFAULTS, "dim": int(model.embedding.weight.shape[1]),
                "epochs": int(cfg["word2vec_epochs"]), "seed": int(cfg["seed"]), "min_count": 1}
    if settings["epochs"] < 0:
        raise DataError(f"word2vec_epochs must be >= 0 (0: random word vectors), got {settings['epochs']}")
    try:
        words, vecs, sg = train_sgns(docs, log=log, **settings)
    except ValueError as e:
        raise DataError(f"{e} (the run's vocabulary; set word2vec_epochs / --word2vec-epochs to 0 "
                        f"to start from random word vectors)") from None
    stats = set_embedding(model, data.vocab, words, vecs)
    stats.update(source="word2vec on the training split", sgns=settings, tokens=sg["tokens"],
                 pairs=sg["pairs"], loss_per_epoch=sg["loss_per_epoch"],
                 seconds=time.perf_counter() - t0, cpu_seconds=time.process_time() - c0)
    log(f"vectors: word2vec (skip-gram, negative sampling) on the {len(docs):,} training documents, "
        f"{settings['epochs']} passes: {stats['found']:,} of {stats['total']:,} words, scaled by "
        f"{stats['scale']:.3f} to the random init's RMS {RANDOM_EMBED_RMS:.3f}; "
        f"{stats['seconds']:.0f} s ({stats['cpu_seconds']:.0f} s CPU), counted in this run's time")
    return stats
