"""Skip-gram with negative sampling (foveanet.text.word2vec): the gradient, the batched SGD step,
the pairs, what training learns on a synthetic corpus, and the word2vec file it writes."""
import os

import numpy as np
import pytest

from foveanet.data.text import load_vectors
from foveanet.text.word2vec import (
    keep_probabilities, save_word2vec, sgns_grads, sgns_loss, sgns_step, train_sgns, window_pairs,
)


def _example(seed=0, b=3, k=2, d=4):
    rng = np.random.default_rng(seed)
    return rng.normal(0, 0.7, (b, d)), rng.normal(0, 0.7, (b, d)), rng.normal(0, 0.7, (b, k, d))


def test_loss_by_hand():
    # all vectors zero: every score is 0, s(0) = 1/2, each of the 1 + K terms is log 2
    z = np.zeros((2, 3))
    assert np.allclose(sgns_loss(z, z, np.zeros((2, 4, 3))), 5 * np.log(2))
    # one dimension: L = log(1 + e^-(u_o v)) + log(1 + e^(u_n v))
    v, uo, un = np.array([[2.0]]), np.array([[0.5]]), np.array([[[-1.0]]])
    assert np.allclose(sgns_loss(v, uo, un), np.log1p(np.exp(-1.0)) + np.log1p(np.exp(-2.0)))
    dv, duo, dun = sgns_grads(v, uo, un)
    s = lambda x: 1 / (1 + np.exp(-x))      # noqa: E731
    assert np.allclose(dv, (s(1.0) - 1) * 0.5 + s(-2.0) * -1.0)
    assert np.allclose(duo, (s(1.0) - 1) * 2.0) and np.allclose(dun, s(-2.0) * 2.0)


@pytest.mark.parametrize("masked", [False, True])
def test_gradient_matches_finite_differences(masked):
    v, uo, un = _example()
    mask = np.ones(un.shape[:2])
    if masked:
        mask[1, 0] = 0                     # a negative that equals the context word is left out
    grads = sgns_grads(v, uo, un, mask)
    args = [v, uo, un]
    eps = 1e-6
    for which, g in enumerate(grads):
        num = np.zeros_like(args[which])
        for idx in np.ndindex(args[which].shape):
            plus = [a.copy() for a in args]
            minus = [a.copy() for a in args]
            plus[which][idx] += eps
            minus[which][idx] -= eps
            num[idx] = (sgns_loss(*plus, mask).sum() - sgns_loss(*minus, mask).sum()) / (2 * eps)
        assert np.allclose(g, num, atol=1e-7), which
    if masked:
        assert np.all(grads[2][1, 0] == 0)


def test_step_is_minus_lr_times_the_summed_gradient():
    rng = np.random.default_rng(1)
    V, d, lr = 12, 5, 0.1
    W_in = rng.normal(0, 0.5, (V, d)).astype(np.float32)
    W_out = rng.normal(0, 0.5, (V, d)).astype(np.float32)
    # word 3 is the center twice and word 7 occurs as a context and as a negative: repeats are summed
    c = np.array([3, 3, 5])
    o = np.array([7, 1, 2])
    negs = np.array([[9, 7], [7, 10], [2, 11]])        # row 2: a negative equal to its context
    mask = (negs != o[:, None]).astype(float)
    dv, duo, dun = sgns_grads(W_in[c], W_out[o], W_out[negs], mask)
    exp_in, exp_out = W_in.astype(np.float64).copy(), W_out.astype(np.float64).copy()
    np.add.at(exp_in, c, -lr * dv)
    np.add.at(exp_out, o, -lr * duo)
    np.add.at(exp_out, negs, -lr * dun)
    loss = sgns_loss(W_in[c], W_out[o], W_out[negs], mask).sum()
    got = sgns_step(W_in, W_out, c, o, negs, lr)
    assert np.isclose(got, loss, rtol=1e-5)
    assert np.allclose(W_in, exp_in, atol=1e-6) and np.allclose(W_out, exp_out, atol=1e-6)



def test_scatter_add_equals_np_add_at_with_singles_and_runs():
    # the fast path adds rows met once directly and sums repeated rows by reduceat: both
    # against np.add.at on a batch with both (Zipf-like ids, as negatives are drawn)
    from foveanet.text.word2vec import _scatter_add

    rng = np.random.default_rng(5)
    V, d, B, K = 300, 7, 200, 6
    p = 1 / np.arange(1, V + 1) ** 0.75
    rows = rng.choice(V, (B, K), p=p / p.sum())
    per, X = rng.normal(size=(B, K)), rng.normal(size=(B, d))
    counts = np.bincount(rows.ravel())
    assert (counts == 1).any() and (counts > 1).any()
    W = rng.normal(size=(V, d))
    want = W.copy()
    np.add.at(want, rows.ravel(), per.ravel()[:, None] * np.repeat(X, K, axis=0))
    _scatter_add(W, rows, per, X)
    np.testing.assert_allclose(W, want, rtol=1e-12, atol=1e-12)

