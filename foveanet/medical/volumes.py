"""Reading and writing 3-D medical volumes: NIfTI files (nibabel), DICOM series folders
(pydicom) and InVesalius projects (``.inv3``).

Every reader returns a ``Volume``: the voxels as a 3-D array indexed (i, j, k) and the 4 x 4
affine that maps (i, j, k, 1) to millimetres in RAS+ space (x to the patient's Right, y
Anterior, z Superior), NIfTI's convention, so a mask written with the same affine lies on
the scan in any viewer.

DICOM stores patient coordinates in LPS+ (x to the Left, y Posterior): the affine's first
two rows change sign.  A slice's voxel (column c, row r) sits at

    P = IPP + c * dc * X + r * dr * Y

with IPP the ImagePositionPatient, X and Y the row and column direction cosines
(ImageOrientationPatient), dc and dr the column and row spacings (PixelSpacing = dr, dc);
the slices are ordered along the normal X x Y and the third column of the affine is the
step between the first two positions.  Pixel values become ``value * RescaleSlope +
RescaleIntercept`` (Hounsfield units for CT).

An InVesalius 3 project is a gzip'd tar of property lists (XML plists, read with
``plistlib``) and raw arrays: ``main.plist`` names the volume file (``matrix.dat``), its
dtype (int16 HU for CT), shape (slices, rows, columns) and spacing (x, y, z in mm); each
``mask_N.plist`` names a uint8 mask one voxel larger on every axis, whose first plane,
row and column are InVesalius's edit flags (255 marks a voxel in the mask).  The project
holds no patient position, so the affine is the diagonal of the spacings.
"""
from __future__ import annotations

import math
import plistlib
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from foveanet.errors import UserError

__all__ = ["VolumeFileError", "Volume", "read_volume", "read_nifti", "read_dicom_folder", "read_inv3",
           "write_nifti"]


class VolumeFileError(UserError, ValueError):
    """A file or folder that is not a readable 3-D medical volume; the text names what was
    expected and what came.

    Example::

        >>> from foveanet.medical import VolumeFileError, read_volume
        >>> try:
        ...     read_volume("notes.txt")
        ... except VolumeFileError as e:
        ...     print(e)
        notes.txt: no such file or folder (expected a .nii/.nii.gz file, a DICOM folder or an .inv3 project)
    """


@dataclass
class Volume:
    """A 3-D scan: voxels ``data`` indexed (i, j, k), the voxel-to-RAS+ millimetre
    ``affine`` (4 x 4), the ``modality`` ('MR', 'CT' or '' when unknown) and the ``source``
    path.

    Example::

        >>> from foveanet.medical import Volume
        >>> v = Volume(np.zeros((4, 5, 6), np.float32), np.diag([2.0, 2.0, 3.0, 1.0]), "CT")
        >>> v.shape, v.spacing
        ((4, 5, 6), (2.0, 2.0, 3.0))
    """

    data: np.ndarray
    affine: np.ndarray
    modality: str = ""
    source: str = ""
    masks: dict = field(default_factory=dict)

    @property
    def shape(self) -> tuple:
        return tuple(self.data.shape)

    @property
    def spacing(self) -> tuple:
        """Voxel sides in mm: the lengths of the affine's first three columns."""
        return tuple(float(s) for s in np.linalg.norm(self.affine[:3, :3], axis=0))


def _nibabel():
    try:
        import nibabel
    except ImportError:
        raise VolumeFileError("reading NIfTI needs nibabel: pip install 'foveanet[medical]'") from None
    return nibabel


def _three_d(data: np.ndarray, where: str) -> np.ndarray:
    while data.ndim > 3 and data.shape[-1] == 1:   # (X, Y, Z, 1): a 4-D header around one volume
        data = data[..., 0]
    if data.ndim != 3:
        raise VolumeFileError(f"{where}: expected a 3-D volume, got a {data.ndim}-D image of shape "
                              f"{tuple(data.shape)}")
    if min(data.shape) < 2:
        raise VolumeFileError(f"{where}: expected a 3-D volume, got a single slice of shape {tuple(data.shape)} "
                              "(a 2-D image)")
    return data


