"""Every layer against torch.nn: same state_dict keys and shapes, same repr, and after loading
torch's weights the same forward output and the same gradients (input and parameters)."""
import numpy as np
import pytest
import torch

import foveanet as fn
import foveanet.nn as nn
from tests.torch_ref import close

# (class name, args, kwargs, input shape); both libraries are built from the same arguments
SPECS = [
    ("Conv2d", (3, 8, 3), {}, (2, 3, 9, 9)),
    ("Conv2d", (4, 6, (3, 2)), dict(stride=2, padding=1, dilation=(1, 2), groups=2, bias=False), (2, 4, 11, 10)),
    ("Conv2d", (3, 4, 3), dict(padding="same"), (1, 3, 7, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=1, padding_mode="reflect"), (1, 3, 7, 6)),
    ("Conv2d", (3, 4, 3), dict(padding=2, padding_mode="circular"), (1, 3, 7, 6)),
    ("Conv1d", (5, 7, 3), dict(padding=1, stride=2), (2, 5, 13)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2), (2, 4, 5, 6)),
    ("ConvTranspose1d", (3, 5, 4), dict(stride=3, bias=False), (2, 3, 7)),
    ("MaxPool2d", (3,), dict(stride=2, padding=1), (2, 3, 9, 8)),
    ("MaxPool2d", (2,), dict(ceil_mode=True), (2, 3, 7, 7)),
    ("MaxPool1d", (3,), dict(stride=2, dilation=2), (2, 3, 15)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, count_include_pad=False), (2, 3, 9, 8)),
    ("AvgPool1d", (4,), dict(stride=2), (2, 3, 15)),
    ("AdaptiveAvgPool2d", ((3, 2),), {}, (2, 3, 7, 9)),
    ("AdaptiveAvgPool1d", (4,), {}, (2, 3, 10)),
    ("AdaptiveMaxPool2d", ((1, 1),), {}, (2, 3, 5, 6)),
    ("AdaptiveMaxPool1d", (3,), {}, (2, 3, 10)),
    ("Linear", (12, 5), {}, (3, 4, 12)),
    ("Linear", (6, 2), dict(bias=False), (5, 6)),
    ("ReLU", (), {}, (4, 9)),
    ("ReLU6", (), {}, (4, 9)),
    ("LeakyReLU", (0.2,), {}, (4, 9)),
    ("ELU", (), dict(alpha=0.7), (4, 9)),
    ("SiLU", (), {}, (4, 9)),
    ("Sigmoid", (), {}, (4, 9)),
    ("Tanh", (), {}, (4, 9)),
    ("GELU", (), {}, (4, 9)),
    ("GELU", (), dict(approximate="tanh"), (4, 9)),
    ("Softmax", (), dict(dim=1), (4, 9)),
    ("LogSoftmax", (), dict(dim=-1), (4, 9)),
    ("BatchNorm1d", (6,), {}, (8, 6)),
    ("BatchNorm1d", (6,), dict(affine=False), (8, 6, 5)),
    ("BatchNorm2d", (4,), dict(momentum=None), (3, 4, 5, 5)),
    ("BatchNorm2d", (4,), dict(track_running_stats=False), (3, 4, 5, 5)),
    ("BatchNorm2d", (4,), dict(bias=False), (3, 4, 5, 5)),
    ("GroupNorm", (2, 4), dict(bias=False), (3, 4, 5)),
    ("LayerNorm", ((5, 6),), {}, (3, 4, 5, 6)),
    ("LayerNorm", (6,), dict(elementwise_affine=False), (3, 6)),
    ("LayerNorm", (6,), dict(bias=False), (3, 6)),
    ("GroupNorm", (2, 6), {}, (3, 6, 4, 4)),
    ("GroupNorm", (3, 6), dict(affine=False), (3, 6, 5)),
    ("Dropout", (0.3,), {}, (4, 9)),
    ("Dropout2d", (0.3,), {}, (2, 4, 3, 3)),
    ("Flatten", (), {}, (2, 3, 4, 5)),
    ("Flatten", (0, 2), {}, (2, 3, 4, 5)),
    ("Unflatten", (1, (3, 4)), {}, (2, 12, 5)),
    ("Identity", (), {}, (2, 3)),
    ("Upsample", (), dict(scale_factor=2), (2, 3, 4, 5)),
    ("Upsample", (), dict(size=(7, 9), mode="bilinear", align_corners=False), (2, 3, 4, 5)),
]
IDS = [f"{name}-{i}" for i, (name, *_rest) in enumerate(SPECS)]


