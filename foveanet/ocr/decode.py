"""From frame-wise CTC outputs to text (greedy and beam search), and the error rates of
text against text (edit distance)."""
from __future__ import annotations

from collections import Counter, defaultdict

import numpy as np

__all__ = ["greedy_decode", "beam_decode", "edit_distance", "cer", "wer", "confusions"]


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
    if a == -np.inf:
        return b
    if b == -np.inf:
        return a
    m = max(a, b)
    return m + np.log(np.exp(a - m) + np.exp(b - m))


def beam_decode(log_probs: np.ndarray, length: int | None = None, beam: int = 8, blank: int = 0,
                prune: float = -12.0) -> list:
    """CTC prefix beam search: the ``beam`` most probable label prefixes are kept per frame,
    each with the log-probability of its paths ending in a blank (p_b) and in its last label
    (p_nb); a label equal to the prefix's last extends it only from p_b. Classes with a
    frame log-probability below ``prune`` are skipped.

    Example::

        >>> from foveanet.ocr.decode import beam_decode, greedy_decode
        >>> lp = np.log(np.array([[0.6, 0.4], [0.6, 0.4]]))   # blank 0.6 per frame
        >>> greedy_decode(lp), beam_decode(lp, beam=4)  # p("") = 0.36, p("1") = 0.16 + 2 * 0.24
        ([], [1])
    """
    lp = np.asarray(log_probs, np.float64)[:length]
    beams = {(): (0.0, -np.inf)}   # prefix -> (log p_b, log p_nb)
    for frame in lp:
        nxt = defaultdict(lambda: (-np.inf, -np.inf))
        cand = np.nonzero(frame >= prune)[0]
        for prefix, (pb, pnb) in beams.items():
            total = _lse(pb, pnb)
            for k in cand:
                p = frame[k]
                if k == blank:
                    b, nb = nxt[prefix]
                    nxt[prefix] = (_lse(b, total + p), nb)
                    continue
                ext = prefix + (int(k),)
                b, nb = nxt[ext]
                if prefix and prefix[-1] == k:
                    nxt[ext] = (b, _lse(nb, pb + p))          # a repeat needs a blank between
                    b0, nb0 = nxt[prefix]
                    nxt[prefix] = (b0, _lse(nb0, pnb + p))    # or it merges into the same label
                else:
                    nxt[ext] = (b, _lse(nb, total + p))
        beams = dict(sorted(nxt.items(), key=lambda kv: -_lse(*kv[1]))[:beam])
    return list(max(beams.items(), key=lambda kv: _lse(*kv[1]))[0])


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
