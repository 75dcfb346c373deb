"""Data side of text training: file -> split -> token ids and label targets.

Split rule (``split="auto"``): documents that carry ids get the shared hash split
(``foveanet.data.text.split``), which is the debtags split and stays stable when the file is
rebuilt or re-ordered; a file without ids (every id is the reader's record number) has
nothing stable to hash, so it gets a seeded random split of ``test_fraction`` instead.

Validation (``val_fraction``): a seeded random share of the *training* documents is held
out before the vocabularies are fitted, so that the training loop can choose its epoch (and
its recipe) without looking at the test split; the vocabulary and labels come from what is
left.  The test split is the same whatever the fraction.

Tasks: ``multi`` trains on every label (multi-hot targets); ``single`` applies
``single_label_task`` (the ``role::`` rule) so that numbers compare with the
logistic-regression baseline.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np

from foveanet.data.text import (
    LabelVocab, Vocab, read_documents, single_label_task, split_documents, tokenize,
)
from foveanet.errors import UserError

__all__ = ["TextData", "DataError", "load_documents", "split", "document_parts", "prepare", "encode_texts"]

SPLITS = ("auto", "hash", "random")
TASKS = ("multi", "single")


class DataError(UserError, ValueError):
    """A data problem the user has to fix (empty file, nothing left to train on, ...).

    A ``ValueError`` too, so that code catching that keeps working; the CLI prints its
    message without a traceback.

    Example::

        >>> from foveanet.text import DataError, split
        >>> try:
        ...     split([], rule="alphabetical")
        ... except DataError as e:
        ...     print(e)
        unknown split 'alphabetical'; choose from ('auto', 'hash', 'random')
        >>> issubclass(DataError, ValueError)
        True
    """


@dataclass
class TextData:
    """The encoded splits of a text data set, as ``prepare`` returns them.

    Attributes:
        vocab: the token vocabulary, fitted on the training part.
        labels: the label vocabulary, fitted on the training part.
        x_train: token ids (N, L) int64, 0-padded.
        y_train: multi-hot (N, n_labels) float32 (task ``multi``) or class indices (N,)
            int64 (task ``single``).
        x_test: token ids of the test part.
        y_test: its targets; a test label unseen in training is left out (``multi``) or
            -100, the ignore index (``single``).
        task: ``'multi'`` or ``'single'``.
        split: the split rule used, ``'hash'`` or ``'random'``.
        test_docs: the test documents themselves.
        stats: counts of the preparation (documents per part, vocabulary size, OOV rate ...).
        x_val: token ids of the validation hold-out, or None without one.
        y_val: its targets, or None.

    Example::

        >>> from foveanet.data.text import Document
        >>> from foveanet.text import prepare
        >>> docs = [Document(str(i), "fast text editor" if i % 2 else "arcade shooter game",
        ...                  ("use::editing",) if i % 2 else ("use::gameplaying",))
        ...         for i in range(1, 11)]
        >>> data = prepare(docs, max_len=4, val_fraction=0.25)
        >>> data.x_train.shape, data.y_train.shape, data.x_val.shape, data.x_test.shape
        ((6, 4), (6, 2), (2, 4), (2, 4))
        >>> data.task, data.split, data.labels.itos
        ('multi', 'random', ['use::editing', 'use::gameplaying'])
    """
    vocab: Vocab
    labels: LabelVocab
    x_train: np.ndarray
    y_train: np.ndarray          # multi: (N, L) float32 multi-hot; single: (N,) int64
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    split: str                   # the rule actually used ("hash" or "random")
    test_docs: list = field(default_factory=list)
    stats: dict = field(default_factory=dict)
    x_val: np.ndarray | None = None      # held out of the training split (None: no validation)
    y_val: np.ndarray | None = None


def load_documents(path, limit: int | None = None):
    """Read a JSONL, CSV or TSV file of labelled documents for training.

    Reader errors (a malformed line, with its number; an empty file) become
    ``DataError``; documents dropped for empty text or no labels are counted in
    ``stats`` rather than announced with a warning, for the caller to print.

    Args:
        path: the file (``foveanet.data.text.read_documents`` lists the formats).
        limit: keep only the first ``limit`` documents (default None: all).

    Returns:
        tuple: ``(documents, stats)``: the documents as a list of ``Document``, and the
        reader's counts plus ``used`` (how many are returned).

    Raises:
        DataError: no such file, a malformed record, no usable document, or ``limit < 1``.

    Example::

        >>> import json, os, tempfile
        >>> from foveanet.text import load_documents
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "docs.jsonl")
        ...     with open(path, "w") as f:
        ...         print(json.dumps({"text": "Vi IMproved", "labels": ["use::editing"]}), file=f)
        ...         print(json.dumps({"text": "", "labels": ["use::editing"]}), file=f)
        ...         print(json.dumps({"text": "GNU Chess", "labels": ["use::gameplaying"]}), file=f)
        ...     docs, stats = load_documents(path)
        >>> [d.text for d in docs]
        ['Vi IMproved', 'GNU Chess']
        >>> stats
        {'read': 3, 'kept': 2, 'dropped_empty_text': 1, 'dropped_no_labels': 0, 'used': 2}
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")     # the counts are returned and printed by the caller
            docs = read_documents(path)
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise DataError(str(e)) from None
    stats = dict(docs.stats)
    if not docs:
        raise DataError(f"{path}: none of the {stats['read']} records can be used "
                        f"({stats['dropped_empty_text']} have empty text, "
                        f"{stats['dropped_no_labels']} have no labels)")
    docs = list(docs)
    if limit is not None:
        if limit < 1:
            raise DataError(f"--limit must be positive, got {limit}")
        docs = docs[:limit]
    stats["used"] = len(docs)
    return docs, stats


