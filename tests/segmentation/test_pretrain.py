"""Encoder pretraining on single items (foveanet.segmentation.pretrain)."""
import numpy as np

import foveanet
from foveanet.models.unet import unet
from foveanet.segmentation.pretrain import EncoderClassifier, item_canvases, pretrain_encoder
from foveanet.segmentation.scenes import THRESHOLD


def _bars(n, rng):
    """uint8 28x28 items: class 0 a vertical bar, class 1 a horizontal one, at random places,
    with faint noise below the paste threshold."""
    items = rng.integers(0, THRESHOLD + 1, (n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 2, n)
    for k in range(n):
        p = rng.integers(4, 20)
        if labels[k]:
            items[k, p:p + 4, 4:24] = 200
        else:
            items[k, 4:24, p:p + 4] = 200
    return items, labels


def test_item_canvases_paste_the_masked_item_once_inside_the_canvas():
    rng = np.random.default_rng(0)
    items, _ = _bars(50, rng)
    out = item_canvases(items, np.random.default_rng(1))
    assert out.shape == (50, 1, 32, 32) and out.dtype == np.float32
    masked = np.where(items > THRESHOLD, items, 0) / 255
    # the faint noise is dropped exactly as the scenes drop it; nothing else is lost or added
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), masked.sum(axis=(1, 2)), rtol=1e-5)
    offsets = set()
    for k in range(50):
        ys, xs = np.nonzero(out[k, 0])
        t, l = ys.min() - np.nonzero(masked[k])[0].min(), xs.min() - np.nonzero(masked[k])[1].min()
        np.testing.assert_array_equal(out[k, 0, t:t + 28, l:l + 28], masked[k].astype(np.float32))
        offsets.add((int(t), int(l)))
    assert len(offsets) > 5  # translation augmentation, not one fixed place


def test_pretraining_learns_the_items_and_touches_only_the_encoder():
    rng = np.random.default_rng(0)
    foveanet.manual_seed(0)
    net = unet(1, 3, base_width=4, depth=2)
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    items, labels = _bars(256, rng)
    history = pretrain_encoder(net, epochs=4, batch_size=32, lr=1e-2, data=(items, labels))
    assert [r["epoch"] for r in history] == [1, 2, 3, 4]
    assert history[-1]["accuracy"] > 0.9 and history[-1]["loss"] < history[0]["loss"]
    after = net.state_dict()
    assert list(after) == list(before)  # the head is not part of the U-Net
    changed = {k for k in before if not np.array_equal(before[k], after[k].numpy())}
    assert any(k.startswith("encoders.") for k in changed)
    assert not any(k.startswith(("decoders.", "ups.", "head.")) for k in changed)


def test_encoder_classifier_reads_the_bottleneck():
    net = unet(1, 11, base_width=8, depth=3)
    clf = EncoderClassifier(net)
    assert clf.fc.in_features == 64
    assert clf(foveanet.tensor(np.zeros((2, 1, 32, 32), np.float32))).shape == (2, 10)

