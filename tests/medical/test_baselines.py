"""The hand-crafted baselines and the task labels: Otsu against scikit-image, morphology on
volumes built here, the AAL lobe grouping, and the real volumes when Debian's packages are
installed."""
import numpy as np
import pytest

pytest.importorskip("scipy")

from foveanet.medical.baselines import (bone_mask, brain_mask_baseline, largest_component,  # noqa: E402
                                        otsu_threshold)
from foveanet.medical.data import aal_lobes, normalise_mri, window_ct  # noqa: E402


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_otsu_matches_scikit_image(seed):
    filters = pytest.importorskip("skimage.filters")
    rng = np.random.default_rng(seed)
    v = np.r_[rng.normal(20, 5, 3000), rng.normal(80 + 10 * seed, 12, 2000)]
    assert otsu_threshold(v) == pytest.approx(filters.threshold_otsu(v), rel=1e-9)


def test_largest_component_and_bone_clean_up():
    m = np.zeros((10, 10, 10), bool)
    m[1:4, 1:4, 1:4] = True            # 27 voxels
    m[6:9, 6:9, 6:8] = True            # 18 voxels
    assert largest_component(m).sum() == 27 and largest_component(np.zeros_like(m)).sum() == 0
    hu = np.where(m, 700.0, -1000.0)
    hu[0, 9, 0] = 3000.0               # one voxel in range ...
    hu[9, 0, 9] = 3500.0               # ... and one above the range
    assert bone_mask(hu, clean=False).sum() == 27 + 18 + 1
    assert bone_mask(hu, min_voxels=20).sum() == 27
    assert bone_mask(hu, min_voxels=10).sum() == 27 + 18


def test_brain_baseline_separates_brain_from_scalp_on_a_synthetic_head():
    # a ball brain (bright), a dark skull shell, a bright scalp shell touching the brain at one
    # bridge: the erosion must cut the bridge
    n = 48
    z, y, x = np.mgrid[:n, :n, :n] - (n - 1) / 2
    r = np.sqrt(x * x + y * y + z * z)
    head = np.where(r < 14, 100.0, 0.0) + np.where((r > 17) & (r < 21), 70.0, 0.0)
    head[24, 24, 24 + 13:24 + 18] = 90.0          # a one-voxel bridge brain -> scalp
    m = brain_mask_baseline(head)
    brain = r < 14
    dice = 2 * (m & brain).sum() / (m.sum() + brain.sum())
    assert dice > 0.97 and not (m & (r > 17)).any()


def test_aal_lobes_normalisation_and_window():
    table = ["1 Precentral_L 2001", "2 Insula_L 3001", "3 Cingulum_Ant_L 4001", "4 Calcarine_L 5001",
             "5 Postcentral_L 6001", "6 Thalamus_L 7101", "7 Temporal_Mid_L 8201", "8 Vermis_3 9120"]
    np.testing.assert_array_equal(aal_lobes(np.arange(9), table), [0, 1, 2, 3, 4, 5, 6, 7, 8])
    x = normalise_mri(np.r_[np.zeros(10), np.linspace(1, 200, 100)])
    assert x[:10].max() == 0 and x.dtype == np.float32
    assert np.percentile(x[10:], 99) == pytest.approx(1.0)
    np.testing.assert_allclose(window_ct(np.array([-500.0, 226.0, 1500.0]), level=500, width=2000), [0, 0.363, 1])


def _real(name):
    from foveanet.data.datasets import DatasetNotFoundError

    try:
        from foveanet.medical.data import ct_path, template_path

        return ct_path() if name == "ct" else template_path(name)
    except DatasetNotFoundError as e:
        pytest.skip(f"needs Debian's medical data (`make medical-data`): {e}")


def test_real_mri_volumes_share_one_grid():
    pytest.importorskip("nibabel")
    from foveanet.medical import read_nifti

    t1, bet, aal = (read_nifti(_real(n)) for n in ("ch2.nii.gz", "ch2bet.nii.gz", "aal.nii.gz"))
    assert t1.shape == bet.shape == aal.shape == (181, 217, 181)
    np.testing.assert_allclose(t1.affine, bet.affine)
    np.testing.assert_allclose(t1.affine, aal.affine)
    mask = bet.data > 0
    assert (t1.data[mask] > 0).all()                 # the brain-extracted image is cut from the T1
    lobes = aal_lobes(aal.data, _real("aal.nii.txt"))
    assert set(np.unique(lobes)) == set(range(9))
    # atlas regions lie mostly inside the brain mask (bet leaves out sulcal CSF the atlas covers)
    assert 0.9 < (mask[lobes > 0]).mean() < 1


def test_real_ct_project_masks_are_the_hu_thresholds_it_records():
    from foveanet.medical import read_inv3

    v = read_inv3(_real("ct"))
    assert v.shape == (256, 256, 108) and v.modality == "CT" and v.data.dtype == np.int16
    np.testing.assert_allclose(v.spacing, (0.95703125, 0.95703125, 1.5), rtol=1e-6)
    assert v.data.min() == -1024                      # air, in HU
    # InVesalius saved each mask with the HU range that made it: our reading of the volume
    # reproduces both masks voxel for voxel
    for name in [k for k in v.masks if not k.endswith(" range")]:
        lo, hi = v.masks[name + " range"]
        np.testing.assert_array_equal(v.masks[name], (v.data >= lo) & (v.data <= hi))