def _has_ids(docs) -> bool:
    # the reader numbers id-less records 1, 2, ... in file order; real ids are anything else
    prev = 0
    for d in docs:
        if not d.id.isdigit() or int(d.id) <= prev:
            return True
        prev = int(d.id)
    return False


def split(docs, rule: str = "auto", seed: int = 0, test_fraction: float = 0.2):
    """Split documents into a training and a test part.

    ``'hash'`` is the shared hash split of ``foveanet.data.text.split_documents`` (stable
    when the file is rebuilt or re-ordered); ``'random'`` is a seeded random share of
    ``test_fraction``; ``'auto'`` takes ``'hash'`` when the documents carry ids of their own
    and ``'random'`` when every id is the reader's record number.

    Args:
        docs: the documents (``Document`` s with ``id``, ``text``, ``labels``).
        rule: ``'auto'``, ``'hash'`` or ``'random'`` (default ``'auto'``).
        seed: the random split's seed (default 0).
        test_fraction: the random split's test share, in (0, 1) (default 0.2).

    Returns:
        tuple: ``(train, test, rule_used)``, the two lists and ``'hash'`` or ``'random'``.

    Raises:
        DataError: an unknown rule, a fraction outside (0, 1), or an empty part.

    Example::

        >>> from foveanet.data.text import Document
        >>> from foveanet.text import split
        >>> docs = [Document(str(i), f"text {i}", ("a",)) for i in range(1, 11)]  # record numbers
        >>> train, test, rule = split(docs, test_fraction=0.2)
        >>> len(train), len(test), rule
        (8, 2, 'random')
        >>> named = [d._replace(id=f"pkg{i}") for i, d in enumerate(docs)]
        >>> split(named)[2]
        'hash'
    """
    if rule not in SPLITS:
        raise DataError(f"unknown split {rule!r}; choose from {SPLITS}")
    if rule == "auto":
        rule = "hash" if _has_ids(docs) else "random"
    if rule == "hash":
        train, test = split_documents(docs)
    else:
        if not 0 < test_fraction < 1:
            raise DataError(f"test fraction must be in (0, 1), got {test_fraction}")
        order = np.random.default_rng(seed).permutation(len(docs))
        n_test = int(round(test_fraction * len(docs)))
        test_set = set(order[:n_test].tolist())
        train = [d for i, d in enumerate(docs) if i not in test_set]
        test = [d for i, d in enumerate(docs) if i in test_set]
    if not train or not test:
        raise DataError(f"the {rule} split left {len(train)} training and {len(test)} test "
                        f"documents; need at least one of each (use more documents)")
    return train, test, rule


def encode_texts(vocab: Vocab, texts, max_len: int, min_len: int = 1):
    """Token ids ``(N, max(max_len, min_len))`` and the encoding stats."""
    return vocab.encode_batch([tokenize(t) for t in texts], max(max_len, min_len), return_stats=True)


def document_parts(docs, *, task: str = "multi", split_rule: str = "auto", seed: int = 0,
                   test_fraction: float = 0.2, val_fraction: float = 0.0):
    """The documents ``prepare`` trains, validates and tests on, with their labels:
    ``(train, train_labels, val, val_labels, test, test_labels, stats)``, where ``stats`` holds
    the split rule used and the split's document counts (before the single-label filter).  What word
    vectors for a run may be learned from is ``train`` (never ``test``, and not the ``val``
    documents the run chooses its epoch by)."""
    if task not in TASKS:
        raise DataError(f"unknown task {task!r}; choose from {TASKS}")
    if not 0 <= val_fraction < 1:
        raise DataError(f"validation fraction must be in [0, 1), got {val_fraction}")
    train, test, rule = split(docs, split_rule, seed, test_fraction)
    stats = {"split": rule, "n_train_docs": len(train), "n_test_docs": len(test)}
    if task == "single":
        train, tr_lab, test, te_lab = single_label_task(train, test)
        if not train or not test:
            raise DataError(f"the single-label task keeps documents with a 'role::' tag: "
                            f"{len(train)} training and {len(test)} test documents have one")
    else:
        tr_lab, te_lab = [d.labels for d in train], [d.labels for d in test]
    val, va_lab = [], []
    if val_fraction > 0:
        n_val = int(round(val_fraction * len(train)))
        if not 1 <= n_val < len(train):
            raise DataError(f"a validation fraction of {val_fraction} of {len(train)} training "
                            f"documents leaves {n_val} to validate and {len(train) - n_val} to train on")
        held = np.zeros(len(train), dtype=bool)
        held[np.random.default_rng(seed).permutation(len(train))[:n_val]] = True
        val, va_lab = [d for d, h in zip(train, held) if h], [l for l, h in zip(tr_lab, held) if h]
        train, tr_lab = [d for d, h in zip(train, held) if not h], [l for l, h in zip(tr_lab, held) if not h]
    return train, tr_lab, val, va_lab, test, te_lab, stats


