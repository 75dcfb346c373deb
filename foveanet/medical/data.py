"""The real volumes behind ``foveanet medical`` and the label volume of each task.

One subject per modality, from Debian packages (``make medical-data``):

- ``mricron-data`` (``/usr/share/mricron/templates``, or ``$FOVEANET_MRICRON``): Colin27, one
  adult's T1 MRI averaged from 27 scans (``ch2.nii.gz``, 181 x 217 x 181 at 1 mm, RAS+), its
  brain-extracted version (``ch2bet.nii.gz``: the brain mask is ch2bet > 0), the AAL atlas in
  the same space (``aal.nii.gz``, 116 regions, ``aal.nii.txt`` gives each its code) and a
  rhesus macaque T1 template, already brain-only (``inia19-t1-brain.nii.gz``, 0.5 mm).
- ``invesalius-examples``: one head CT as an InVesalius project (``Cranium.inv3``, 256 x 256
  x 108 int16 HU at 0.96 x 0.96 x 1.5 mm; ``$FOVEANET_INVESALIUS`` names another folder).

Tasks: ``brain`` (2 classes: background, brain), ``regions`` (AAL's regions grouped by the
first digit of their code into 8 lobes, + background), ``bone`` (CT bone by the HU rule of
``medical.baselines.bone_mask``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from foveanet.data.datasets import DatasetNotFoundError

__all__ = ["TASKS", "AAL_LOBES", "CT_WINDOW", "template_path", "ct_path", "normalise_mri", "window_ct",
           "aal_lobes", "TaskVolume", "load_task"]

TASKS = ("brain", "regions", "bone")
# AAL codes (aal.nii.txt's third column): the first digit is the lobe (2 frontal, 3 insula,
# 4 limbic, 5 occipital, 6 parietal, 7 deep grey nuclei, 8 temporal, 9 cerebellum + vermis)
AAL_LOBES = {2: "frontal", 3: "insula", 4: "limbic", 5: "occipital", 6: "parietal", 7: "deep grey",
             8: "temporal", 9: "cerebellum"}
# the CT window the network sees, level 500 / width 2000 HU: air to dense cortical bone on 0..1,
# so the bone rule's 226 HU sits at 0.36 rather than in a clipped band
CT_WINDOW = (500.0, 2000.0)


def _missing(path: Path, package: str) -> DatasetNotFoundError:
    return DatasetNotFoundError(f"{path}: not found; install Debian's {package} "
                                f"(`apt-get install {package}` or `make medical-data`)")


def template_path(name: str) -> Path:
    """The path of a file of mricron-data's templates folder (``$FOVEANET_MRICRON`` first).

    Raises:
        DatasetNotFoundError: the file is not there (the text says which package to install).
    """
    p = Path(os.environ.get("FOVEANET_MRICRON", "/usr/share/mricron/templates")) / name
    if not p.is_file():
        raise _missing(p, "mricron-data")
    return p


def ct_path() -> Path:
    """The path of invesalius-examples' head CT (``$FOVEANET_INVESALIUS`` first).

    Raises:
        DatasetNotFoundError: the project is not there.
    """
    p = Path(os.environ.get("FOVEANET_INVESALIUS", "/usr/share/doc/invesalius-examples/examples")) / "Cranium.inv3"
    if not p.is_file():
        raise _missing(p, "invesalius-examples")
    return p


def normalise_mri(x: np.ndarray) -> np.ndarray:
    """MRI intensities have no unit: divide by the 99th percentile of the non-zero voxels
    (float32; the brightest 1% may exceed 1).

    Example::

        >>> from foveanet.medical.data import normalise_mri
        >>> normalise_mri(np.r_[0.0, np.arange(1.0, 101.0)])[[0, 50, 100]].round(2)
        array([0.  , 0.5 , 1.01], dtype=float32)
    """
    x = np.asarray(x, np.float32)
    nz = x[x > 0]
    scale = np.percentile(nz, 99) if nz.size else 1.0
    return x / np.float32(scale if scale > 0 else 1.0)


def window_ct(hu: np.ndarray, level: float = CT_WINDOW[0], width: float = CT_WINDOW[1]) -> np.ndarray:
    """Hounsfield units through a display window: (HU - (level - width/2)) / width, clipped to
    [0, 1] (float32).

    Example::

        >>> from foveanet.medical.data import window_ct
        >>> window_ct(np.array([-1000, -500, 500, 1500, 3000]))
        array([0. , 0. , 0.5, 1. , 1. ], dtype=float32)
    """
    lo = level - width / 2
    return np.clip((np.asarray(hu, np.float32) - np.float32(lo)) / np.float32(width), 0, 1)


def aal_lobes(labels: np.ndarray, table) -> np.ndarray:
    """AAL region indices -> lobe classes 1..8 (``AAL_LOBES`` order), 0 outside the atlas.

    Args:
        labels: the atlas volume (region index per voxel).
        table: lines ``index name code`` (aal.nii.txt's), as a path or an iterable of lines.

    Example::

        >>> from foveanet.medical.data import aal_lobes
        >>> aal_lobes(np.array([0, 1, 2, 3]), ["1 Precentral_L 2001", "2 Insula_L 3001", "3 Vermis_3 9120"])
        array([0, 1, 2, 8])
    """
    lines = Path(table).read_text().splitlines() if isinstance(table, (str, Path)) else list(table)
    order = sorted(AAL_LOBES)
    lut = np.zeros(int(np.max(labels)) + 1 if np.size(labels) else 1, np.int64)
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[0].isdigit() and int(parts[0]) < len(lut):
            lut[int(parts[0])] = order.index(int(parts[2][0])) + 1
    return lut[np.asarray(labels, np.int64)]


@dataclass
class TaskVolume:
    """One task's volume: ``image`` (float32, normalised or windowed), ``labels`` (int64 class
    per voxel), ``class_names``, the scan's ``affine``, and ``raw`` (the unnormalised voxels,
    which the hand-crafted baselines read)."""

    image: np.ndarray
    labels: np.ndarray
    class_names: list
    affine: np.ndarray
    raw: np.ndarray


def load_task(task: str) -> TaskVolume:
    """The volume and labels of a task (``TASKS``) from the Debian packages.

    Raises:
        ValueError: an unknown task.
        DatasetNotFoundError: the package's files are missing.
    """
    from foveanet.medical.baselines import bone_mask
    from foveanet.medical.volumes import read_inv3, read_nifti

    if task not in TASKS:
        raise ValueError(f"medical: unknown task {task!r} (expected one of {', '.join(TASKS)})")
    if task == "bone":
        vol = read_inv3(ct_path(), masks=False)
        hu = vol.data.astype(np.float32)
        return TaskVolume(window_ct(hu), bone_mask(hu).astype(np.int64), ["background", "bone"], vol.affine, hu)
    t1 = read_nifti(template_path("ch2.nii.gz"))
    raw = t1.data.astype(np.float32)
    if task == "brain":
        labels = (read_nifti(template_path("ch2bet.nii.gz")).data > 0).astype(np.int64)
        names = ["background", "brain"]
    else:
        labels = aal_lobes(read_nifti(template_path("aal.nii.gz")).data, template_path("aal.nii.txt"))
        names = ["background"] + [AAL_LOBES[k] for k in sorted(AAL_LOBES)]
    return TaskVolume(normalise_mri(raw), labels, names, t1.affine, raw)
