"""Text classification with CNNs: data preparation, the training loop, evaluation, prediction.

    from foveanet.text import make_config, train, load_run, predict
    cfg = make_config("xml-cnn", data="debtags.jsonl.gz", epochs=2)
    metrics = train(cfg, out="runs/xmlcnn")          # P@k, nDCG@k, PSP@k per epoch
    predict(load_run("runs/xmlcnn"), ["a GTK text editor"])
"""
from foveanet.text.pipeline import DataError, TextData, load_documents, prepare, split
from foveanet.text.run import (
    DEFAULTS, MODELS, build_model, evaluate, load_run, make_config, predict, scores, train,
)

__all__ = ["DEFAULTS", "MODELS", "DataError", "TextData", "build_model", "evaluate", "load_documents",
           "load_run", "make_config", "predict", "prepare", "scores", "split", "train"]
