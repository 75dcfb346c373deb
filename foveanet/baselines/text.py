"""Linear baselines for the text tasks: the numbers a text CNN has to beat.

Multi-label: TF-IDF of word 1-2 grams (sublinear tf, min_df 2) + one-vs-rest LinearSVC
(C=0.5), ranked by the SVM margins -- the reference in shared/data/README.md beside the checkout.
Single-label: the same features + multinomial logistic regression on the label chosen by
``foveanet.data.text.single_label_task`` (``role::`` facet).

scikit-learn is an optional dependency (``pip install foveanet[baselines]``).
"""
from __future__ import annotations

import time
import warnings

import numpy as np

from foveanet.data.text import (
    LabelVocab, read_documents, single_label_task, split_documents, tokenize,
)
from foveanet.train.ranking import accuracy, f1_scores, propensities, ranking_report


def _sklearn():
    try:
        import sklearn  # noqa: F401
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.svm import LinearSVC
    except ImportError as e:
        raise ImportError("the text baselines need scikit-learn: pip install foveanet[baselines]") from e
    return TfidfVectorizer, LinearSVC, OneVsRestClassifier, LogisticRegression


def tfidf_vectorizer(tokenizer: str = "sklearn", min_df: int = 2):
    """Word 1-2 gram TF-IDF with sublinear tf.  ``tokenizer="sklearn"`` is scikit-learn's
    default word pattern (what the README reference used); ``"foveanet"`` is
    ``foveanet.data.text.tokenize`` (the CNNs' tokens)."""
    TfidfVectorizer = _sklearn()[0]
    kw = dict(ngram_range=(1, 2), sublinear_tf=True, min_df=min_df, dtype=np.float32)
    if tokenizer == "foveanet":
        kw.update(tokenizer=tokenize, lowercase=False, token_pattern=None)
    elif tokenizer != "sklearn":
        raise ValueError(f"tfidf_vectorizer: tokenizer must be 'sklearn' or 'foveanet', got {tokenizer!r}")
    return TfidfVectorizer(**kw)


def _load(path, documents, limit):
    docs = documents if documents is not None else read_documents(path)
    if limit is not None:
        docs = list(docs)[:limit]
    return split_documents(docs)


def run_text_baseline(path=None, *, documents=None, limit: int | None = None, C: float = 0.5,
                      min_df: int = 2, tokenizer: str = "sklearn", ks=(1, 3, 5),
                      n_jobs: int | None = None, return_scores: bool = False) -> dict:
    """Train the multi-label baseline on the shared split's train part, score the test part.

    ``documents`` (instead of ``path``) passes already-read documents; ``limit`` keeps the
    first ``limit`` documents before splitting (for quick runs).  The label set is the
    training set's: test labels never seen in training cannot be ranked and are left out of
    the test truth (their occurrences are counted in ``n_test_unseen_labels``; 3 on debtags).
    Returns ``ranking_report``'s dict (with ``psp@k`` from training propensities) plus
    ``n_train``, ``n_test``, ``n_features``, ``n_test_unseen_labels``, ``seconds``.
    """
    t0 = time.perf_counter()
    _, LinearSVC, OneVsRestClassifier, _ = _sklearn()
    train, test = _load(path, documents, limit)
    if not train or not test:
        raise ValueError(f"run_text_baseline: empty split ({len(train)} train, {len(test)} test)")
    labels = LabelVocab().fit(d.labels for d in train)
    Y_train = labels.multi_hot([d.labels for d in train])
    Y_test = labels.multi_hot([d.labels for d in test], warn=False)
    unseen = labels.last_unseen
    vec = tfidf_vectorizer(tokenizer, min_df)
    X_train = vec.fit_transform([d.text for d in train])
    X_test = vec.transform([d.text for d in test])
    clf = OneVsRestClassifier(LinearSVC(C=C), n_jobs=n_jobs)
    with warnings.catch_warnings():
        # a label present in every training document is a constant; sklearn says so per label
        warnings.filterwarnings("ignore", message="Label .* is present in all training examples")
        clf.fit(X_train, Y_train)
    S = clf.decision_function(X_test)
    if S.ndim == 1:
        S = S[:, None]
    report = ranking_report(S, Y_test, ks=ks, propensities=propensities(Y_train))
    report.update(n_train=len(train), n_test=len(test), n_features=len(vec.vocabulary_),
                  n_test_unseen_labels=unseen["labels"], seconds=time.perf_counter() - t0)
    if return_scores:
        report["scores"], report["targets"] = S, Y_test
    return report


def run_single_label_baseline(path=None, *, documents=None, limit: int | None = None,
                              C: float = 10.0, min_df: int = 2, tokenizer: str = "sklearn",
                              max_iter: int = 1000) -> dict:
    """Single-label baseline (logistic regression on TF-IDF) on the ``role::`` task.
    Returns ``accuracy``, ``macro_f1``, ``majority_accuracy`` (always the most frequent
    training class), class and document counts, ``seconds``."""
    t0 = time.perf_counter()
    _, _, _, LogisticRegression = _sklearn()
    train, test = _load(path, documents, limit)
    tr_docs, tr_lab, te_docs, te_lab = single_label_task(train, test)
    classes = LabelVocab().fit(tr_lab)
    y_train = classes.index(tr_lab)
    y_test = classes.index(te_lab, warn=False)
    keep = y_test >= 0
    vec = tfidf_vectorizer(tokenizer, min_df)
    X_train = vec.fit_transform([d.text for d in tr_docs])
    X_test = vec.transform([d.text for d in te_docs])
    clf = LogisticRegression(C=C, max_iter=max_iter)
    from threadpoolctl import threadpool_limits   # a scikit-learn dependency
    # lbfgs on sparse TF-IDF does only small dense BLAS calls per step: extra BLAS threads
    # cost more than they give (4x slower on a busy 2-core machine)
    with threadpool_limits(1):
        clf.fit(X_train, y_train)
    pred = clf.predict(X_test)
    majority = np.bincount(y_train).argmax()
    onehot = np.eye(len(classes), dtype=np.float32)
    f1 = f1_scores(onehot[pred[keep]], onehot[y_test[keep]], threshold=0.5)["macro_f1"]
    return {"accuracy": accuracy(pred[keep], y_test[keep]), "macro_f1": f1,
            "majority_accuracy": accuracy(np.full(keep.sum(), majority), y_test[keep]),
            "n_classes": len(classes), "n_train": len(tr_docs), "n_test": int(keep.sum()),
            "n_test_unseen_class": int((~keep).sum()), "seconds": time.perf_counter() - t0}

