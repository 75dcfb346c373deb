"""Training guards (inf/NaN stops the run), strict JSON, and model selection by validation."""
import json
import math
import warnings

import numpy as np
import pytest

from foveanet.errors import TrainingDiverged, UserError
from foveanet.train.callbacks import Callback
from foveanet.train.checkpoint import load_weights, write_json
from foveanet.train.guards import check_step, float_errors_quiet
from tests.train.test_trainer import make, weights


class _P:
    def __init__(self, grad):
        self.grad = grad


def test_check_step_passes_finite_steps_and_names_what_broke():
    check_step(0.5, [("w", _P(np.ones(3, np.float32))), ("b", _P(None))], epoch=1, step=1, lr=0.1)
    with pytest.raises(TrainingDiverged) as e:
        check_step(float("nan"), [], epoch=2, step=7, steps_per_epoch=50, lr=1000.0)
    msg = str(e.value)
    assert "epoch 2, step 7 of 50: the loss is nan, at learning rate 1000" in msg and "(--lr 100)" in msg
    assert e.value.where == {"epoch": 2, "step": 7, "loss": "nan", "lr": 1000.0, "reason": "the loss is nan"}
    assert isinstance(e.value, UserError) and e.value.exit_code == 3
    bad = np.array([1.0, np.inf], np.float32)
    with pytest.raises(TrainingDiverged, match=r"the gradient of conv.weight \(shape \(2,\)\) holds inf or NaN "
                                               r"\(the loss was still 2.5\)"):
        check_step(2.5, [("fc.bias", _P(np.zeros(2))), ("conv.weight", _P(bad))], epoch=1, step=3, lr=0.01)


def test_write_json_writes_strict_json(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"loss": float("nan"), "h": [{"a": np.float32("inf")}, 1.5], "arr": np.array([1.0, np.nan])})

    def refuse(name):
        raise ValueError(name)

    assert json.loads(path.read_text(), parse_constant=refuse) == {"loss": None, "h": [{"a": None}, 1.5],
                                                                     "arr": [1.0, None]}


def test_a_diverging_trainer_stops_before_the_step_and_keeps_its_files(tmp_path):
    tr = make(tmp_path, epochs=3, lr=1e6, schedule=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no raw NumPy RuntimeWarning may escape
        with pytest.raises(TrainingDiverged) as e:
            tr.fit()
    where = tr.diverged
    assert where == e.value.where and where["epoch"] >= 1
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["diverged"] == where and len(m["history"]) == where["epoch"] - 1
    # the weights in memory are those before the failing step: all finite
    assert all(np.isfinite(v).all() for v in weights(tr.model).values())
    assert "records the step" in str(e.value)


def test_float_errors_quiet_silences_only_inside():
    with float_errors_quiet():
        assert math.isinf(float(np.float32(3e38) * np.float32(10)))
    with pytest.warns(RuntimeWarning):
        np.float32(3e38) * np.float32(10)


class Keep(Callback):
    """Copies the weights at every epoch end (before ModelCheckpoint, which runs last)."""

    def __init__(self):
        self.per_epoch = []

    def on_epoch_end(self, trainer, logs):
        self.per_epoch.append(weights(trainer.model))


def test_best_weights_are_the_best_validation_epoch_not_the_best_test_epoch(tmp_path):
    keep = Keep()
    tr = make(tmp_path, epochs=5, lr=0.05, schedule=None, callbacks=[keep])
    tr.fit()
    val = [h["val_accuracy"] for h in tr.history]
    test = [h["test_accuracy"] for h in tr.history]
    chosen = int(np.argmax(val))
    assert tr.best_epoch() == chosen + 1
    best = {k: v.numpy() for k, v in load_weights(tmp_path / "best.safetensors").items()}
    assert all(np.array_equal(best[k], keep.per_epoch[chosen][k]) for k in best)
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["best_epoch_test_accuracy"] == test[chosen]
    assert "best_test_accuracy" not in m  # nothing in the run is a maximum over the test set


def test_without_a_validation_set_best_is_the_last_epoch(tmp_path):
    tr = make(tmp_path, epochs=2)
    tr.val_loader = None
    tr.fit()
    m = json.loads((tmp_path / "metrics.json").read_text())
    assert m["best_epoch"] == 2 and m["selected_by"] == "last epoch" and m["best_val_accuracy"] is None
    assert (tmp_path / "best.safetensors").read_bytes() == (tmp_path / "last.safetensors").read_bytes()
