"""`foveanet text train|predict|evaluate|baseline|embed`: text CNNs (XML-CNN, Kim's CNN) on labelled
documents (JSONL/CSV, e.g. the debtags set), into a run directory."""
from __future__ import annotations

import argparse
import json
import textwrap
from pathlib import Path

DEBTAGS = "debtags.jsonl.gz"  # build it with: foveanet data debtags --out debtags.jsonl.gz

TRAIN_EXAMPLES = textwrap.dedent(f"""\
    examples:
      foveanet text train --model xml-cnn --data {DEBTAGS} --out runs/xml
      foveanet text train --model textcnn --task single --data {DEBTAGS} --out runs/kim
      foveanet text train --data docs.jsonl --limit 1500 --epochs 1 --max-len 64 --out runs/quick

    Data: JSONL with "text" and "labels" (or "label"), or CSV/TSV with those columns; gzip ok.
    Documents with ids get the shared hash split (the debtags split); without ids, a random
    split seeded by --seed.  --task single keeps each document's 'role::' tag (the baseline's
    rule) and reports accuracy and macro F1; multi reports P@k, nDCG@k and PSP@k.
    The run directory holds config.json, metrics.json, model.safetensors, vocab.json, labels.json;
    an ensemble (--ensemble N, XML-CNN's default 2) adds model-2.safetensors ... model-N.safetensors
    and scores with the mean of its members' scores.
    Data-parallel: `mpirun -n P foveanet text train ...` trains on P processes, each taking its
    share of every batch; --batch-size is the global batch (P must divide it), rank 0 writes
    the run, and `text evaluate` / `text predict` read it in one process.
    """)
PREDICT_EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet text predict runs/xml "GTK text editor with syntax highlighting"
      foveanet text predict runs/xml "a first text" "a second text" --topk 10
    """)
EVAL_EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet text evaluate runs/xml                  # on the data file the run was trained on
      foveanet text evaluate runs/xml --data new.jsonl # its test split, the run's vocabularies
    """)
EMBED_EXAMPLES = textwrap.dedent(f"""\
    examples:
      foveanet text embed --data {DEBTAGS} --out vectors.txt
      foveanet text train --data {DEBTAGS} --vectors vectors.txt --out runs/xml-w2v
      foveanet text embed --data {DEBTAGS} --out vectors-s1.txt --seed 1   # for a --seed 1 run

    Skip-gram with negative sampling (word2vec) on the documents a `text train` run with the
    same --task, --split, --seed and --val-split trains on: never the test split, nor the
    validation hold-out.  Writes word2vec text format and FILE.json (settings, counts, time).
    --dim must equal the run's --embed-dim (XML-CNN's default is 128).
    """)
BASELINE_EXAMPLES = textwrap.dedent(f"""\
    examples:
      foveanet text baseline --data {DEBTAGS}                  # beside every runs/*/ text run
      foveanet text baseline --data {DEBTAGS} --runs runs/xml
      foveanet text baseline --task single --data {DEBTAGS}    # logistic regression, role:: task
    """)


def _fmt(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=30)


def _model_defaults(key: str) -> str:
    """``[xml-cnn 6; textcnn 6]``: each model's default for --help."""
    from foveanet.text.run import DEFAULTS

    vals = {m: d.get(key) for m, d in DEFAULTS.items()}
    if len(set(map(str, vals.values()))) == 1:
        v = next(iter(vals.values()))
        return f"[{'none' if v is None else v}]"
    return "[" + "; ".join(f"{m} {'none' if v is None else v}" for m, v in vals.items()) + "]"


