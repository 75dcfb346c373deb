"""`foveanet ocr train|evaluate|predict`: printed text lines read by a CRNN trained with CTC."""
from __future__ import annotations

import argparse
import textwrap
from pathlib import Path

EXAMPLES = textwrap.dedent("""\
    examples:
      foveanet ocr train --script latin --out runs/ocr          # default recipe (19 min budget)
      foveanet ocr train --script latin --train-lines 500 --epochs 1 --out runs/quick
      foveanet ocr train --script latin --head conv --out runs/ocr-conv
      foveanet ocr train --data my_lines/ --out runs/mine       # your lines: images + labels.tsv
      foveanet ocr evaluate runs/ocr                            # CER/WER on the held-out test fonts
      foveanet ocr evaluate runs/ocr --tesseract                # and Tesseract on the same lines
      foveanet ocr predict runs/ocr page.png                    # prints each line's text

    Lines are rendered with Pillow from Debian's fonts (`make ocr-data`): training and test
    fonts are disjoint families (Latin: DejaVu + Noto train, Liberation tests), with seeded scan
    distortions (rotation, ink spread, blur, noise, JPEG). A run directory holds config.json,
    metrics.json (cer, wer, cer_beam, per-font CER, confusions, history), best/last.safetensors,
    test_lines.png (read vs true text, errors in red) and alignment.png (CTC's best class per frame).
    """)


def _formatter(prog):
    return argparse.RawDescriptionHelpFormatter(prog, max_help_position=32)


def register(sub) -> None:
    p = sub.add_parser("ocr", help="optical character recognition: text lines with a CRNN + CTC",
                       description="Read printed text lines with a CRNN (conv features, columns as "
                                   "time, BiLSTM or conv head) trained with the CTC loss.",
                       epilog=EXAMPLES, formatter_class=_formatter)
    ss = p.add_subparsers(dest="ocr_command", metavar="ACTION")
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])

    from foveanet.cli.args import positive_float, positive_int
    from foveanet.ocr.pipeline import DEFAULTS, SCRIPT_DEFAULTS

    def default(key, show=str):
        """'[X]', or '[latin: X, odia: Y]' where a script's recipe sets its own (read from
        the recipe, so the help cannot drift from what a run does)."""
        own = {name: d[key] for name, d in SCRIPT_DEFAULTS.items() if key in d}
        if not own:
            return f"[{show(DEFAULTS[key])}]"
        return "[" + ", ".join([f"latin: {show(DEFAULTS[key])}"]
                               + [f"{name}: {show(v)}" for name, v in own.items()]) + "]"

    t = ss.add_parser("train", help="train a line recognizer into a run directory", epilog=EXAMPLES,
                      formatter_class=_formatter)
    t.add_argument("--out", required=True, help="run directory to create")
    t.add_argument("--script", choices=("latin", "odia"), default="latin", help="alphabet and fonts [latin]")
    t.add_argument("--head", choices=("lstm", "conv"), default=None, help=f"sequence head [{DEFAULTS['head']}]")
    t.add_argument("--frame", type=int, choices=(2, 4), default=None,
                   help=f"pixels of line width per CTC time step [{DEFAULTS['frame']}]")
    t.add_argument("--stretch", type=float, default=None,
                   help=f"training lines resized in width by a factor in [1-S, 1+S] (0: off) [{DEFAULTS['stretch']}]")
    t.add_argument("--widen", type=float, default=None,
                   help="every line's width times this after scaling to the model's height, in training, "
                        f"evaluation and predict (more CTC frames per letter) {default('widen')}")
    t.add_argument("--body", type=float, default=None,
                   help="scale each line so its text body fills this fraction of the model's height, in "
                        f"training, evaluation and predict (0: lines as cropped) {default('body', lambda v: v or 0)}")
    t.add_argument("--labels", choices=("chars", "conjuncts"), default=None,
                   help="CTC label unit: code points, or for odia a subjoined form and the reph as one "
                        f"label each [{DEFAULTS['labels']}]")
    t.add_argument("--word-gap", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                   help="training lines only: each line's word spacing drawn from [LO, HI] em "
                        + default("word_gap", lambda v: "the face's" if v is None else f"{v[0]} {v[1]}"))
    t.add_argument("--no-word-gap", action="store_true",
                   help="training lines with each face's own word spacing (where a script's recipe draws a gap)")
    t.add_argument("--slant", type=float, default=None,
                   help=f"training lines only: shear each by a tangent drawn from [-S, S] [{DEFAULTS['slant']}]")
    t.add_argument("--extra-faces", action=argparse.BooleanOptionalAction, default=None,
                   help="train on render.EXTRA_FACES too (odia: Noto Sans Oriya Thin, Black, Condensed, "
                        "FreeSerif, Noto Serif Oriya, Anek Odia, Baloo Bhaina 2) " + default("extra_faces", lambda v: "yes" if v else "no"))
    for flag, typ, hlp in (("epochs", positive_int, "passes over the training lines"),
                           ("train-lines", positive_int, "training lines rendered"),
                           ("val-lines", positive_int, "validation lines (training fonts, validation text)"),
                           ("lm-val-lines", positive_int, "validation lines the language-model weight is chosen on"),
                           ("test-lines", positive_int, "held-out test lines (test fonts)"),
                           ("batch-size", positive_int, "lines per step"),
                           ("lr", positive_float, "peak learning rate (AdamW, one-cycle)"),
                           ("width", positive_int, "channels of the first conv block"),
                           ("hidden", positive_int, "units of the sequence head"),
                           ("minutes", positive_float, "training time budget"),
                           ("threads", positive_int, "threads inside each op"),
                           ("seed", int, "seed of the weights and the training lines")):
        t.add_argument(f"--{flag}", type=typ, default=None, help=f"{hlp} {default(flag.replace('-', '_'))}")
    t.add_argument("--data", default=None, metavar="FOLDER",
                   help="train on your own lines: FOLDER holds line images and labels.tsv (file<TAB>text); "
                        "a tenth is held out for validation")
    t.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    t.set_defaults(func=run_train)

    e = ss.add_parser("evaluate", help="score a run on its held-out test lines", formatter_class=_formatter)
    e.add_argument("run", help="run directory written by `foveanet ocr train`")
    e.add_argument("--weights", default="best", metavar="best|last|PATH", help="which weights [best]")
    e.add_argument("--tesseract", action="store_true", help="also run Tesseract on the same lines")
    e.set_defaults(func=run_evaluate)

    pr = ss.add_parser("predict", help="read the text of an image (a line or a page)", formatter_class=_formatter)
    pr.add_argument("run", help="run directory written by `foveanet ocr train`")
    pr.add_argument("image", help="an image file: one text line, or a page split into lines by its "
                                  "projection profile")
    pr.add_argument("--weights", default="best", metavar="best|last|PATH", help="which weights [best]")
    pr.add_argument("--beam", type=int, default=None, help="beam width (0: greedy) [the run's: 8, Odia 16]")
    pr.set_defaults(func=run_predict)


