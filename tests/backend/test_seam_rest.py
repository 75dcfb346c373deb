"""Issue 22's seam for activations, losses, recurrent layers and shape ops: each op gives on
'cuda' (the CPU stand-in for CuPy) the numbers it gives on the CPU, forward and backward,
and its results live on the device."""
import numpy as np
import pytest

import foveanet as fn
import foveanet.nn.functional as F
from foveanet.backend import standin, use_kernels
from foveanet.functional import activation, recurrent

_rng = np.random.default_rng(22)


def _r(*shape):
    return _rng.standard_normal(shape).astype(np.float32)


def _log_probs(t, n, c):
    z = _r(t, n, c)
    return (z - np.log(np.exp(z).sum(-1, keepdims=True))).astype(np.float32)


_X = _r(4, 5) * 3  # spans every kink: relu's 0, hardswish's ±3, gelu's tails
_X[0, :3] = (0.0, -3.0, 3.0)
_T = np.array([0, 4, 2, 2])
_P = _rng.random((4, 5)).astype(np.float32)
_IMG = _r(2, 3, 4, 5)
_W5 = np.abs(_r(5)) + 0.1


def _case(name, f, *args, grads=None, marks=()):
    """An op, its inputs, and how many leading inputs get a gradient (default: every float)."""
    return pytest.param(f, args, grads, id=name, marks=marks)


