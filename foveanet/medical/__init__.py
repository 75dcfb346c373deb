"""Medical image computing on real scans: NIfTI / DICOM / InVesalius readers, brain
extraction and lobe segmentation on one T1 MRI (Colin27), bone on one head CT, each a U-Net
on 2-D axial slices beside a threshold + morphology baseline, behind ``foveanet medical``.

One subject per modality: this shows the method, not a clinically validated model.

    from foveanet.medical import read_volume, train
    vol = read_volume("scan.nii.gz")                 # or a DICOM folder, or an .inv3 project
    metrics = train("runs/brain", task="brain")      # Dice / IoU on held-out slabs
"""
from foveanet.medical.volumes import (Volume, VolumeFileError, read_dicom_folder, read_inv3, read_nifti,
                                      read_volume, write_nifti)
from foveanet.medical.pipeline import DEFAULTS, evaluate, train
from foveanet.medical.inference import load_run, predict_volume

__all__ = ["Volume", "VolumeFileError", "read_dicom_folder", "read_inv3", "read_nifti", "read_volume",
           "write_nifti", "DEFAULTS", "evaluate", "load_run", "predict_volume", "train"]
