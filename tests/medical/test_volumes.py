"""The volume readers on tiny volumes built here: NIfTI, DICOM series, InVesalius projects,
and the errors a user meets (not NIfTI, 2-D, no pixel data, missing files)."""
import io
import plistlib
import tarfile

import numpy as np
import pytest

pytest.importorskip("nibabel")
pydicom = pytest.importorskip("pydicom")

from foveanet.errors import UserError  # noqa: E402
from foveanet.medical import (VolumeFileError, read_dicom_folder, read_inv3, read_nifti,  # noqa: E402
                              read_volume, write_nifti)


@pytest.mark.parametrize("name", ["v.nii", "v.nii.gz"])
def test_nifti_round_trip_keeps_voxels_and_affine(tmp_path, name):
    data = np.random.default_rng(0).integers(0, 255, (5, 6, 7)).astype(np.uint8)
    affine = np.array([[0, -2.0, 0, 10], [1.5, 0, 0, -3], [0, 0, 3.0, 7], [0, 0, 0, 1]])
    write_nifti(tmp_path / name, data, affine)
    v = read_nifti(tmp_path / name)
    assert v.data.dtype == np.uint8 and (v.data == data).all()
    np.testing.assert_allclose(v.affine, affine)
    assert v.spacing == (1.5, 2.0, 3.0)


def test_nifti_errors(tmp_path):
    import nibabel as nib

    (tmp_path / "notes.nii.gz").write_text("not a volume")
    with pytest.raises(VolumeFileError, match="not a readable NIfTI"):
        read_nifti(tmp_path / "notes.nii.gz")
    nib.save(nib.Nifti1Image(np.zeros((8, 9), np.float32), np.eye(4)), tmp_path / "flat.nii")
    with pytest.raises(VolumeFileError, match="expected a 3-D volume, got a 2-D image of shape \\(8, 9\\)"):
        read_nifti(tmp_path / "flat.nii")
    nib.save(nib.Nifti1Image(np.zeros((8, 9, 1), np.float32), np.eye(4)), tmp_path / "one.nii")
    with pytest.raises(VolumeFileError, match="single slice"):
        read_nifti(tmp_path / "one.nii")
    nib.save(nib.Nifti1Image(np.ones((4, 5, 6, 1), np.float32), np.eye(4)), tmp_path / "four.nii")
    assert read_nifti(tmp_path / "four.nii").shape == (4, 5, 6)   # a 4-D header around one volume
    with pytest.raises(VolumeFileError, match="no such file"):
        read_nifti(tmp_path / "missing.nii")
    with pytest.raises(VolumeFileError, match="got a file named 'scan.png'"):
        (tmp_path / "scan.png").write_bytes(b"\x89PNG")
        read_volume(tmp_path / "scan.png")
    assert issubclass(VolumeFileError, UserError)


def _dicom_slice(path, pixels, position, pixel_data=True, slope=1.0, intercept=-1024.0):
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = CTImageStorage, meta.MediaStorageSOPInstanceUID, "CT"
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]       # rows along +x (left), columns along +y (posterior)
    ds.ImagePositionPatient = list(position)
    ds.PixelSpacing = [0.5, 0.8]                          # row spacing, column spacing
    if pixel_data:
        ds.Rows, ds.Columns = pixels.shape
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation, ds.SamplesPerPixel, ds.PhotometricInterpretation = 0, 1, "MONOCHROME2"
        ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
        ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.save_as(str(path), enforce_file_format=True)


def test_dicom_series_voxels_order_and_affine(tmp_path):
    rng = np.random.default_rng(1)
    planes = [rng.integers(0, 3000, (3, 4)) for _ in range(3)]
    # written out of order: the reader sorts along the normal (z here)
    for name, k in (("b.dcm", 2), ("a.dcm", 0), ("c.dcm", 1)):
        _dicom_slice(tmp_path / name, planes[k], (-10.0, 20.0, 5.0 + 2.5 * k))
    (tmp_path / "README.txt").write_text("skipped")
    v = read_volume(tmp_path)
    assert v.shape == (4, 3, 3) and v.modality == "CT"        # (columns, rows, slices)
    for k in range(3):
        np.testing.assert_array_equal(v.data[:, :, k], planes[k].T - 1024.0)   # HU = value - 1024
    # RAS+: x and y of LPS+ change sign; column step 0.8 mm along x, row step 0.5 along y
    np.testing.assert_allclose(v.affine, [[-0.8, 0, 0, 10], [0, -0.5, 0, -20], [0, 0, 2.5, 5], [0, 0, 0, 1]])


