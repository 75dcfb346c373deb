"""A new user's mistakes, each through the real `foveanet` command (a subprocess): the exit
code, the message that names the option or file, no traceback, and no run file lost."""
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from foveanet.cli.main import main
from tests.cli.test_train_cli import ROOT, needs_data
from tests.shared_data import fashion_mnist_on_disk


def run_cli(*args, cwd=ROOT):
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "foveanet.cli.main", *map(str, args)], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def snapshot(d: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A finished tiny classification run (the files the mistakes below must not touch)."""
    out = tmp_path_factory.mktemp("mistakes") / "run"
    if fashion_mnist_on_disk():
        assert main(["train", "--limit", "600", "--test-limit", "200", "--epochs", "1", "--quiet",
                     "--out", str(out)]) == 0
    else:  # the option checks below need no data: a run directory of the right shape will do
        out.mkdir(parents=True)
        (out / "config.json").write_text(json.dumps({"model": "lenet5", "epochs": 1}))
    return out


@pytest.fixture
def junk(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("this is not a PNG")
    return p


# (arguments, the message's words); RUN is the run above, NOWHERE a missing path, JUNK a non-image
MISTAKES = [
    (["train", "--lr", "-1"], "argument --lr: expected a number > 0, got -1"),
    (["train", "--lr", "0"], "argument --lr: expected a number > 0, got 0"),
    (["train", "--lr", "nan"], "argument --lr: expected a finite number, got 'nan'"),
    (["train", "--epochs", "0"], "argument --epochs: expected an integer >= 1, got 0"),
    (["train", "--epochs", "ten"], "argument --epochs: expected an integer, got 'ten'"),
    (["train", "--batch-size", "0"], "argument --batch-size: expected an integer >= 1, got 0"),
    (["train", "--limit", "0"], "argument --limit: expected an integer >= 1, got 0"),
    (["train", "--test-limit", "-5"], "argument --test-limit: expected an integer >= 1, got -5"),
    (["train", "--val-split", "1"], "argument --val-split: expected a fraction in [0, 1), got 1"),
    (["train", "--val-split", "-0.1"], "argument --val-split: expected a fraction in [0, 1), got -0.1"),
    (["train", "--test-split", "0"], "argument --test-split: expected a fraction in (0, 1), got 0"),
    (["train", "--label-smoothing", "1.5"], "argument --label-smoothing: expected a fraction in [0, 1)"),
    (["train", "--weight-decay", "-1"], "argument --weight-decay: expected a number >= 0, got -1"),
    (["train", "--threads", "-1"], "argument --threads: expected an integer >= 0, got -1"),
    (["train", "--patience", "0"], "argument --patience: expected an integer >= 1, got 0"),
    (["train", "--checkpoint-seconds", "-1"], "argument --checkpoint-seconds: expected a number >= 0"),
    (["train", "--crop-padding", "-1"], "argument --crop-padding: expected an integer >= 0, got -1"),
    (["train", "--image-size", "0"], "argument --image-size: expected an integer >= 1, got 0"),
    (["train", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice: 'lbfgs'"),
    (["train", "--model", "nosuchnet", "--out", "NOWHERE"], "unknown model 'nosuchnet'"),
    (["train", "--dataset", "NOWHERE", "--out", "NOWHERE"], "unknown dataset"),
    (["train", "--patience", "3", "--val-split", "0", "--out", "NOWHERE"], "it needs --val-split > 0"),
    (["train", "--resume"], "--resume needs --out RUN_DIR"),
    (["train", "--out", "NOWHERE", "--resume"], "no such directory"),
    (["train", "--out", "RUN", "--limit", "100"], "already holds a run: add --resume"),
    (["train", "--out", "RUN", "--resume", "--epochs", "5"], "drop --epochs"),
    (["evaluate", "NOWHERE"], "no such directory"),
    (["evaluate", "RUN", "--weights", "middle"], "argument --weights: expected best, last or a path"),
    (["evaluate", "RUN", "--weights", "NOWHERE/w.safetensors"], "there is no such file"),
    (["predict", "RUN", "NOWHERE/x.png"], "no such image file"),
    (["predict", "RUN", "JUNK", "--topk", "0"], "argument --topk: expected an integer >= 1, got 0"),
    (["summary", "resnet18", "--input", "64x64"], "gives only HxW; resnet18 takes CxHxW images"),
    (["summary", "lenet5", "--input", "1xax28"], "--input must look like 3x224x224"),
    (["summary", "lenet5", "--depth", "0"], "argument --depth: expected an integer >= 1, got 0"),
    (["summary", "nosuchnet"], "unknown model 'nosuchnet'"),
    (["show", "padding", "--n", "0", "--f", "3", "-o", "NOWHERE/g.png"], "argument --n: expected an integer >= 1"),
    (["show", "padding", "--n", "5", "--f", "3", "--p", "-1", "-o", "NOWHERE/g.png"], "argument --p: expected an integer >= 0"),
    (["show", "fc-vs-conv", "--channels", "0", "-o", "NOWHERE/c.png"], "argument --channels: expected an integer >= 1"),
    (["show", "features", "RUN", "JUNK", "--max-maps", "0", "-o", "NOWHERE/m.png"], "argument --max-maps"),
    (["segment", "train", "--out", "NOWHERE", "--ema", "1.5"], "argument --ema: expected a fraction in (0, 1)"),
    (["segment", "train", "--out", "NOWHERE", "--epochs", "0"], "argument --epochs: expected an integer >= 1"),
    (["segment", "train", "--out", "NOWHERE", "--size", "60"], "must be a multiple of 2**depth = 8"),
    (["segment", "evaluate", "NOWHERE"], "no such run directory"),
    (["segment", "evaluate", "RUN"], "config.json is not from `foveanet segment train`"),
    (["segment", "predict", "RUN", "JUNK", "--weights", "first"], "argument --weights: expected best, last"),
    (["text", "train", "--data", "NOWHERE/d.jsonl", "--out", "NOWHERE"], "no such file"),
    (["text", "train", "--data", "JUNK", "--out", "NOWHERE", "--val-split", "2"], "argument --val-split"),
    (["text", "train", "--data", "JUNK", "--out", "NOWHERE", "--ema", "1"], "argument --ema: expected a fraction"),
    (["text", "predict", "RUN", "some text", "--topk", "0"], "argument --topk: expected an integer >= 1"),
    (["text", "predict", "RUN", "some text"], "not a finished text run"),
    (["text", "embed", "--data", "JUNK", "--out", "NOWHERE/v.txt", "--window", "0"], "argument --window"),
    (["filter", "sobel_x", "JUNK", "--all", "--max-size", "4", "-o", "NOWHERE/f.png"], "argument --max-size"),
    (["baseline", "--limit", "0"], "argument --limit: expected an integer >= 1, got 0"),
]


@pytest.mark.parametrize("argv,said", MISTAKES, ids=[" ".join(a[:3]) for a, _ in MISTAKES])
def test_a_mistake_gets_a_message_and_exit_2(argv, said, run_dir, junk, tmp_path):
    if "RUN" in argv and not (run_dir / "checkpoint.safetensors").exists() and argv[0] == "train":
        pytest.skip("needs a trained run (Fashion-MNIST)")
    before = snapshot(run_dir)
    nowhere = tmp_path / "nowhere"
    sub = {"RUN": str(run_dir), "JUNK": str(junk)}
    args = [sub.get(a, a).replace("NOWHERE", str(nowhere)) for a in argv]
    r = run_cli(*args)
    assert r.returncode == 2, (r.returncode, r.stdout[-500:], r.stderr[-2000:])
    assert said in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert not nowhere.exists()              # nothing was created for a command that failed
    assert snapshot(run_dir) == before       # and nothing of the existing run changed


def test_there_are_at_least_forty_kinds():
    assert len(MISTAKES) >= 40


@needs_data
def test_finished_run_given_to_resume_says_so(run_dir):
    before = snapshot(run_dir)
    r = run_cli("train", "--out", run_dir, "--resume")
    assert r.returncode == 2 and "is finished (it has run all its 1 epochs): nothing to resume" in r.stderr
    assert snapshot(run_dir) == before


@needs_data
def test_truncated_weights_are_called_incomplete(run_dir, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    data = (copy / "best.safetensors").read_bytes()
    (copy / "best.safetensors").write_bytes(data[: len(data) // 2])
    r = run_cli("evaluate", copy)
    assert r.returncode == 2 and "best.safetensors is incomplete or corrupt" in r.stderr, r.stderr
    assert "do not fit" not in r.stderr and "Traceback" not in r.stderr
    (copy / "last.safetensors").write_bytes(b"\x01")
    r = run_cli("predict", copy, "--weights", "last", copy / "learning_curves.png")
    assert r.returncode == 2 and "last.safetensors is incomplete or corrupt" in r.stderr, r.stderr


@needs_data
def test_a_diverging_run_stops_with_exit_3_and_strict_json(tmp_path):
    out = tmp_path / "run"
    r = run_cli("train", "--lr", "1000", "--optimizer", "sgd", "--schedule", "none", "--limit", "1000",
                "--test-limit", "100", "--epochs", "2", "--quiet", "--out", out)
    assert r.returncode == 3, r.stderr[-2000:]
    assert "training diverged at epoch 1, step" in r.stderr and "learning rate 1000" in r.stderr
    assert "(--lr 100)" in r.stderr and "records the step" in r.stderr
    assert "RuntimeWarning" not in r.stderr and "Traceback" not in r.stderr
    assert "test accuracy" not in r.stdout   # no accuracy of a broken model is reported

    def refuse(name):
        raise ValueError(f"not strict JSON: {name}")

    m = json.loads((out / "metrics.json").read_text(), parse_constant=refuse)
    assert m["diverged"]["epoch"] == 1 and m["diverged"]["lr"] == 1000
    assert not (out / "best.safetensors").exists()


@needs_data
def test_weights_rule_prints_the_file_it_used(run_dir, tmp_path):
    r = run_cli("evaluate", run_dir)
    assert r.returncode == 0 and f"weights: {run_dir / 'best.safetensors'}" in r.stderr
    r = run_cli("evaluate", run_dir, "--weights", "last")
    assert r.returncode == 0 and f"weights: {run_dir / 'last.safetensors'}" in r.stderr
    elsewhere = tmp_path / "mine.safetensors"
    shutil.copy(run_dir / "last.safetensors", elsewhere)
    r = run_cli("show", "filters", run_dir, "--weights", elsewhere, "-o", tmp_path / "f.png")
    assert r.returncode == 0 and f"weights: {elsewhere}" in r.stderr
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_help_shows_the_defaults_and_every_command():
    text = " ".join(run_cli("train", "--help").stdout.split())  # argparse wraps the lines
    assert "passes over the training images [20; quick: 5; strong: 14]" in text  # each recipe's value
    assert "the last epoch is kept) [0.1]" in text and "Exit codes" in text
    r = run_cli("text", "--help")
    assert "embed" in r.stdout
    r = run_cli("segment", "--help")
    assert "training scenes hold 3-5" in r.stdout and "2-4" in r.stdout
