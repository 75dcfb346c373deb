"""A trained run read back and applied to a new scan: the run's U-Net, and a class per voxel
of any volume ``read_volume`` reads, on the scan's own grid (``foveanet medical predict``)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from foveanet.medical.pipeline import DEFAULTS, build_model, predict_probabilities

__all__ = ["load_run", "predict_volume"]


def load_run(run_dir, which: str = "best"):
    """The U-Net of a ``foveanet medical train`` run directory and its config.

    Args:
        run_dir: the run directory.
        which: ``'best'``, ``'last'`` or the path of a weight file (default ``'best'``).

    Returns:
        tuple: (the model in eval mode, the config dict).

    Raises:
        RunError: no config.json, a config of another command, weights that do not fit.

    Example::

        >>> import json, os, tempfile
        >>> from foveanet.medical import DEFAULTS, load_run
        >>> from foveanet.medical.pipeline import build_model
        >>> from foveanet.train.checkpoint import save_weights
        >>> cfg = {**DEFAULTS, "command": "medical", "base_width": 2, "depth": 1,
        ...        "class_names": ["background", "brain"]}
        >>> with tempfile.TemporaryDirectory() as run:
        ...     with open(os.path.join(run, "config.json"), "w") as f:
        ...         json.dump(cfg, f)
        ...     save_weights(build_model(cfg).state_dict(), os.path.join(run, "best.safetensors"))
        ...     model, config = load_run(run)
        >>> type(model).__name__, config["task"], model(fn.zeros((1, 1, 8, 8))).shape
        ('UNet', 'brain', (1, 2, 8, 8))
    """
    from foveanet.errors import RunError
    from foveanet.train.run import load_weights_into, read_config

    cfg = read_config(run_dir, "medical train")
    if cfg.get("command") != "medical":
        raise RunError(f"{run_dir}: config.json is not from `foveanet medical train`")
    cfg = {**DEFAULTS, **cfg}
    model = build_model(cfg)
    load_weights_into(model, run_dir, which)
    return model, cfg


def predict_volume(run_dir, volume, out_dir=None, which: str = "best", pictures: bool = True):
    """Segment a scan with a trained run: a class per voxel, on the scan's own grid.

    The scan is reoriented to RAS+ so that its axial slices meet the net as in training
    (``medical.slices.canonical``), each slice is resampled to the net's pixel size, and the
    classes go back to the scan's own voxel order.  MRI intensities are normalised
    (``medical.data.normalise_mri``); for a CT run (task ``bone``) the voxels are read as
    Hounsfield units and windowed (``medical.data.window_ct``).

    Args:
        run_dir: the run directory.
        volume: a ``Volume`` or a path ``read_volume`` reads (.nii/.nii.gz, a DICOM folder, .inv3).
        out_dir: write ``mask.nii.gz`` (uint8 classes, the input's affine) and
            ``overlay_axial.png``, ``overlay_coronal.png``, ``overlay_sagittal.png`` there
            (default None: nothing written).
        which: ``'best'``, ``'last'`` or a weight file (default ``'best'``).
        pictures: draw the overlays when ``out_dir`` is given (default True).

    Returns:
        ndarray: uint8 classes, the volume's shape.

    Raises:
        VolumeFileError: a file that is not a 3-D volume.
        RunError: a bad run directory.

    Example::

        >>> import json, os, tempfile
        >>> from foveanet.medical import DEFAULTS, Volume, predict_volume, read_nifti
        >>> from foveanet.medical.pipeline import build_model
        >>> from foveanet.train.checkpoint import save_weights
        >>> cfg = {**DEFAULTS, "command": "medical", "base_width": 2, "depth": 1,
        ...        "class_names": ["background", "brain"]}               # a tiny, untrained net
        >>> scan = Volume(np.ones((10, 12, 6), np.float32), np.diag([-1.0, 1.0, 2.0, 1.0]), "MR")
        >>> with tempfile.TemporaryDirectory() as run:
        ...     with open(os.path.join(run, "config.json"), "w") as f:
        ...         json.dump(cfg, f)
        ...     save_weights(build_model(cfg).state_dict(), os.path.join(run, "best.safetensors"))
        ...     mask = predict_volume(run, scan, os.path.join(run, "out"), pictures=False)
        ...     written = read_nifti(os.path.join(run, "out", "mask.nii.gz"))
        >>> mask.shape, mask.dtype, written.affine[0, 0], bool((written.data == mask).all())
        ((10, 12, 6), dtype('uint8'), np.float64(-1.0), True)
    """
    from foveanet.medical.data import normalise_mri, window_ct
    from foveanet.medical.slices import canonical, from_canonical
    from foveanet.medical.volumes import Volume, read_volume, write_nifti

    model, cfg = load_run(run_dir, which)
    vol = volume if isinstance(volume, Volume) else read_volume(volume)
    data = np.asarray(vol.data, np.float32)
    x = window_ct(data) if cfg["task"] == "bone" else normalise_mri(data)
    ras, aff, ornt = canonical(x, vol.affine)
    pred = predict_probabilities(model, ras, aff, cfg).argmax(axis=0)
    mask = from_canonical(pred, ornt).astype(np.uint8)
    if out_dir is not None:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        write_nifti(out_dir / "mask.nii.gz", mask, vol.affine)
        if pictures:
            from foveanet.train.plots import pictures_available

            files = [f"overlay_{v}.png" for v in ("axial", "coronal", "sagittal")]
            if pictures_available(files):
                from foveanet.medical.pictures import view_overlays

                view_overlays(ras, pred, aff, cfg["class_names"], [out_dir / f for f in files],
                              title=Path(str(vol.source)).name or "volume")
    return mask