def test_dicom_errors(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VolumeFileError, match="no DICOM files"):
        read_dicom_folder(tmp_path / "empty")
    (tmp_path / "report").mkdir()
    _dicom_slice(tmp_path / "report" / "sr.dcm", None, (0, 0, 0), pixel_data=False)
    with pytest.raises(VolumeFileError, match="none holds pixel data"):
        read_volume(tmp_path / "report")
    (tmp_path / "one").mkdir()
    _dicom_slice(tmp_path / "one" / "x.dcm", np.zeros((3, 3)), (0, 0, 0))
    with pytest.raises(VolumeFileError, match="one DICOM slice only, a 2-D image"):
        read_volume(tmp_path / "one")


def _inv3(path, volume, spacing, mask=None, matrix_bytes=None):
    main = {"matrix": {"filename": "matrix.dat", "dtype": "int16", "shape": list(volume.shape)},
            "spacing": spacing, "modality": "CT", "masks": {}}
    files = [("matrix.dat", matrix_bytes if matrix_bytes is not None else volume.astype("<i2").tobytes())]
    if mask is not None:
        main["masks"] = {"0": "mask_0.plist"}
        raw = np.zeros(tuple(s + 1 for s in volume.shape), np.uint8)
        raw[1:, 1:, 1:] = mask * 255
        raw[0], raw[:, 0], raw[:, :, 0] = 1, 1, 1          # the edit flags, never voxels
        info = {"mask_file": "mask_0.dat", "mask_shape": list(raw.shape), "name": "Bone",
                "threshold_range": [226, 3071]}
        files += [("mask_0.plist", plistlib.dumps(info)), ("mask_0.dat", raw.tobytes())]
    files.insert(0, ("main.plist", plistlib.dumps(main)))
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in files:
            ti = tarfile.TarInfo("tmpdir/" + name)
            ti.size = len(blob)
            tar.addfile(ti, io.BytesIO(blob))


def test_inv3_volume_and_masks(tmp_path):
    vol = np.arange(2 * 3 * 4, dtype=np.int16).reshape(2, 3, 4) * 100 - 1000    # slices, rows, columns
    _inv3(tmp_path / "p.inv3", vol, [0.9, 0.9, 1.5], mask=vol >= 226)
    v = read_volume(tmp_path / "p.inv3")
    assert v.shape == (4, 3, 2) and v.data.dtype == np.int16 and v.modality == "CT"
    assert v.data[1, 2, 0] == vol[0, 2, 1]
    np.testing.assert_allclose(v.affine, np.diag([0.9, 0.9, 1.5, 1.0]))
    np.testing.assert_array_equal(v.masks["Bone"], v.data >= 226)
    assert v.masks["Bone range"] == (226, 3071)


def test_inv3_errors(tmp_path):
    vol = np.zeros((2, 3, 4), np.int16)
    _inv3(tmp_path / "short.inv3", vol, [1, 1, 1], matrix_bytes=b"\0" * 10)
    with pytest.raises(VolumeFileError, match="holds 10 bytes, its shape \\(2, 3, 4\\) of int16 needs 48"):
        read_inv3(tmp_path / "short.inv3")
    for shape, dtype in [([-2, -3, 4], "int16"), ([2**32, 2**32, 1], "int16"), ([2, 3, 4], "O")]:
        _inv3(tmp_path / "crafted.inv3", vol, [1, 1, 1])   # a main.plist rewritten by hand
        with tarfile.open(tmp_path / "crafted.inv3") as tar:
            blobs = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}
        main = plistlib.loads(blobs["tmpdir/main.plist"])
        main["matrix"].update(shape=shape, dtype=dtype)
        blobs["tmpdir/main.plist"] = plistlib.dumps(main)
        with tarfile.open(tmp_path / "crafted.inv3", "w:gz") as tar:
            for name, blob in blobs.items():
                ti = tarfile.TarInfo(name)
                ti.size = len(blob)
                tar.addfile(ti, io.BytesIO(blob))
        with pytest.raises(VolumeFileError, match="expected positive sizes of a numeric type|needs"):
            read_inv3(tmp_path / "crafted.inv3")
    (tmp_path / "x.inv3").write_bytes(b"not a tar")
    with pytest.raises(VolumeFileError, match="not an InVesalius project"):
        read_inv3(tmp_path / "x.inv3")
    with pytest.raises(VolumeFileError, match="no such file"):
        read_inv3(tmp_path / "missing.inv3")
