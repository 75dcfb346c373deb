from math import log, log2

import numpy as np
import pytest

from foveanet.train.ranking import (
    accuracy, f1_scores, ndcg_at_k, precision_at_k, propensities, psndcg_at_k, psp_at_k,
    ranking_report, top_k,
)

# 3 documents x 5 labels; row 2 has a tie (labels 0 and 1 at 0.5): the lower index ranks first
S = np.array([[0.9, 0.1, 0.8, 0.3, 0.2],
              [0.2, 0.7, 0.1, 0.6, 0.5],
              [0.5, 0.5, 0.4, 0.3, 0.9]])
Y = np.array([[1, 0, 0, 1, 0],
              [0, 0, 1, 0, 0],
              [0, 1, 0, 0, 1]])
Y_LISTS = [[0, 3], [2], [1, 4]]
# rankings: row0 0 2 3 4 1 (hits at ranks 1, 3); row1 1 3 4 0 2 (hit at rank 5);
#           row2 4 0 1 2 3 (hits at ranks 1, 3)
PROP = np.array([0.5, 0.25, 0.5, 1.0, 0.8])


def test_top_k_order_and_ties():
    np.testing.assert_array_equal(top_k(S, 3), [[0, 2, 3], [1, 3, 4], [4, 0, 1]])
    with pytest.raises(ValueError, match="k must be"):
        top_k(S, 6)


@pytest.mark.parametrize("y", [Y, Y_LISTS, Y.astype(np.float32)])
def test_precision_hand_worked(y):
    assert precision_at_k(S, y, 1) == pytest.approx(2 / 3)
    assert precision_at_k(S, y, 3) == pytest.approx((2 + 0 + 2) / 9)
    assert precision_at_k(S, y, 5) == pytest.approx((2 + 1 + 2) / 15)


def test_ndcg_hand_worked():
    ideal2 = 1 + 1 / log2(3)                        # two true labels, k >= 2
    assert ndcg_at_k(S, Y, 1) == pytest.approx(2 / 3)
    assert ndcg_at_k(S, Y, 3) == pytest.approx((1.5 / ideal2 + 0 + 1.5 / ideal2) / 3)
    assert ndcg_at_k(S, Y_LISTS, 5) == pytest.approx((1.5 / ideal2 + (1 / log2(6)) / 1
                                                      + 1.5 / ideal2) / 3)


def test_psp_hand_worked():
    # gains y/p: row0 {0: 2, 3: 1}; row1 {2: 2}; row2 {1: 4, 4: 1.25}
    # top-1 gains 2, 0, 1.25; best 2, 2, 4.  top-3 gains 3, 0, 5.25; best 3, 2, 5.25
    assert psp_at_k(S, Y, PROP, 1) == pytest.approx(3.25 / 8)
    assert psp_at_k(S, Y, PROP, 3) == pytest.approx(8.25 / 10.25)
    assert psp_at_k(S, Y, PROP, 1, normalize=False) == pytest.approx(3.25 / 3)
    assert psp_at_k(S, Y, PROP, 3, normalize=False) == pytest.approx(8.25 / 9)
    # PSnDCG@3: row0 2 + 1/2, row2 1.25 + 4/2; ideal row0 2 + 1/log2 3, row1 2, row2 4 + 1.25/log2 3
    num = 2.5 + 3.25
    den = (2 + 1 / log2(3)) + 2 + (4 + 1.25 / log2(3))
    assert psndcg_at_k(S, Y, PROP, 3) == pytest.approx(num / den)
    perfect = Y / PROP + 1e-3 * np.arange(5)        # ranks true labels by 1/p: the best ranker
    assert psp_at_k(perfect, Y, PROP, 3) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="propensities"):
        psp_at_k(S, Y, PROP[:4], 1)


