"""Pretrained word vectors (word2vec text format, GloVe format) and embedding matrices.

word2vec text: a header line ``"<count> <dim>"`` then ``word v1 ... vd`` lines.  GloVe: the
same lines without a header.  Both may be gzip-compressed (detected by magic bytes).
"""
from __future__ import annotations

import numpy as np

from foveanet.data.text.reader import open_text
from foveanet.data.text.tokenize import PAD_INDEX


def _is_header(parts) -> bool:
    return len(parts) == 2 and all(p.isdigit() for p in parts)


def _ends_in_number(word: str) -> bool:
    # a "word with a space" whose last piece is a number is really a vector with extra values
    pieces = word.split()
    if len(pieces) < 2:
        return False
    try:
        float(pieces[-1])
    except ValueError:
        return False
    return True


def load_vectors(path, format: str = "auto", vocab=None, dtype=np.float32):
    """Read word vectors; returns ``(words, matrix)`` with ``matrix`` of shape
    ``(len(words), dim)``.

    ``format``: ``"word2vec"`` (header line), ``"glove"`` (none) or ``"auto"`` (a first line
    of exactly two integers is a header).  ``vocab`` (anything supporting ``in``) keeps only
    the words it contains, so a multi-gigabyte file does not have to fit in memory.
    A word's first occurrence wins.  Raises ``ValueError`` naming the line when a vector has
    the wrong number of values or a value is not a number, and when a word2vec header's count
    disagrees with the file.
    """
    if format not in ("auto", "word2vec", "glove"):
        raise ValueError(f"load_vectors: format must be 'auto', 'word2vec' or 'glove', got {format!r}")
    name = str(path)
    words, rows, seen = [], [], set()
    dim = declared = None
    n_vectors = 0
    with open_text(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            if lineno == 1 and format != "glove":
                parts = line.split()
                if _is_header(parts):
                    declared, dim = int(parts[0]), int(parts[1])
                    if dim < 1:
                        raise ValueError(f"{name}:1: header declares dimension {dim}")
                    continue
                if format == "word2vec":
                    raise ValueError(f"{name}:1: expected a word2vec header '<count> <dim>', "
                                     f"got {line[:60]!r}")
            if dim is None:
                # GloVe has no header: the first line fixes the dimension
                dim = len(line.split()) - 1
                if dim < 1:
                    raise ValueError(f"{name}:{lineno}: a vector line needs a word and values, "
                                     f"got {line[:60]!r}")
            # words may contain spaces in some GloVe files: the last `dim` fields are the vector
            parts = line.rstrip().rsplit(None, dim)
            if len(parts) != dim + 1 or not parts[0].strip() or _ends_in_number(parts[0]):
                raise ValueError(f"{name}:{lineno}: expected a word and {dim} values, got "
                                 f"{len(line.split()) - 1} values")
            n_vectors += 1
            word = parts[0].strip()
            if word in seen or (vocab is not None and word not in vocab):
                continue
            try:
                vec = np.array(parts[1:], dtype=np.float64)
            except ValueError:
                raise ValueError(f"{name}:{lineno}: non-numeric value in the vector of "
                                 f"{word!r}") from None
            seen.add(word)
            words.append(word)
            rows.append(vec)
    if dim is None:
        raise ValueError(f"load_vectors: {name} holds no vectors")
    if declared is not None and declared != n_vectors:
        raise ValueError(f"{name}:1: header declares {declared} vectors, the file has {n_vectors}")
    matrix = np.array(rows, dtype=dtype).reshape(len(rows), dim)
    return words, matrix


def embedding_matrix(vocab, words, vectors, std: float = 0.25, seed: int = 0,
                     lowercase_fallback: bool = True, dtype=np.float32):
    """Embedding weights ``(len(vocab), dim)`` for ``vocab`` from pretrained ``(words, vectors)``.

    Words found are copied (trying the lower-cased word as well when ``lowercase_fallback``,
    because vocabularies are lower-cased and some vector files are not); the others are drawn
    from N(0, std^2) with ``np.random.default_rng(seed)`` -- std 0.25 keeps random rows on
    the scale of typical word2vec entries, as Kim (2014) did.  The ``<pad>`` row is zero.
    Returns ``(matrix, coverage)`` with ``coverage = {"found", "total", "rate"}`` over the
    non-special words.
    """
    vectors = np.asarray(vectors)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise ValueError(f"embedding_matrix: expected {len(words)} vectors as rows of a 2-d "
                         f"array, got shape {vectors.shape}")
    index = {}
    for i, w in enumerate(words):
        index.setdefault(w, i)
    if lowercase_fallback:
        for i, w in enumerate(words):
            index.setdefault(w.lower(), i)
    rng = np.random.default_rng(seed)
    n, d = len(vocab), vectors.shape[1]
    mat = (rng.standard_normal((n, d)) * std).astype(dtype)
    mat[PAD_INDEX] = 0
    n_special = len(getattr(vocab, "specials", ()))
    found = 0
    for i in range(n_special, n):
        j = index.get(vocab.itos[i])
        if j is not None:
            mat[i] = vectors[j]
            found += 1
    total = n - n_special
    return mat, {"found": found, "total": total, "rate": found / total if total else 0.0}