OPS = [
    _case("relu", F.relu, _X),
    _case("leaky_relu", lambda x: F.leaky_relu(x, 0.1), _X),
    _case("relu6", F.relu6, _X * 3),
    _case("hardtanh", lambda x: F.hardtanh(x, -0.5, 2.0), _X),
    _case("elu", F.elu, _X),
    _case("elu_alpha", lambda x: F.elu(x, 0.5), _X),
    _case("gelu", F.gelu, _X),
    _case("gelu_tanh", lambda x: F.gelu(x, approximate="tanh"), _X),
    _case("hardsigmoid", F.hardsigmoid, _X),
    _case("hardswish", F.hardswish, _X),
    _case("softmax", lambda x: F.softmax(x, dim=1), _X),
    _case("softmax_dim0", lambda x: F.softmax(x, dim=0), _IMG),
    _case("log_softmax", lambda x: F.log_softmax(x, dim=-1), _IMG),
    _case("sigmoid", F.sigmoid, _X),
    _case("tanh", F.tanh, _X),
    _case("silu", F.silu, _X),
    _case("softplus", lambda x: F.softplus(x, beta=2.0, threshold=3.0), _X),
    _case("cross_entropy", F.cross_entropy, _X, _T),
    _case("cross_entropy_sum", lambda x, t: F.cross_entropy(x, t, reduction="sum"), _X, _T),
    _case("cross_entropy_smooth_weight_ignore",
          lambda x, t, w: F.cross_entropy(x, t, weight=w, ignore_index=2, label_smoothing=0.1),
          _X, _T, _W5, grads=1),
    _case("cross_entropy_all_ignored", lambda x, t: F.cross_entropy(x, t, ignore_index=2), _X[:2],
          np.array([2, 2])),
    _case("cross_entropy_probs", lambda x, p: F.cross_entropy(x, p, label_smoothing=0.2), _X, _P),
    _case("cross_entropy_pixels", lambda x, t: F.cross_entropy(x, t, reduction="none"), _IMG,
          _rng.integers(0, 3, (2, 4, 5))),
    _case("nll_loss", F.nll_loss, _X, _T),
    _case("nll_loss_weight", lambda x, t, w: F.nll_loss(x, t, weight=w, ignore_index=4), _X, _T,
          _W5, grads=1),
    _case("binary_cross_entropy", F.binary_cross_entropy, _P * 0.98 + 0.01, (_P > 0.5) * 1.0),
    _case("bce_with_logits", lambda x, t, w: F.binary_cross_entropy_with_logits(x, t, pos_weight=w),
          _X, _P, _W5, grads=2),
    _case("mse_loss", F.mse_loss, _X, _P),
    _case("mse_loss_weight", lambda x, t, w: F.mse_loss(x, t, weight=w), _X, _P, np.abs(_X),
          grads=2),
    _case("l1_loss", lambda x, t: F.l1_loss(x, t, reduction="sum"), _X, _P),
    _case("smooth_l1_loss", lambda x, t: F.smooth_l1_loss(x, t, beta=0.5), _X, _P),
    _case("huber_as_smooth_l1", lambda x, t: F.smooth_l1_loss(x, t, reduction="none", beta=1.0),
          _X, _P),
    _case("normalize", F.normalize, _X),
    _case("contrastive_loss", lambda a, b, y: F.contrastive_loss(a, b, y, margin=3.0), _X, _r(4, 5),
          np.array([1.0, 0.0, 1.0, 0.0], np.float32), grads=2),
    _case("triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, margin=2.0), _X,
          _r(4, 5), _r(4, 5)),
    _case("batch_hard_triplet_loss", F.batch_hard_triplet_loss, _r(6, 5),
          np.array([0, 0, 1, 1, 2, 2])),
    _case("arc_margin", lambda c, t: F.arc_margin(c, t, margin=0.3, scale=8.0), np.tanh(_X), _T),
    _case("ctc_loss", lambda lp, tg, il, tl: F.ctc_loss(lp, tg, il, tl), _log_probs(7, 3, 5),
          np.array([[1, 2, 2], [3, 1, 0], [4, 0, 0]]), np.array([7, 6, 4]), np.array([3, 2, 1])),
    _case("ctc_loss_none_zero_inf", lambda lp, tg, il, tl: F.ctc_loss(
        lp, tg, il, tl, reduction="none", zero_infinity=True), _log_probs(3, 2, 4),
        np.array([[1, 1, 1], [2, 3, 0]]), np.array([3, 3]), np.array([3, 2])),
    _case("lstm_cells", lambda x, h, c, wi, wh, bi, bh: recurrent._LSTM.apply(x, h, c, wi, wh, bi, bh),
          _r(3, 2, 4), _r(2, 5), _r(2, 5), _r(20, 4), _r(20, 5), _r(20), _r(20)),
    _case("lstm_cells_reverse", lambda x, h, c, wi, wh: recurrent._LSTM.apply(
        x, h, c, wi, wh, None, None, reverse=True), _r(3, 2, 4), _r(2, 5), _r(2, 5), _r(20, 4),
        _r(20, 5)),
    _case("lstm_layer", lambda *a: recurrent.lstm_layer(*a)[0], _r(3, 2, 4), _r(2, 5), _r(2, 5),
          _r(20, 4), _r(20, 5), _r(20), _r(20)),
    _case("gru_layer", lambda *a: recurrent.gru_layer(*a)[0], _r(3, 2, 4), _r(2, 5), _r(15, 4),
          _r(15, 5), _r(15), _r(15)),
    _case("gru_layer_reverse", lambda *a: recurrent.gru_layer(*a, reverse=True)[0], _r(3, 2, 4),
          _r(2, 5), _r(15, 4), _r(15, 5), _r(15), _r(15)),
    _case("pad_constant", lambda x: F.pad(x, (1, 2, -1, 1), value=0.5), _IMG),
    _case("pad_reflect", lambda x: F.pad(x, (1, 2, 3, 1), mode="reflect"), _IMG),
    _case("pad_replicate", lambda x: F.pad(x, (2, 3), mode="replicate"), _r(2, 3, 5)),
    _case("pad_circular", lambda x: F.pad(x, (1, 2, 2, 0), mode="circular"), _IMG),
    _case("upsample_nearest", lambda x: F.interpolate(x, scale_factor=2), _IMG),
    _case("interpolate_nearest_size", lambda x: F.interpolate(x, size=(3, 7)), _IMG),
    _case("interpolate_nearest_exact", lambda x: F.interpolate(x, size=7, mode="nearest-exact"),
          _r(2, 3, 5)),
    _case("interpolate_linear", lambda x: F.interpolate(x, size=9, mode="linear"), _r(2, 3, 5)),
    _case("interpolate_bilinear", lambda x: F.interpolate(x, size=(7, 9), mode="bilinear"), _IMG),
    _case("interpolate_bilinear_corners", lambda x: F.interpolate(
        x, scale_factor=1.5, mode="bilinear", align_corners=True), _IMG),
]


def _run(f, args, grads, device):
    """The op's output and the gradients of its differentiable inputs, on the host."""
    n_grad = len(args) if grads is None else grads
    leaves = [fn.tensor(a, device=device, requires_grad=i < n_grad and a.dtype.kind == "f")
              for i, a in enumerate(args)]
    y = f(*leaves)
    g = _rng.standard_normal(y.shape).astype(y.dtype)
    y.backward(fn.tensor(g, device=device))
    grads = [t.grad for t in leaves if t.requires_grad]
    return y, grads


