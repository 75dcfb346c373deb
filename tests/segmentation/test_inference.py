"""Test-time views of the segmentation predictor: shift views by hand, and what they must
leave alone."""
import numpy as np
import pytest

import foveanet
from foveanet import nn
from foveanet.models.unet import unet
from foveanet.segmentation.inference import (
    SHIFT_MARGIN, SHIFTS, _view_probabilities, predict_logits, softmax, tta_mode,
)


def _unet(depth=2, classes=5, spread=3.0):
    foveanet.manual_seed(0)
    model = unet(in_channels=1, num_classes=classes, base_width=2, depth=depth)
    model.head.weight.data *= spread  # an untrained net calls every pixel one class; spread the logits
    return model.eval()


def _probs(model, x):
    with foveanet.no_grad():
        return softmax(model(foveanet.tensor(np.ascontiguousarray(x))).data)


def test_shift_views_by_hand(rng):
    # every view: the images pasted at (k, k) on a black canvas SHIFT_MARGIN larger, the
    # softmax cropped back at (k, k); prediction = argmax of the sum over the 8 offsets
    model = _unet()
    x = rng.random((3, 1, 8, 8), dtype=np.float32)
    views = []
    for k in SHIFTS:
        canvas = np.zeros((3, 1, 8 + SHIFT_MARGIN, 8 + SHIFT_MARGIN), np.float32)
        canvas[:, :, k:k + 8, k:k + 8] = x
        views.append(_probs(model, canvas)[:, :, k:k + 8, k:k + 8])
    assert SHIFTS == tuple(range(8)) and SHIFT_MARGIN == 8
    np.testing.assert_allclose(_view_probabilities(model, x, "shift"), sum(views), rtol=1e-6, atol=1e-6)
    # the views do differ from one another (the net is not shift invariant) and from the
    # image alone, so the average is not any single one of them
    assert min(np.abs(views[0] - v).max() for v in views[1:]) > 1e-3
    by_hand = sum(views).argmax(axis=1)
    assert np.array_equal(predict_logits(model, x, batch_size=2, tta="shift"), by_hand)


def test_flip_views_average_the_image_and_its_mirror():
    # tta=True / "flip": argmax of softmax(model(x)) + mirror(softmax(model(mirror(x)))),
    # computed by hand here; tta=False: plain argmax of the logits
    model = _unet(depth=1, spread=50)
    x = np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32)
    with foveanet.no_grad():
        z = model(foveanet.tensor(x)).data
    plain, mirrored = softmax(z), _probs(model, x[..., ::-1])[..., ::-1]
    np.testing.assert_allclose(_view_probabilities(model, x, "flip"), plain + mirrored, rtol=1e-6, atol=1e-7)
    by_hand = ((plain + mirrored) / 2).argmax(axis=1)
    assert np.array_equal(predict_logits(model, x, batch_size=2, tta=True), by_hand)
    assert np.array_equal(predict_logits(model, x, batch_size=2, tta="flip"), by_hand)
    assert np.array_equal(predict_logits(model, x, batch_size=2), z.argmax(axis=1))
    assert np.array_equal(predict_logits(model, x, tta=False), z.argmax(axis=1))
    assert not np.array_equal(by_hand, z.argmax(axis=1))  # the mirror pass does change something


def test_shift_views_average_to_one_view_for_a_pointwise_net(rng):
    # a net of 1x1 convs sees each pixel alone: every shifted view gives the same
    # probabilities on the image's own pixels, so their mean is the single view's
    foveanet.manual_seed(1)
    model = nn.Sequential(nn.Conv2d(1, 6, 1), nn.ReLU(), nn.Conv2d(6, 4, 1)).eval()
    x = 3 * rng.standard_normal((2, 1, 5, 7)).astype(np.float32)
    plain = _probs(model, x)
    np.testing.assert_allclose(_view_probabilities(model, x, "shift") / len(SHIFTS), plain, rtol=1e-5, atol=1e-6)
    assert len(np.unique(plain.argmax(axis=1))) > 1  # the check above compares more than one class
    assert np.array_equal(predict_logits(model, x, tta="shift"), plain.argmax(axis=1))


def test_shift_views_keep_a_deep_unet_input_a_multiple_of_its_stride(rng):
    # depth 4: inputs must be multiples of 16, so the 8-pixel margin becomes 16
    model = _unet(depth=4)
    x = rng.random((2, 1, 16, 32), dtype=np.float32)
    views = []
    for k in SHIFTS:
        canvas = np.zeros((2, 1, 32, 48), np.float32)
        canvas[:, :, k:k + 16, k:k + 32] = x
        views.append(_probs(model, canvas)[:, :, k:k + 16, k:k + 32])
    np.testing.assert_allclose(_view_probabilities(model, x, "shift"), sum(views), rtol=1e-6, atol=1e-6)


def test_tta_modes(tmp_path):
    assert [tta_mode(v) for v in (None, False, True, "none", "flip", "shift")] == \
        ["none", "none", "flip", "none", "flip", "shift"]
    with pytest.raises(ValueError, match="tta must be one of \\('none', 'flip', 'shift'\\).*got 'mirror'"):
        tta_mode("mirror")
    with pytest.raises(ValueError, match="tta must be one of"):
        foveanet.segmentation.train(tmp_path / "run", tta=2)
    assert not (tmp_path / "run").exists()  # refused before anything was written or trained


def test_no_images_give_no_predictions():
    out = predict_logits(_unet(), np.zeros((0, 1, 8, 8), np.float32), tta="shift")
    assert out.shape == (0, 8, 8)
