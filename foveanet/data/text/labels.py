"""Label vocabularies (multi-hot and single-label) and the single-label rule for debtags.

The single-label task every model uses (so that Kim-CNN numbers compare with the
logistic-regression baseline) is defined by ``single_label_task``:

    keep the document's tags of one facet (default ``role::``); if there are several, take the
    one most frequent *in the training set* (ties: alphabetical); documents with no tag of the
    facet leave the task.

Counting on the training set only keeps test labels out of the rule; picking the most
frequent tag turns e.g. ``{role::program, role::plugin}`` into the better-populated class, so
the task has few, well-filled classes (14 for ``role::``, 88 % of debtags documents).
"""
from __future__ import annotations

import warnings
from collections import Counter

import numpy as np

SINGLE_LABEL_FACET = "role::"


class LabelVocab:
    """A label <-> column map fitted on training label lists, labels sorted alphabetically.

    ``fit`` learns the labels; ``multi_hot`` and ``indices`` encode label lists (multi-label),
    ``index`` one label per document (single-label), ``decode`` goes back. Encoding reports
    labels that were not in the fitted set: ``last_unseen`` holds ``{"labels": occurrences,
    "distinct": n, "docs": documents affected}`` after each call, and a warning says so.

    Args:
        min_count: drop labels seen fewer times in training (they are then unseen) (default 1).

    Example::

        >>> from foveanet.data.text import LabelVocab
        >>> labels = LabelVocab().fit([["y", "x"], ["y"]])
        >>> labels.itos
        ['x', 'y']
        >>> labels.multi_hot([["y"], ["x", "y"]])
        array([[0., 1.],
               [1., 1.]], dtype=float32)
        >>> labels.index(["y", "x", "z"], warn=False)       # z unseen: -100, ignored by the loss
        array([   1,    0, -100])
    """

    def __init__(self, min_count: int = 1):
        self.min_count = min_count
        self.itos, self.stoi, self.counts = [], {}, Counter()
        self.last_unseen = {"labels": 0, "distinct": 0, "docs": 0}

    def fit(self, label_lists) -> "LabelVocab":
        counts = Counter()
        for labs in label_lists:
            counts.update([labs] if isinstance(labs, str) else labs)
        self.counts = counts
        self.itos = sorted(l for l, c in counts.items() if c >= self.min_count)
        self.stoi = {l: i for i, l in enumerate(self.itos)}
        return self

    def __len__(self):
        return len(self.itos)

    def __contains__(self, label):
        return label in self.stoi

    def _report(self, unseen: Counter, docs: int, where: str, warn: bool):
        self.last_unseen = {"labels": sum(unseen.values()), "distinct": len(unseen), "docs": docs}
        if unseen and warn:
            top = ", ".join(f"{l} ({c})" for l, c in unseen.most_common(3))
            warnings.warn(f"LabelVocab.{where}: {self.last_unseen['labels']} occurrences of "
                          f"{len(unseen)} labels not seen in training, in {docs} documents, "
                          f"were left out (most common: {top})", stacklevel=3)

    def multi_hot(self, label_lists, warn: bool = True) -> np.ndarray:
        """``(N, len(self))`` float32 matrix with 1 where a document has a label."""
        label_lists = list(label_lists)
        y = np.zeros((len(label_lists), len(self.itos)), dtype=np.float32)
        unseen, docs = Counter(), 0
        for r, labs in enumerate(label_lists):
            miss = False
            for l in ([labs] if isinstance(labs, str) else labs):
                j = self.stoi.get(l)
                if j is None:
                    unseen[l] += 1
                    miss = True
                else:
                    y[r, j] = 1.0
            docs += miss
        self._report(unseen, docs, "multi_hot", warn)
        return y

    def indices(self, label_lists, warn: bool = True) -> list:
        """Per document, the sorted column indices of its known labels (the sparse form
        that ``foveanet.train.ranking`` accepts)."""
        y = self.multi_hot(label_lists, warn=warn)
        return [np.flatnonzero(row).tolist() for row in y]

    def index(self, labels, ignore_index: int = -100, warn: bool = True) -> np.ndarray:
        """Single-label mode: one label per document -> int64 class indices.  Labels not seen
        in training become ``ignore_index`` (-100, what cross-entropy skips by default)."""
        out = np.empty(len(labels), dtype=np.int64)
        unseen = Counter()
        for r, l in enumerate(labels):
            if not isinstance(l, str):
                raise TypeError(f"LabelVocab.index: expected one label string per document, "
                                f"got {l!r:.60} at position {r}")
            j = self.stoi.get(l)
            if j is None:
                unseen[l] += 1
                j = ignore_index
            out[r] = j
        self._report(unseen, sum(unseen.values()), "index", warn)
        return out

    def decode(self, row) -> list:
        """Labels of a multi-hot row (nonzero entries) or of a list of indices."""
        row = np.asarray(row)
        idx = np.flatnonzero(row) if row.ndim == 1 and row.dtype.kind == "f" else row.ravel()
        return [self.itos[int(i)] for i in idx]

    def to_dict(self):
        return {"min_count": self.min_count, "itos": list(self.itos)}

    @classmethod
    def from_dict(cls, d):
        v = cls(d["min_count"])
        v.itos = list(d["itos"])
        v.stoi = {l: i for i, l in enumerate(v.itos)}
        return v

    def __repr__(self):
        return f"LabelVocab(size={len(self)}, min_count={self.min_count})"