def _on_cpu_and(device, f, args, grads):
    """(output, gradients) on the CPU and on ``device``, as host arrays, for one grad_output,
    and the type of the device output's array. The CPU runs its NumPy engines, the code the
    device runs: the compiled CPU kernels (an LSTM's backward, ...) sum in another order and
    are held to the NumPy path in tests/kernels."""
    state = _rng.bit_generator.state
    with use_kernels("numpy"):
        y_cpu, g_cpu = _run(f, args, grads, "cpu")
    _rng.bit_generator.state = state  # the same grad_output on both devices
    y_dev, g_dev = _run(f, args, grads, device)
    assert y_dev.is_cuda and g_dev and all(g is not None and g.is_cuda for g in g_dev)
    assert y_dev.dtype == y_cpu.dtype and y_dev.shape == y_cpu.shape and len(g_dev) == len(g_cpu)
    return ([y_cpu.numpy()] + [g.numpy() for g in g_cpu],
            [y_dev.cpu().numpy()] + [g.cpu().numpy() for g in g_dev], type(y_dev.data))


@pytest.mark.parametrize("f, args, grads", OPS)
def test_op_on_cuda_matches_cpu_forward_and_backward(f, args, grads):
    with standin.cuda():
        want, got, kind = _on_cpu_and("cuda", f, args, grads)
    assert kind is standin.DeviceArray
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _real_gpu() -> bool:
    from foveanet.backend import devices

    try:
        return devices.cuda_module().__name__ == "cupy"
    except RuntimeError:
        return False


@pytest.mark.gpu
@pytest.mark.parametrize("f, args, grads", OPS)
def test_op_on_a_real_gpu_matches_cpu(f, args, grads):
    if not _real_gpu():
        pytest.skip("no CUDA GPU with CuPy here (pip install cupy-cuda12x on a GPU machine)")
    want, got, _ = _on_cpu_and("cuda", f, args, grads)
    for a, b in zip(got, want):  # CuPy's float32 sums run in another order than NumPy's
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_erf_runs_where_its_input_lives():
    x = np.linspace(-6, 6, 97)
    with standin.cuda():
        y = activation.erf(standin.xp.asarray(x))
        assert isinstance(y, standin.DeviceArray)
        np.testing.assert_array_equal(standin.xp.asnumpy(y), activation.erf(x))


def test_loss_weight_on_another_device_raises_as_torch():
    with standin.cuda():
        x = fn.tensor(_X, device="cuda")
        with pytest.raises(RuntimeError, match="same device, but found cuda:0 .input. and cpu .weight."):
            F.cross_entropy(x, fn.tensor(_T, device="cuda"), weight=fn.tensor(_W5))


# ------------------------------------------------------------------ data, training, checkpoints


@pytest.fixture
def no_cupy(monkeypatch):
    """A machine without CuPy, whatever this one has: 'cuda' fails with the real message."""
    import sys

    from foveanet.backend import devices

    monkeypatch.setitem(sys.modules, "cupy", None)  # `import cupy` raises ImportError
    monkeypatch.setattr(devices, "_cuda", None)
    monkeypatch.setattr(devices, "_cuda_error", None)


def _augment(size=8):
    from foveanet.data import transforms as T

    return T.Compose([T.RandomCrop(6, padding=1), T.RandomHorizontalFlip(), T.RandomVerticalFlip(),
                      T.Normalize([0.1, -0.2], [1.5, 0.5]), T.RandomErasing(p=0.9, value="random"),
                      T.Resize(size)])


def test_loader_on_cuda_augments_there_with_the_hosts_numbers():
    x = _rng.random((10, 2, 6, 6)).astype(np.float32)
    ds = fn.data.TensorDataset(x, np.arange(10) % 3)
    host = [(b.numpy(), t.numpy()) for b, t in fn.data.DataLoader(ds, 4, shuffle=True, seed=5,
                                                                     transform=_augment())]
    with standin.cuda():
        dev = list(fn.data.DataLoader(ds, 4, shuffle=True, seed=5, transform=_augment(), device="cuda"))
        assert all(b.is_cuda and t.is_cuda and isinstance(b.data, standin.DeviceArray) for b, t in dev)
        dev = [(b.cpu().numpy(), t.cpu().numpy()) for b, t in dev]
    assert [b.shape for b, _ in dev] == [(4, 2, 8, 8), (4, 2, 8, 8), (2, 2, 8, 8)]
    for (hb, ht), (db, dt) in zip(host, dev):
        np.testing.assert_array_equal(db, hb)
        np.testing.assert_array_equal(dt, ht)


