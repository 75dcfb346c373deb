"""XML-CNN (and Kim's CNN on the single-label role task) on the shared debtags split, from
scratch on CPU, printed beside the TF-IDF + linear baselines.

    PYTHONPATH=. .venv/bin/python benchmarks/text_debtags.py                 # XML-CNN, 20 min budget
    PYTHONPATH=. .venv/bin/python benchmarks/text_debtags.py --word2vec-epochs 0   # random word vectors
    PYTHONPATH=. .venv/bin/python benchmarks/text_debtags.py --task single   # textcnn vs logistic regression
    PYTHONPATH=. .venv/bin/python benchmarks/text_debtags.py --no-baseline --out runs/xml
    PYTHONPATH=. .venv/bin/python -m foveanet text embed --data DEBTAGS --out vec.txt
    PYTHONPATH=. .venv/bin/python benchmarks/text_debtags.py --vectors vec.txt   # vectors from a file

Prints the validation and test metrics after every epoch; the epoch with the best
validation P@1 (accuracy for single; validation = ``--val-split`` of the training split) is
what counts, and its test metrics are printed.  The defaults are foveanet.text.run.DEFAULTS, chosen by the runs in
benchmarks/results-text.md; ``--time-budget`` stops before an epoch that would overrun it.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from foveanet.text import make_config, train

# ../shared beside the checkout, as the developers and CI have it
DATA = str(Path(__file__).resolve().parents[1].parent / "shared" / "data" / "debtags-bookworm.jsonl.gz")
# the README's reference numbers, printed when the baseline is not re-run
REFERENCE = {"multi": {"p@1": 0.8706, "p@3": 0.6263, "p@5": 0.4747, "ndcg@3": 0.8628, "ndcg@5": 0.8549},
             "single": {"accuracy": 0.830}}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DATA)
    ap.add_argument("--task", choices=("multi", "single"), default="multi")
    ap.add_argument("--model", default=None, help="default: xml-cnn for multi, textcnn for single")
    for name, typ in (("epochs", int), ("batch-size", int), ("lr", float), ("max-len", int),
                      ("embed-dim", int), ("pool-chunks", int), ("min-count", int),
                      ("vocab-size", int), ("seed", int), ("bucket", float), ("schedule", str),
                      ("dropout", float), ("val-split", float), ("loss", str), ("optimizer", str),
                      ("weight-decay", float), ("ema", float), ("hidden", int), ("num-filters", int), ("embed-dropout", float),
                      ("word2vec-epochs", int), ("ensemble", int)):
        ap.add_argument(f"--{name}", type=typ, default=None)
    ap.add_argument("--vectors", default=None,
                    help="word2vec/GloVe file to initialise the embedding from (`foveanet text embed`)")
    ap.add_argument("--time-budget", type=float, default=1200.0, help="seconds (default 20 min)")
    ap.add_argument("--out", default=None, help="also write a run directory")
    ap.add_argument("--no-baseline", action="store_true", help="print the README's numbers instead")
    ap.add_argument("--json", default=None, help="write the metrics here")
    a = ap.parse_args(argv)
    model = a.model or ("xml-cnn" if a.task == "multi" else "textcnn")
    cfg = make_config(model, data=a.data, task=a.task, seed=a.seed or 0, epochs=a.epochs,
                      batch_size=a.batch_size, lr=a.lr, max_len=a.max_len, embed_dim=a.embed_dim,
                      pool_chunks=a.pool_chunks, min_count=a.min_count, vocab_size=a.vocab_size,
                      bucket=a.bucket, schedule=a.schedule, dropout=a.dropout, val_split=a.val_split,
                      loss=a.loss, optimizer=a.optimizer, weight_decay=a.weight_decay, ema=a.ema,
                      hidden=a.hidden, num_filters=a.num_filters, embed_dropout=a.embed_dropout,
                      vectors=a.vectors, word2vec_epochs=a.word2vec_epochs, ensemble=a.ensemble)
    print("config:", json.dumps({k: v for k, v in cfg.items() if k != "family"}), flush=True)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    budget = a.time_budget
    if a.vectors:
        from foveanet.text.word2vec import vectors_info

        info = vectors_info(a.vectors) or {}
        if info.get("seconds") is not None:
            # learning the vectors is part of the 20 minutes
            budget = max(budget - info["seconds"], 0.0)
            print(f"time budget: {a.time_budget:.0f} s less the vectors' {info['seconds']:.0f} s = {budget:.0f} s")
    m = train(cfg, out=a.out, max_seconds=budget, log=lambda s: print(s, flush=True))
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    m.pop("model", None)
    if a.no_baseline:
        base, name = REFERENCE[a.task], "README reference"
    elif a.task == "multi":
        from foveanet.baselines.text import run_text_baseline
        base, name = run_text_baseline(a.data), "TF-IDF + LinearSVC"
    else:
        from foveanet.baselines.text import run_single_label_baseline
        base, name = run_single_label_baseline(a.data), "TF-IDF + LogisticRegression"
    keys = (("accuracy", "macro_f1") if a.task == "single" else
            ("p@1", "p@3", "p@5", "ndcg@3", "ndcg@5", "psp@1", "psp@3", "psp@5"))
    kept = m["best_epoch"]
    kept = f"epochs {'/'.join(map(str, kept))}" if isinstance(kept, list) else f"epoch {kept}"
    print(f"\n{'metric':10s} {model + ' (' + kept + ')':>20s} {name:>28s}")
    for k in keys:
        b = base.get(k)
        print(f"{k:10s} {m[k]:20.4f} {('%.4f' % b) if b is not None else '-':>28s}")
    print(f"training + evaluation: {wall:.0f} s wall, {cpu:.0f} s CPU, {m['epochs_run']} epochs")
    sgns_cpu = (m["data"].get("vectors") or {}).get("sgns_cpu_seconds")
    if sgns_cpu is not None:
        print(f"with the word vectors' training ({sgns_cpu:.0f} s CPU): {cpu + sgns_cpu:.0f} s CPU in all")
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"config": cfg, "metrics": m, "baseline": base, "wall_seconds": wall,
                       "cpu_seconds": cpu, "sgns_cpu_seconds": sgns_cpu}, f, indent=2, default=float)


if __name__ == "__main__":
    main()
