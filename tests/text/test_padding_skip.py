"""XML-CNN's padding skip must be exact: cropped and uncropped forward/backward agree to
float64 rounding, and the pad embedding row stays zero through training (it is what makes
the skip exact)."""
import numpy as np
import pytest

import foveanet
from foveanet.models.xmlcnn import XMLCNN


def _pair(seed=0, **kw):
    foveanet.manual_seed(seed)
    a = XMLCNN(50, 7, embed_dim=6, num_filters=5, pool_chunks=3, hidden=8, dropout=0.0, **kw).double()
    b = XMLCNN(50, 7, embed_dim=6, num_filters=5, pool_chunks=3, hidden=8, dropout=0.0,
               skip_padding=False, **kw).double()
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("lengths", [(3, 17, 9, 1, 12), (40, 40, 2), (0, 5, 5), (1, 1, 1)])
def test_skip_equals_uncropped_forward_and_grads(rng, lengths):
    a, b = _pair()
    ids = np.zeros((len(lengths), 40), dtype=np.int64)
    for i, n in enumerate(lengths):
        ids[i, :n] = rng.integers(1, 50, n)
    y = (rng.random((len(lengths), 7)) < 0.3).astype(np.float64)
    assert a._kept_length(ids) == min(40, max(max(lengths) + 7, a.min_length))
    outs = []
    for m in (a, b):
        out = m(ids)
        m.loss(out, y).backward()
        outs.append(out.numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-13)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-11, atol=1e-13, err_msg=name)
    # the bias gets the gradient of the appended constant columns too
    assert any(np.any(c.bias.grad.numpy()) for c in a.convs)


@pytest.mark.parametrize("wd,decoupled", [(0.0, False), (0.1, False), (0.1, True)])
def test_pad_row_stays_zero_under_adam(rng, wd, decoupled):
    m = XMLCNN(30, 4, embed_dim=5, num_filters=3, pool_chunks=2, hidden=6)
    assert m.pad_row_is_zero()
    opt = (foveanet.optim.AdamW if decoupled else foveanet.optim.Adam)(m.parameters(), lr=0.1, weight_decay=wd)
    for _ in range(3):
        ids = rng.integers(0, 30, (4, 12))
        ids[:, 8:] = 0
        opt.zero_grad()
        m.loss(m(ids), (rng.random((4, 4)) < 0.5).astype(np.float32)).backward()
        assert not m.embedding.weight.grad.numpy()[0].any()
        opt.step()
    assert m.pad_row_is_zero()


def test_pretrained_pad_row():
    # the caller's vectors are used as given: a non-zero pad row would break the skip, so it is checked
    vec = np.ones((10, 4), dtype=np.float32)
    vec[0] = 0
    m = XMLCNN(10, 2, embed_dim=4, pretrained=vec, embedding_mode="non-static")
    assert m.pad_row_is_zero()
    vec[0] = 0.5
    m = XMLCNN(10, 2, embed_dim=4, pretrained=vec, embedding_mode="non-static")
    ids = np.array([[3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    assert not m.pad_row_is_zero()
    ref = XMLCNN(10, 2, embed_dim=4, pretrained=vec, embedding_mode="non-static", skip_padding=False)
    ref.load_state_dict(m.state_dict())
    m.eval(), ref.eval()
    np.testing.assert_array_equal(m(ids).numpy(), ref(ids).numpy())


def test_bucketed_batches_cover_every_document_once(rng):
    from foveanet.text.fit import _bucketed_batches
    lengths = rng.integers(1, 129, 1000)
    batches = list(_bucketed_batches(lengths, 64, rng, 16.0))
    assert sorted(np.concatenate(batches).tolist()) == list(range(1000))
    # similar lengths within a batch: the jitter bounds the spread between neighbours
    spans = [np.ptp(lengths[b]) for b in batches]
    assert np.median(spans) <= 16 + 8


@pytest.mark.parametrize("multi", [False, True])
def test_textcnn_skip_equals_uncropped(rng, multi):
    from foveanet.models.textcnn import TextCNN
    foveanet.manual_seed(1)
    kw = dict(embed_dim=6, num_filters=4, dropout=0.0, multi_label=multi)
    a, b = TextCNN(40, 5, **kw).double(), TextCNN(40, 5, skip_padding=False, **kw).double()
    b.load_state_dict(a.state_dict())
    ids = np.zeros((4, 30), dtype=np.int64)
    for i, n in enumerate((2, 9, 4, 0)):
        ids[i, :n] = rng.integers(1, 40, n)
    y = (rng.random((4, 5)) < 0.4).astype(np.float64) if multi else rng.integers(0, 5, 4)
    outs = []
    for m in (a, b):
        out = m(ids)
        m.loss(out, y).backward()
        outs.append(out.numpy())
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-12, atol=1e-13)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-11, atol=1e-13, err_msg=name)