def run_train(args) -> int:
    from foveanet.errors import CLIError
    from foveanet.ocr import train

    keys = ("head", "epochs", "train_lines", "val_lines", "lm_val_lines", "test_lines", "batch_size", "lr", "width",
            "hidden", "minutes", "threads", "seed", "frame", "stretch")
    settings = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    if not 0 <= settings.get("stretch", 0) < 1:
        raise CLIError(f"--stretch must be in [0, 1) (a width factor of 1 - S to 1 + S), got {args.stretch}")
    if args.widen is not None:
        if not 0.5 <= args.widen <= 2:
            raise CLIError(f"--widen must be in [0.5, 2] (a factor on each line's width), got {args.widen}")
        settings["widen"] = args.widen
    if args.body is not None:
        if not 0 <= args.body <= 1:
            raise CLIError(f"--body must be in [0, 1] (a fraction of the line height; 0: off), got {args.body}")
        settings["body"] = args.body or None
    if args.no_word_gap:
        if args.word_gap is not None:
            raise CLIError("--word-gap and --no-word-gap: give one of them")
        settings["word_gap"] = None
    if args.word_gap is not None:
        lo, hi = args.word_gap
        if not 0 <= lo <= hi:
            raise CLIError(f"--word-gap must be LO HI with 0 <= LO <= HI (em), got {lo} {hi}")
        settings["word_gap"] = [lo, hi]
    if args.slant is not None:
        if not 0 <= args.slant < 1:
            raise CLIError(f"--slant must be in [0, 1) (a shear tangent), got {args.slant}")
        settings["slant"] = args.slant
    if args.labels is not None:
        from foveanet.ocr.alphabet import alphabet_for

        alphabet_for(args.script, args.labels)   # a one-line error for labels the script lacks
        settings["labels"] = args.labels
    if args.extra_faces is not None:
        settings["extra_faces"] = args.extra_faces
    out = Path(args.out)
    if (out / "config.json").exists():
        raise CLIError(f"{out} already holds a run (config.json): choose another --out or delete it")
    if args.data:
        from foveanet.ocr.alphabet import alphabet_for
        from foveanet.ocr.lines import read_folder

        read_folder(args.data, alphabet_for(args.script))   # clear errors before any training
        settings["data"] = str(args.data)
    m = train(out, quiet=args.quiet, script=args.script, **settings)
    _print_report(m, out)
    return 0


def _print_report(m: dict, run) -> None:
    print(f"test lines: {m['test_lines']}  CER {100 * m['cer']:.2f}%  WER {100 * m['wer']:.2f}%  "
          f"(beam: CER {100 * m['cer_beam']:.2f}%  WER {100 * m['wer_beam']:.2f}%)")
    if m.get("scales", [1.0]) != [1.0]:
        print("each line read at widths " + ", ".join(f"{f:g}" for f in m["scales"])
              + " (the reading the model is surest of kept; the widths chosen on validation lines)")
    if m.get("lm_weight"):
        print(f"beam + character language model (weight {m['lm_weight']}; lm.json says how it was chosen): "
              f"CER {100 * m['cer_lm']:.2f}%  WER {100 * m['wer_lm']:.2f}%")
    for f, v in m.get("cer_per_font", {}).items():
        print(f"  {f:28s} CER {100 * v:.2f}%")
    if m.get("tesseract_cer") is not None:
        print(f"Tesseract on the same lines: CER {100 * m['tesseract_cer']:.2f}%  WER {100 * m['tesseract_wer']:.2f}%")
    if "seconds" in m:
        print(f"training took {m['seconds']:.0f} s; results in {run}")


def run_evaluate(args) -> int:
    from foveanet.ocr.pipeline import evaluate

    m = evaluate(args.run, args.weights, tesseract=args.tesseract)
    _print_report(m, args.run)
    return 0


def run_predict(args) -> int:
    from foveanet.ocr import predict_image

    for text in predict_image(args.run, args.image, args.weights, beam=args.beam):
        print(text)
    return 0
