"""From frame-wise CTC outputs to text (greedy and beam search), and the error rates of
text against text (edit distance)."""
from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np

__all__ = ["greedy_decode", "beam_decode", "CharLM", "edit_distance", "cer", "wer", "confusions"]


def greedy_decode(log_probs: np.ndarray, length: int | None = None, blank: int = 0) -> list:
    """Best path: the most likely class per frame, repeats merged, blanks dropped.

    Example::

        >>> from foveanet.ocr.decode import greedy_decode
        >>> lp = np.log(np.eye(3)[[1, 1, 0, 1, 2, 2]] * 0.9 + 0.05)
        >>> greedy_decode(lp)
        [1, 1, 2]
    """
    best = np.asarray(log_probs)[:length].argmax(axis=-1)
    out, prev = [], blank
    for k in best:
        if k != blank and k != prev:
            out.append(int(k))
        prev = k
    return out


def _lse(a: float, b: float) -> float:
    # math on Python floats: NumPy's scalar ufuncs cost ~10x more per call, and beam search
    # makes tens of thousands of these calls per line
    if a == -math.inf:
        return b
    if b == -math.inf:
        return a
    if a < b:
        a, b = b, a
    return a + math.log1p(math.exp(b - a))


class CharLM:
    """A character n-gram language model over class ids, Witten-Bell interpolated down to a
    uniform distribution over ``classes - 1`` labels (so an unseen label is never impossible).

    Args:
        sequences: training label sequences (lists of ids >= 1).
        classes: the alphabet's size including the blank.
        order: n, the labels of context plus one.

    Example::

        >>> from foveanet.ocr.decode import CharLM
        >>> lm = CharLM([[1, 2, 1, 2, 1, 2]], classes=4, order=2)
        >>> lm.logp((1,), 2) > lm.logp((1,), 3)        # 2 always followed 1
        True
    """

    def __init__(self, sequences, classes: int, order: int = 4):
        self.order, self.uniform = order, -np.log(classes - 1)
        self.counts = defaultdict(Counter)   # context tuple -> next id -> count
        for seq in sequences:
            seq = [0] * (order - 1) + list(seq)   # 0 (the blank's id) pads the line start
            for i in range(order - 1, len(seq)):
                for n in range(order):
                    self.counts[tuple(seq[i - n:i])][seq[i]] += 1
        self.totals = {h: (sum(c.values()), len(c)) for h, c in self.counts.items()}
        self._cache = {}

    def logp(self, context: tuple, k: int) -> float:
        """log P(k | the last ``order - 1`` ids of ``context``, padded with 0 at the start)."""
        h = ((0,) * (self.order - 1) + tuple(context))[-(self.order - 1):] if self.order > 1 else ()
        key = (h, k)
        if key not in self._cache:
            p = np.exp(self.uniform)
            for n in range(len(h) + 1):     # shortest context first, each interpolating the last
                ctx = h[len(h) - n:]
                if ctx in self.totals:
                    total, types = self.totals[ctx]
                    p = (self.counts[ctx][k] + types * p) / (total + types)
            self._cache[key] = float(np.log(p))
        return self._cache[key]


