import numpy as np
import pytest
from sklearn import metrics as skm

from foveanet.train import metrics as M


@pytest.mark.parametrize("seed,c", [(0, 2), (1, 3), (2, 10), (3, 17)])
def test_metrics_match_sklearn_on_random_predictions(seed, c):
    r = np.random.default_rng(seed)
    n = 500
    y = r.integers(0, c, n)
    scores = r.standard_normal((n, c)).astype(np.float32)
    # make the predictions better than chance so precision/recall differ between classes
    scores[np.arange(n), y] += r.uniform(0, 2, n).astype(np.float32)
    pred = scores.argmax(1)
    assert M.accuracy(scores, y) == pytest.approx(skm.accuracy_score(y, pred))
    assert M.accuracy(pred, y) == pytest.approx(skm.accuracy_score(y, pred))
    labels = np.arange(c)
    cm = M.confusion_matrix(pred, y, c)
    np.testing.assert_array_equal(cm, skm.confusion_matrix(y, pred, labels=labels))
    prf = M.precision_recall_f1(cm)
    p, rc, f, s = skm.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(prf["precision"], p, atol=1e-12)
    np.testing.assert_allclose(prf["recall"], rc, atol=1e-12)
    np.testing.assert_allclose(prf["f1"], f, atol=1e-12)
    np.testing.assert_array_equal(prf["support"], s)
    for avg in ("macro", "weighted"):
        p, rc, f, _ = skm.precision_recall_fscore_support(y, pred, labels=labels, average=avg, zero_division=0)
        assert prf[avg]["precision"] == pytest.approx(p)
        assert prf[avg]["recall"] == pytest.approx(rc)
        assert prf[avg]["f1"] == pytest.approx(f)
    for k in (1, 2, 5):
        if 2 < c and k < c:  # sklearn wants 1-d scores for two classes
            assert M.topk_accuracy(scores, y, k) == pytest.approx(
                skm.top_k_accuracy_score(y, scores, k=k, labels=labels))


def test_class_never_predicted_or_absent_scores_zero():
    y = np.array([0, 0, 1, 1])
    pred = np.array([0, 0, 0, 0])   # class 1 never predicted, class 2 absent from both
    prf = M.precision_recall_f1(M.confusion_matrix(pred, y, 3))
    np.testing.assert_allclose(prf["precision"], [0.5, 0, 0])
    np.testing.assert_allclose(prf["recall"], [1, 0, 0])
    np.testing.assert_allclose(prf["f1"], [2 / 3, 0, 0])


def test_topk_ties_and_k_larger_than_classes():
    s = np.array([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    y = np.array([1, 0])
    # row 0: target ties for first place, counts as top-1; row 1: target is last of 3
    assert M.topk_accuracy(s, y, 1) == 0.5
    assert M.topk_accuracy(s, y, 2) == 0.5
    assert M.topk_accuracy(s, y, 10) == 1.0


def test_accumulator_equals_one_shot():
    r = np.random.default_rng(5)
    s = r.standard_normal((300, 7))
    y = r.integers(0, 7, 300)
    acc = M.MetricAccumulator(7, topk=3)
    for i in range(0, 300, 64):
        acc.update(s[i:i + 64], y[i:i + 64], loss=1.0)
    res = acc.result()
    assert res["accuracy"] == pytest.approx(M.accuracy(s, y))
    assert res["top3"] == pytest.approx(M.topk_accuracy(s, y, 3))
    assert res["loss"] == pytest.approx(1.0)
    np.testing.assert_array_equal(acc.cm, M.confusion_matrix(s, y, 7))


def test_report_lists_classes_and_averages():
    y = np.array([0, 1, 1, 2, 2, 2])
    pred = np.array([0, 1, 2, 2, 2, 1])
    text = M.classification_report(M.confusion_matrix(pred, y, 3), ["cat", "dog", "T-shirt/top"])
    lines = text.splitlines()
    row = next(line for line in lines if line.strip().startswith("dog"))
    # dog: precision 1/2, recall 1/2, support 2
    assert row.split()[1:] == ["0.500", "0.500", "0.500", "2"]
    assert any(line.strip().startswith("accuracy") and "0.667" in line for line in lines)
    assert any(line.strip().startswith("macro avg") for line in lines)


def test_length_mismatch_is_reported():
    with pytest.raises(ValueError, match="3 predictions but 2 targets"):
        M.accuracy(np.array([0, 1, 2]), np.array([0, 1]))
