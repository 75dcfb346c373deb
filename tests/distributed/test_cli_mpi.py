"""`mpirun -n 2 foveanet train ...`: data-parallel training from the command line, rank 0
alone writing the run; a killed 2-rank run resumed on one process; a global batch that does
not divide over the ranks is a one-line error that stops every rank."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.distributed.mpi import ROOT, mpirun_command
from tests.shared_data import fashion_mnist_on_disk

QUICK = ["--limit", "1200", "--test-limit", "500", "--epochs", "2", "--batch-size", "100"]


needs_data = pytest.mark.skipif(not fashion_mnist_on_disk(), reason="Fashion-MNIST files not on this machine")


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                OMPI_MCA_btl_vader_single_copy_mechanism="none")


def _train(n, *args):
    return mpirun_command(n) + [sys.executable, "-m", "foveanet.cli.main", "train", *args]


@needs_data
def test_two_ranks_train_and_only_rank_0_writes(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.run(_train(2, *QUICK, "--out", str(out)), env=_env(), cwd=ROOT,
                          capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stderr.count("data-parallel on 2 ranks: 50 images each per step") == 1
    assert proc.stdout.count("after 2 epochs") == 1          # one rank reports
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["history"]) == 2 and m["test_accuracy"] > 0.3
    # the weights are the plain model's (no "module." prefix): they load without MPI
    from foveanet.train.run import load_run

    cfg, net, _ = load_run(out)
    assert cfg["batch_size"] == 100 and sum(p.data.size for p in net.parameters()) == 61706
    assert cfg["threads"] == 1   # one thread per rank unless --threads says otherwise


@needs_data
def test_killed_two_rank_run_resumes_on_one_process(tmp_path):
    out = tmp_path / "run"
    ckpt = out / "checkpoint.safetensors"
    proc = subprocess.Popen(_train(2, *QUICK, "--checkpoint-seconds", "0.2", "--out", str(out)),
                            env=_env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            process_group=0)
    deadline = time.time() + 120
    while not ckpt.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)      # mpirun and both ranks at once
    proc.wait()
    assert not (out / "predictions.png").exists(), "the run finished before it was killed"
    from foveanet.train.checkpoint import load_checkpoint

    st = load_checkpoint(ckpt)
    assert (st["epoch"], st["loader"]["batch"]) != (2, 0)
    assert not any(k.startswith("module.") for k in st["model"])
    r = subprocess.run([sys.executable, "-m", "foveanet.cli.main", "train", "--out", str(out),
                        "--resume"], env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming" in r.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in m["history"]] == [1, 2] and m["test_accuracy"] > 0.3


@needs_data
def test_batch_that_does_not_divide_stops_every_rank_with_one_line(tmp_path):
    proc = subprocess.run(_train(2, "--limit", "400", "--epochs", "1", "--batch-size", "99",
                                 "--out", str(tmp_path / "run")),
                          env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert "--batch-size 99 is the global batch: it must divide evenly over the 2 ranks (say 98 or 100)" \
        in proc.stderr
    assert "Traceback" not in proc.stderr


@needs_data
def test_segment_train_on_two_ranks_writes_one_run(tmp_path):
    out = tmp_path / "seg"
    tiny = ["--epochs", "1", "--scenes", "64", "--base-width", "4", "--depth", "2", "--size", "32",
            "--pretrain-epochs", "0", "--val-scenes", "16", "--test-scenes", "16", "--batch-size", "8"]
    cmd = mpirun_command(2) + [sys.executable, "-m", "foveanet.cli.main", "segment", "train",
                               *tiny, "--out", str(out)]
    proc = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("results in") == 1
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["history"]) == 1 and 0 <= m["miou"] <= 1
    bad = subprocess.run(cmd[:-1] + [str(tmp_path / "bad")] + ["--batch-size", "7"], env=_env(),
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "must divide evenly over the 2 ranks" in bad.stderr