def test_propensities_formula():
    # 10 training documents; label frequencies 0, 1, 5, 10
    Ytr = np.zeros((10, 4), dtype=bool)
    Ytr[:1, 1] = Ytr[:5, 2] = Ytr[:, 3] = True
    C = (log(10) - 1) * 2.5 ** 0.55
    expect = [1 / (1 + C * (n + 1.5) ** -0.55) for n in (0, 1, 5, 10)]
    np.testing.assert_allclose(propensities(Ytr), expect, rtol=1e-12)
    lists = [np.flatnonzero(r).tolist() for r in Ytr]
    np.testing.assert_allclose(propensities(lists, n_labels=4), expect, rtol=1e-12)
    p = propensities(Ytr)
    assert np.all(np.diff(p) > 0) and np.all((p > 0) & (p < 1))   # rarer labels: smaller p


def test_report_keys_and_values():
    r = ranking_report(S, Y_LISTS, propensities=PROP, threshold=0.5)
    for k in (1, 3, 5):
        assert r[f"p@{k}"] == pytest.approx(precision_at_k(S, Y, k))
        assert r[f"ndcg@{k}"] == pytest.approx(ndcg_at_k(S, Y, k))
        assert r[f"psp@{k}"] == pytest.approx(psp_at_k(S, Y, PROP, k))
        assert f"psndcg@{k}" in r
    assert r["n_docs"] == 3 and r["n_labels"] == 5 and "micro_f1" in r
    assert "psp@1" not in ranking_report(S, Y)


def test_against_torch_topk_and_sklearn_ndcg(rng):
    torch = pytest.importorskip("torch")
    sk = pytest.importorskip("sklearn.metrics")
    for n, L in [(40, 7), (25, 300)]:                    # 300: the partition path of top_k
        Sc = rng.standard_normal((n, L))                 # continuous: no ties, where
        Yb = rng.random((n, L)) < 0.15                   # sklearn's tie averaging would differ
        Yb[0] = False                                    # a document without labels scores 0
        for k in (1, 3, 5):
            idx = torch.topk(torch.from_numpy(Sc), k, dim=1).indices.numpy()
            p_ref = np.take_along_axis(Yb, idx, axis=1).sum() / (n * k)
            assert precision_at_k(Sc, Yb, k) == pytest.approx(p_ref, abs=1e-12)
            # for binary relevance sklearn's ideal DCG is the sum of the first min(k, |Y|)
            # discounts, the same normalisation as ours
            assert ndcg_at_k(Sc, Yb, k) == pytest.approx(
                sk.ndcg_score(Yb.astype(float), Sc, k=k), abs=1e-12)


def test_top_k_partition_path_keeps_stable_ties(rng):
    Sc = rng.integers(0, 4, size=(30, 400)).astype(float)   # many ties
    np.testing.assert_array_equal(top_k(Sc, 7), np.argsort(-Sc, axis=1, kind="stable")[:, :7])


def test_f1_against_sklearn(rng):
    sk = pytest.importorskip("sklearn.metrics")
    Sc = rng.random((50, 8))
    Yb = rng.random((50, 8)) < 0.3
    Yb[:, 7] = False
    Sc[:, 7] = 0.0                                   # label 7: never true, never predicted
    P = Sc >= 0.6
    f = f1_scores(Sc, Yb, threshold=0.6)
    assert f["micro_f1"] == pytest.approx(sk.f1_score(Yb, P, average="micro"))
    assert f["macro_f1"] == pytest.approx(sk.f1_score(Yb, P, average="macro", labels=range(7)))


def test_accuracy():
    assert accuracy([0, 2, 1, 1], [0, 1, 1, 1]) == 0.75
    assert accuracy(np.array([[0.1, 0.9], [0.8, 0.2]]), [1, 1]) == 0.5
    with pytest.raises(ValueError, match="differ"):
        accuracy([0, 1], [0])


def test_bad_inputs():
    with pytest.raises(ValueError, match="out of range"):
        precision_at_k(S, [[0], [5], []], 1)
    with pytest.raises(ValueError, match="shape"):
        precision_at_k(S, Y[:2], 1)
    with pytest.raises(ValueError, match="2-d"):
        precision_at_k(S[0], Y[0], 1)