def prepare(docs, *, task: str = "multi", split_rule: str = "auto", seed: int = 0,
            test_fraction: float = 0.2, max_len: int = 256, min_count: int = 1,
            vocab_size: int | None = None, min_len: int = 1, val_fraction: float = 0.0) -> TextData:
    """Split, hold out validation documents, fit the vocabularies and encode every part.

    The documents are split by ``split_rule`` (see ``split``), ``val_fraction`` of the
    training part is held out (seeded by ``seed``), and the token and label vocabularies
    are fitted on what is left, so that neither sees a validation or test document.

    Args:
        docs: the documents.
        task: ``'multi'`` (every label, multi-hot targets) or ``'single'`` (the ``role::``
            label only, class indices) (default ``'multi'``).
        split_rule: ``'auto'``, ``'hash'`` or ``'random'`` (default ``'auto'``).
        seed: seed of the random split and of the validation hold-out (default 0).
        test_fraction: the random split's test share (default 0.2).
        max_len: tokens kept per document (default 256).
        min_count: a token's least count in the training part to enter the vocabulary
            (default 1).
        vocab_size: the most tokens in the vocabulary (default None: no cap).
        min_len: the least row length, for models whose widest filter needs it (default 1).
        val_fraction: the share of the training part held out, in [0, 1) (default 0).

    Returns:
        TextData: the encoded parts, the vocabularies and the counts.

    Raises:
        DataError: an unknown task or split rule, a fraction out of range, or a part left
            empty.

    Example::

        >>> from foveanet.data.text import Document
        >>> from foveanet.text import prepare
        >>> docs = [Document(str(i), "fast text editor" if i % 2 else "arcade shooter game",
        ...                  ("use::editing",) if i % 2 else ("use::gameplaying",))
        ...         for i in range(1, 11)]
        >>> data = prepare(docs, max_len=4)
        >>> data.x_train.shape, data.y_train.shape, data.x_test.shape
        ((8, 4), (8, 2), (2, 4))
        >>> data.stats["vocab_size"], data.stats["n_labels"], data.x_val is None
        (8, 2, True)
    """
    if max_len < 1:
        raise DataError(f"max length must be positive, got {max_len}")
    train, tr_lab, val, va_lab, test, te_lab, stats = document_parts(
        docs, task=task, split_rule=split_rule, seed=seed, test_fraction=test_fraction,
        val_fraction=val_fraction)
    rule = stats["split"]
    y_val = None
    if task == "single":
        labels = LabelVocab().fit(tr_lab)
        y_train = labels.index(tr_lab)
        y_test = labels.index(te_lab, warn=False)
        if val:
            y_val = labels.index(va_lab, warn=False)
        stats["test_unseen"] = int((y_test < 0).sum())
    else:
        labels = LabelVocab().fit(tr_lab)
        y_train = labels.multi_hot(tr_lab)
        if val:
            y_val = labels.multi_hot(va_lab, warn=False)
        y_test = labels.multi_hot(te_lab, warn=False)
        stats["test_unseen"] = labels.last_unseen["labels"]
        stats["test_docs_without_known_label"] = int((y_test.sum(axis=1) == 0).sum())
    vocab = Vocab(min_count=min_count, max_size=vocab_size).fit(tokenize(d.text) for d in train)
    x_train, tr_stats = encode_texts(vocab, [d.text for d in train], max_len, min_len)
    x_test, te_stats = encode_texts(vocab, [d.text for d in test], max_len, min_len)
    x_val = encode_texts(vocab, [d.text for d in val], max_len, min_len)[0] if val else None
    stats.update(n_train=len(train), n_val=len(val), n_test=len(test), n_labels=len(labels),
                 vocab_size=len(vocab), train_truncated=tr_stats["truncated_docs"],
                 test_truncated=te_stats["truncated_docs"],
                 test_oov_rate=te_stats["unknown"] / max(te_stats["tokens"], 1))
    return TextData(vocab, labels, x_train, y_train, x_test, y_test, task, rule,
                    list(test), stats, x_val, y_val)
