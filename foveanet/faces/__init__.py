"""Face recognition: face/non-face classification and sliding-window detection on
scikit-image's LFW crops, the Viola-Jones and OpenCV baselines, and open-set verification by
an embedding CNN trained with metric-learning losses, behind ``foveanet faces``.

    from foveanet.faces import load_crops, train_detector, detect, read_photo
    model = train_detector()
    boxes, scores = detect(model, read_photo("group.jpg"))
    from foveanet.faces import train_embedding
    metrics = train_embedding("runs/arcface", loss="arcface")   # EER, TAR@FAR=1e-2, rank-1
"""
from foveanet.faces.crops import CROP, kfold, load_crops
from foveanet.faces.image import read_photo
from foveanet.faces.detector import detect, draw_boxes, face_net, nms, train_classifier, train_detector
from foveanet.faces.verification import equal_error_rate, pair_scores, rank1, roc_curve, tar_at_far
from foveanet.faces.embedding import (
    LOSSES, EmbeddingNet, evaluate_embedding, load_embedding_run, train_embedding, verify_pair,
)
from foveanet.faces.lfw import LFWFolder, read_pairs

__all__ = ["load_crops", "kfold", "face_net", "nms", "detect", "read_photo", "LFWFolder", "read_pairs",
           "pair_scores", "roc_curve", "equal_error_rate", "tar_at_far", "rank1", "EmbeddingNet",
           "train_embedding", "evaluate_embedding", "verify_pair"]
