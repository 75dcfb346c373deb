"""Slab splits, reorientation and resampling between a volume's slices and the net's grid."""
import numpy as np
import pytest

pytest.importorskip("nibabel")
pytest.importorskip("scipy")

from foveanet.medical.slices import NetGrid, canonical, from_canonical, slab_split  # noqa: E402


@pytest.mark.parametrize("n,slab,gap", [(181, 16, 4), (108, 10, 3), (50, 7, 0), (9, 20, 4)])
def test_slabs_are_disjoint_with_gaps_between_splits(n, slab, gap):
    s = slab_split(n, slab, gap)
    owner = np.full(n, "", object)
    for name, idx in s.items():
        assert (owner[idx] == "").all()            # no slice in two splits
        owner[idx] = name
    used = np.flatnonzero(owner != "")
    # slices of different splits are at least gap + 1 apart (gap unused slices between)
    for a, b in zip(used[:-1], used[1:]):
        if owner[a] != owner[b]:
            assert b - a >= gap + 1
    # every slab is slab slices long (the last may be cut by the end)
    expected_used = sum(min(slab, n - start) for start in range(0, n, slab + gap))
    assert len(used) == expected_used


def test_slab_split_counts_of_the_mri_recipe():
    s = slab_split(181, 16, 4)      # train val train test train val train test train val(1 slice: 180)
    assert [len(s[k]) for k in ("train", "val", "test")] == [16 * 5, 16 * 2 + 1, 16 * 2]
    assert s["test"][0] == 60 and s["test"][-1] == 155
    with pytest.raises(ValueError, match="slab must be >= 1"):
        slab_split(10, 0, 1)


def test_canonical_round_trip_on_a_permuted_flipped_affine():
    x = np.random.default_rng(0).normal(size=(3, 4, 5))
    # voxel axes: i runs inferior (z, flipped), j right (x), k posterior (y, flipped)
    aff = np.array([[0, 2.0, 0, 0], [0, 0, -3.0, 0], [-1.5, 0, 0, 0], [0, 0, 0, 1]])
    ras, ras_aff, ornt = canonical(x, aff)
    assert ras.shape == (4, 5, 3)
    np.testing.assert_allclose(np.diag(ras_aff)[:3], [2.0, 3.0, 1.5])
    # the same world point from both: voxel (i, j, k) of x is ras[j, 4 - k, 2 - i]
    np.testing.assert_allclose(ras_aff @ [1, 4 - 2, 2 - 0, 1], aff @ [0, 1, 2, 1])
    assert ras[1, 4 - 2, 2 - 0] == x[0, 1, 2]
    np.testing.assert_array_equal(from_canonical(ras, ornt), x)


def test_net_grid_resamples_and_pads():
    g = NetGrid((10, 12), spacing=(1.0, 1.0), mm=1.0, stride=8)
    x = np.random.default_rng(0).random((2, 10, 12)).astype(np.float32)
    net = g.to_net(x)
    assert net.shape == (2, 16, 16)
    np.testing.assert_array_equal(net[:, :10, :12], x)   # same pixel size: copied, zero-padded
    assert not net[:, 10:].any() and not net[:, :, 12:].any()
    np.testing.assert_array_equal(g.from_net(net[:, None])[:, 0], x)
    half = NetGrid((10, 12), spacing=(1.0, 1.0), mm=2.0, stride=4)
    assert half.inner == (5, 6) and half.padded == (8, 8)
    labels = np.zeros((1, 10, 12), np.float32)
    labels[0, :, 6:] = 1
    np.testing.assert_array_equal(half.to_net(labels, order=0)[0, :5, :6], np.repeat([[0, 0, 0, 1, 1, 1]], 5, 0))
    # a constant map comes back constant at the slices' own size
    np.testing.assert_allclose(half.from_net(np.full((1, 2, 8, 8), 0.25, np.float32)), 0.25)
