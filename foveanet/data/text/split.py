"""The fixed train/test split of the shared text data (see shared/data/README.md beside the checkout).

A document is in the test set when ``int(sha256(id).hexdigest(), 16) % 10 < 2``.  Hashing the
id (not the position) keeps the split stable when the file is rebuilt, re-ordered or grows:
every package keeps its side, so numbers from different runs and people compare.
"""
from __future__ import annotations

import hashlib

TEST_BUCKETS = 2      # of 10: a 20 % test set


def is_test(doc_id: str) -> bool:
    """Whether the document with this id belongs to the test set."""
    return int(hashlib.sha256(str(doc_id).encode("utf-8")).hexdigest(), 16) % 10 < TEST_BUCKETS


def split_documents(docs):
    """Split documents (anything with an ``id`` attribute) into ``(train, test)`` lists,
    keeping the input order inside each."""
    train, test = [], []
    for d in docs:
        (test if is_test(d.id) else train).append(d)
    return train, test
