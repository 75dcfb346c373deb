"""Metrics on a hand-worked confusion example."""
import numpy as np
import pytest

from foveanet.segmentation.metrics import ConfusionMatrix, confusion_matrix


def test_hand_worked():
    # 3 classes, 10 pixels, split over two batches
    truth = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, -100])
    pred = np.array([0, 0, 0, 1, 1, 1, 2, 2, 0, 2])
    cm = ConfusionMatrix(3, ["bg", "a", "b"])
    cm.update(pred[:5].reshape(1, 5), truth[:5].reshape(1, 5)).update(pred[5:].reshape(1, 5), truth[5:].reshape(1, 5))
    # rows truth, cols prediction; the ignored pixel is skipped
    np.testing.assert_array_equal(cm.matrix, [[3, 1, 0], [0, 2, 1], [1, 0, 1]])
    assert cm.pixel_accuracy() == pytest.approx(6 / 9)
    # IoU: bg 3/(3+1+1)=0.6, a 2/(2+1+1)=0.5, b 1/(1+1+1)=1/3
    np.testing.assert_allclose(cm.iou(), [0.6, 0.5, 1 / 3])
    # Dice: 2TP/(2TP+FP+FN): 6/8, 4/6, 2/4
    np.testing.assert_allclose(cm.dice(), [0.75, 2 / 3, 0.5])
    assert cm.miou() == pytest.approx((0.6 + 0.5 + 1 / 3) / 3)
    r = cm.report()
    assert r["per_class_iou"]["a"] == pytest.approx(0.5)
    assert r["miou_items"] == pytest.approx((0.5 + 1 / 3) / 2)
    assert r["dice"] == pytest.approx((0.75 + 2 / 3 + 0.5) / 3)


def test_absent_classes_left_out_of_the_mean():
    cm = ConfusionMatrix(4).update(np.array([[0, 1, 1]]), np.array([[0, 1, 0]]))
    # class 0: 1/(1+0+1)=0.5, class 1: 1/(1+1+0)=0.5, classes 2, 3 absent: NaN
    assert np.isnan(cm.iou()[2:]).all()
    assert cm.miou() == pytest.approx(0.5)
    assert cm.miou_all() == pytest.approx(0.25)
    assert cm.report()["per_class_iou"]["3"] is None


def test_logits_are_argmaxed():
    logits = np.zeros((1, 2, 1, 2))
    logits[0, 1, 0, 1] = 5.0
    cm = ConfusionMatrix(2).update(logits, np.array([[[0, 1]]]))
    np.testing.assert_array_equal(cm.matrix, np.eye(2, dtype=int))
    with pytest.raises(ValueError, match="0..1"):
        confusion_matrix(np.array([2]), np.array([0]), 2)
