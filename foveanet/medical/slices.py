"""From volumes to the 2-D slices a U-Net sees, and back.

Disjoint slabs.  Neighbouring slices of one scan are nearly the same picture, so a random
split of slices would score the net on near-copies of its training slices.  The slices
along an axis are cut into slabs of ``slab`` slices, consecutive slabs separated by ``gap``
slices that no split uses, and the slabs are dealt out in ``pattern``'s order::

    | train (16) | gap (4) | val (16) | gap (4) | train (16) | gap (4) | test (16) | gap (4) | ...

Resampling.  A slice of in-plane spacing s mm is resampled (linear; labels by nearest
neighbour) to the net's pixel size ``mm`` (the run's setting, 2 mm for the MRI recipes),
so a volume of any resolution meets the net at the scale it was trained on, then padded
with zeros to a multiple of the U-Net's stride 2^depth.  Scores go back the same way
(crop, linear resampling of the class probabilities to the slice's own grid) and are
compared with the labels at full resolution.
"""
from __future__ import annotations

import numpy as np

__all__ = ["slab_split", "canonical", "from_canonical", "NetGrid", "VIEWS", "to_view", "from_view", "view_spacing"]

SPLITS = ("train", "val", "test")


def slab_split(n: int, slab: int = 16, gap: int = 4, pattern=("train", "val", "train", "test")) -> dict:
    """Slice indices 0..n-1 dealt into disjoint slabs (see the module docstring).

    Args:
        n: slices along the axis.
        slab: slices per slab.
        gap: unused slices between consecutive slabs (>= 0).
        pattern: the splits of consecutive slabs, repeated.

    Returns:
        dict: split name -> sorted int64 indices (every name of ``pattern``).

    Example::

        >>> from foveanet.medical.slices import slab_split
        >>> s = slab_split(20, slab=3, gap=2, pattern=("train", "test"))
        >>> s["train"].tolist(), s["test"].tolist()
        ([0, 1, 2, 10, 11, 12], [5, 6, 7, 15, 16, 17])
    """
    if slab < 1 or gap < 0:
        raise ValueError(f"slab_split: slab must be >= 1 and gap >= 0, got slab={slab}, gap={gap}")
    out = {name: [] for name in pattern}
    start, i = 0, 0
    while start < n:
        out[pattern[i % len(pattern)]].extend(range(start, min(start + slab, n)))
        start += slab + gap
        i += 1
    return {k: np.array(sorted(v), np.int64) for k, v in out.items()}


def canonical(data: np.ndarray, affine: np.ndarray):
    """(data, affine) reoriented to the closest RAS+ axis order (axis 2 runs foot to head, so
    ``data[:, :, k]`` is an axial slice), and the orientation to undo it with
    ``from_canonical``.

    Example::

        >>> from foveanet.medical.slices import canonical, from_canonical
        >>> x = np.arange(24).reshape(2, 3, 4)
        >>> lps = np.diag([-1.0, -1.0, 2.0, 1.0])          # DICOM-like: i to the left, j posterior
        >>> ras, aff, ornt = canonical(x, lps)
        >>> ras.shape, np.diag(aff).tolist(), bool((from_canonical(ras, ornt) == x).all())
        ((2, 3, 4), [1.0, 1.0, 2.0, 1.0], True)
    """
    from nibabel import orientations as o

    ornt = o.io_orientation(affine)
    out = o.apply_orientation(data, ornt)
    return out, affine @ o.inv_ornt_aff(ornt, data.shape), ornt


def from_canonical(data: np.ndarray, ornt) -> np.ndarray:
    """Undo ``canonical``'s reorientation of a volume (a predicted mask back onto the scan's
    own voxel order)."""
    from nibabel import orientations as o

    back = o.ornt_transform(o.axcodes2ornt("RAS"), ornt)
    return o.apply_orientation(data, back)


class NetGrid:
    """The resampling between a volume's axial slices (in-plane spacing ``spacing`` mm) and
    the net's grid of ``mm`` pixels padded to multiples of ``stride``.

    Example::

        >>> from foveanet.medical.slices import NetGrid
        >>> g = NetGrid((181, 217), spacing=(1.0, 1.0), mm=2.0, stride=8)
        >>> g.inner, g.padded
        ((90, 108), (96, 112))
        >>> x = np.ones((3, 181, 217), np.float32)
        >>> g.to_net(x).shape, g.from_net(np.ones((3, 2, 96, 112), np.float32)).shape
        ((3, 96, 112), (3, 2, 181, 217))
    """

    def __init__(self, shape, spacing, mm: float, stride: int):
        self.shape = tuple(int(s) for s in shape)
        self.inner = tuple(max(1, int(round(n * s / mm))) for n, s in zip(self.shape, spacing))
        self.padded = tuple(-(-n // stride) * stride for n in self.inner)

    def _zoom(self, x: np.ndarray, shape, order: int) -> np.ndarray:
        from scipy import ndimage

        if tuple(x.shape[-2:]) == tuple(shape):
            return x
        f = (1,) * (x.ndim - 2) + tuple(t / s for t, s in zip(shape, x.shape[-2:]))
        return ndimage.zoom(x, f, order=order, mode="nearest", grid_mode=True)

    def to_net(self, slices: np.ndarray, order: int = 1) -> np.ndarray:
        """(N, H, W) slices -> (N, h, w) on the net's grid (``order`` 0 for labels)."""
        z = self._zoom(slices, self.inner, order)
        out = np.zeros(slices.shape[:-2] + self.padded, z.dtype)
        out[..., :self.inner[0], :self.inner[1]] = z
        return out

    def from_net(self, maps: np.ndarray) -> np.ndarray:
        """(N, C, h, w) maps on the net's grid -> (N, C, H, W) on the slices' own grid."""
        return self._zoom(maps[..., :self.inner[0], :self.inner[1]], self.shape, 1)


VIEWS = ("axial", "coronal", "sagittal")
_AXIS = {"axial": 2, "coronal": 1, "sagittal": 0}   # the RAS+ axis each view slices across


def to_view(vol: np.ndarray, view: str) -> np.ndarray:
    """An (X, Y, Z) RAS+ volume as the stack of its ``view`` slices: axial (Z, X, Y),
    coronal (Y, X, Z), sagittal (X, Y, Z).

    Example::

        >>> from foveanet.medical.slices import from_view, to_view
        >>> v = np.zeros((2, 3, 4))
        >>> [to_view(v, w).shape for w in ("axial", "coronal", "sagittal")]
        [(4, 2, 3), (3, 2, 4), (2, 3, 4)]
        >>> from_view(to_view(v, "coronal"), "coronal").shape
        (2, 3, 4)
    """
    return np.ascontiguousarray(np.moveaxis(vol, _AXIS[view], 0))


def from_view(slices: np.ndarray, view: str) -> np.ndarray:
    """Undo ``to_view`` (on the first three axes)."""
    return np.moveaxis(slices, 0, _AXIS[view])


def view_spacing(affine, view: str) -> tuple:
    """The in-plane spacing (mm) of a view's slices."""
    s = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    return tuple(float(v) for i, v in enumerate(s) if i != _AXIS[view])
