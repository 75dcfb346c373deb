"""Model selection on a validation hold-out of the training split, never on the test split;
the weight average and the softmax loss the recipe can use."""
import numpy as np
import pytest

from foveanet.data.text import Document
from foveanet.text import make_config, prepare, train
from foveanet.text.pipeline import DataError, split
from foveanet.text.fit import WeightAverage, _loss_fn

TOPICS = {"net": "network socket server http client protocol",
          "img": "image picture pixel photo render colour",
          "snd": "audio sound music mixer volume player",
          "dev": "library header development compiler static files",
          "web": "browser html page javascript css web",
          "sci": "math science physics chemistry data plot"}


def _docs(n=160, seed=0):
    """Synthetic documents: each has one or two topics and words drawn from them."""
    rng = np.random.default_rng(seed)
    names = sorted(TOPICS)
    docs = []
    for i in range(n):
        labs = sorted(set(rng.choice(names, size=rng.integers(1, 3))))
        words = [w for l in labs for w in rng.choice(TOPICS[l].split(), size=4)]
        rng.shuffle(words)
        docs.append(Document(f"pkg-{i:04d}", " ".join(words) + f" w{i}", tuple(labs)))
    return docs


def test_validation_is_a_seeded_share_of_train_and_test_is_untouched():
    docs = _docs()
    train_docs, test_docs, _ = split(docs, "hash")
    ids = {d.id: d for d in docs}

    def decode(data, x):
        return [" ".join(data.vocab.itos[t] for t in row if t != 0) for row in x]

    d0 = prepare(docs, max_len=40, val_fraction=0.0)
    d1 = prepare(docs, max_len=40, val_fraction=0.1, seed=3)
    n_val = int(round(0.1 * len(train_docs)))
    assert d1.stats["n_val"] == len(d1.x_val) == len(d1.y_val) == n_val
    assert d1.stats["n_train"] == len(train_docs) - n_val and d0.stats["n_train"] == len(train_docs)
    assert [d.id for d in d1.test_docs] == [d.id for d in d0.test_docs] == [d.id for d in test_docs]
    # each document ends in a word of its own (w<i>); with min_count 1 the vocabulary has it
    # unless the document was held out: the held-out ones are training documents, and their
    # own word is <unk> in the validation ids (the vocabulary is fitted without them)
    assert all(t.split()[-1] == "<unk>" for t in decode(d1, d1.x_val))
    train_tokens = {t for row in decode(d1, d1.x_train) for t in row.split()}
    held = [d for d in train_docs if f"w{int(d.id[4:])}" not in train_tokens]
    assert len(held) == n_val and not ({d.id for d in held} & {d.id for d in test_docs})
    # its labels are those documents' labels, in order
    expect = d1.labels.multi_hot([ids[d.id].labels for d in held])
    assert sorted(map(tuple, d1.y_val.tolist())) == sorted(map(tuple, expect.tolist()))
    # seeded: the same seed holds out the same documents, another seed others
    assert np.array_equal(prepare(docs, max_len=40, val_fraction=0.1, seed=3).x_val, d1.x_val)
    assert not np.array_equal(prepare(docs, max_len=40, val_fraction=0.1, seed=4).y_val, d1.y_val)
    with pytest.raises(DataError, match="validation fraction"):
        prepare(docs, val_fraction=1.0)


def _cfg(**kw):
    base = dict(epochs=3, batch_size=32, lr=5e-3, max_len=24, embed_dim=8, num_filters=4, pool_chunks=2,
                hidden=16, min_count=1, bucket=0, schedule="none", ensemble=1)
    return make_config("xml-cnn", **{**base, **kw})


def test_best_epoch_is_chosen_on_validation_only():
    docs = _docs()
    m = train(_cfg(val_split=0.2), docs=docs, log=lambda s: None)
    val_p1 = [r["val"]["p@1"] for r in m["history"]]
    assert m["best_epoch"] == int(np.argmax(val_p1)) + 1 and m["selected_by"] == "validation p@1"
    best = m["history"][m["best_epoch"] - 1]
    assert m["p@1"] == best["p@1"] and m["val"] == best["val"] and m["p@5"] == best["p@5"]
    # scrambling the test labels changes the test numbers but neither the chosen epoch nor the
    # weights kept: the test split took no part in choosing
    rng = np.random.default_rng(1)
    scrambled = [d._replace(labels=tuple(sorted(set(rng.choice(sorted(TOPICS), 2))))) for d in docs]
    _, test_docs, _ = split(docs, "hash")
    test_ids = {d.id for d in test_docs}
    mixed = [s if d.id in test_ids else d for d, s in zip(docs, scrambled)]
    m2 = train(_cfg(val_split=0.2), docs=mixed, log=lambda s: None)
    assert m2["best_epoch"] == m["best_epoch"]
    assert [r["val"] for r in m2["history"]] == [r["val"] for r in m["history"]]
    assert [r["p@1"] for r in m2["history"]] != [r["p@1"] for r in m["history"]]
    sd, sd2 = m["model"].state_dict(), m2["model"].state_dict()
    assert all(np.array_equal(sd[k].numpy(), sd2[k].numpy()) for k in sd)


def test_without_validation_the_last_epoch_is_kept():
    m = train(_cfg(val_split=0.0, epochs=3), docs=_docs(), log=lambda s: None)
    assert m["best_epoch"] == 3 and m["selected_by"] == "last epoch" and "val" not in m
    assert m["p@1"] == m["history"][-1]["p@1"]


def test_weight_average_by_hand():
    class P:
        def __init__(self, a):
            self.data = np.array(a, dtype=np.float32)

    p = P([1.0, 2.0])
    avg = WeightAverage([p], decay=0.25)
    p.data = np.array([5.0, 6.0], dtype=np.float32)
    avg.update()                              # step 1: d = min(0.25, 2/11) = 2/11
    assert np.allclose(avg.avg[0], [2 / 11 * 1 + 9 / 11 * 5, 2 / 11 * 2 + 9 / 11 * 6])
    avg.avg[0][:] = [1.0, 2.0]
    avg.steps = 10                            # step 11: d = min(0.25, 12/21) = 0.25
    p.data = np.array([9.0, 2.0], dtype=np.float32)
    avg.update()                              # 0.25 * [1, 2] + 0.75 * [9, 2]
    assert np.allclose(avg.avg[0], [7.0, 2.0]) and avg.avg[0].dtype == np.float32
    avg.swap()
    assert np.allclose(p.data, [7.0, 2.0])
    avg.swap()
    assert np.allclose(p.data, [9.0, 2.0]) and np.allclose(avg.avg[0], [7.0, 2.0])


def test_softmax_loss_by_hand():
    cfg = _cfg(loss="softmax")
    loss = _loss_fn(cfg, None)
    z = np.array([[1.0, 2.0, 0.0], [0.5, 0.5, 3.0]], dtype=np.float32)
    y = np.array([[1, 1, 0], [0, 0, 1]], dtype=np.float32)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    expect = -(0.5 * logp[0, 0] + 0.5 * logp[0, 1] + logp[1, 2]) / 2
    assert abs(float(loss(z, y).data) - expect) < 1e-6
    with pytest.raises(DataError, match="unknown loss"):
        _loss_fn(_cfg(loss="hinge"), None)
