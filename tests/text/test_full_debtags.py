"""Full-data runs (minutes to hours on 2 cores): `pytest -m slow tests/text`."""
import os

import pytest

from foveanet.text import make_config, train

from tests.shared_data import DEBTAGS  # noqa: E402
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not os.path.exists(DEBTAGS), reason="needs the shared debtags file")]


def test_xmlcnn_default_recipe_holds_its_measured_level():
    # measured with the default recipe (256 filters, 8 chunks, 1024 hidden, AdamW 0.1, softmax
    # loss + weight EMA, 10 epochs, epoch chosen on the validation hold-out): test P@1 0.8716,
    # P@3 0.5942, P@5 0.4359 in 931 s CPU (benchmarks/results-text.md, session 3).  Issue 7's
    # bar, the TF-IDF + LinearSVC P@1 of 0.8706 on the same split, is met at P@1 only (P@3/P@5
    # 0.6263/0.4747 are not); the margins absorb a change of BLAS kernel (~0.005).
    m = train(make_config("xml-cnn", data=DEBTAGS), log=lambda s: None)
    assert m["selected_by"] == "validation p@1" and m["data"]["n_val"] == 2428
    assert m["p@1"] > 0.864 and m["p@3"] > 0.589 and m["p@5"] > 0.431, m


def test_textcnn_single_label_role_task():
    m = train(make_config("textcnn", data=DEBTAGS, task="single"), log=lambda s: None)
    assert m["accuracy"] > 0.81, m        # measured 0.8198; logistic regression: 0.830
