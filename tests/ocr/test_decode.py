"""CTC decoding against brute-force enumeration of paths, and the edit-distance metrics."""
import itertools

import numpy as np
import pytest

from foveanet.ocr.decode import beam_decode, cer, confusions, edit_distance, greedy_decode, wer


def _collapse(path):
    out, prev = [], 0
    for k in path:
        if k and k != prev:
            out.append(k)
        prev = k
    return tuple(out)


def _labelling_probs(p):
    """p(labelling) summed over all C**T paths."""
    probs = {}
    for path in itertools.product(range(p.shape[1]), repeat=p.shape[0]):
        lab = _collapse(path)
        probs[lab] = probs.get(lab, 0.0) + np.prod(p[np.arange(len(path)), path])
    return probs


@pytest.mark.parametrize("seed", range(6))
def test_wide_beam_finds_the_most_probable_labelling(seed):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.ones(3) * 0.7, size=5)
    probs = _labelling_probs(p)
    best = max(probs, key=probs.get)
    assert tuple(beam_decode(np.log(p), beam=64, prune=-np.inf)) == best


def test_greedy_is_the_best_path_collapsed():
    rng = np.random.default_rng(9)
    p = rng.dirichlet(np.ones(4), size=7)
    assert tuple(greedy_decode(np.log(p))) == _collapse(p.argmax(1))
    assert greedy_decode(np.log(p), length=0) == []


def test_edit_distance_and_rates_on_hand_worked_examples():
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3 and edit_distance("abc", "abc") == 0
    assert cer(["helo", "world"], ["hello", "world"]) == pytest.approx(1 / 10)
    assert wer(["the cat sat", "a dog"], ["the cat sat", "the dog"]) == pytest.approx(1 / 5)
    assert confusions(["c0de"], ["code"]) == [("o", "0", 1)]