def register(sub) -> None:
    from foveanet.cli.args import (
        add_device_option, fraction, int_at_least, nonneg_float, nonneg_int, open_fraction,
        positive_float, positive_int,
    )

    p = sub.add_parser("text", help="text CNNs: train, predict, evaluate, embed, baseline",
                       description="Text classification with CNNs (XML-CNN, Kim 2014).", formatter_class=_fmt,
                       epilog="Run `foveanet text COMMAND --help` for each command's options and examples.")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])
    tsub = p.add_subparsers(dest="text_command", metavar="COMMAND")

    t = tsub.add_parser("train", help="train a text CNN into a run directory", epilog=TRAIN_EXAMPLES,
                        description="Train XML-CNN or Kim's CNN; the epoch kept is the best on a "
                                    "validation hold-out of the training split (by P@1, or accuracy), "
                                    "and the test split is scored with it.",
                        formatter_class=_fmt)
    def opt(flag, help_text, **kw):
        key = flag[2:].replace("-", "_")
        t.add_argument(flag, help=f"{help_text} {_model_defaults(key)}", **kw)

    t.add_argument("--model", choices=("xml-cnn", "textcnn"), default="xml-cnn", help="[xml-cnn]")
    t.add_argument("--data", required=True, help="JSONL/CSV(.gz) file of labelled documents")
    t.add_argument("--out", required=True, help="run directory to write")
    t.add_argument("--task", choices=("multi", "single"), default="multi",
                   help="multi-label, or one 'role::' label per document [multi]")
    opt("--epochs", "passes over the training documents", type=positive_int)
    opt("--batch-size", "documents per step", type=positive_int)
    opt("--lr", "learning rate", type=positive_float)
    opt("--max-len", "tokens kept per document (the rest is cut)", type=positive_int)
    opt("--embed-dim", "word vector size", type=positive_int)
    opt("--pool-chunks", "xml-cnn: dynamic max-pooling chunks p", type=positive_int)
    opt("--min-count", "drop words seen fewer times in training", type=positive_int)
    opt("--vocab-size", "cap the vocabulary (incl. <pad>, <unk>)", type=int_at_least(3))
    t.add_argument("--seed", type=int, default=0, help="seed of the weights, batches and split [0]")
    opt("--bucket", "batch documents of similar length (jitter in tokens; 0 = random batches)",
        type=nonneg_float)
    opt("--schedule", "learning-rate schedule over the epochs", choices=("none", "cosine"))
    opt("--val-split", "fraction of the training split held out to choose the epoch (0: keep the last)",
        type=fraction)
    opt("--loss", "multi-label loss: one sigmoid + BCE per label, or a softmax over the labels",
        choices=("bce", "softmax"))
    opt("--ema", "decay of an exponential moving average of the weights (the average is what is "
        "evaluated and kept)", type=open_fraction)
    opt("--embed-dropout", "dropout on the word vectors", type=fraction)
    opt("--word2vec-epochs", "first learn word vectors on the training documents by word2vec "
        "(skip-gram, negative sampling) for N passes and start from them; 0: random start",
        type=nonneg_int, metavar="N")
    t.add_argument("--vectors", metavar="FILE",
                   help="initialise the word vectors from a word2vec/GloVe file (see `text embed`) "
                        "instead")
    opt("--ensemble", "train N models (seeds seed..seed+N-1) and score with the mean of their scores",
        type=positive_int, metavar="N")
    t.add_argument("--limit", type=positive_int, help="use only the first N documents of the file [all]")
    t.add_argument("--split", choices=("auto", "hash", "random"), default="auto",
                   help="train/test split: the id hash (the debtags split), random, or auto [auto]")
    t.add_argument("--time-budget", type=positive_float,
                   help="seconds: stop before an epoch that would overrun [none]")
    add_device_option(t)
    t.set_defaults(func=run_train)

    q = tsub.add_parser("predict", help="top labels of texts from a trained run", epilog=PREDICT_EXAMPLES,
                        formatter_class=_fmt)
    q.add_argument("run", help="run directory")
    q.add_argument("texts", nargs="+", help="texts to label")
    q.add_argument("--topk", type=positive_int, default=5, help="labels shown per text [5]")
    q.set_defaults(func=run_predict)

    e = tsub.add_parser("evaluate", help="recompute a run's test metrics", epilog=EVAL_EXAMPLES,
                        formatter_class=_fmt)
    e.add_argument("run", help="run directory")
    e.add_argument("--data", help="data file (default: the one in the run's config.json)")
    e.set_defaults(func=run_evaluate)

    w = tsub.add_parser("embed", help="learn word vectors (word2vec SGNS) from the training split",
                        epilog=EMBED_EXAMPLES, formatter_class=_fmt,
                        description="Skip-gram with negative sampling on the training documents of the "
                                    "shared split, for `text train --vectors`.")
    w.add_argument("--data", required=True, help="JSONL/CSV(.gz) file of labelled documents")
    w.add_argument("--out", required=True, help="vector file to write (word2vec text format)")
    w.add_argument("--task", choices=("multi", "single"), default="multi",
                   help="the task of the runs the vectors are for (it decides the hold-out)")
    w.add_argument("--seed", type=int, default=0, help="the run's seed (its hold-out) and SGNS's [0]")
    w.add_argument("--val-split", type=fraction, default=None,
                   help="the run's validation fraction, left out of the corpus [the model's, 0.1]")
    w.add_argument("--split", choices=("auto", "hash", "random"), default="auto", help="[auto]")
    w.add_argument("--limit", type=positive_int, help="use only the first N documents of the file [all]")
    w.add_argument("--dim", type=positive_int, default=128, help="vector size (= the run's --embed-dim) [128]")
    w.add_argument("--epochs", type=positive_int, default=5, help="passes over the corpus [5]")
    w.add_argument("--window", type=positive_int, default=5, help="context words on each side [5]")
    w.add_argument("--negative", type=positive_int, default=5, help="negative samples per pair [5]")
    w.add_argument("--min-count", type=positive_int, default=2, help="drop rarer words (the run's --min-count) [2]")
    w.add_argument("--sample", type=positive_float, default=1e-3,
                   help="subsampling threshold of frequent words [0.001]")
    w.add_argument("--lr", type=positive_float, default=0.025, help="start of the linear decay [0.025]")
    w.add_argument("--batch-size", type=positive_int, default=2048, help="pairs per vectorised SGD step [2048]")
    w.set_defaults(func=run_embed)

    b = tsub.add_parser("baseline", help="TF-IDF + linear baseline beside text runs", epilog=BASELINE_EXAMPLES,
                        formatter_class=_fmt)
    b.add_argument("--data", required=True)
    b.add_argument("--task", choices=("multi", "single"), default="multi", help="[multi]")
    b.add_argument("--limit", type=positive_int, help="use only the first N documents of the file [all]")
    b.add_argument("--runs", nargs="*", default=None,
                   help="run directories to print beside (default: every runs/*/ text run)")
    b.set_defaults(func=run_baseline)