def test_cuda_without_cupy_is_one_clear_error_for_loader_and_trainer(no_cupy):
    from foveanet import nn
    from foveanet.train import Trainer

    ds = fn.data.TensorDataset(np.zeros((2, 3), np.float32), np.zeros(2, np.int64))
    with pytest.raises(RuntimeError, match="pip install cupy-cuda12x"):
        fn.data.DataLoader(ds, device="cuda")
    model = nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match="pip install cupy-cuda12x"):
        Trainer(model, fn.optim.SGD(model.parameters(), lr=0.1), device="cuda")


@pytest.mark.parametrize("command", [
    ["train", "--epochs", "1"],
    ["segment", "train", "--epochs", "1"],
    ["text", "train", "--data", "missing.jsonl"],
], ids=["train", "segment-train", "text-train"])
def test_cli_training_on_cuda_without_cupy_says_what_to_install(command, no_cupy, capsys, tmp_path):
    from foveanet.cli.main import main

    out = tmp_path / "run"
    code = main(command + ["--out", str(out), "--device", "cuda"])
    err = capsys.readouterr().err.strip()
    assert code != 0 and len(err.splitlines()) == 1, err
    assert err.startswith(f"foveanet {command[0]}: error: --device cuda:") and "pip install cupy-cuda12x" in err
    assert not out.exists()  # refused before any data was read or written
    with pytest.raises(SystemExit) as bad:
        main(command + ["--out", str(out), "--device", "gpu"])
    assert bad.value.code == 2 and "expected cpu, cuda or cuda:N, got 'gpu'" in capsys.readouterr().err


def test_trainer_on_cpu_by_name_is_the_plain_cpu_run():
    from foveanet import nn
    from foveanet.train import Trainer

    x, y = _r(12, 3), np.arange(12) % 2
    runs = []
    for device in (None, "cpu"):
        fn.manual_seed(0)
        model = nn.Linear(3, 2)
        loader = fn.data.DataLoader(fn.data.TensorDataset(x, y), 4, shuffle=True, seed=1, device=device)
        Trainer(model, fn.optim.SGD(model.parameters(), lr=0.1), train_loader=loader, max_epochs=2,
                progress=False, device=device).fit()
        runs.append(model.weight.numpy().copy())
    np.testing.assert_array_equal(runs[0], runs[1])


def test_step_stats_of_a_cuda_step_come_back_in_one_copy():
    from foveanet.train import trainer as tr

    with standin.cuda():
        out = fn.tensor([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], device="cuda")
        y = fn.tensor([1, 1, 1], device="cuda")
        loss = fn.tensor(0.25, device="cuda")
        p, q = fn.tensor([1.0, 2.0], device="cuda"), fn.tensor([3.0], device="cuda")
        p.grad, q.grad = fn.tensor([0.5, -1.0], device="cuda"), fn.tensor([2.0], device="cuda")
        assert tr._device_step_stats(loss, out, y, [("p", p), ("q", q)]) == (0.25, 2, 3, True)
        q.grad = fn.tensor([np.inf], device="cuda")
        assert tr._device_step_stats(loss, out, y, [("p", p), ("q", q)])[3] is False
        with pytest.raises(fn.errors.TrainingDiverged, match=r"gradient of q \(shape \(1,\)\)"):
            tr.check_step(0.25, [("p", p), ("q", q)], epoch=1, step=1, lr=0.1)


def test_checkpoint_files_hold_host_arrays_whatever_the_device(tmp_path):
    from foveanet.train import checkpoint as ckpt

    w = _r(3, 2)
    with standin.cuda():
        state = {"model": {"w": fn.tensor(w, device="cuda")}, "epoch": 2,
                 "optimizer": {"state": {0: {"momentum_buffer": standin.xp.asarray(w * 2)}}}}
        ckpt.save_checkpoint(state, tmp_path / "c.safetensors")
        ckpt.save_weights(state["model"], tmp_path / "w.safetensors")
    back = ckpt.load_checkpoint(tmp_path / "c.safetensors")  # outside the stand-in: a CPU machine
    assert back["epoch"] == 2 and back["model"]["w"].device.type == "cpu"
    np.testing.assert_array_equal(back["model"]["w"].numpy(), w)
    buf = back["optimizer"]["state"][0]["momentum_buffer"]
    np.testing.assert_array_equal(getattr(buf, "data", buf), w * 2)
    np.testing.assert_array_equal(ckpt.load_weights(tmp_path / "w.safetensors")["w"].numpy(), w)


def _small_cnn():
    from foveanet import nn

    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 3 * 3, 3))


