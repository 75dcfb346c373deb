"""An ensemble run: members with their own seeds and kept epochs, one set of word vectors, and
scores that are the mean of the members' -- in training, in the run directory and in
`evaluate` / `predict`."""
import json

import numpy as np
import pytest

from foveanet.text import fit as fit_module
from foveanet.text import run as run_module
from foveanet.text.pipeline import DataError, prepare
from foveanet.text.run import build_model, evaluate, load_run, predict, scores, train
from foveanet.train.checkpoint import load_weights
from tests.text.test_validation import _cfg, _docs


def test_ensemble_scores_are_the_mean_of_its_members(tmp_path):
    docs = _docs(n=200)
    path = tmp_path / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text, "labels": list(d.labels)}) + "\n"
                            for d in docs))
    cfg = _cfg(val_split=0.2, epochs=3, ensemble=2, data=str(path))
    out = tmp_path / "run"
    m = train(cfg, out=out, log=lambda s: None)
    assert m["ensemble"] == 2 and len(m["members"]) == 2
    assert (out / "model.safetensors").is_file() and (out / "model-2.safetensors").is_file()
    for member in m["members"]:  # each keeps its own best validation epoch
        val = [r["val"]["p@1"] for r in member["history"]]
        assert member["best_epoch"] == int(np.argmax(val)) + 1
    assert m["best_epoch"] == [mb["best_epoch"] for mb in m["members"]]

    run = load_run(out)
    weights = [load_weights(out / f) for f in ("model.safetensors", "model-2.safetensors")]
    assert any(not np.array_equal(weights[0][k], weights[1][k]) for k in weights[0])  # two seeds
    data = prepare(docs, max_len=cfg["max_len"], min_count=1, val_fraction=0.2, seed=cfg["seed"])
    x = run.encode([d.text for d in data.test_docs])
    members = []
    for w in weights:
        model = build_model(run.config, len(run.vocab), len(run.labels))
        model.load_state_dict(w)
        members.append(scores(model, x, softmax=True))
    np.testing.assert_allclose(run.scores(x), (members[0] + members[1]) / 2, rtol=1e-12)
    # the run's test metrics are the ensemble's, and evaluate reproduces them from the files
    assert evaluate(run, log=lambda s: None)["p@1"] == pytest.approx(m["p@1"], abs=1e-12)
    top = predict(run, [docs[0].text], k=3)[0]
    assert len(top) == 3 and top[0][1] >= top[1][1] >= top[2][1]


def test_members_share_the_word_vectors_not_the_rest(monkeypatch):
    seen = []
    real_fit = fit_module.fit

    def spy(model, cfg, data, seed, **kw):
        seen.append((seed, model.embedding.weight.data.copy(), model.fc.weight.data.copy()))
        return real_fit(model, cfg, data, seed, **kw)

    monkeypatch.setattr(run_module, "fit", spy)
    train(_cfg(val_split=0.2, epochs=1, ensemble=3), docs=_docs(), log=lambda s: None)
    assert [s for s, _, _ in seen] == [0, 1, 2]
    assert all(np.array_equal(seen[0][1], e) for _, e, _ in seen[1:])  # word2vec is on by default
    assert not np.array_equal(seen[0][2], seen[1][2])


def test_an_ensemble_needs_a_member():
    with pytest.raises(DataError, match="ensemble must be at least 1"):
        train(_cfg(ensemble=0), docs=_docs(), log=lambda s: None)


def test_without_word_vectors_each_member_starts_its_own_embedding(monkeypatch):
    seen = []
    real_fit = fit_module.fit

    def spy(model, cfg, data, seed, **kw):
        seen.append(model.embedding.weight.data.copy())
        return real_fit(model, cfg, data, seed, **kw)

    monkeypatch.setattr(run_module, "fit", spy)
    train(_cfg(val_split=0.2, epochs=1, ensemble=2, word2vec_epochs=0), docs=_docs(), log=lambda s: None)
    assert len(seen) == 2 and not np.array_equal(seen[0], seen[1])


def test_a_member_that_cannot_fit_the_budget_is_not_started(tmp_path, monkeypatch):
    """Each member trains at least one epoch, so one whose share of the budget is shorter
    than the last member's first epoch is left out, and the run is the ensemble it trained."""
    real_fit = fit_module.fit

    def slow_fit(model, cfg, data, seed, **kw):
        result = real_fit(model, cfg, data, seed, **kw)
        result["history"][0]["seconds"] = 1e6  # as if its first epoch took a very long time
        return result

    monkeypatch.setattr(run_module, "fit", slow_fit)
    lines = []
    m = train(_cfg(val_split=0.2, epochs=1, ensemble=3), docs=_docs(), out=tmp_path,
              log=lines.append, max_seconds=1000.0)
    assert "ensemble" not in m and any("stopping after 1 of 3 members" in s for s in lines)
    assert json.loads((tmp_path / "config.json").read_text())["ensemble"] == 1
    assert not (tmp_path / "model-2.safetensors").exists()
    assert load_run(tmp_path).models and len(load_run(tmp_path).models) == 1