def facet_counts(docs, facet: str = SINGLE_LABEL_FACET) -> Counter:
    """How many documents carry each tag of a facet (count on the training set).

    Args:
        docs: documents with a ``labels`` attribute.
        facet: the tag prefix (default ``'role::'``).

    Returns:
        Counter: tag -> number of documents.

    Example::

        >>> from foveanet.data.text import Document, facet_counts
        >>> docs = [Document("a", "t", ("role::program", "use::editing")),
        ...         Document("b", "t", ("role::plugin", "role::program"))]
        >>> facet_counts(docs)
        Counter({'role::program': 2, 'role::plugin': 1})
    """
    return Counter(l for d in docs for l in d.labels if l.startswith(facet))


def pick_single_label(labels, counts: Counter, facet: str = SINGLE_LABEL_FACET):
    """The document's one label for the single-label task, or None when it has no tag of the facet.

    The rule: of the document's tags of ``facet``, the one most frequent in the training
    set (``counts``); ties go to the alphabetically first.

    Args:
        labels: the document's labels.
        counts: training-set counts, from ``facet_counts``.
        facet: the tag prefix (default ``'role::'``).

    Returns:
        str or None.

    Example::

        >>> from collections import Counter
        >>> from foveanet.data.text import pick_single_label
        >>> counts = Counter({"role::program": 3, "role::plugin": 2})
        >>> pick_single_label(("role::plugin", "role::program"), counts)
        'role::program'
        >>> pick_single_label(("use::editing",), counts) is None
        True
    """
    cands = [l for l in labels if l.startswith(facet)]
    if not cands:
        return None
    return min(cands, key=lambda l: (-counts.get(l, 0), l))


def single_label_task(train, test, facet: str = SINGLE_LABEL_FACET):
    """The single-label task: each document's one tag of a facet, counted on the training set.

    Applies ``pick_single_label`` with the counts of ``train``, to both splits; documents
    with no tag of ``facet`` leave the task.

    Args:
        train: training documents (``labels`` attribute).
        test: test documents.
        facet: the tag prefix (default ``'role::'``).

    Returns:
        tuple: ``(train_docs, train_labels, test_docs, test_labels)``.

    Example::

        >>> from foveanet.data.text import Document, single_label_task
        >>> train = [Document("a", "t", ("role::program",)),
        ...          Document("b", "t", ("role::plugin", "role::program")),
        ...          Document("c", "t", ("use::editing",))]
        >>> test = [Document("d", "t", ("role::plugin", "role::program"))]
        >>> train_docs, train_labels, test_docs, test_labels = single_label_task(train, test)
        >>> [d.id for d in train_docs], train_labels, test_labels
        (['a', 'b'], ['role::program', 'role::program'], ['role::program'])
    """
    counts = facet_counts(train, facet)
    out = []
    for docs in (train, test):
        kept = [(d, pick_single_label(d.labels, counts, facet)) for d in docs]
        kept = [(d, l) for d, l in kept if l is not None]
        out += [[d for d, _ in kept], [l for _, l in kept]]
    return tuple(out)