def read_nifti(path) -> Volume:
    """A NIfTI-1/2 file (``.nii`` or ``.nii.gz``) as a ``Volume``.

    Args:
        path: the file.

    Returns:
        Volume: the voxels (the file's dtype, scaled by its slope/intercept when it has one)
        and the file's best affine (qform or sform).

    Raises:
        VolumeFileError: a missing file, a file that is not NIfTI, or data that is not 3-D.

    Example::

        >>> import os, tempfile
        >>> from foveanet.medical import read_nifti, write_nifti
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = os.path.join(d, "mask.nii.gz")
        ...     write_nifti(path, np.ones((3, 4, 5), np.uint8), np.diag([1.0, 1.0, 2.0, 1.0]))
        ...     v = read_nifti(path)
        >>> v.shape, v.spacing, int(v.data.sum())
        ((3, 4, 5), (1.0, 1.0, 2.0), 60)
    """
    path = Path(path)
    if not path.is_file():
        raise VolumeFileError(f"{path}: no such file (expected a .nii or .nii.gz volume)")
    nib = _nibabel()
    try:
        img = nib.load(str(path))
        if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
            raise VolumeFileError(f"{path}: expected a NIfTI file, got a {type(img).__name__}")
        data = np.asanyarray(img.dataobj)
    except VolumeFileError:
        raise
    except Exception as e:   # nibabel's ImageFileError, a truncated gzip, a bad header...
        raise VolumeFileError(f"{path}: not a readable NIfTI file ({type(e).__name__}: {e})") from None
    return Volume(_three_d(np.asarray(data), str(path)), np.asarray(img.affine, np.float64), "", str(path))


def write_nifti(path, data, affine) -> None:
    """Write a 3-D array as a NIfTI-1 file (gzip'd when the name ends in ``.gz``), atomically.

    Args:
        path: the file to write.
        data: the 3-D array (uint8 masks stay uint8).
        affine: the 4 x 4 voxel-to-RAS+ affine (the input scan's, so the mask lies on it).

    Example::

        >>> import os, tempfile
        >>> from foveanet.medical import read_nifti, write_nifti
        >>> with tempfile.TemporaryDirectory() as d:
        ...     write_nifti(os.path.join(d, "m.nii"), np.eye(3, dtype=np.uint8)[None].repeat(2, 0), np.eye(4))
        ...     read_nifti(os.path.join(d, "m.nii")).data.dtype
        dtype('uint8')
    """
    from foveanet.serialization import atomic_write

    nib = _nibabel()
    img = nib.Nifti1Image(np.asarray(data), np.asarray(affine, np.float64))
    img.set_qform(np.asarray(affine, np.float64), code=1)   # both forms, so every viewer agrees
    img.set_sform(np.asarray(affine, np.float64), code=1)
    blob = img.to_bytes()
    if str(path).endswith(".gz"):
        import gzip

        blob = gzip.compress(blob, compresslevel=6, mtime=0)
    atomic_write(path, blob)


def _pydicom():
    try:
        import pydicom
    except ImportError:
        raise VolumeFileError("reading DICOM needs pydicom: pip install 'foveanet[medical]'") from None
    return pydicom


