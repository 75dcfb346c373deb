"""The benchmark cases: each builds one side ("fv" or "torch") and returns a step callable.

A builder ``build(side, shared)`` imports only its own framework, so the peak-memory child
processes measure one library each. ``shared`` carries what both sides must agree on (input
arrays, weights): the parent builds the foveanet side first and hands its model to the torch
side, which copies the weights; a memory child passes ``shared=None`` and initialises alone.
A builder raises ``Skip`` when foveanet does not provide a piece it needs.
"""
from __future__ import annotations

import numpy as np

SEED = 0


class Skip(Exception):
    """The case cannot run (a foveanet module it needs is missing)."""


def _need(module: str):
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise Skip(f"{module} not available ({e})") from None


def _arrays(*shapes, scale=1.0):
    rng = np.random.default_rng(SEED)
    return [(rng.standard_normal(s) * scale).astype(np.float32) for s in shapes]


# ------------------------------------------------------------------ single ops


def conv_case(N, C, H, W, Co, k, p, groups=1, backward=True, stride=1):
    """conv2d on random data; with ``backward`` the step also computes dX, dW and db."""
    def build(side, shared):
        x, w, b = _arrays((N, C, H, W), (Co, C // groups, k, k), (Co,), scale=0.1)
        if side == "fv":
            import foveanet
            from foveanet.functional.conv import conv2d
            tx, tw, tb = (foveanet.tensor(a, requires_grad=backward) for a in (x, w, b))
            if not backward:
                def step():
                    with foveanet.no_grad():
                        return conv2d(tx, tw, tb, stride=stride, padding=p, groups=groups)
                return step
            gy = np.ones(conv2d(tx, tw, tb, stride=stride, padding=p, groups=groups).shape, np.float32)

            def step():
                tx.grad = tw.grad = tb.grad = None
                conv2d(tx, tw, tb, stride=stride, padding=p, groups=groups).backward(gy)
            return step
        import torch
        tx, tw, tb = (torch.tensor(a, requires_grad=backward) for a in (x, w, b))
        if not backward:
            def step():
                with torch.no_grad():
                    return torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=p, groups=groups)
            return step
        with torch.no_grad():
            gy = torch.ones_like(torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=p, groups=groups))

        def step():
            tx.grad = tw.grad = tb.grad = None
            torch.nn.functional.conv2d(tx, tw, tb, stride=stride, padding=p, groups=groups).backward(gy)
        return step
    # counted by hand: torch's FLOP counter ignores groups (depthwise came out 128x too high)
    Ho, Wo = (H + 2 * p - k) // stride + 1, (W + 2 * p - k) // stride + 1
    build.flops = 2 * N * Co * Ho * Wo * (C // groups) * k * k * (3 if backward else 1)
    return build


def lstm_case(T, N, I, H, kind="LSTM"):
    """A bidirectional nn.LSTM (or ``kind`` "GRU") over a (T, N, I) sequence, forward and
    backward of the sum of its output times a fixed gradient: the OCR line recognizer's
    recurrent layer at the Odia recipe's size (140 frames of 16 lines, 256 -> 96 units)."""
    def build(side, shared):
        x, gy = _arrays((T, N, I), (T, N, 2 * H))
        if side == "fv":
            import foveanet
            import foveanet.nn as nn
            foveanet.manual_seed(SEED)
            rnn = getattr(nn, kind)(I, H, bidirectional=True)
            if shared is not None:
                shared["model"] = rnn
            tx = foveanet.tensor(x, requires_grad=True)

            def step():
                tx.grad = None
                for p in rnn.parameters():
                    p.grad = None
                rnn(tx)[0].backward(gy)
            return step
        import torch
        rnn = getattr(torch.nn, kind)(I, H, bidirectional=True)
        if shared is not None:
            with torch.no_grad():
                for name, p in rnn.named_parameters():
                    p.copy_(torch.from_numpy(np.asarray(shared["model"].state_dict()[name].numpy())))
        tx, tg = torch.tensor(x, requires_grad=True), torch.from_numpy(gy)

        def step():
            tx.grad = None
            rnn.zero_grad()
            rnn(tx)[0].backward(tg)
        return step
    return build


def pool_case(shape, k, s, p):
    """max_pool2d forward + backward."""
    def build(side, shared):
        (x,) = _arrays(shape)
        if side == "fv":
            import foveanet
            from foveanet.functional.pooling import max_pool2d
            tx = foveanet.tensor(x, requires_grad=True)
            gy = np.ones(max_pool2d(tx, k, s, p).shape, np.float32)

            def step():
                tx.grad = None
                max_pool2d(tx, k, s, p).backward(gy)
            return step
        import torch
        tx = torch.tensor(x, requires_grad=True)
        with torch.no_grad():
            gy = torch.ones_like(torch.nn.functional.max_pool2d(tx, k, s, p))

        def step():
            tx.grad = None
            torch.nn.functional.max_pool2d(tx, k, s, p).backward(gy)
        return step
    return build


# ------------------------------------------------------------------ LeNet-5 training


def _lenet_data(batch):
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    return x, y


def lenet_functional_case(batch=128):
    """LeNet-5 step written on foveanet.functional (no nn/optim): the engine alone."""
    shapes = [(6, 1, 5, 5), (6,), (16, 6, 5, 5), (16,), (120, 400), (120,), (84, 120), (84,),
              (10, 84), (10,)]

    def build(side, shared):
        params = _arrays(*shapes, scale=0.1)
        x, y = _lenet_data(batch)
        if side == "fv":
            import foveanet
            import foveanet.functional as F
            P = [foveanet.tensor(a, requires_grad=True) for a in params]
            lib, tP = F, P
        else:
            import torch
            import torch.nn.functional as F
            P = [torch.tensor(a, requires_grad=True) for a in params]
            x, y = torch.from_numpy(x), torch.from_numpy(y)
            lib, tP = F, P

        def step():
            w1, b1, w2, b2, w3, b3, w4, b4, w5, b5 = tP
            h = lib.max_pool2d(lib.relu(lib.conv2d(x, w1, b1, padding=2)), 2)
            h = lib.max_pool2d(lib.relu(lib.conv2d(h, w2, b2)), 2)
            h = h.reshape(batch, 400)
            h = lib.relu(lib.linear(h, w3, b3))
            h = lib.relu(lib.linear(h, w4, b4))
            loss = lib.cross_entropy(lib.linear(h, w5, b5), y)
            for q in tP:
                q.grad = None
            loss.backward()
            for q in tP:  # plain SGD, in place on the parameter's array
                q.data -= 0.01 * q.grad.data if side == "fv" else 0.01 * q.grad
        return step
    return build


def _train_step(data, optimizer, fv_model, torch_model):
    """One training step of a foveanet model and its torch reference (weights copied from
    the foveanet side) on the same batch: ``data()`` gives (x, y), ``fv_model()`` builds the
    foveanet model (after the seed is set), ``torch_model()`` its torch twin."""
    def build(side, shared):
        x, y = data()
        if side == "fv":
            optim = _need("foveanet.optim")
            import foveanet
            import foveanet.functional as F
            foveanet.manual_seed(SEED)
            model = fv_model()
            if shared is not None:
                shared["model"] = model
            opt = _optimizer(optim, optimizer, model.parameters())
            loss_fn = F.cross_entropy
        else:
            import torch
            from benchmarks import torch_models
            model = torch_model()
            if shared is not None:
                torch_models.copy_weights(shared["model"], model)
            opt = _optimizer(torch.optim, optimizer, model.parameters())
            loss_fn = torch.nn.functional.cross_entropy
            x, y = torch.from_numpy(x), torch.from_numpy(y)
        model.train()

        def step():
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()
        return step
    return build


def _torch_model(name, **kwargs):
    def make():
        from benchmarks import torch_models
        return getattr(torch_models, name)(**kwargs)
    return make


def lenet_train_case(optimizer, batch=128, arch="lenet5", torch_arch="LeNet5"):
    """foveanet.models.<arch> + foveanet.optim against its torch reference, one training
    step on a 1x28x28 batch (LeNet-5, or the strong recipe's vgg_small)."""
    return _train_step(lambda: _lenet_data(batch), optimizer,
                       lambda: _need("foveanet.models").get_model(arch, num_classes=10, in_channels=1),
                       _torch_model(torch_arch))


def _optimizer(optim, name, params):
    if name == "sgd":
        return optim.SGD(params, lr=0.01, momentum=0.9)
    return optim.AdamW(params, lr=1e-3, weight_decay=0.01)


# ------------------------------------------------------------------ model inference


def inference_case(arch, batch, size=224):
    """foveanet.models.<arch> in eval mode under no_grad, against the torch reference."""
    def build(side, shared):
        (x,) = _arrays((batch, 3, size, size))
        if side == "fv":
            models = _need("foveanet.models")
            import foveanet
            if not hasattr(models, arch):
                raise Skip(f"foveanet.models.{arch} not available")
            foveanet.manual_seed(SEED)
            model = getattr(models, arch)()
            if shared is not None:
                shared["model"] = model
            model.eval()

            def step():
                with foveanet.no_grad():
                    return model(x)
            return step
        import torch
        from benchmarks import torch_models
        model = getattr(torch_models, arch)()
        if shared is not None:
            torch_models.copy_weights(shared["model"], model)
        model.eval()
        tx = torch.from_numpy(x)

        def step():
            with torch.no_grad():
                return model(tx)
        return step
    return build


def image_train_case(arch, batch, size, classes=10):
    """foveanet.models.<arch> + SGD against its torch reference: one training step (batch
    statistics, dropout) on a 3 x size x size batch."""
    def data():
        rng = np.random.default_rng(SEED)
        x = rng.standard_normal((batch, 3, size, size)).astype(np.float32)
        return x, rng.integers(0, classes, batch)

    def fv_model():
        models = _need("foveanet.models")
        if arch not in models.list_models():
            raise Skip(f"foveanet.models.{arch} not available")
        return models.get_model(arch, num_classes=classes)
    return _train_step(data, "sgd", fv_model, _torch_model(arch, num_classes=classes))


# ------------------------------------------------------------------ XML-CNN (conv1d text)


def xmlcnn_case(batch=32, seq=500, emb=300, vocab=20000, labels=1000, widths=(2, 4, 8),
                maps=128, chunks=8, hidden=512):
    """XML-CNN training step on the functional API: embedding -> conv1d per width -> ReLU ->
    dynamic max pooling (``chunks`` per map) -> concat -> fc -> ReLU -> fc -> BCE-with-logits
    -> SGD. The embedding table is trained too, as in the paper's non-static variant."""
    shapes = [(vocab, emb)]
    for k in widths:
        shapes += [(maps, emb, k), (maps,)]
    shapes += [(hidden, maps * chunks * len(widths)), (hidden,), (labels, hidden), (labels,)]

    def build(side, shared):
        params = _arrays(*shapes, scale=0.05)
        rng = np.random.default_rng(SEED)
        tokens = rng.integers(0, vocab, (batch, seq))
        target = (rng.random((batch, labels)) < 0.01).astype(np.float32)
        if side == "fv":
            import foveanet
            import foveanet.functional as F
            P = [foveanet.tensor(a, requires_grad=True) for a in params]
            cat = foveanet.cat
        else:
            import torch
            import torch.nn.functional as F
            P = [torch.tensor(a, requires_grad=True) for a in params]
            tokens, target = torch.from_numpy(tokens), torch.from_numpy(target)
            cat = torch.cat

        def step():
            e = F.embedding(tokens, P[0]).transpose(1, 2)  # (N, emb, seq)
            feats = []
            for i in range(len(widths)):
                h = F.relu(F.conv1d(e, P[1 + 2 * i], P[2 + 2 * i]))
                feats.append(F.adaptive_max_pool1d(h, chunks).reshape(batch, -1))
            h = F.relu(F.linear(cat(feats, 1), P[-4], P[-3]))
            loss = F.binary_cross_entropy_with_logits(F.linear(h, P[-2], P[-1]), target)
            for q in P:
                q.grad = None
            loss.backward()
            for q in P:
                q.data -= 0.01 * q.grad.data if side == "fv" else 0.01 * q.grad
        return step
    return build


def _flops(build, flops):
    """Set a case's FLOPs by hand: torch's counter ignores groups, so depthwise convs count
    x channels. The mult-adds are ``foveanet.summary``'s (= torchvision's 0.301 G for
    MobileNetV2 at 224, tests/models/test_mobile_tools.py); a training step counts 3x."""
    build.flops = flops
    return build


# name -> builder (a builder that raises Skip leaves its case out of the table, listed as skipped)
CASES = {
    "lenet5 train SGD b128": lenet_train_case("sgd"),
    "lenet5 train AdamW b128": lenet_train_case("adamw"),
    "lenet5 functional step b128": lenet_functional_case(),
    "vgg_small train AdamW b128": lenet_train_case("adamw", arch="vgg_small", torch_arch="SmallVGG"),
    "conv 3x3 32->32 @28 b128 fwd+bwd": conv_case(128, 32, 28, 28, 32, 3, 1),
    "conv 3x3 64->64 @56 b8 fwd": conv_case(8, 64, 56, 56, 64, 3, 1, backward=False),
    "conv 3x3 64->64 @56 b8 fwd+bwd": conv_case(8, 64, 56, 56, 64, 3, 1),
    "conv 3x3 64->128 @32 b32 fwd": conv_case(32, 64, 32, 32, 128, 3, 1, backward=False),
    "conv 3x3 64->128 @32 b32 fwd+bwd": conv_case(32, 64, 32, 32, 128, 3, 1),
    "conv 1x1 256->64 @28 b16 fwd+bwd": conv_case(16, 256, 28, 28, 64, 1, 0),
    "depthwise 3x3 128 @28 b16 fwd+bwd": conv_case(16, 128, 28, 28, 128, 3, 1, groups=128),
    "depthwise 3x3 s2 96 @56 b8 fwd+bwd": conv_case(8, 96, 56, 56, 96, 3, 1, groups=96, stride=2),
    "max_pool2d 2/2 (128,6,28,28) fwd+bwd": pool_case((128, 6, 28, 28), 2, 2, 0),
    "max_pool2d 3/2 p1 (8,64,112,112) fwd+bwd": pool_case((8, 64, 112, 112), 3, 2, 1),
    "resnet18 infer b1 @224": inference_case("resnet18", 1),
    "resnet18 infer b16 @224": inference_case("resnet18", 16),
    "vgg16 infer b1 @224": inference_case("vgg16", 1),
    "xmlcnn conv1d train b32 L500": xmlcnn_case(),
    "bilstm 256->96 T140 b16 fwd+bwd": lstm_case(140, 16, 256, 96),
    "mobilenet_v2 infer b1 @224": _flops(inference_case("mobilenet_v2", 1), 2 * 300_774_272),
    # 64 px: a 224 px step at b32 takes seconds per run on two cores, too slow to repeat
    "mobilenet_v2 train SGD b32 @64": _flops(image_train_case("mobilenet_v2", 32, 64),
                                             3 * 2 * 32 * 24_461_312),
}
QUICK = ["lenet5 train SGD b128", "lenet5 functional step b128", "conv 3x3 64->64 @56 b8 fwd+bwd",
         "conv 3x3 64->128 @32 b32 fwd+bwd", "resnet18 infer b1 @224"]
