import io
import json

import numpy as np
import pytest

import foveanet
from foveanet import nn, optim
from foveanet.data import DataLoader, TensorDataset
from foveanet.data import transforms as T
from foveanet.train import EarlyStopping, ProgressBar, Trainer, metrics
from foveanet.train.callbacks import Callback, ModelCheckpoint
from foveanet.train.checkpoint import load_checkpoint


def synthetic(n, seed, classes=3, side=8):
    """Class k = a bright bar at row 2k plus noise: learnable, not trivially separable by one pixel."""
    r = np.random.default_rng(seed)
    y = r.integers(0, classes, n)
    x = 0.6 * r.standard_normal((n, 1, side, side)).astype(np.float32)
    for k in range(classes):
        x[y == k, 0, 2 * k:2 * k + 2, :] += 1.0
    return x, y.astype(np.int64)


def tiny_net(classes=3, dropout=0.0):
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(4 * 4 * 4, classes),
    )


def make(run_dir=None, epochs=3, dropout=0.0, seed=0, lr=0.02, schedule="onecycle", callbacks=(), **kw):
    foveanet.manual_seed(seed)
    xtr, ytr = synthetic(384, 1)
    xva, yva = synthetic(96, 4)
    xte, yte = synthetic(192, 2)
    train = DataLoader(TensorDataset(xtr, ytr), batch_size=32, shuffle=True,
                       transform=T.RandomHorizontalFlip(), seed=seed)
    val = DataLoader(TensorDataset(xva, yva), batch_size=64)
    test = DataLoader(TensorDataset(xte, yte), batch_size=64)
    net = tiny_net(dropout=dropout)
    opt = optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=len(train)) \
        if schedule == "onecycle" else None
    return Trainer(net, opt, None, sched, train, val, max_epochs=epochs, run_dir=run_dir,
                   callbacks=list(callbacks), seed=seed, class_names=["a", "b", "c"],
                   progress=False, test_loader=test, **kw)


def weights(model):
    return {k: np.array(v.data) for k, v in model.state_dict().items()}


def test_trainer_learns_a_tiny_problem():
    tr = make(epochs=4)
    before = tr.evaluate(tr.test_loader)
    hist = tr.fit()
    assert len(hist) == 4
    assert hist[-1]["train_loss"] < 0.5 * hist[0]["train_loss"]
    assert hist[-1]["test_accuracy"] > 0.85 > before["accuracy"] + 0.2  # chance is 1/3
    assert hist[-1]["val_accuracy"] > 0.85
    # the per-batch OneCycle schedule ran to its end
    assert tr.scheduler.last_epoch == 4 * len(tr.train_loader)
    assert hist[-1]["lr"] < hist[1]["lr"]


def test_evaluate_and_predict_agree_with_the_metrics():
    tr = make(epochs=2)
    tr.fit()
    xte, yte = synthetic(192, 2)
    probs = tr.predict(xte)
    assert probs.shape == (192, 3)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-6)
    res = tr.evaluate(tr.test_loader)
    assert res["accuracy"] == pytest.approx(metrics.accuracy(probs, yte))
    np.testing.assert_array_equal(res["confusion"], metrics.confusion_matrix(probs, yte, 3))
    assert res["per_class"]["support"] == np.bincount(yte, minlength=3).tolist()
    assert res["top5"] == 1.0  # 3 classes: always in the top 5
    # evaluation leaves the model in training mode, and predict accepts a loader too
    assert tr.model.training
    np.testing.assert_allclose(tr.predict(tr.test_loader), probs, rtol=1e-6)


def test_tta_averages_each_image_with_its_mirror():
    tr = make(epochs=2)
    tr.fit()
    xte, yte = synthetic(64, 2)
    plain, mirrored = tr.predict(xte), tr.predict(xte[..., ::-1].copy())
    tr.tta = True
    np.testing.assert_allclose(tr.predict(xte), (plain + mirrored) / 2, rtol=1e-6)
    res = tr.evaluate(DataLoader(TensorDataset(xte, yte), batch_size=32))
    assert res["accuracy"] == pytest.approx(metrics.accuracy((plain + mirrored) / 2, yte))
    assert res["accuracy_without_tta"] == pytest.approx(metrics.accuracy(plain, yte))
    nll = -np.log(((plain + mirrored) / 2)[np.arange(64), yte]).mean()
    assert res["loss"] == pytest.approx(nll, rel=1e-5)


def test_evaluation_records_no_graph_and_uses_eval_mode():
    tr = make(epochs=1, dropout=0.9)
    seen = []
    orig = tr.model.forward

    def spy(x):
        out = orig(x)
        seen.append((tr.model.training, out.requires_grad))
        return out

    tr.model.forward = spy
    tr.evaluate(tr.val_loader)
    assert seen and all(s == (False, False) for s in seen)
    # with dropout 0.9 in eval mode, two evaluations agree exactly
    a, b = tr.predict(synthetic(64, 3)[0]), tr.predict(synthetic(64, 3)[0])
    np.testing.assert_array_equal(a, b)


def test_same_seed_same_weights_different_seed_different():
    a, b, c = make(epochs=2, dropout=0.3), make(epochs=2, dropout=0.3), make(epochs=2, dropout=0.3, seed=1)
    for t in (a, b, c):
        t.fit()
    wa, wb, wc = weights(a.model), weights(b.model), weights(c.model)
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    assert not all(np.array_equal(wa[k], wc[k]) for k in wa)