def build(name, args, kwargs):
    return getattr(nn, name)(*args, **kwargs), getattr(torch.nn, name)(*args, **kwargs)


def numpy_state(module):
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_state_dict_keys_shapes_and_repr_match_torch(spec):
    name, args, kwargs, _ = spec
    ours, theirs = build(name, args, kwargs)
    mine = ours.state_dict()
    ref = theirs.state_dict()
    assert list(mine) == list(ref)
    for k in ref:
        assert tuple(mine[k].shape) == tuple(ref[k].shape), k
        assert mine[k].dtype == ref[k].numpy().dtype, k
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_forward_and_gradients_match_torch_after_loading_its_weights(spec):
    name, args, kwargs, shape = spec
    ours, theirs = build(name, args, kwargs)
    result = ours.load_state_dict(numpy_state(theirs))
    assert result.missing_keys == [] and result.unexpected_keys == []
    if name.startswith("Dropout"):  # random masks differ between libraries: compare eval mode
        ours.eval(), theirs.eval()
    rng = np.random.default_rng(len(name) + len(shape))
    x = rng.standard_normal(shape).astype(np.float32)
    xf, xt = fn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yf, yt = ours(xf), theirs(xt)
    close(yf, yt, rtol=1e-4, atol=1e-5, what=f"{name} forward")
    g = rng.standard_normal(yt.shape).astype(np.float32)
    yf.backward(fn.tensor(g))
    yt.backward(torch.tensor(g))
    close(xf.grad, xt.grad, rtol=1e-4, atol=1e-5, what=f"{name} input grad")
    for (k, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        close(p.grad, q.grad, rtol=1e-4, atol=1e-4, what=f"{name} grad of {k}")
    for k, b in theirs.state_dict().items():  # running stats after one training step
        close(ours.state_dict()[k], b, rtol=1e-5, atol=1e-6, what=f"{name} buffer {k}")


@pytest.mark.parametrize("spec", SPECS[:3], ids=IDS[:3])
def test_layers_accept_numpy_arrays(spec):
    name, args, kwargs, shape = spec
    ours, theirs = build(name, args, kwargs)
    ours.load_state_dict(theirs.state_dict())  # torch tensors directly, too
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    close(ours(x), theirs(torch.tensor(x)), what=name)


@pytest.mark.parametrize("momentum", [0.1, None, 0.5])
@pytest.mark.parametrize("cls,shape", [("BatchNorm2d", (4, 3, 5, 5)), ("BatchNorm1d", (6, 3, 7))])
def test_batchnorm_running_stats_over_training_steps(cls, shape, momentum):
    ours, theirs = build(cls, (3,), dict(momentum=momentum))
    ours.load_state_dict(numpy_state(theirs))
    rng = np.random.default_rng(1)
    for step in range(4):
        x = (rng.standard_normal(shape) * (step + 1) + step).astype(np.float32)
        close(ours(x), theirs(torch.tensor(x)), what=f"step {step} output")
    for k, v in theirs.state_dict().items():
        close(ours.state_dict()[k], v, rtol=1e-5, atol=1e-6, what=k)
    assert int(ours.num_batches_tracked.item()) == 4
    assert ours.num_batches_tracked.dtype == np.int64
    ours.eval(), theirs.eval()
    x = rng.standard_normal(shape).astype(np.float32)
    close(ours(x), theirs(torch.tensor(x)), what="eval output")
    assert int(ours.num_batches_tracked.item()) == 4  # eval does not count


def test_batchnorm_rejects_wrong_rank_naming_it():
    with pytest.raises(ValueError, match="expected 4D input \\(got 3D input\\)"):
        nn.BatchNorm2d(3)(np.zeros((2, 3, 4), np.float32))


def test_dropout_train_mode_zeroes_and_rescales():
    fn.manual_seed(0)
    x = np.ones((200, 50), np.float32)
    y = nn.Dropout(0.25)(x).numpy()
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.02
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)
    y2 = nn.Dropout2d(0.5)(np.ones((40, 30, 2, 2), np.float32)).numpy()
    per_channel = y2.reshape(40, 30, 4)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2).all(-1))  # whole channels


