"""`mpirun -n 2 foveanet text train ...`: TextCNN and an XML-CNN ensemble trained data-parallel
from the command line, rank 0 alone printing and writing a run that `text evaluate` reads in
one process; the same training as one process when nothing random differs; a global batch
that does not divide over the ranks is a one-line error that stops every rank.

Run as a script (``mpirun -n 2 python tests/distributed/test_text_mpi.py OUT``) this file is
the worker of ``test_two_ranks_train_as_one_process``."""
import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from tests.distributed.mpi import ROOT, mpirun_command

# tiny models: 2 epochs of 9 global batches of 16 (8 documents per rank)
SMALL = ["--epochs", "2", "--batch-size", "16", "--lr", "1e-2", "--max-len", "40", "--embed-dim", "16",
         "--min-count", "1"]


def _documents():
    from tests.text.test_validation import _docs

    return _docs(n=200)       # 6 topics, one or two per document, words drawn from them


@pytest.fixture(scope="module")
def data_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "docs.jsonl"
    path.write_text("".join(json.dumps({"id": d.id, "text": d.text, "labels": list(d.labels)}) + "\n"
                            for d in _documents()))
    return path


def _env():
    return dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
                OMPI_MCA_btl_vader_single_copy_mechanism="none")


def _text_train(n, data, out, *args):
    cmd = mpirun_command(n) + [sys.executable, "-m", "foveanet.cli.main", "text", "train",
                               "--data", str(data), "--out", str(out), *args]
    return subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)


def _prior_p1(data):
    """P@1 of always answering the most common training label: what a model must beat."""
    from foveanet.data.text import read_documents, split_documents

    train, test = split_documents(read_documents(data))
    counts = Counter(label for d in train for label in d.labels)
    top = min(counts, key=lambda label: (-counts[label], label))
    return float(np.mean([top in d.labels for d in test]))


def _evaluate(out, capsys):
    """`foveanet text evaluate RUN` in this plain process (no MPI): {metric: value}."""
    from foveanet.cli.main import main

    capsys.readouterr()
    assert main(["text", "evaluate", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()[1:]
    return {k: float(v) for k, v in (line.split() for line in lines)}


def test_two_rank_textcnn_run_written_once_and_evaluated_without_mpi(data_file, tmp_path, capsys):
    out = tmp_path / "run"
    proc = _text_train(2, data_file, out, "--model", "textcnn", *SMALL)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    # rank 0 alone prints: each line once
    assert proc.stdout.count("read 200 records") == 1
    assert proc.stdout.count("data-parallel on 2 ranks: 8 documents each per step") == 1
    assert proc.stdout.count("epoch 1/2 loss") == proc.stdout.count("epoch 2/2 loss") == 1
    assert proc.stdout.count("best epoch 2 of 2") == 1
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "labels.json", "metrics.json",
                                                     "model.safetensors", "vocab.json"]
    m = json.loads((out / "metrics.json").read_text())
    assert len(m["history"]) == 2 and m["selected_by"] == "validation p@1"
    assert m["p@1"] > _prior_p1(data_file) + 0.1, m["p@1"]
    assert all(0 < r["train_loss"] < 1 for r in m["history"])
    # the weights are the plain model's (no "module." prefix): evaluate reads them without MPI
    assert _evaluate(out, capsys)["p@1"] == pytest.approx(m["p@1"], abs=1e-4)


def test_two_rank_xmlcnn_ensemble_trains_each_member_data_parallel(data_file, tmp_path, capsys):
    out = tmp_path / "xml"
    proc = _text_train(2, data_file, out, "--model", "xml-cnn", *SMALL, "--epochs", "1",
                       "--pool-chunks", "2", "--word2vec-epochs", "1", "--ensemble", "2")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert proc.stdout.count("member 1/2 epoch 1/1") == proc.stdout.count("member 2/2 epoch 1/1") == 1
    assert proc.stdout.count("sgns epoch 1/1") == 1
    assert (out / "model.safetensors").is_file() and (out / "model-2.safetensors").is_file()
    m = json.loads((out / "metrics.json").read_text())
    assert m["ensemble"] == 2 and m["epochs_run"] == [1, 1]
    assert m["p@1"] > _prior_p1(data_file), m["p@1"]
    assert _evaluate(out, capsys)["p@1"] == pytest.approx(m["p@1"], abs=1e-4)


def _equal_split_run():
    """TextCNN without dropout on a training part that the batch divides: 2 ranks of 8 and one
    process of 16 take the same steps, up to float rounding. Returns the trained weights and
    the documents (training rows) each step of this process trained on."""
    from foveanet.text import fit as fit_module
    from foveanet.text import make_config, prepare, train

    cfg = make_config("textcnn", epochs=2, batch_size=16, lr=1e-2, max_len=40, embed_dim=16,
                      num_filters=8, min_count=1, dropout=0.0)
    data = prepare(_documents(), max_len=40, min_count=1, val_fraction=0.1, seed=0)
    keep = len(data.x_train) // 16 * 16
    data.x_train, data.y_train = data.x_train[:keep], data.y_train[:keep]
    steps, share = [], fit_module.rank_share

    def recording(idx, rank, world):
        mine = share(idx, rank, world)
        steps.append(sorted(map(int, mine)))
        return mine

    fit_module.rank_share = recording
    try:
        model = train(cfg, data=data, log=lambda line: None)["model"]
    finally:
        fit_module.rank_share = share
    return {k: v.numpy() for k, v in model.state_dict().items()}, steps


def _worker(out):
    import foveanet.distributed as dist

    dist.init_process_group(world_size=2)
    weights, steps = _equal_split_run()
    steps = dist.all_gather_object(steps)
    if dist.get_rank() == 0:
        np.savez(out, **weights)
        (out.parent / "steps.json").write_text(json.dumps(steps))


def test_two_ranks_train_as_one_process(tmp_path):
    out = tmp_path / "two_ranks.npz"
    cmd = mpirun_command(2) + [sys.executable, str(ROOT / "tests" / "distributed" / "test_text_mpi.py"),
                               str(out)]
    proc = subprocess.run(cmd, env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    one, one_steps = _equal_split_run()
    # each step, the ranks took disjoint halves of the batch one process took whole
    rank0, rank1 = json.loads((tmp_path / "steps.json").read_text())
    assert len(rank0) == len(rank1) == len(one_steps) == 2 * 8
    for a, b, whole in zip(rank0, rank1, one_steps):
        assert len(a) == len(b) == 8 and sorted(a + b) == whole
    two = np.load(out)
    assert sorted(two.files) == sorted(one)
    for k in one:
        np.testing.assert_allclose(two[k], one[k], rtol=1e-4, atol=1e-5, err_msg=k)


def test_batch_that_does_not_divide_stops_every_rank_with_one_line(data_file, tmp_path):
    out = tmp_path / "run"
    proc = _text_train(2, data_file, out, "--model", "textcnn", *SMALL, "--batch-size", "15")
    assert proc.returncode == 2, proc.stderr[-3000:]
    # the ranks print the same line and stop the job; mpirun's own abort report may land on
    # the same line of the shared stderr, so the message is looked for, not the whole line
    message = ("foveanet text: error: --batch-size 15 is the global batch: it must divide "
               "evenly over the 2 ranks (say 14 or 16)")
    assert message in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if "foveanet text: error:" in line]
    assert errors and all(line.startswith(message) for line in errors), errors
    assert "Traceback" not in proc.stderr
    assert not out.exists()


if __name__ == "__main__":
    from pathlib import Path

    _worker(Path(sys.argv[1]))
