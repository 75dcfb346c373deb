"""Word tokens and the vocabulary that maps them to integer ids for an Embedding layer.

Tokenisation rule (``tokenize``): lower-case the text, then a token is a run of letters/digits
(any script; ``_`` is not a letter) optionally joined to further runs by single ``+ - . _``
characters, optionally ending in a run of ``+`` or one ``#``.  So package-description words
that carry meaning survive whole:

    "C++ and GTK-3 on X11, v1.2.3 (x86_64); C# e.g."
    -> ["c++", "and", "gtk-3", "on", "x11", "v1.2.3", "x86_64", "c#", "e.g"]

Punctuation at a word's edge is not part of it ("end." -> "end", "-flag" -> "flag"), and
doubled joiners split ("a--b" -> "a", "b").
"""
from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np

TOKEN_RE = re.compile(r"[^\W_]+(?:[+\-._][^\W_]+)*(?:\++|#)?")

PAD, UNK = "<pad>", "<unk>"
PAD_INDEX, UNK_INDEX = 0, 1


def tokenize(text: str) -> list:
    """The lower-cased word tokens of a text, words like ``c++`` and ``gtk-3`` kept whole.

    A token is a run of letters/digits optionally joined to further runs by single
    ``+ - . _`` characters, optionally ending in a run of ``+`` or one ``#``
    (:data:`TOKEN_RE`); punctuation at a word's edge is left out.

    Args:
        text: the text.

    Returns:
        list of str.

    Example::

        >>> from foveanet.data.text import tokenize
        >>> tokenize("C++ and GTK-3 on X11, v1.2.3 (x86_64); C# e.g.")
        ['c++', 'and', 'gtk-3', 'on', 'x11', 'v1.2.3', 'x86_64', 'c#', 'e.g']
    """
    return TOKEN_RE.findall(text.lower())


class Vocab:
    """A word <-> id map built from training token lists, for an Embedding layer.

    Ids 0 and 1 are ``<pad>`` and ``<unk>``. Words come next by decreasing training count,
    ties broken alphabetically, so that the same data always gives the same ids. ``vocab[w]``
    is w's id (1 when unknown); ``encode``/``encode_batch`` give fixed-length int64 rows,
    padded with 0; ``save``/``load`` write JSON.

    Args:
        min_count: drop words seen fewer times in training (default 1).
        max_size: cap on the size *including* the specials (default None: no cap).
        specials: the special tokens, starting with ``<pad>``, ``<unk>`` (default those two).

    Example::

        >>> from foveanet.data.text import Vocab
        >>> vocab = Vocab().fit([["a", "cat", "a"], ["the", "cat", "a"]])
        >>> vocab.itos                                # a: 3 times, cat: 2, the: 1
        ['<pad>', '<unk>', 'a', 'cat', 'the']
        >>> vocab.encode(["the", "dog"], length=4)    # dog is unknown
        array([4, 1, 0, 0])
        >>> vocab.decode([4, 1, 0, 0])
        ['the', '<unk>']
    """

    def __init__(self, min_count: int = 1, max_size: int | None = None, specials=(PAD, UNK)):
        if min_count < 1:
            raise ValueError(f"Vocab: min_count must be >= 1, got {min_count}")
        specials = tuple(specials)
        if specials[:2] != (PAD, UNK):
            raise ValueError(f"Vocab: specials must start with {PAD!r}, {UNK!r}; got {specials}")
        if len(set(specials)) != len(specials):
            raise ValueError(f"Vocab: repeated specials {specials}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"Vocab: max_size {max_size} is smaller than the {len(specials)} specials")
        self.min_count, self.max_size, self.specials = min_count, max_size, specials
        self.itos = list(specials)
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.counts = Counter()

    def fit(self, token_lists) -> "Vocab":
        """Count the words of ``token_lists`` (an iterable of token lists) and assign ids."""
        counts = Counter()
        for toks in token_lists:
            if isinstance(toks, str):
                raise TypeError("Vocab.fit: expected token lists, got a string "
                                "(call tokenize() first)")
            counts.update(toks)
        self.counts = counts
        words = sorted((w for w, c in counts.items() if c >= self.min_count and w not in self.stoi),
                       key=lambda w: (-counts[w], w))
        if self.max_size is not None:
            words = words[: self.max_size - len(self.specials)]
        self.itos = list(self.specials) + words
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        return self

    @classmethod
    def build(cls, token_lists, **kwargs) -> "Vocab":
        return cls(**kwargs).fit(token_lists)

    def __len__(self):
        return len(self.itos)

    def __contains__(self, word):
        return word in self.stoi

    def __getitem__(self, word) -> int:
        return self.stoi.get(word, UNK_INDEX)

    @property
    def pad_index(self):
        return PAD_INDEX

    @property
    def unk_index(self):
        return UNK_INDEX

    def lookup(self, tokens) -> list:
        return [self.stoi.get(t, UNK_INDEX) for t in tokens]

    def decode(self, ids) -> list:
        """Tokens of ``ids``, padding left out."""
        return [self.itos[int(i)] for i in ids if int(i) != PAD_INDEX]

    def encode(self, tokens, length: int) -> np.ndarray:
        """``tokens`` as an int64 array of exactly ``length`` ids: unknown words become
        ``<unk>`` (1), longer inputs keep their first ``length`` tokens, shorter ones are
        padded on the right with ``<pad>`` (0)."""
        return self.encode_batch([tokens], length)[0]

    def encode_batch(self, token_lists, length: int, return_stats: bool = False):
        """Encode many token lists into an ``(N, length)`` int64 matrix.  With
        ``return_stats`` also return ``{"tokens", "unknown", "truncated_docs"}`` counts (over
        the tokens that fit), so the out-of-vocabulary rate of a test set can be reported."""
        if not isinstance(length, (int, np.integer)) or length < 1:
            raise ValueError(f"Vocab.encode: length must be a positive int, got {length!r}")
        token_lists = list(token_lists)
        out = np.full((len(token_lists), length), PAD_INDEX, dtype=np.int64)
        n_tok = n_unk = n_trunc = 0
        get = self.stoi.get
        for r, toks in enumerate(token_lists):
            if isinstance(toks, str):
                raise TypeError("Vocab.encode: expected a token list, got a string "
                                "(call tokenize() first)")
            if len(toks) > length:
                n_trunc += 1
                toks = toks[:length]
            ids = [get(t, UNK_INDEX) for t in toks]
            out[r, : len(ids)] = ids
            n_tok += len(ids)
            n_unk += ids.count(UNK_INDEX)
        if return_stats:
            return out, {"tokens": n_tok, "unknown": n_unk, "truncated_docs": n_trunc}
        return out

    def to_dict(self) -> dict:
        return {"min_count": self.min_count, "max_size": self.max_size,
                "specials": list(self.specials), "itos": list(self.itos)}

    @classmethod
    def from_dict(cls, d) -> "Vocab":
        v = cls(d["min_count"], d["max_size"], tuple(d["specials"]))
        v.itos = list(d["itos"])
        v.stoi = {w: i for i, w in enumerate(v.itos)}
        return v

    def save(self, path):
        """Write as JSON (a vocabulary is data, not code: no pickle)."""
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, ensure_ascii=False)

    @classmethod
    def load(cls, path) -> "Vocab":
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def __repr__(self):
        return f"Vocab(size={len(self)}, min_count={self.min_count}, max_size={self.max_size})"
