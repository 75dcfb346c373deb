"""Optical character recognition: handwritten digits (three real sources) with a small CNN
beside HOG + linear SVM, and printed text lines with a CRNN trained by the CTC loss,
compared with Tesseract on the same held-out lines."""
from foveanet.ocr.pipeline import DEFAULTS, evaluate, load_run, predict_image, train

__all__ = ["DEFAULTS", "train", "evaluate", "predict_image", "load_run"]