def read_dicom_folder(folder) -> Volume:
    """A folder of DICOM slices of one series as a ``Volume`` in RAS+ (see the module docstring).

    Files that are not DICOM are skipped; the slices are ordered along the slice normal.

    Args:
        folder: the folder (its files, not its subfolders).

    Returns:
        Volume: the voxels (i: column, j: row, k: slice) as float32 after the rescale
        slope/intercept, and the affine.

    Raises:
        VolumeFileError: no DICOM files, DICOM files without pixel data, one slice only
            (a 2-D image), slices of different sizes or orientations.

    Example::

        >>> import os, tempfile
        >>> from foveanet.medical import read_dicom_folder
        >>> with tempfile.TemporaryDirectory() as d:
        ...     open(os.path.join(d, "notes.txt"), "w").close()
        ...     try:
        ...         read_dicom_folder(d)
        ...     except ValueError as e:
        ...         print(str(e).split(": ", 1)[1])
        no DICOM files in the folder (expected a folder of one series' slices)
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise VolumeFileError(f"{folder}: no such folder (expected a folder of DICOM slices)")
    pydicom = _pydicom()
    slices, no_pixels = [], []
    for f in sorted(p for p in folder.iterdir() if p.is_file()):
        try:
            ds = pydicom.dcmread(str(f))
        except Exception:   # pydicom's InvalidDicomError and friends: not a DICOM file
            continue
        (slices if "PixelData" in ds else no_pixels).append((f, ds))
    if not slices:
        if no_pixels:
            raise VolumeFileError(f"{folder}: {len(no_pixels)} DICOM file(s) but none holds pixel data "
                                  f"(e.g. {no_pixels[0][0].name}: a report or structured document, not an image)")
        raise VolumeFileError(f"{folder}: no DICOM files in the folder (expected a folder of one series' slices)")
    if len(slices) < 2:
        raise VolumeFileError(f"{folder}: one DICOM slice only, a 2-D image (expected a series of >= 2 slices)")
    first = slices[0][1]
    try:
        iop = np.array(first.ImageOrientationPatient, np.float64)
        row_dir, col_dir = iop[:3], iop[3:]
        dr, dc = (float(v) for v in first.PixelSpacing)
    except AttributeError as e:
        raise VolumeFileError(f"{folder}: DICOM slices without geometry ({e})") from None
    normal = np.cross(row_dir, col_dir)
    pos = []
    for f, ds in slices:
        if not np.allclose(np.array(ds.ImageOrientationPatient, np.float64), iop, atol=1e-4):
            raise VolumeFileError(f"{folder}: {f.name} has another orientation than {slices[0][0].name} "
                                  "(expected one series)")
        pos.append(np.array(ds.ImagePositionPatient, np.float64))
    order = np.argsort([p @ normal for p in pos])
    planes = []
    for i in order:
        f, ds = slices[i]
        try:
            a = ds.pixel_array.astype(np.float32)
        except Exception as e:
            raise VolumeFileError(f"{folder}: {f.name}: unreadable pixel data ({e})") from None
        if planes and a.T.shape != planes[0].shape:
            raise VolumeFileError(f"{folder}: {f.name} is {a.shape}, the first slice {planes[0].T.shape} "
                                  "(expected one series)")
        a = a * np.float32(getattr(ds, "RescaleSlope", 1)) + np.float32(getattr(ds, "RescaleIntercept", 0))
        planes.append(a.T)   # (rows, columns) -> (i: column, j: row)
    p0, p1 = pos[order[0]], pos[order[1]]
    affine = np.eye(4)
    affine[:3, 0], affine[:3, 1], affine[:3, 2], affine[:3, 3] = row_dir * dc, col_dir * dr, p1 - p0, p0
    affine[:2] *= -1   # LPS+ -> RAS+
    return Volume(np.stack(planes, axis=2), affine, str(getattr(first, "Modality", "")), str(folder))


def _plist(tar: tarfile.TarFile, name: str, where: str) -> dict:
    member = next((m for m in tar.getmembers() if m.isfile() and Path(m.name).name == name), None)
    if member is None:
        raise VolumeFileError(f"{where}: no {name} inside (expected an InVesalius 3 project)")
    try:
        return plistlib.loads(tar.extractfile(member).read())
    except Exception as e:
        raise VolumeFileError(f"{where}: {name} is not a property list ({e})") from None


def _raw(tar: tarfile.TarFile, name: str, dtype, shape, where: str) -> np.ndarray:
    member = next((m for m in tar.getmembers() if m.isfile() and Path(m.name).name == name), None)
    if member is None:
        raise VolumeFileError(f"{where}: no {name} inside, which main.plist names")
    dtype = np.dtype(dtype)
    if dtype.kind not in "biuf" or len(shape) == 0 or min(shape) < 1:
        raise VolumeFileError(f"{where}: main.plist describes {name} as shape {tuple(shape)} of "
                              f"{dtype}, expected positive sizes of a numeric type")
    need = math.prod(shape) * dtype.itemsize   # Python integers: a crafted shape cannot wrap
    if member.size != need:   # checked before reading: the plist's sizes against the bytes
        raise VolumeFileError(f"{where}: {name} holds {member.size} bytes, its shape {tuple(shape)} "
                              f"of {np.dtype(dtype).name} needs {need}")
    return np.frombuffer(tar.extractfile(member).read(), dtype).reshape(shape)


def read_inv3(path, masks: bool = True) -> Volume:
    """An InVesalius 3 project (``.inv3``) as a ``Volume`` (see the module docstring).

    Args:
        path: the .inv3 file.
        masks: also read the project's masks into ``Volume.masks`` (name -> bool array of the
            volume's shape, with the threshold range InVesalius made it with as
            ``masks[name + ' range']``) (default True).

    Returns:
        Volume: the voxels as (i: column, j: row, k: slice) in the file's dtype (int16 HU for
        CT), the diagonal affine of the spacings, the modality.

    Raises:
        VolumeFileError: not a gzip'd tar, missing parts, sizes that disagree.

    Example::

        >>> import io, os, plistlib, tarfile, tempfile
        >>> from foveanet.medical import read_inv3
        >>> vol = np.arange(24, dtype=np.int16).reshape(2, 3, 4)        # slices, rows, columns
        >>> main = {"matrix": {"filename": "matrix.dat", "dtype": "int16", "shape": [2, 3, 4]},
        ...         "spacing": [0.5, 0.5, 2.0], "modality": "CT", "masks": {}}
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = os.path.join(d, "tiny.inv3")
        ...     with tarfile.open(path, "w:gz") as tar:
        ...         for name, blob in [("main.plist", plistlib.dumps(main)), ("matrix.dat", vol.tobytes())]:
        ...             info = tarfile.TarInfo("p/" + name); info.size = len(blob)
        ...             tar.addfile(info, io.BytesIO(blob))
        ...     v = read_inv3(path)
        >>> v.shape, v.spacing, v.modality, int(v.data[3, 2, 1]) == int(vol[1, 2, 3])
        ((4, 3, 2), (0.5, 0.5, 2.0), 'CT', True)
    """
    path = Path(path)
    where = str(path)
    if not path.is_file():
        raise VolumeFileError(f"{where}: no such file (expected an InVesalius .inv3 project)")
    try:
        tar = tarfile.open(str(path), "r:*")
    except (tarfile.TarError, OSError) as e:
        raise VolumeFileError(f"{where}: not an InVesalius project, a gzip'd tar ({e})") from None
    with tar:
        main = _plist(tar, "main.plist", where)
        try:
            m = main["matrix"]
            filename, dtype, shape = m["filename"], np.dtype(m["dtype"]), tuple(int(s) for s in m["shape"])
            spacing = [float(s) for s in main["spacing"]]
        except (KeyError, TypeError, ValueError) as e:
            raise VolumeFileError(f"{where}: main.plist lacks the volume's description ({e})") from None
        if len(shape) != 3 or len(spacing) != 3:
            raise VolumeFileError(f"{where}: expected a 3-D volume, main.plist gives shape {shape}")
        data = _raw(tar, filename, dtype.newbyteorder("<"), shape, where)
        vol = Volume(data.transpose(2, 1, 0).astype(dtype), np.diag(spacing + [1.0]),
                     str(main.get("modality", "")), where)
        for key in sorted(main.get("masks", {}), key=str) if masks else []:
            info = _plist(tar, main["masks"][key], where)
            try:
                mask_file, mask_shape = info["mask_file"], tuple(int(s) for s in info["mask_shape"])
            except (KeyError, TypeError, ValueError) as e:
                raise VolumeFileError(f"{where}: mask {key!r} lacks its file or shape ({e})") from None
            raw = _raw(tar, mask_file, np.uint8, mask_shape, where)
            if raw.shape != tuple(s + 1 for s in shape):
                raise VolumeFileError(f"{where}: mask {mask_file} is {raw.shape}, expected {shape} + 1")
            name = str(info.get("name", key))
            vol.masks[name] = (raw[1:, 1:, 1:] > 127).transpose(2, 1, 0)
            vol.masks[name + " range"] = tuple(info.get("threshold_range", ()))
    return vol


def read_volume(path) -> Volume:
    """Any supported volume: a DICOM folder, an ``.inv3`` project or a NIfTI file.

    Args:
        path: a folder (DICOM series), ``*.inv3``, or ``*.nii`` / ``*.nii.gz``.

    Returns:
        Volume: see the readers.

    Raises:
        VolumeFileError: a missing path, or a file none of the readers accept.

    Example::

        >>> from foveanet.medical import read_volume
        >>> try:
        ...     read_volume("no/such/scan.nii.gz")
        ... except ValueError as e:
        ...     print(e)
        no/such/scan.nii.gz: no such file or folder (expected a .nii/.nii.gz file, a DICOM folder or an .inv3 project)
    """
    p = Path(path)
    if p.is_dir():
        return read_dicom_folder(p)
    if not p.exists():
        raise VolumeFileError(f"{path}: no such file or folder (expected a .nii/.nii.gz file, a DICOM folder "
                              "or an .inv3 project)")
    if p.name.lower().endswith(".inv3"):
        return read_inv3(p)
    if not p.name.lower().endswith((".nii", ".nii.gz")):
        raise VolumeFileError(f"{path}: expected a .nii/.nii.gz file, a DICOM folder or an .inv3 project, "
                              f"got a file named {p.name!r}")
    return read_nifti(p)

