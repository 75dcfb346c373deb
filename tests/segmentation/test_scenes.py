"""Scene generator: hand-built masks, overlap order, reproducibility, no train/test sharing."""
import numpy as np
import pytest

from foveanet.segmentation.scenes import CLASS_NAMES, VAL_ITEMS, compose, generate_scenes


def _item():
    it = np.zeros((28, 28), np.uint8)
    it[5:15, 3:9] = 200          # the item: a 10x6 block
    it[20, 20] = 20              # faint halo below the threshold (25): not part of the item
    it[0, 27] = 26               # just above the threshold: part of it
    return it


def test_one_item_known_position():
    # a 28x28 canvas fits a 28x28 item only at (0, 0)
    data, targets = _item()[None], np.array([7])
    s = generate_scenes(1, "test", size=28, items=(1, 1), scale=None, seed=5, data=data, targets=targets)
    want = np.zeros((28, 28), np.int64)
    want[5:15, 3:9] = 8          # Fashion-MNIST class 7 (Sneaker) is index 8
    want[0, 27] = 8
    assert CLASS_NAMES[8] == "Sneaker" and CLASS_NAMES[0] == "background"
    np.testing.assert_array_equal(s.masks[0], want)
    img = np.zeros((28, 28), np.float32)
    img[5:15, 3:9] = np.float32(200) / 255
    img[0, 27] = np.float32(26) / 255
    np.testing.assert_allclose(s.images[0, 0], img, rtol=1e-6)
    assert s.images.dtype == np.float32 and s.masks.dtype == np.int64
    assert s.images.shape == (1, 1, 28, 28)
    np.testing.assert_array_equal(s.items, [[0, 0, 0, 0, 28]])


def test_position_recorded_and_later_items_on_top():
    a = np.zeros((28, 28), np.uint8)
    a[:10, :10] = 100
    b = np.zeros((28, 28), np.uint8)
    b[:10, :10] = 250
    img, mask = compose(40, [a, b], [1, 4], [(2, 3), (7, 8)])
    assert mask[2, 3] == 2 and mask[11, 7] == 2 and mask[6, 12] == 2   # only a
    assert mask[7, 8] == 5 and mask[16, 17] == 5          # b, also where it covers a
    assert mask[12, 5] == 0 and mask[1, 3] == 0 and mask[17, 17] == 0
    assert img[7, 8] == pytest.approx(250 / 255) and img[6, 8] == pytest.approx(100 / 255)
    assert (mask > 0).sum() == 100 + 100 - 25             # a 5x5 overlap counted once
    # a generated scene equals the reference composition of its own record
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, size=(6, 28, 28)).astype(np.uint8)
    targets = np.arange(6) % 10
    s = generate_scenes(3, "test", size=48, items=(2, 3), scale=None, seed=1, data=data, targets=targets)
    for k in range(3):
        rec = s.items[s.items[:, 0] == k]
        img, mask = compose(48, data[rec[:, 1]], targets[rec[:, 1]], rec[:, 2:4])
        np.testing.assert_array_equal(s.masks[k], mask)
        np.testing.assert_array_equal(s.images[k, 0], img)


def test_flip_mirrors_about_half_the_items():
    # one unscaled item filling a 28x28 canvas: each scene is its item, mirrored or not
    rng = np.random.default_rng(1)
    data = np.zeros((50, 28, 28), np.uint8)
    data[:, :, :9] = rng.integers(30, 256, size=(50, 28, 9))     # asymmetric: bright left third
    targets = np.arange(50) % 10
    kw = dict(size=28, items=(1, 1), scale=None, seed=7, data=data, targets=targets)
    plain = generate_scenes(400, "test", **kw)
    flipped = generate_scenes(400, "test", flip=True, **kw)
    np.testing.assert_array_equal(plain.items, flipped.items)   # same picks and places
    src = data[plain.items[:, 1]].astype(np.float32) * np.float32(1 / 255)
    np.testing.assert_array_equal(plain.images[:, 0], src)
    mirrored = flipped.images[:, 0, :, -1].max(axis=1) > 0     # bright right column
    np.testing.assert_array_equal(flipped.images[mirrored, 0], src[mirrored, :, ::-1])
    np.testing.assert_array_equal(flipped.images[~mirrored, 0], src[~mirrored])
    np.testing.assert_array_equal(flipped.masks[mirrored], plain.masks[mirrored][:, :, ::-1])
    assert 160 < mirrored.sum() < 240          # Binomial(400, 1/2): mean 200, sd 10


@pytest.fixture(scope="module")
def fashion():
    from foveanet.data import FashionMNIST

    try:
        tr, te = FashionMNIST(train=True, download=False), FashionMNIST(train=False, download=False)
    except Exception as e:  # noqa: BLE001 - the data set is a download away on a fresh machine
        pytest.skip(f"Fashion-MNIST not available: {e}")
    return tr, te


def test_reproducible_and_seeded(fashion):
    tr, _ = fashion
    a = generate_scenes(50, "train", seed=3, data=tr.data, targets=tr.targets)
    b = generate_scenes(50, "train", seed=3, data=tr.data, targets=tr.targets)
    c = generate_scenes(50, "train", seed=4, data=tr.data, targets=tr.targets)
    assert np.array_equal(a.images, b.images) and np.array_equal(a.masks, b.masks)
    assert not np.array_equal(a.masks, c.masks)
    counts = np.bincount(a.items[:, 0], minlength=50)
    assert counts.min() >= 2 and counts.max() <= 4
    # every labelled pixel is bright and every bright pixel is labelled
    assert np.array_equal(a.masks > 0, a.images[:, 0] > 25 / 255)


def test_train_and_test_never_share_items(fashion):
    tr, te = fashion
    kw = dict(scale=None, seed=0)
    train = generate_scenes(400, "train", data=tr.data, targets=tr.targets, **kw)
    val = generate_scenes(200, "val", data=tr.data, targets=tr.targets, **kw)
    test = generate_scenes(400, "test", data=te.data, targets=te.targets, **kw)
    assert train.split == "train" and test.split == "test"
    assert train.items[:, 1].max() < len(tr.data) - VAL_ITEMS <= val.items[:, 1].min()
    # by content: no photograph pasted in a test scene appears in any train/val scene
    seen = {tr.data[i].tobytes() for i in np.concatenate([train.items[:, 1], val.items[:, 1]])}
    assert not any(te.data[i].tobytes() in seen for i in test.items[:, 1])


def test_fast_enough(fashion):
    import time

    tr, _ = fashion
    t = time.perf_counter()
    s = generate_scenes(2000, "train", seed=0, data=tr.data, targets=tr.targets)
    assert len(s) == 2000 and time.perf_counter() - t < 10  # ~0.3 ms a scene on 2 busy cores


def test_bad_arguments():
    with pytest.raises(ValueError, match="split"):
        generate_scenes(1, "validation", data=np.zeros((1, 28, 28), np.uint8), targets=[0])
    with pytest.raises(ValueError, match="items"):
        generate_scenes(1, "test", items=(3, 2), data=np.zeros((1, 28, 28), np.uint8), targets=[0])
