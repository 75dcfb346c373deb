import os
import sys
from collections import Counter

import pytest

from foveanet.data.text import is_test, read_documents, single_label_task, split_documents

from tests.shared_data import DEBTAGS  # noqa: E402
needs_data = pytest.mark.skipif(not os.path.exists(DEBTAGS), reason="shared debtags data not present")
pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def subset():
    # every 15th package: a spread over the alphabet, not just the "a"s (2,020 documents)
    return list(read_documents(DEBTAGS))[::15]


@needs_data
def test_multilabel_baseline_beats_frequency_prior(subset):
    from foveanet.baselines.text import run_text_baseline
    r = run_text_baseline(documents=subset)
    train = [d for d in subset if not is_test(d.id)]
    test = [d for d in subset if is_test(d.id)]
    assert (r["n_train"], r["n_test"]) == (len(train), len(test))
    # the prior ranks labels by training frequency for every document: its P@1 is the share of
    # test documents that carry the most frequent training label
    top = Counter(l for d in train for l in d.labels).most_common(1)[0][0]
    prior_p1 = sum(top in d.labels for d in test) / len(test)
    assert r["p@1"] > prior_p1 + 0.2
    assert 0 < r["p@5"] <= r["p@3"] <= r["p@1"] <= 1
    assert 0 < r["psp@1"] <= 1 and r["ndcg@1"] == pytest.approx(r["p@1"])


@needs_data
def test_single_label_baseline_beats_majority(subset):
    from foveanet.baselines.text import run_single_label_baseline
    r = run_single_label_baseline(documents=subset)
    train, test = split_documents(subset)
    tr_docs, tr_lab, te_docs, te_lab = single_label_task(train, test)
    assert r["n_train"] == len(tr_docs) and r["n_test"] + r["n_test_unseen_class"] == len(te_docs)
    majority = Counter(tr_lab).most_common(1)[0][0]
    seen = set(tr_lab)
    kept = [l for l in te_lab if l in seen]
    assert r["majority_accuracy"] == pytest.approx(sum(l == majority for l in kept) / len(kept))
    assert r["accuracy"] > r["majority_accuracy"] + 0.2


def test_missing_sklearn_message(monkeypatch):
    from foveanet.baselines import text
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(ImportError, match=r"pip install foveanet\[baselines\]"):
        text._sklearn()


@pytest.mark.slow
@needs_data
def test_full_debtags_reproduces_readme_reference():
    from foveanet.baselines.text import run_text_baseline
    r = run_text_baseline(DEBTAGS, n_jobs=2)
    ref = {"p@1": 0.8706, "p@3": 0.6263, "p@5": 0.4747, "ndcg@3": 0.8628, "ndcg@5": 0.8549}
    for k, v in ref.items():
        assert abs(r[k] - v) < 0.005, (k, r[k], v)
