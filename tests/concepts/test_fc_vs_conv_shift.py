"""FC vs conv counts (the lecture's numbers) and the shift experiment on a real image."""
import numpy as np
import pytest

from foveanet.concepts import fc_vs_conv, shift_experiment, shift_image


def test_same_sized_fc_layer_on_a_400x400x3_image():
    r = fc_vs_conv((400, 400, 3))
    assert r.inputs == 480_000 and r.units == 480_000
    assert r.fc_weights == 480_000 ** 2 == 230_400_000_000      # 2.304e11
    assert r.fc_params == 230_400_000_000 + 480_000
    assert r.conv_params is None and r.param_ratio is None


def test_fc_to_1000_units():
    r = fc_vs_conv((400, 400, 3), units=1000)
    assert r.fc_weights == 480_000_000
    assert r.fc_params == 480_001_000
    assert fc_vs_conv((400, 400, 3), units=1000, bias=False).fc_params == 480_000_000


def test_32x32x3_to_28x28x6():
    r = fc_vs_conv((32, 32, 3), conv=(5, 6))
    assert r.output_shape == (28, 28, 6) and r.units == 4704
    assert r.fc_weights == 3072 * 4704 == 14_450_688
    assert r.conv_params == 5 * 5 * 3 * 6 + 6 == 456
    assert r.conv_params_ignoring_channels == 5 * 5 * 6 + 6 == 156   # the course's number
    assert r.conv_formula == "(5*5*3+1)*6 = 456"
    assert r.conv_connections == 28 * 28 * 6 * 75
    assert r.param_ratio == pytest.approx((3072 + 1) * 4704 / 456)
    assert "14,450,688" in str(r) and "156" in str(r)


def test_fc_vs_conv_errors():
    with pytest.raises(ValueError, match="not both"):
        fc_vs_conv((32, 32, 3), units=10, conv=(5, 6))
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        fc_vs_conv((32, 32))


def test_shift_image_by_hand():
    img = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(shift_image(img, 1), [[0, 0, 1, 2], [0, 4, 5, 6], [0, 8, 9, 10]])
    np.testing.assert_array_equal(shift_image(img, 1, axis=0), [[0, 0, 0, 0], [0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(shift_image(img, -2)[:, :2], img[:, 2:])
    assert not shift_image(img, 4).any()


def test_shift_counts_on_a_bar():
    img = np.zeros((8, 8))
    img[2:6, 3] = 1.0          # a vertical bar, 4 pixels
    r = shift_experiment(img, k=1, threshold=0.5, kernel_size=3)
    # the bar leaves column 3 and lands on column 4: 8 values change, 4 each way
    assert (r.changed, r.dark_to_light, r.light_to_dark) == (8, 4, 4)
    assert r.conv_equivariant and r.fc_relative_change > 0


@pytest.fixture(scope="module")
def fashion_image():
    from foveanet.data import FashionMNIST

    try:
        return FashionMNIST(train=False).data[0]
    except Exception as e:  # the data set is not on this machine
        pytest.skip(f"Fashion-MNIST not available: {e}")


@pytest.mark.parametrize("k,axis", [(1, 1), (2, 0), (3, 1)])
def test_shift_experiment_on_fashion_mnist(fashion_image, k, axis):
    x = fashion_image.astype(np.float64) / 255
    r = shift_experiment(fashion_image, k=k, axis=axis)
    xs = shift_image(x, k, axis)
    assert r.pixels == 784
    assert r.changed == np.count_nonzero(x != xs) > 0
    assert r.dark_to_light == np.count_nonzero((x < 0.5) & (xs >= 0.5))
    assert r.light_to_dark == np.count_nonzero((x >= 0.5) & (xs < 0.5))
    # equivariance: exactly equal on the interior (26 - k columns/rows of the 26x26 map, 4 maps)
    assert r.conv_compared == 4 * 26 * (26 - k)
    assert r.conv_max_abs_diff == 0.0 and r.conv_equivariant
    # without re-aligning, the feature map changes; so does the FC output, arbitrarily
    assert r.conv_relative_change > 0.05
    assert r.fc_relative_change > 0.05


def test_shift_experiment_errors():
    with pytest.raises(ValueError, match="no interior"):
        shift_experiment(np.zeros((5, 5)), k=3)
    with pytest.raises(ValueError, match="2-d"):
        shift_experiment(np.zeros((1, 5, 5)))
