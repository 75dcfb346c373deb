"""TextCNN and XML-CNN: parameter counts worked out by hand, and forward/backward against
reference modules written here in PyTorch with the same weights."""
import numpy as np
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as TF

import foveanet
from foveanet.models.textcnn import TextCNN, max_norm_rows_
from foveanet.models.xmlcnn import XMLCNN
from tests.torch_ref import close


class TorchXML(tnn.Module):
    def __init__(self, V, E, L, ks, M, p, H):
        super().__init__()
        self.p = p
        self.emb = tnn.Embedding(V, E, padding_idx=0)
        self.convs = tnn.ModuleList([tnn.Conv1d(E, M, k) for k in ks])
        self.bottleneck, self.fc = tnn.Linear(len(ks) * M * p, H), tnn.Linear(H, L)

    def forward(self, ids):
        x = self.emb(ids).transpose(1, 2)
        h = torch.cat([TF.adaptive_max_pool1d(torch.relu(c(x)), self.p).flatten(1) for c in self.convs], 1)
        return self.fc(torch.relu(self.bottleneck(h)))


class TorchKim(tnn.Module):
    def __init__(self, V, E, C, ks, M):
        super().__init__()
        self.emb = tnn.Embedding(V, E, padding_idx=0)
        self.convs = tnn.ModuleList([tnn.Conv1d(E, M, k) for k in ks])
        self.fc = tnn.Linear(len(ks) * M, C)

    def forward(self, ids):
        x = self.emb(ids).transpose(1, 2)
        return self.fc(torch.cat([torch.relu(c(x)).amax(dim=2) for c in self.convs], 1))


def _copy(ours, theirs, names):
    sd = ours.state_dict()
    with torch.no_grad():
        for o, t in names.items():
            theirs.get_parameter(t).copy_(torch.from_numpy(np.array(sd[o].numpy() if hasattr(sd[o], "numpy")
                                                                     else sd[o])))