def _fit(device, tmp=None, epochs=2, resume_from=None):
    from foveanet.train import Trainer

    x = np.random.default_rng(1).random((24, 2, 6, 6)).astype(np.float32)
    y = (x.mean(axis=(1, 2, 3)) * 30).astype(np.int64) % 3
    ds = fn.data.TensorDataset(x, y)
    fn.manual_seed(0)
    model = _small_cnn()
    opt = fn.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    loader = fn.data.DataLoader(ds, 8, shuffle=True, seed=2, transform=_augment(6),
                                device=None if device == "cpu" else device)
    trainer = Trainer(model, opt, train_loader=loader, val_loader=fn.data.DataLoader(ds, 12),
                      max_epochs=epochs, progress=False, seed=3, device=device, run_dir=tmp)
    if resume_from is not None:
        trainer.load_checkpoint(resume_from)
    trainer.fit()
    return trainer, {k: v.cpu().numpy() for k, v in model.state_dict().items()}


def test_training_on_cuda_gives_the_cpus_weights_and_history():
    with fn.backend.use_kernels("reference"):  # the formulas the device runs, on the CPU
        cpu, w_cpu = _fit("cpu")
    with standin.cuda():
        dev, w_dev = _fit("cuda")
        assert all(p.is_cuda for p in dev.net.parameters())
    for a, b in zip(cpu.history, dev.history):
        for key in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            assert b[key] == pytest.approx(a[key], rel=1e-5), key
    for k in w_cpu:
        np.testing.assert_allclose(w_dev[k], w_cpu[k], rtol=1e-5, atol=1e-6, err_msg=k)


@pytest.mark.gpu
def test_training_on_a_real_gpu_gives_the_cpus_weights():
    if not _real_gpu():
        pytest.skip("no CUDA GPU with CuPy here (pip install cupy-cuda12x on a GPU machine)")
    _, w_cpu = _fit("cpu")
    trainer, w_gpu = _fit("cuda")
    assert all(p.is_cuda for p in trainer.net.parameters())
    for k in w_cpu:
        np.testing.assert_allclose(w_gpu[k], w_cpu[k], rtol=1e-3, atol=1e-4, err_msg=k)


def test_checkpoint_saved_on_cuda_resumes_on_cpu_and_back_on_cuda(tmp_path):
    with standin.cuda():
        _fit("cuda", tmp_path / "gpu", epochs=1)
    ckpt = tmp_path / "gpu" / "checkpoint.safetensors"
    with fn.backend.use_kernels("reference"):
        _, on_cpu = _fit("cpu", tmp_path / "cpu", resume_from=ckpt)      # a machine without a GPU
        _, straight = _fit("cpu")
    with standin.cuda():
        trainer, on_cuda = _fit("cuda", tmp_path / "gpu2", resume_from=ckpt)
        assert trainer.epoch == 2 and all(p.is_cuda for p in trainer.net.parameters())
    for k in straight:
        np.testing.assert_allclose(on_cpu[k], straight[k], rtol=1e-5, atol=1e-6, err_msg=k)
        np.testing.assert_allclose(on_cuda[k], straight[k], rtol=1e-5, atol=1e-6, err_msg=k)


def test_segment_training_on_cuda_gives_the_cpus_numbers(tmp_path):
    from foveanet.segmentation import train

    settings = dict(quiet=True, pictures=False, epochs=1, scenes=8, val_scenes=4, test_scenes=4,
                    size=16, depth=1, base_width=2, batch_size=4, items=[1, 1], scale=None,
                    pretrain_epochs=0, tta="flip")
    with fn.backend.use_kernels("reference"):
        cpu = train(tmp_path / "cpu", **settings)
    with standin.cuda():
        dev = train(tmp_path / "cuda", device="cuda", **settings)
    assert dev["history"][0]["train_loss"] == pytest.approx(cpu["history"][0]["train_loss"], rel=1e-5)
    assert dev["miou"] == pytest.approx(cpu["miou"], abs=1e-6)


def test_text_training_on_cuda_gives_the_cpus_numbers():
    from foveanet.text.run import train
    from tests.text.test_validation import _cfg, _docs

    cfg = _cfg(val_split=0.2, epochs=2, dropout=0.0)  # a GPU draws dropout masks from its own generator
    docs = _docs(n=120)
    with fn.backend.use_kernels("reference"):
        cpu = train(cfg, docs=docs, log=lambda s: None)
    with standin.cuda():
        dev = train(cfg, docs=docs, log=lambda s: None, device="cuda")
        assert all(p.is_cuda for p in dev["model"].parameters())
    for a, b in zip(cpu["history"], dev["history"]):
        assert b["train_loss"] == pytest.approx(a["train_loss"], rel=1e-5)
    assert dev["p@1"] == pytest.approx(cpu["p@1"], abs=1e-9)
