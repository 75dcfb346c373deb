"""Optical character recognition: handwritten digits (three real sources) with a small CNN
beside HOG + linear SVM, and printed text lines with a CRNN trained by the CTC loss,
compared with Tesseract on the same held-out lines; the pipeline behind ``foveanet ocr``.

    from foveanet.ocr import train
    metrics = train("runs/ocr", script="latin")     # metrics["cer"] on held-out fonts
"""
from foveanet.ocr.alphabet import Alphabet
from foveanet.ocr.decode import beam_decode, cer, edit_distance, greedy_decode, wer
from foveanet.ocr.model import CRNN
from foveanet.ocr.pipeline import DEFAULTS, evaluate, load_run, predict_image, train

__all__ = ["Alphabet", "CRNN", "greedy_decode", "beam_decode", "edit_distance", "cer", "wer", "train"]