def run_train(args) -> int:
    from foveanet.cli.args import check_device
    from foveanet.cli.main import CLIError
    from foveanet.cli.ranks import join_ranks
    from foveanet.text import load_documents, make_config, train

    device = check_device(args.device)   # before the documents are read
    # every rank checks the arguments alike, so a mistake stops them all with the same message
    rank = join_ranks()
    say = (lambda *a: print(*a, flush=True)) if rank == 0 else (lambda *a: None)
    if args.vectors and args.word2vec_epochs:
        raise CLIError("give --vectors FILE or --word2vec-epochs N, not both")
    if args.model == "xml-cnn" and args.task == "single":
        raise CLIError("xml-cnn is a multi-label model; use --model textcnn with --task single")
    if not Path(args.data).is_file():
        raise CLIError(f"{args.data}: no such file")
    if args.vectors and not Path(args.vectors).is_file():
        raise CLIError(f"{args.vectors}: no such vector file")
    docs, stats = load_documents(args.data, args.limit)
    line = f"read {stats['read']:,} records from {args.data}: {stats['kept']:,} usable"
    if stats["dropped_empty_text"] or stats["dropped_no_labels"]:
        line += (f"; skipped {stats['dropped_empty_text']:,} with empty text and "
                 f"{stats['dropped_no_labels']:,} without labels")
    if args.limit:
        line += f"; using the first {stats['used']:,}"
    say(line)
    cfg = make_config(args.model, data=args.data, task=args.task, seed=args.seed, limit=args.limit,
                      split=args.split, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                      max_len=args.max_len, embed_dim=args.embed_dim, pool_chunks=args.pool_chunks,
                      min_count=args.min_count, vocab_size=args.vocab_size, bucket=args.bucket,
                      schedule=args.schedule, val_split=args.val_split, loss=args.loss,
                      ema=args.ema, embed_dropout=args.embed_dropout, vectors=args.vectors,
                      word2vec_epochs=args.word2vec_epochs, ensemble=args.ensemble)
    m = train(cfg, out=args.out, docs=docs, max_seconds=args.time_budget, log=say,
              device=None if device.type == "cpu" else device)
    d = m["data"]
    if d.get("test_unseen"):
        say(f"note: {d['test_unseen']:,} test label occurrences were never seen in training and "
            f"cannot be predicted (left out of the test truth)")
    if isinstance(m["best_epoch"], list):
        kept = ", ".join(f"{b} of {r}" for b, r in zip(m["best_epoch"], m["epochs_run"]))
        say(f"ensemble of {len(m['best_epoch'])}: best epochs {kept}, {m['seconds']:.0f} s; run in {args.out}")
    else:
        say(f"best epoch {m['best_epoch']} of {m['epochs_run']}, {m['seconds']:.0f} s; run in {args.out}")
    return 0


