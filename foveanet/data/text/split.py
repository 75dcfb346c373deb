"""The fixed train/test split of the shared text data (see shared/data/README.md beside the checkout).

A document is in the test set when ``int(sha256(id).hexdigest(), 16) % 10 < 2``.  Hashing the
id (not the position) keeps the split stable when the file is rebuilt, re-ordered or grows:
every package keeps its side, so numbers from different runs and people compare.
"""
from __future__ import annotations

import hashlib

TEST_BUCKETS = 2      # of 10: a 20 % test set


def is_test(doc_id: str) -> bool:
    """Whether the document with this id belongs to the test set of the shared split.

        test  <=>  int(sha256(id).hexdigest(), 16) % 10 < 2       (20 % of the ids)

    Args:
        doc_id: the document's id (converted with ``str``).

    Returns:
        bool.

    Example::

        >>> from foveanet.data.text import is_test
        >>> is_test("git"), is_test("vim")                # sha256 buckets 0 and 8
        (True, False)
    """
    return int(hashlib.sha256(str(doc_id).encode("utf-8")).hexdigest(), 16) % 10 < TEST_BUCKETS


def split_documents(docs):
    """Split documents into the shared ``(train, test)`` lists by ``is_test`` on their ids.

    Args:
        docs: documents (anything with an ``id`` attribute).

    Returns:
        tuple: ``(train, test)``, each keeping the input order.

    Example::

        >>> from foveanet.data.text import Document, split_documents
        >>> docs = [Document(name, "t", ("x",)) for name in ("vim", "git", "gcc", "bash")]
        >>> train, test = split_documents(docs)
        >>> [d.id for d in train], [d.id for d in test]
        (['vim', 'gcc', 'bash'], ['git'])
    """
    train, test = [], []
    for d in docs:
        (test if is_test(d.id) else train).append(d)
    return train, test
