"""vision.pictures / vision.features: PNGs are written, hooks see the right tensors, receptive
field boxes match hand-worked LeNet-5 numbers."""
import numpy as np
import pytest
from PIL import Image

from foveanet.functional import conv2d
from foveanet.models import lenet5
from foveanet.vision import features as V
from foveanet.vision import filters as F
from foveanet.vision import pictures as P


def png(path):
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert im.width > 100 and im.height > 100
        return im.size


@pytest.fixture
def boot():
    img = np.zeros((28, 28), dtype=np.float32)
    img[8:22, 5:24] = np.linspace(0.2, 1, 19)  # a lit rectangle: edges on every side
    return img


def test_filter_grid_has_one_panel_per_filter(tmp_path, rng):
    img = rng.random((3, 20, 30)).astype(np.float32)
    fig = P._filter_grid_figure(img, "per-channel")
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 1 + len(F.names()) + 1  # original, every filter, edge magnitude
    titles = [ax.get_title() for ax in panels]
    assert titles[F.names().index("sobel_x") + 1] == "sobel_x\n-1  0  1\n-2  0  2\n-1  0  1"
    assert titles[F.names().index("gaussian_blur") + 1].startswith("gaussian_blur\n1/16 x\n1 2 1")
    assert png(P.filter_grid(img, tmp_path / "sub" / "g.png"))


def test_filter_grid_shrinks_large_images(rng):
    img = rng.random((1, 900, 1200)).astype(np.float32)
    assert P._fit(img, 300).shape == (1, 225, 300)
    assert P._fit(img, None).shape == img.shape


def test_kernel_text():
    assert P.kernel_text(F.get("box_blur")) == "1/9 x\n1 1 1\n1 1 1\n1 1 1"
    assert P.kernel_text(F.get("laplacian")) == " 0  1  0\n 1 -4  1\n 0  1  0"
    assert P.kernel_text([[0.3]]) == "0.3"


def test_padding_grid_and_chart(tmp_path):
    png(P.padding_stride_grid(7, 3, 1, 2, tmp_path / "p.png"))
    png(P.padding_stride_grid(6, 3, 0, 2, tmp_path / "p2.png", positions=10))
    png(P.fc_vs_conv_chart(tmp_path / "c.png", sizes=(32, 64)))
    with pytest.raises(ValueError, match="does not fit"):
        P.padding_stride_grid(2, 5, 1, 1, tmp_path / "x.png")
    with pytest.raises(ValueError, match="s must be"):
        P.padding_stride_grid(7, 3, 1, 0, tmp_path / "x.png")
    with pytest.raises(ValueError, match="at least 5"):
        P.fc_vs_conv_chart(tmp_path / "x.png", sizes=(4, 32))


def test_learned_filters(tmp_path, rng):
    assert png(V.learned_filters(lenet5(), tmp_path / "f.png"))
    rgb = rng.standard_normal((8, 3, 5, 5)).astype(np.float32)
    assert png(V.learned_filters(rgb, tmp_path / "rgb.png"))
    assert png(V.learned_filters(rgb[:, :2], tmp_path / "two.png"))  # shown as the channel mean
    with pytest.raises(ValueError, match="out, in, kh, kw"):
        V.learned_filters(rgb[0], tmp_path / "x.png")


def test_hooks_capture_each_conv_output(boot):
    m = lenet5()
    outs = V._run(m, boot, None, ["features.0", "features.3"])
    assert outs["features.0"].shape == (6, 28, 28) and outs["features.3"].shape == (16, 10, 10)
    conv = m.features[0]
    want = conv2d(boot[None, None], conv.weight, conv.bias, padding=2).numpy()[0]
    # the hook copies before the in-place ReLU that follows the conv
    np.testing.assert_allclose(outs["features.0"], want, rtol=1e-5, atol=1e-6)
    assert (want < 0).any()
    assert not m._modules["features"]._modules["0"]._forward_hooks  # hooks removed


def test_feature_maps_with_transform(tmp_path, boot):
    seen = []

    def tf(x):
        seen.append(x.shape)
        return (x - 0.5) / 0.25

    assert png(V.feature_maps(lenet5(), boot, tmp_path / "m.png", transform=tf, max_maps=4))
    assert seen == [(1, 1, 28, 28)]


def test_receptive_field_boxes_by_hand():
    m = lenet5()
    # features.3 (conv2, 5x5) unit (0, 0) sees pool1 0..4, i.e. conv1 0..9, i.e. input
    # (0 - 2)..(9 + 2) with conv1's padding 2: -2..11, 14 pixels
    assert V.receptive_field_box(m, (1, 28, 28), "features.3", (0, 0)) == (-2, -2, 11, 11)
    # one step on conv2 is two pixels on the input (the pool's stride)
    assert V.receptive_field_box(m, (1, 28, 28), "features.3", (1, 2)) == (0, 2, 13, 15)
    # pool2 unit 0 = conv2 units 0 and 1: -2..13
    assert V.receptive_field_box(m, (1, 28, 28), "features.5", (0, 0)) == (-2, -2, 13, 13)
    assert V.receptive_field_box(m, (1, 28, 28), "features.0", (27, 0)) == (25, -2, 29, 2)
    with pytest.raises(ValueError, match="outside"):
        V.receptive_field_box(m, (1, 28, 28), "features.3", (10, 0))
    with pytest.raises(ValueError, match="flattening"):
        V.receptive_field_box(m, (1, 28, 28), "classifier.0", (0, 0))
    with pytest.raises(ValueError, match="no layer named 'conv9'.*features.3"):
        V.receptive_field_box(m, (1, 28, 28), "conv9", (0, 0))


def test_receptive_field_picture(tmp_path, boot):
    assert png(V.receptive_field_picture(lenet5(), boot, "features.3", (4, 5), tmp_path / "rf.png"))