def _ids(rng, n, length, V, pad_tail=True):
    ids = rng.integers(1, V, (n, length))
    if pad_tail:                          # right padding as Vocab.encode gives
        for i in range(n):
            ids[i, rng.integers(length // 2, length + 1):] = 0
    return ids


def test_xmlcnn_parameter_count_by_hand():
    V, E, L, p = 1000, 32, 50, 3
    m = XMLCNN(V, L, embed_dim=E, pool_chunks=p)
    expected = V * E + sum(k * E * 128 + 128 for k in (2, 4, 8)) + (3 * 128 * p) * 512 + 512 + 512 * L + L
    assert sum(q.data.size for q in m.parameters()) == expected == 32000 + 57728 + 590336 + 25650
    assert m(np.ones((2, 20), dtype=np.int64)).shape == (2, L)


def test_textcnn_parameter_count_by_hand():
    V, E, C = 500, 20, 7
    m = TextCNN(V, C, embed_dim=E)
    expected = V * E + sum(k * E * 100 + 100 for k in (3, 4, 5)) + 300 * C + C
    assert sum(q.data.size for q in m.parameters()) == expected == 10000 + 24300 + 2107
    assert m(np.ones((3, 9), dtype=np.int64)).shape == (3, C)


@pytest.mark.parametrize("E,length,p", [(16, 23, 2), (64, 30, 4)])   # im2col and row-GEMM conv paths
def test_xmlcnn_matches_torch(rng, E, length, p):
    V, L, M, H, ks = 40, 11, 6, 9, (2, 4, 8)
    ours = XMLCNN(V, L, embed_dim=E, kernel_sizes=ks, num_filters=M, pool_chunks=p, hidden=H, dropout=0.0)
    ref = TorchXML(V, E, L, ks, M, p, H)
    names = {"embedding.weight": "emb.weight", "bottleneck.weight": "bottleneck.weight",
             "bottleneck.bias": "bottleneck.bias", "fc.weight": "fc.weight", "fc.bias": "fc.bias"}
    for i in range(3):
        names.update({f"convs.{i}.weight": f"convs.{i}.weight", f"convs.{i}.bias": f"convs.{i}.bias"})
    _copy(ours, ref, names)
    ids = _ids(rng, 5, length, V)
    y = (rng.random((5, L)) < 0.3).astype(np.float32)
    out = ours(ids)
    loss = ours.loss(out, y)
    loss.backward()
    tout = ref(torch.from_numpy(ids))
    tloss = TF.binary_cross_entropy_with_logits(tout, torch.from_numpy(y))
    tloss.backward()
    close(out, tout, what="logits")
    close(loss, tloss, what="loss")
    for o, t in names.items():
        close(ours.get_parameter(o).grad, ref.get_parameter(t).grad, rtol=2e-4, atol=2e-6, what=f"grad {o}")


@pytest.mark.parametrize("multi", [False, True])
def test_textcnn_matches_torch(rng, multi):
    V, E, C, M, ks = 30, 12, 5, 7, (3, 4, 5)
    ours = TextCNN(V, C, embed_dim=E, num_filters=M, kernel_sizes=ks, dropout=0.0, multi_label=multi)
    ref = TorchKim(V, E, C, ks, M)
    names = {"embedding.weight": "emb.weight", "fc.weight": "fc.weight", "fc.bias": "fc.bias"}
    for i in range(3):
        names.update({f"convs.{i}.weight": f"convs.{i}.weight", f"convs.{i}.bias": f"convs.{i}.bias"})
    _copy(ours, ref, names)
    ids = _ids(rng, 6, 17, V)
    if multi:
        y = (rng.random((6, C)) < 0.4).astype(np.float32)
        tloss_fn = lambda z: TF.binary_cross_entropy_with_logits(z, torch.from_numpy(y))  # noqa: E731
    else:
        y = rng.integers(0, C, 6)
        tloss_fn = lambda z: TF.cross_entropy(z, torch.from_numpy(y))  # noqa: E731
    out = ours(ids)
    loss = ours.loss(out, y)
    loss.backward()
    tout = ref(torch.from_numpy(ids))
    tloss = tloss_fn(tout)
    tloss.backward()
    close(out, tout, what="logits")
    close(loss, tloss, what="loss")
    for o, t in names.items():
        close(ours.get_parameter(o).grad, ref.get_parameter(t).grad, rtol=2e-4, atol=2e-6, what=f"grad {o}")
    assert not ours.embedding.weight.grad.numpy()[0].any(), "the padding row must get no gradient"


def test_max_norm_rescales_only_long_rows():
    m = TextCNN(20, 4, embed_dim=8, num_filters=5)
    w = np.zeros((4, 15), dtype=np.float32)
    w[0, :2] = [3.0, 4.0]            # norm 5 -> scaled to 3
    w[1, :1] = [2.0]                 # norm 2 -> kept
    w[2, :] = 1.0                    # norm sqrt(15) ~ 3.87 -> scaled
    w[3, :2] = [0.0, 3.0]            # norm exactly 3 -> kept
    m.fc.weight.data[...] = w
    assert m.apply_max_norm() == 2
    got = m.fc.weight.data
    np.testing.assert_allclose(got[0, :2], [1.8, 2.4], rtol=1e-6)
    np.testing.assert_allclose(got[2], np.full(15, 3 / np.sqrt(15)), rtol=1e-6)
    np.testing.assert_array_equal(got[[1, 3]], w[[1, 3]])
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), [3, 2, 3, 3], rtol=1e-6)
    assert XMLCNN(20, 4, embed_dim=8).apply_max_norm() == 0          # off unless asked for
    a = np.array([[6.0, 8.0]], dtype=np.float32)
    assert max_norm_rows_(a, 5.0) == 1 and np.allclose(a, [[3, 4]])


def test_max_norm_after_training_step():
    m = TextCNN(20, 3, embed_dim=8, num_filters=4, max_norm=0.05)
    opt = foveanet.optim.SGD(m.parameters(), lr=5.0)
    ids = np.arange(2, 14).reshape(2, 6)
    m.loss(m(ids), np.array([0, 2])).backward()
    opt.step()
    assert np.linalg.norm(m.fc.weight.data, axis=1).max() > 0.05
    m.apply_max_norm()
    assert np.linalg.norm(m.fc.weight.data, axis=1).max() <= 0.05 * (1 + 1e-6)


def test_pretrained_static_and_nonstatic():
    vec = np.arange(40, dtype=np.float32).reshape(10, 4) / 40
    static = TextCNN(10, 2, embed_dim=4, num_filters=3, pretrained=vec, embedding_mode="static")
    tuned = TextCNN(10, 2, embed_dim=4, num_filters=3, pretrained=vec, embedding_mode="non-static")
    np.testing.assert_array_equal(static.embedding.weight.numpy(), vec)
    assert not static.embedding.weight.requires_grad and tuned.embedding.weight.requires_grad
    assert static.embedding.weight.data is not vec          # a copy: training must not write into the caller's array
    with pytest.raises(ValueError, match="needs pretrained"):
        TextCNN(10, 2, embedding_mode="static")
    with pytest.raises(ValueError, match="shape"):
        TextCNN(10, 2, embed_dim=5, pretrained=vec, embedding_mode="static")


def test_too_short_inputs_say_how_long():
    with pytest.raises(ValueError, match="pad them to at least 10"):
        XMLCNN(10, 3, embed_dim=4, pool_chunks=3)(np.ones((1, 9), dtype=np.int64))
    with pytest.raises(ValueError, match="at least 5"):
        TextCNN(10, 3, embed_dim=4)(np.ones((1, 4), dtype=np.int64))