def test_early_stopping_counts_epochs_without_improvement():
    stop = EarlyStopping("val_accuracy", patience=2)
    tr = make(epochs=10, lr=0.0, schedule=None, callbacks=[stop])  # lr 0: nothing ever improves
    hist = tr.fit()
    assert len(hist) == 3 and stop.stopped_epoch == 3 and stop.wait == 2
    assert stop.mode == "max" and EarlyStopping().monitor == "val_loss" and EarlyStopping().mode == "min"


class Crash(Exception):
    pass


class CrashAt(Callback):
    def __init__(self, step=None, epoch=None):
        self.step, self.epoch = step, epoch

    def on_batch_end(self, trainer, logs):
        if trainer.global_step == self.step:
            raise Crash

    def on_epoch_end(self, trainer, logs):
        # runs before the epoch-end checkpoint (checkpoints go last)
        if logs["epoch"] == self.epoch:
            raise Crash


# (where it crashes, checkpoint every N batches, the step of the last checkpoint); 12 batches an epoch
@pytest.mark.parametrize("crash,every,saved", [
    (dict(step=17), 5, 15),      # mid-epoch 2
    (dict(epoch=1), 6, 12),      # after epoch 1's last batch, in its evaluation
    (dict(step=30), 4, 28),      # mid-epoch 3
])
def test_resume_from_checkpoint_is_bitwise_identical(tmp_path, crash, every, saved):
    ref = make(tmp_path / "ref", epochs=3, dropout=0.3)
    ref.fit()
    run = tmp_path / "run"
    t1 = make(run, epochs=3, dropout=0.3,
              callbacks=[ModelCheckpoint(run, every_seconds=None, every_batches=every), CrashAt(**crash)])
    with pytest.raises(Crash):
        t1.fit()
    st = load_checkpoint(run / "checkpoint.safetensors")
    assert st["global_step"] == saved
    # a fresh process would rebuild everything with another RNG stream before loading
    foveanet.manual_seed(123)
    t2 = make(run, epochs=3, dropout=0.3)
    foveanet.manual_seed(456)
    t2.load_checkpoint()
    t2.fit()
    wr, w2 = weights(ref.model), weights(t2.model)
    assert all(np.array_equal(wr[k], w2[k]) for k in wr)
    for a, b in zip(ref.history, t2.history):
        timing = ("seconds", "cpu_seconds")
        assert {k: v for k, v in a.items() if k not in timing} == {k: v for k, v in b.items() if k not in timing}
    assert t2.optimizer.state_dict()["state"][0]["step"] == 36


def test_run_directory_files_and_schema(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    tr = make(tmp_path, epochs=2, config={"model": "tiny", "classes": ["a", "b", "c"]})
    tr.fit()
    names = {p.name for p in tmp_path.iterdir()}
    assert {"config.json", "metrics.json", "best.safetensors", "last.safetensors", "checkpoint.safetensors",
            "learning_curves.png", "confusion_matrix.png", "predictions.png"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    assert json.loads((tmp_path / "config.json").read_text())["classes"] == ["a", "b", "c"]
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert len(m["history"]) == 2
    for h in m["history"]:
        assert set(h) >= {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss",
                          "test_accuracy", "lr", "seconds", "cpu_seconds"}
    assert m["test_accuracy"] == m["history"][-1]["test_accuracy"]
    # the best epoch is chosen on the validation set, whatever the test set says
    vals = [h["val_accuracy"] for h in m["history"]]
    assert m["best_epoch"] == vals.index(max(vals)) + 1 and m["selected_by"] == "val_accuracy"
    assert m["best_val_accuracy"] == max(vals)
    assert m["best_epoch_test_accuracy"] == m["history"][m["best_epoch"] - 1]["test_accuracy"]
    assert m["seconds"] == pytest.approx(sum(h["seconds"] for h in m["history"]))
    assert np.asarray(m["confusion"]).sum() == 192 and m["classes"] == ["a", "b", "c"]
    # last.safetensors: the flat state_dict under PyTorch's names, readable by torch
    last = load_file(str(tmp_path / "last.safetensors"))
    mine = weights(tr.model)
    assert set(last) == set(mine)
    for k in mine:
        assert torch.equal(last[k], torch.from_numpy(mine[k]))
    png = (tmp_path / "predictions.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_progress_without_a_terminal_prints_one_line_per_epoch():
    buf = io.StringIO()
    tr = make(epochs=2)
    tr.progress = ProgressBar(2, stream=buf)
    tr.fit()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in buf.getvalue()
    assert lines[0].startswith("epoch 1/2 loss") and "img/s" in lines[0]
    assert lines[0].index("val loss") < lines[0].index("test loss")


def test_progress_on_a_terminal_redraws_with_carriage_returns(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # the bar fits its line to the terminal's width
    buf = io.StringIO()
    bar = ProgressBar(3, stream=buf, tty=True, min_interval=0.0)
    bar.start_epoch(0, 4)
    for _ in range(4):
        bar.update(10, 0.5, 7, lr=1e-3)
    text = buf.getvalue()
    assert text.count("\r") == 4
    assert "4/4" in text and "loss 0.5000" in text and "acc 70.00%" in text and "lr 1.00e-03" in text
    assert "ETA" in text and "img/s" in text