def run_embed(args) -> int:
    from foveanet.cli.main import CLIError
    from foveanet.text import DEFAULTS, load_documents
    from foveanet.text.word2vec import embed_training_split

    if not Path(args.data).is_file():
        raise CLIError(f"{args.data}: no such file")
    out = Path(args.out)
    if out.is_dir():
        raise CLIError(f"--out {out} is a directory; give the vector file to write, e.g. {out / 'vectors.txt'}")
    if not out.parent.is_dir():
        raise CLIError(f"{out.parent}: no such directory")
    val = args.val_split
    if val is None:
        val = DEFAULTS["xml-cnn" if args.task == "multi" else "textcnn"]["val_split"]
    docs, _ = load_documents(args.data, args.limit)
    info = embed_training_split(docs, out, task=args.task, split_rule=args.split, seed=args.seed,
                                val_fraction=val, data=args.data, limit=args.limit, log=lambda s: print(s, flush=True),
                                dim=args.dim, epochs=args.epochs, window=args.window,
                                negative=args.negative, min_count=args.min_count, sample=args.sample,
                                lr=args.lr, batch_size=args.batch_size)
    print(f"wrote {info['words']:,} vectors of dimension {args.dim} to {out} ({info['tokens']:,} tokens "
          f"of {info['n_docs']:,} documents, {info['pairs']:,} pairs): {info['seconds']:.0f} s, "
          f"{info['cpu_seconds']:.0f} s CPU")
    return 0


def run_predict(args) -> int:
    from foveanet.cli.main import CLIError
    from foveanet.text import load_run, predict

    texts = [t for t in args.texts]
    empty = [i + 1 for i, t in enumerate(texts) if not t.strip()]
    if empty:
        raise CLIError(f"text {empty[0]} of {len(texts)} is empty: nothing to classify")
    run = load_run(args.run)
    for text, top in zip(texts, predict(run, texts, k=args.topk)):
        print(text if len(text) <= 70 else text[:67] + "...")
        for label, p in top:
            print(f"  {p:6.3f}  {label}")
    return 0


def run_evaluate(args) -> int:
    from foveanet.cli.main import CLIError
    from foveanet.text import evaluate, load_run

    run = load_run(args.run)
    data = args.data or run.config.get("data")
    if not data or not Path(data).is_file():
        raise CLIError(f"data file {data!r} not found; pass --data")
    m = evaluate(run, data, log=lambda s: None)
    keys = (("accuracy", "macro_f1") if "accuracy" in m else
            ("p@1", "p@3", "p@5", "ndcg@3", "ndcg@5", "psp@1", "psp@3", "psp@5"))
    print(f"{args.run}: {m['n_docs']:,} test documents")
    for k in keys:
        if k in m:                       # with under 5 labels the ks stop at the label count
            print(f"  {k:9s} {m[k]:.4f}")
    return 0


def _text_runs(paths):
    from foveanet.cli.main import CLIError

    if paths is None:
        paths = sorted(str(p.parent) for p in Path("runs").glob("*/metrics.json"))
        strict = False
    else:
        strict = True
    rows = []
    for d in paths:
        cfg_p, met_p = Path(d) / "config.json", Path(d) / "metrics.json"
        if not met_p.exists():
            if strict:
                raise CLIError(f"{d}: no metrics.json (is it a finished `foveanet text train` run?)")
            continue
        cfg = json.loads(cfg_p.read_text()) if cfg_p.exists() else {}
        if cfg.get("family") != "text":
            if strict:
                raise CLIError(f"{d}: not a text run")
            continue
        rows.append((f"{cfg['model']} ({d})", cfg.get("task"), json.loads(met_p.read_text())))
    return rows


def run_baseline(args) -> int:
    from foveanet.cli.main import CLIError
    from foveanet.text import load_documents

    if not Path(args.data).is_file():
        raise CLIError(f"{args.data}: no such file")
    docs, _ = load_documents(args.data, args.limit)
    try:
        from foveanet.baselines import text as bl
    except ImportError as e:
        raise CLIError(str(e)) from None
    print(f"fitting the {args.task}-label TF-IDF baseline on {len(docs):,} documents ...", flush=True)
    if args.task == "multi":
        res = bl.run_text_baseline(documents=docs)
        keys = ("p@1", "p@3", "p@5", "ndcg@3", "ndcg@5", "psp@5")
        name = "TF-IDF + LinearSVC"
    else:
        res = bl.run_single_label_baseline(documents=docs)
        keys = ("accuracy", "macro_f1")
        name = "TF-IDF + LogisticRegression"
    rows = [(name, args.task, res)] + [r for r in _text_runs(args.runs) if r[1] == args.task]
    print(f"\n{'model':44s}" + "".join(f"{k:>9s}" for k in keys) + f"{'seconds':>9s}")
    for label, _, m in rows:
        vals = "".join(f"{m[k]:9.4f}" if k in m else f"{'-':>9s}" for k in keys)
        secs = m.get("seconds")
        print(f"{label[:44]:44s}{vals}{(f'{secs:9.0f}' if secs is not None else '-'):>9s}")
    return 0