def test_window_pairs_stay_in_the_document_and_the_reach():
    ids = np.arange(10)
    doc = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    c, o = window_pairs(ids, doc, 2, np.random.default_rng(0))
    assert len(c) == len(o) > 0
    assert np.all(doc[c] == doc[o]) and np.all((np.abs(c - o) >= 1) & (np.abs(c - o) <= 2))
    # window 1: every neighbour pair in both directions, nothing else
    c, o = window_pairs(ids, doc, 1, np.random.default_rng(0))
    assert sorted(zip(c.tolist(), o.tolist())) == sorted(
        [(i, i + 1) for i in (0, 1, 2, 4, 5, 6, 7, 8)] + [(i + 1, i) for i in (0, 1, 2, 4, 5, 6, 7, 8)])


def test_subsampling_keeps_rare_words():
    p = keep_probabilities([1_000_000, 10, 1], 1e-3)
    assert p[0] < 0.1 and p[1] == p[2] == 1.0
    assert np.all(keep_probabilities([5, 5], 0) == 1)


def _synthetic(seed=0, n_docs=300):
    """Two topics: a-words occur among x-words, b-words among y-words; nothing else links them."""
    rng = np.random.default_rng(seed)
    docs = []
    for i in range(n_docs):
        topic = "ab"[i % 2]
        ctx = "xy"[i % 2]
        docs.append([f"{topic}{rng.integers(5)}" if rng.random() < 0.3 else f"{ctx}{rng.integers(8)}"
                     for _ in range(20)])
    return docs


def _cos(words, X, a, b):
    i, j = words.index(a), words.index(b)
    return float(X[i] @ X[j] / np.linalg.norm(X[i]) / np.linalg.norm(X[j]))


def test_words_with_shared_contexts_end_up_closer():
    words, X, stats = train_sgns(_synthetic(), dim=16, epochs=3, batch_size=256, sample=0, seed=0)
    assert stats["loss_per_epoch"][-1] < stats["loss_per_epoch"][0]
    same = [_cos(words, X, f"a{i}", f"a{j}") for i in range(5) for j in range(i)]
    same += [_cos(words, X, f"b{i}", f"b{j}") for i in range(5) for j in range(i)]
    other = [_cos(words, X, f"a{i}", f"b{j}") for i in range(5) for j in range(5)]
    assert min(same) > max(other), (min(same), max(other))
    assert np.mean(same) > np.mean(other) + 0.5


def test_training_is_seeded_and_drops_rare_words():
    docs = _synthetic(n_docs=40) + [["hapax", "x1"]]
    w1, X1, _ = train_sgns(docs, dim=4, epochs=1, seed=3)
    w2, X2, _ = train_sgns(docs, dim=4, epochs=1, seed=3)
    assert w1 == w2 and np.array_equal(X1, X2) and "hapax" not in w1
    with pytest.raises(ValueError):
        train_sgns([["one", "two"]], min_count=2)


def test_save_word2vec_round_trip(tmp_path):
    words = ["gtk", "c++", "x86_64"]
    X = np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32)
    path = tmp_path / "v.txt"
    save_word2vec(path, words, X)
    assert path.read_text().splitlines()[0] == "3 4"
    got_words, got = load_vectors(path, format="word2vec")
    assert got_words == words and np.allclose(got, X, atol=1e-5)
    assert [p.name for p in tmp_path.iterdir()] == ["v.txt"]       # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    with pytest.raises(ValueError):
        save_word2vec(tmp_path / "bad.txt", ["two words"], X[:1])
    assert not (tmp_path / "bad.txt").exists()


def test_init_embedding_copies_found_words_and_keeps_the_rest(tmp_path):
    import foveanet
    from foveanet.data.text import Vocab
    from foveanet.models.xmlcnn import XMLCNN
    from foveanet.text.word_vectors import RANDOM_EMBED_RMS, init_embedding

    vocab = Vocab().fit([["gtk", "editor", "python", "rare"]])
    X = np.random.default_rng(0).normal(0, 2.0, (3, 6)).astype(np.float32)
    path = tmp_path / "v.txt"
    save_word2vec(path, ["GTK", "editor", "unused"], X)        # "GTK" found through its lower case
    foveanet.manual_seed(0)
    model = XMLCNN(len(vocab), 3, embed_dim=6, num_filters=2, pool_chunks=1, hidden=4)
    before = model.embedding.weight.data.copy()
    info = init_embedding(model, vocab, path)
    W = model.embedding.weight.data
    assert (info["found"], info["total"]) == (2, 4)
    scale = RANDOM_EMBED_RMS / np.sqrt(np.mean(X[:2].astype(np.float64) ** 2))
    assert np.isclose(info["scale"], scale, rtol=1e-5)
    assert np.allclose(W[vocab["gtk"]], X[0] * scale, atol=1e-6)
    assert np.allclose(W[vocab["editor"]], X[1] * scale, atol=1e-6)
    for w in ("<unk>", "python", "rare"):
        assert np.array_equal(W[vocab.stoi[w]], before[vocab.stoi[w]])
    assert not W[0].any()                                      # <pad> stays zero



