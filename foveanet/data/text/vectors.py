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
    """Read pretrained word vectors from a word2vec text or GloVe file, plain or gzip-compressed.

    A word's first occurrence wins.

    Args:
        path: the file.
        format: ``'word2vec'`` (a ``"<count> <dim>"`` header line), ``'glove'`` (none) or
            ``'auto'`` (a first line of exactly two integers is a header) (default ``'auto'``).
        vocab: keep only the words it contains (anything supporting ``in``), so a
            multi-gigabyte file does not have to fit in memory (default None: all).
        dtype: of the matrix (default float32).

    Returns:
        tuple: ``(words, matrix)``, ``matrix`` of shape ``(len(words), dim)``.

    Raises:
        ValueError: naming the line, when a vector has the wrong number of values or a
            value is not a number, and when a word2vec header's count disagrees with the file.

    Example::

        >>> import os, tempfile
        >>> from foveanet.data.text import load_vectors
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "vectors.txt")
        ...     with open(path, "w") as f:
        ...         _ = f.write("2 3\\nthe 0.5 0 1\\ncat 1 2 3\\n")     # word2vec: header, 2 words
        ...     words, matrix = load_vectors(path)
        ...     only_cat = load_vectors(path, vocab={"cat"})[0]
        >>> words, matrix.shape, only_cat
        (['the', 'cat'], (2, 3), ['cat'])
        >>> matrix[1]
        array([1., 2., 3.], dtype=float32)
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
    """Embedding weights for a vocabulary: pretrained vectors where found, random rows elsewhere.

    Words found are copied; the others are drawn from N(0, std^2) with
    ``np.random.default_rng(seed)`` (std 0.25 keeps random rows on the scale of typical
    word2vec entries, as Kim (2014) did). The ``<pad>`` row is zero.

    Args:
        vocab: a ``Vocab`` (``itos``, ``specials``).
        words: the pretrained words, e.g. from ``load_vectors``.
        vectors: their vectors, a ``(len(words), dim)`` array.
        std: standard deviation of the random rows (default 0.25).
        seed: seed of the random rows (default 0).
        lowercase_fallback: also match a lower-cased pretrained word, because
            vocabularies are lower-cased and some vector files are not (default True).
        dtype: of the matrix (default float32).

    Returns:
        tuple: ``(matrix, coverage)``: ``matrix`` of shape ``(len(vocab), dim)``,
        ``coverage = {"found", "total", "rate"}`` over the non-special words.

    Example::

        >>> from foveanet.data.text import Vocab, embedding_matrix
        >>> vocab = Vocab().fit([["the", "cat"], ["a", "cat"]])
        >>> vocab.itos
        ['<pad>', '<unk>', 'cat', 'a', 'the']
        >>> words, vectors = ["Cat", "the"], np.array([[1., 2.], [3., 4.]])
        >>> matrix, coverage = embedding_matrix(vocab, words, vectors)
        >>> matrix[[0, 2, 4]]                              # <pad>, cat (from Cat), the
        array([[0., 0.],
               [1., 2.],
               [3., 4.]], dtype=float32)
        >>> coverage
        {'found': 2, 'total': 3, 'rate': 0.6666666666666666}
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