def test_conv_transpose_output_size_picks_output_padding():
    ours, theirs = build("ConvTranspose2d", (3, 2, 3), dict(stride=2, padding=1))
    ours.load_state_dict(numpy_state(theirs))
    x = np.random.default_rng(2).standard_normal((1, 3, 4, 5)).astype(np.float32)
    close(ours(x, output_size=(8, 10)), theirs(torch.tensor(x), output_size=(8, 10)))
    with pytest.raises(ValueError, match="valid sizes range from 7 to 8"):
        ours(x, output_size=(9, 10))


def test_conv_rejects_unknown_padding_mode_and_bad_groups():
    with pytest.raises(ValueError, match="padding_mode"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="padding mode"):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)


def test_embedding_matches_torch_and_zeroes_padding_row():
    ours, theirs = build("Embedding", (10, 4), dict(padding_idx=2))
    assert np.all(ours.weight.data[2] == 0) and not np.all(ours.weight.data[3] == 0)
    assert repr(ours) == repr(theirs)
    ours.load_state_dict(numpy_state(theirs))
    ids = np.array([[1, 2, 3], [2, 9, 1]])
    yf, yt = ours(ids), theirs(torch.tensor(ids))
    close(yf, yt)
    yf.sum().backward(), yt.sum().backward()
    close(ours.weight.grad, theirs.weight.grad)
    assert np.all(ours.weight.grad.data[2] == 0)


def test_embedding_from_pretrained_shares_and_freezes():
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    emb = nn.Embedding.from_pretrained(table)
    assert not emb.weight.requires_grad and emb.weight.data is table
    np.testing.assert_array_equal(emb(np.array([3, 0])).numpy(), table[[3, 0]])
    assert nn.Embedding.from_pretrained(table, freeze=False, padding_idx=1).weight.requires_grad
    np.testing.assert_array_equal(nn.Embedding.from_pretrained(table, padding_idx=1).weight.data[1], table[1])


LOSSES = [
    ("CrossEntropyLoss", dict(label_smoothing=0.1), "classes"),
    ("CrossEntropyLoss", dict(weight=np.array([1.0, 2.0, 0.5, 1.0], np.float32), ignore_index=1), "classes"),
    ("NLLLoss", dict(reduction="sum"), "classes"),
    ("BCEWithLogitsLoss", dict(pos_weight=np.array([2.0, 1.0, 0.5, 3.0], np.float32)), "binary"),
    ("BCELoss", dict(reduction="none"), "probs"),
    ("MSELoss", {}, "real"),
    ("L1Loss", dict(reduction="sum"), "real"),
]


@pytest.mark.parametrize("name,kwargs,kind", LOSSES, ids=[f"{n}-{i}" for i, (n, *_r) in enumerate(LOSSES)])
def test_loss_modules_match_torch(name, kwargs, kind):
    tk = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    ours, theirs = getattr(nn, name)(**kwargs), getattr(torch.nn, name)(**tk)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    if kind == "probs":
        x = 1 / (1 + np.exp(-x))
    target = {"classes": rng.integers(0, 4, 6), "binary": (rng.random((6, 4)) > 0.5).astype(np.float32),
              "probs": rng.random((6, 4)).astype(np.float32),
              "real": rng.standard_normal((6, 4)).astype(np.float32)}[kind]
    xf, xt = fn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    lf, lt = ours(xf, target), theirs(xt, torch.tensor(target))
    close(lf, lt, what="loss")
    lf.sum().backward(), lt.sum().backward()
    close(xf.grad, xt.grad, what="input grad")
