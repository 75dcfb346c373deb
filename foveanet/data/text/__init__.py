"""Text data for Kim-CNN / XML-CNN: reading, the shared split, tokens, labels, word vectors,
and rebuilding the debtags data set from apt lists.

    from foveanet.data.text import read_documents, split_documents, tokenize, Vocab, LabelVocab
    docs = read_documents("debtags.jsonl.gz")
    train, test = split_documents(docs)
    vocab = Vocab(min_count=2).fit(tokenize(d.text) for d in train)
    X = vocab.encode_batch([tokenize(d.text) for d in train], length=256)
    labels = LabelVocab().fit(d.labels for d in train)
    Y = labels.multi_hot(d.labels for d in train)
"""
from foveanet.data.text.debtags import build_debtags
from foveanet.data.text.labels import (
    SINGLE_LABEL_FACET, LabelVocab, facet_counts, pick_single_label, single_label_task,
)
from foveanet.data.text.reader import Document, Documents, open_text, read_documents
from foveanet.data.text.split import is_test, split_documents
from foveanet.data.text.tokenize import PAD, PAD_INDEX, UNK, UNK_INDEX, TOKEN_RE, Vocab, tokenize
from foveanet.data.text.vectors import embedding_matrix, load_vectors

__all__ = [
    "Document", "Documents", "LabelVocab", "PAD", "PAD_INDEX", "SINGLE_LABEL_FACET", "TOKEN_RE",
    "UNK", "UNK_INDEX", "Vocab", "build_debtags", "embedding_matrix", "facet_counts", "is_test",
    "load_vectors", "open_text", "pick_single_label", "read_documents", "single_label_task",
    "split_documents", "tokenize",
]