def test_word2vec_pass_inside_a_run_learns_from_the_training_documents_only():
    # vectors_from_training_split = train_sgns on the encoded training rows (no padding, no
    # <unk>) with the run's seed and embedding size, then set_embedding's scaled copy
    import foveanet
    from foveanet.data.text import Document
    from foveanet.models.xmlcnn import XMLCNN
    from foveanet.text.pipeline import prepare
    from foveanet.text.word_vectors import RANDOM_EMBED_RMS, vectors_from_training_split

    rng = np.random.default_rng(0)
    topics = [["gtk", "gnome", "desktop", "theme"], ["python", "module", "library", "import"]]
    docs = [Document(id=f"d{i}", text=" ".join(rng.choice(topics[i % 2], 12)) + f" only{i}",
                     labels=(f"t{i % 2}",)) for i in range(60)]
    data = prepare(docs, split_rule="random", seed=3, max_len=16, val_fraction=0.2)
    foveanet.manual_seed(0)
    model = XMLCNN(len(data.vocab), len(data.labels), embed_dim=8, num_filters=2, pool_chunks=1, hidden=4)
    before = model.embedding.weight.data.copy()
    cfg = {"word2vec_epochs": 2, "seed": 3}
    stats = vectors_from_training_split(model, data, cfg, log=lambda s: None)

    n_special = len(data.vocab.specials)
    rows = [[data.vocab.itos[i] for i in r if i >= n_special] for r in data.x_train.tolist()]
    words, vecs, _ = train_sgns(rows, dim=8, epochs=2, seed=3, min_count=1)
    assert set(words) == set(data.vocab.itos[n_special:])       # the vocabulary is the training split's
    assert stats["found"] == len(words) == len(data.vocab) - n_special
    W = model.embedding.weight.data
    scale = RANDOM_EMBED_RMS / np.sqrt(np.mean(vecs.astype(np.float64) ** 2))
    assert np.isclose(stats["scale"], scale, rtol=1e-5)
    for w, v in zip(words, vecs):
        assert np.allclose(W[data.vocab.stoi[w]], v * scale, atol=1e-6)
    assert np.array_equal(W[data.vocab.stoi["<unk>"]], before[data.vocab.stoi["<unk>"]])
    assert not W[0].any()


def test_a_run_learns_its_word2vec_corpus_from_its_training_documents_only(monkeypatch):
    # the path a real run takes: train(cfg, docs) hands word2vec the whole training documents
    # of its own split and hold-out (document_parts), tokenized, within the run's vocabulary
    import foveanet.text.word2vec as w2v
    from foveanet.data.text import Document, tokenize
    from foveanet.text.pipeline import document_parts
    from foveanet.text.run import make_config, train

    seen = {}
    real = w2v.train_sgns

    def spy(token_lists, **kw):
        seen["corpus"] = [list(t) for t in token_lists]
        return real(token_lists, **kw)

    monkeypatch.setattr(w2v, "train_sgns", spy)
    rng = np.random.default_rng(1)
    topics = [["gtk", "gnome", "desktop", "theme"], ["python", "module", "library", "import"]]
    # every document has a word of its own: a leak of a validation or test document would show
    docs = [Document(id=f"d{i}", text=" ".join(rng.choice(topics[i % 2], 30)) + f" only{i} only{i}",
                     labels=(f"t{i % 2}",)) for i in range(80)]
    cfg = make_config("xml-cnn", split="random", seed=4, epochs=1, batch_size=16, max_len=8, embed_dim=8,
                      num_filters=2, pool_chunks=1, hidden=4, min_count=2, word2vec_epochs=1, ema=0)
    m = train(cfg, docs=docs, log=lambda s: None)
    train_docs, _, val, _, test, _, _ = document_parts(docs, split_rule="random", seed=4, val_fraction=0.1)
    assert val and test
    expected = [tokenize(d.text) for d in train_docs]      # whole documents: longer than max_len 8
    assert seen["corpus"] == expected
    held = {f"only{d.id[1:]}" for d in val + test}
    assert not held & {w for doc in seen["corpus"] for w in doc}
    assert m["data"]["vectors"]["found"] == len({w for doc in expected for w in doc})


def test_too_small_a_vocabulary_for_word2vec_is_a_clear_error():
    from foveanet.data.text import Document
    from foveanet.text.pipeline import DataError
    from foveanet.text.run import make_config, train

    docs = [Document(id=f"d{i}", text="same", labels=("a",)) for i in range(20)]
    cfg = make_config("xml-cnn", split="random", epochs=1, max_len=4, embed_dim=4, num_filters=2,
                      pool_chunks=1, hidden=4, word2vec_epochs=1)
    with pytest.raises(DataError, match="word2vec needs 2 or more.*--word2vec-epochs to 0"):
        train(cfg, docs=docs, log=lambda s: None)
    with pytest.raises(DataError, match="not both"):
        train({**cfg, "vectors": "v.txt"}, docs=docs, log=lambda s: None)
