"""Image segmentation: composed multi-object Fashion-MNIST scenes, a user-folder reader,
Dice/cross-entropy losses, IoU/Dice metrics, overlay pictures and the U-Net pipeline
behind ``foveanet segment``.

    from foveanet.segmentation import generate_scenes, train
    scenes = generate_scenes(1000, "train", seed=0)      # images (N,1,64,64), masks (N,64,64)
    metrics = train("runs/unet", epochs=1, scenes=500)
"""
from foveanet.segmentation.scenes import CLASS_NAMES, THRESHOLD, Scenes, compose, generate_scenes
from foveanet.segmentation.losses import ce_dice, cross_entropy, dice_loss, one_hot
from foveanet.segmentation.metrics import ConfusionMatrix, confusion_matrix
from foveanet.segmentation.folder import SegmentationFolder, read_mask
from foveanet.segmentation.pipeline import DEFAULTS, evaluate, load_run, predict_image, train

__all__ = ["CLASS_NAMES", "THRESHOLD", "Scenes", "compose", "generate_scenes", "ce_dice",
           "cross_entropy", "dice_loss", "one_hot", "ConfusionMatrix", "confusion_matrix",
           "SegmentationFolder", "read_mask", "DEFAULTS", "evaluate", "load_run", "predict_image",
           "train"]