def beam_decode(log_probs: np.ndarray, length: int | None = None, beam: int = 8, blank: int = 0,
                prune: float = -12.0, lm: CharLM | None = None, lm_weight: float = 0.0,
                bonus: float = 0.0) -> list:
    """CTC prefix beam search: the ``beam`` most probable label prefixes are kept per frame,
    each with the log-probability of its paths ending in a blank (p_b) and in its last label
    (p_nb); a label equal to the prefix's last extends it only from p_b. Classes with a
    frame log-probability below ``prune`` are skipped. With a language model ``lm``, prefixes
    are ranked by ``log p + lm_weight * log P_lm(prefix) + bonus * len(prefix)`` (shallow
    fusion; the bonus offsets the model's preference for fewer labels).

    Example::

        >>> from foveanet.ocr.decode import beam_decode, greedy_decode
        >>> lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))   # blank 0.6 per frame
        >>> greedy_decode(lp), beam_decode(lp, beam=4)  # p("") = 0.36, p("1") = 0.16 + 2 * 0.24
        ([], [1])
    """
    lp = np.asarray(log_probs, np.float64)[:length]
    lp_list = lp.tolist()
    beams = {(): (0.0, -np.inf)}   # prefix -> (log p_b, log p_nb)
    fused = {(): 0.0}              # prefix -> lm_weight * log P_lm + bonus * length

    def extra(prefix):
        if prefix not in fused:
            fused[prefix] = extra(prefix[:-1]) + lm_weight * lm.logp(prefix[:-1], prefix[-1]) + bonus
        return fused[prefix]

    def rank(kv):
        return _lse(*kv[1]) + (extra(kv[0]) if lm is not None else 0.0)
    for row, frame in zip(lp, lp_list):
        nxt = defaultdict(lambda: (-math.inf, -math.inf))
        cand = np.nonzero(row >= prune)[0].tolist()
        for prefix, (pb, pnb) in beams.items():
            total = _lse(pb, pnb)
            for k in cand:
                p = frame[k]
                if k == blank:
                    b, nb = nxt[prefix]
                    nxt[prefix] = (_lse(b, total + p), nb)
                    continue
                ext = prefix + (k,)
                b, nb = nxt[ext]
                if prefix and prefix[-1] == k:
                    nxt[ext] = (b, _lse(nb, pb + p))          # a repeat needs a blank between
                    b0, nb0 = nxt[prefix]
                    nxt[prefix] = (b0, _lse(nb0, pnb + p))    # or it merges into the same label
                else:
                    nxt[ext] = (b, _lse(nb, total + p))
        beams = dict(sorted(nxt.items(), key=lambda kv: -rank(kv))[:beam])
    return list(max(beams.items(), key=rank)[0])


def edit_distance(a, b) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions turning
    sequence a into b.

    Example::

        >>> from foveanet.ocr.decode import edit_distance
        >>> edit_distance("kitten", "sitting")
        3
    """
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i]
        for j, y in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y)))
        prev = cur
    return prev[-1]


def cer(predictions, truths) -> float:
    """Character error rate: total edit distance over total reference characters.

    Example::

        >>> from foveanet.ocr import cer
        >>> cer(["helo", "world"], ["hello", "world"])    # 1 missing character of 10
        0.1
    """
    errors = sum(edit_distance(p, t) for p, t in zip(predictions, truths))
    return errors / max(1, sum(len(t) for t in truths))


def wer(predictions, truths) -> float:
    """Word error rate: edit distance over words (whitespace-split) over reference words.

    Example::

        >>> from foveanet.ocr import wer
        >>> wer(["the cat sat", "a dog"], ["the cat sat", "the dog"])   # 1 wrong word of 5
        0.2
    """
    errors = sum(edit_distance(p.split(), t.split()) for p, t in zip(predictions, truths))
    return errors / max(1, sum(len(t.split()) for t in truths))


def _alignment(a: str, b: str) -> list:
    """(true char or '', predicted char or '') pairs of one optimal alignment of b to a."""
    n, m = len(a), len(b)
    d = np.zeros((n + 1, m + 1), int)
    d[:, 0], d[0, :] = range(n + 1), range(m + 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i, j] = min(d[i - 1, j] + 1, d[i, j - 1] + 1, d[i - 1, j - 1] + (a[i - 1] != b[j - 1]))
    pairs, i, j = [], n, m
    while i or j:
        if i and j and d[i, j] == d[i - 1, j - 1] + (a[i - 1] != b[j - 1]):
            pairs.append((a[i - 1], b[j - 1]))
            i, j = i - 1, j - 1
        elif i and d[i, j] == d[i - 1, j] + 1:
            pairs.append((a[i - 1], ""))
            i -= 1
        else:
            pairs.append(("", b[j - 1]))
            j -= 1
    return pairs[::-1]


def confusions(predictions, truths, top: int = 10) -> list:
    """The ``top`` most frequent (true, predicted, count) character errors; '' stands for a
    missing or an extra character."""
    c = Counter()
    for p, t in zip(predictions, truths):
        for x, y in _alignment(t, p):
            if x != y:
                c[(x, y)] += 1
    return [(x, y, n) for (x, y), n in c.most_common(top)]
