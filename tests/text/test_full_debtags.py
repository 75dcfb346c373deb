"""Full-data runs (minutes to hours on 2 cores): `pytest -m slow tests/text`."""
import os

import pytest

from foveanet.text import make_config, train

DEBTAGS = "/work/shared/data/debtags-bookworm.jsonl.gz"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(DEBTAGS), reason="needs the shared debtags file")]


def test_xmlcnn_beats_tfidf_svm_at_p1():
    # the bar of issue 7: the README's TF-IDF + LinearSVC P@1 on the same split
    m = train(make_config("xml-cnn", data=DEBTAGS), max_seconds=1200, log=lambda s: None)
    assert m["p@1"] > 0.8706, m


def test_textcnn_single_label_role_task():
    m = train(make_config("textcnn", data=DEBTAGS, task="single"), log=lambda s: None)
    assert m["accuracy"] > 0.80, m        # logistic regression: 0.830
