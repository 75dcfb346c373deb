"""OCR benchmarks: handwritten digits across three real sources (a small CNN beside HOG +
linear SVM), isolated printed Latin and Odia glyphs on held-out fonts (the CNN beside HOG and
directional features + linear SVM), printed Latin lines on held-out fonts (CRNN + CTC beside
Tesseract, same lines, same run), and real photos of text with hand-typed ground truth.

    nice -n 10 env PYTHONPATH=. .venv/bin/python benchmarks/bench_ocr.py digits --json d.json
    nice -n 10 env PYTHONPATH=. .venv/bin/python benchmarks/bench_ocr.py lines --out runs/ocr --json l.json
    nice -n 10 env PYTHONPATH=. .venv/bin/python benchmarks/bench_ocr.py glyphs --json g.json
    PYTHONPATH=. .venv/bin/python benchmarks/bench_ocr.py photos --run runs/ocr-latin --json p.json
    PYTHONPATH=. .venv/bin/python benchmarks/bench_ocr.py report d.json l.json g.json p.json > benchmarks/results-ocr.md

``digits``: one CNN (``DigitNet``) per source trained on its training split, scored on every source's
test split (the off-diagonal is the shift in writers and scanning), one trained on all three
training splits, and HOG + linear SVM trained the same ways. ``lines``: trains
``foveanet ocr train``'s default recipe (or evaluates ``--run``), then runs Tesseract on the
same held-out test lines and prints both CERs; ``glyphs``: ``foveanet.ocr.glyphs.run_glyphs``
for each script; ``photos``: ``foveanet.ocr.photos.read_photos`` (a trained line run and
Tesseract on the real photos); ``shift``: a recipe setting's effect on a training
face left out of training (validation text, no test lines), e.g. ``shift --script odia
--hold-out utkal --body 0 0.6``, with ``--drop`` (faces also left out), ``--set
slant=0.15`` (recipe settings) for other levers and ``--shift-gap 0.13`` (the held-out lines
drawn with Lohit Odia's narrow word gap), or of candidate training faces
(``--add-faces``) on a family of faces held out, e.g. ``shift --script latin --hold-out
FreeMono FreeMonoBold --body 0 --add-faces noto/NotoSansMono-Medium.ttf``; ``shift-lm
runs/two/X.json ...``: the language-model pairs on the validation and held-out lines of
runs that ``shift`` trained (the numbers behind Odia's ``lm_weight``); ``report`` writes
the markdown.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np


def _machine() -> dict:
    model = ""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        model = next((ln.split(":", 1)[1].strip() for ln in out.splitlines() if ln.startswith("Model name")), "")
    except OSError:
        pass
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(),
            "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def digits(args) -> dict:
    import foveanet
    from foveanet.baselines.image import run_image_baseline
    from foveanet.ocr.digits import SOURCES, accuracy, load_source, train_digit_cnn

    foveanet.set_num_threads(args.threads)
    data = {s: load_source(s) for s in SOURCES}
    res = {"machine_start": _machine(), "cnn": {}, "hog": {}, "seconds": {},
           "recipe": {"width": args.width, "epochs": args.epochs, "epochs_all": args.epochs_all, "threads": args.threads}}
    # all sources first: the recipe the targets are read from
    train_sets = {"all": (np.concatenate([d[0] for d in data.values()]),
                          np.concatenate([d[1] for d in data.values()]))}
    train_sets.update({s: (d[0], d[1]) for s, d in data.items()})
    for name, (x, y) in train_sets.items():
        t0 = time.perf_counter()
        model, _ = train_digit_cnn(x, y, epochs=args.epochs if name != "all" else args.epochs_all, seed=args.seed,
                                   width=args.width)
        res["seconds"][name] = time.perf_counter() - t0
        res["cnn"][name] = {s: accuracy(model, d[2], d[3]) for s, d in data.items()}
        res["hog"][name] = {}
        for s, d in data.items():
            r = run_image_baseline(x, y, d[2], d[3], features="hog")
            res["hog"][name][s] = r["test_accuracy"]
        print(name, "CNN", res["cnn"][name], "HOG", res["hog"][name], f"{res['seconds'][name]:.0f}s", flush=True)
    res["machine_end"] = _machine()
    return res


def _settings(pairs) -> dict:
    """Recipe settings from KEY=VALUE words, e.g. slant=0.2 word_gap=0.1,0.7 labels=conjuncts."""
    def number(x):
        # an integer stays one: width=16 sizes layers, which a float cannot
        try:
            return int(x)
        except ValueError:
            return float(x)

    out = {}
    for kv in pairs:
        k, v = kv.split("=", 1)
        try:
            out[k] = [number(x) for x in v.split(",")] if "," in v else number(v)
        except ValueError:
            out[k] = v   # a word
    return out


def lines(args) -> dict:
    from foveanet.ocr import evaluate, train
    from foveanet.ocr.decode import cer, wer
    from foveanet.ocr.pipeline import _norm, load_run, test_set
    from foveanet.ocr.tesseract import tesseract_lines

    start = _machine()
    if args.run:
        m = evaluate(args.run)
        run = args.run
    else:
        settings = {k: v for k, v in (("head", args.head), ("minutes", args.minutes), ("seed", args.seed),
                                      ("batch_size", args.batch_size), ("lr", args.lr), ("epochs", args.epochs),
                                      ("frame", args.frame), ("script", args.script),
                                      ("train_lines", args.train_lines), ("threads", args.threads))
                    if v is not None}
        settings.update(_settings(args.set))
        m = train(args.out, **settings)
        run = args.out
    cfg, _ = load_run(run)
    trained = json.loads((Path(run) / "metrics.json").read_text())
    _, texts, fonts, raw = test_set(cfg)
    t0 = time.perf_counter()
    tess = _norm(tesseract_lines(raw, cfg["script"]))
    tess_seconds = time.perf_counter() - t0
    truth = _norm(texts)
    per_font = {f: cer([tess[i] for i, n in enumerate(fonts) if n == f], [truth[i] for i, n in enumerate(fonts) if n == f])
                for f in sorted(set(fonts))}
    out = {"machine_start": start, "machine_end": _machine(), "run": str(run), "config": cfg,
           "ours": {k: m[k] for k in ("cer", "wer", "cer_beam", "wer_beam", "cer_per_font", "confusions", "eval_seconds",
                                       "cer_lm", "wer_lm", "lm_weight", "cer_per_font_lm", "confusions_lm",
                                       "scales")},
           "lm": json.loads((Path(run) / "lm.json").read_text()),
           # evaluating a finished run (--run): its training figures are in its metrics.json
           "training": {k: m.get(k, trained.get(k)) for k in ("seconds", "cpu_seconds", "render_seconds",
                                                              "best_epoch", "stopped_by_budget", "history")},
           "tesseract": {"cer": cer(tess, truth), "wer": wer(tess, truth), "cer_per_font": per_font,
                         "seconds": tess_seconds}}
    print(f"test lines: {m['test_lines']}  foveanet CER {100 * m['cer']:.2f}% (beam {100 * m['cer_beam']:.2f}%, "
          f"beam + LM {100 * m['cer_lm']:.2f}%)  "
          f"Tesseract CER {100 * out['tesseract']['cer']:.2f}%", flush=True)
    return out


def glyphs(args) -> dict:
    from foveanet.ocr.glyphs import run_glyphs

    res = {"kind": "glyphs", "machine_start": _machine(), "scripts": {}}
    for script, per_font in (("latin", args.latin_per_font), ("odia", args.odia_per_font)):
        r = run_glyphs(script, per_font=per_font, test_per_font=args.test_per_font, epochs=args.epochs,
                       width=args.width, seed=args.seed, threads=args.threads)
        res["scripts"][script] = r
        print(script, {k: r[k] for k in ("cnn", "hog", "dir8", "dir4", "cnn_seconds")}, flush=True)
    res["machine_end"] = _machine()
    return res


def photos(args) -> dict:
    from foveanet.ocr.photos import read_photos

    start = _machine()
    rows = read_photos(args.run)
    for r in rows:
        print(r["image"], r.get("foveanet_cer"), r.get("tesseract_cer"), flush=True)
    return {"kind": "photos", "run": args.run, "machine_start": start, "machine_end": _machine(), "rows": rows}


def _report_glyphs(p) -> None:
    ms, me = p["machine_start"], p["machine_end"]
    print(f"## Printed glyphs, held-out fonts ({ms['date']}; {ms['cpu']}, {ms['cores']} cores)\n")
    print(f"Load: start `{ms['uptime']}`, end `{me['uptime']}`.\n")
    print("| script | classes | train glyphs (fonts) | test glyphs (fonts) | CNN | HOG + SVM | "
          "directional 8 + SVM | directional 4 + SVM | CNN training s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for s, r in p["scripts"].items():
        print(f"| {s} | {r['classes']} | {r['train_glyphs']} ({len(r['train_fonts'])}) | {r['test_glyphs']} "
              f"({', '.join(r['test_fonts'])}) | {100 * r['cnn']:.2f}% | {100 * r['hog']:.2f}% | "
              f"{100 * r['dir8']:.2f}% | {100 * r['dir4']:.2f}% | {r['cnn_seconds']:.0f} |")
    print()
    for s, r in p["scripts"].items():
        print(f"{s}: CNN width {r['width']}, {r['epochs']} epochs, seed {r['seed']}; per test font, "
              "CNN / HOG / directional 8: " + ", ".join(
                  f"{f} {100 * r['cnn_per_font'][f]:.1f} / {100 * r['hog_per_font'][f]:.1f} / "
                  f"{100 * r['dir8_per_font'][f]:.1f}%" for f in r["cnn_per_font"])
              + "; frequent CNN confusions (true -> read, count): "
              + ", ".join(f"{a!r}->{b!r} {n}" for a, b, n in r["cnn_confusions"]) + ".\n")


def _report_photos(p) -> None:
    ms = p["machine_start"]
    print(f"## Real photos of text, hand-typed ground truth ({ms['date']})\n")
    print(f"foveanet: `foveanet ocr predict {p['run']} IMAGE` (projection-profile line splitting); "
          "Tesseract 5 `eng` on the whole image, its own page segmentation (psm 3). Ground truth in "
          "`foveanet/ocr/photos.tsv`; CER over the lines joined by spaces.\n")
    print("| image | true chars | foveanet CER | Tesseract CER | note |")
    print("|---|---|---|---|---|")

    def pct(v):
        return "-" if v is None else f"{100 * v:.1f}%"
    for r in p["rows"]:
        print(f"| {r['image']} | {r['chars']} | {pct(r.get('foveanet_cer'))} | {pct(r.get('tesseract_cer'))} | "
              f"{r['note'].split(';')[0]} |")
    counted = [r for r in p["rows"] if r["truth"] and not r["note"].startswith("uncertain")]
    n = sum(r["chars"] for r in counted)
    tot = {k: sum(r[k + "_cer"] * r["chars"] for r in counted) / n for k in ("foveanet", "tesseract") if k + "_cer" in counted[0]}
    print("| **printed, legible (" + ", ".join(r["image"].split(":")[1] for r in counted) + ")** | "
          f"{n} | {pct(tot.get('foveanet'))} | {pct(tot.get('tesseract'))} | character-weighted |\n")
    for r in p["rows"]:
        if "foveanet_error" in r:
            print(f"- {r['image']}: foveanet refused it: {r['foveanet_error']}")
        elif "foveanet" in r:
            print(f"- {r['image']}, foveanet's first lines: `" + " / ".join(r["foveanet"][:3]).replace("`", "'")[:200] + "`")
        if "tesseract" in r:
            print(f"  Tesseract's: `" + (" / ".join(r["tesseract"][:3]).replace("`", "'")[:200] or "(nothing)") + "`")
    print()


def shift_fonts(fonts_for, left_out, added):
    """``render.fonts_for`` for a shift run: training lines drawn without the faces whose stems
    are in ``left_out`` and with the ``added`` font files, whatever the ``extra`` flag; other
    splits unchanged (tests/ocr/test_shift_fonts.py)."""
    def chosen(script, split, extra=False):
        fonts = fonts_for(script, split, extra)
        return [f for f in fonts if f.stem not in left_out] + list(added) if split == "train" else fonts
    return chosen


def held_out_lines(alphabet, held_faces, count: int, gap=None):
    """(texts, faces, images) of the lines ``shift`` reads in the held-out faces: validation
    text that no training line holds, the faces in turn, seeded; ``gap``: every word gap
    that fraction of the size (None: the face's own)."""
    import foveanet.ocr.render as render

    texts = render.text_lines(alphabet, "val", count, 777)
    faces = [held_faces[i % len(held_faces)] for i in range(len(texts))]
    rng = np.random.default_rng(778)
    word_gap = (gap, gap) if gap else None
    return texts, faces, [render.render_line(t, f, rng, word_gap=word_gap) for t, f in zip(texts, faces)]


def shift_lm(args) -> dict:
    """The language-model pair under a font shift, on runs that ``shift`` trained: for each
    (its JSON beside its folder), the run's validation lines (``lm_val_lines`` of its
    training faces) and the ``--shift-lines`` held-out lines ``shift`` read (same texts,
    faces, word gap and seeds), decoded at every pair of ``pipeline.LM_GRID`` or of
    ``--pairs`` (beam as the recipe's, or ``--beam``); CER of each. Test lines are not read."""
    import foveanet.ocr.pipeline as pipeline
    import foveanet.ocr.render as render
    from foveanet.ocr.alphabet import alphabet_for
    from foveanet.ocr.decode import cer
    from foveanet.ocr.reading import decode, most_confident, read_at

    res = {"machine_start": _machine(), "runs": {}}
    for path in args.files:
        meta = json.loads(Path(path).read_text())
        for body in meta["runs"]:
            run = Path(path).with_suffix("") / f"body-{body}"
            faces_for = render.fonts_for
            render.fonts_for = shift_fonts(faces_for, meta["hold_out"], [])
            try:
                cfg, model = pipeline.load_run(run)
                cfg["lm_val_lines"] = args.val_lines
                val_lines, val_texts = pipeline._lm_val_set(cfg)
            finally:
                render.fonts_for = faces_for
            alphabet = alphabet_for(cfg["script"])
            held = [f for f in render.fonts_for(cfg["script"], "train", True) if f.stem in meta["hold_out"]]
            texts, _, raw = held_out_lines(alphabet, held, args.shift_lines, meta.get("shift_gap"))
            lines = [pipeline.run_line(x, cfg) for x in raw]
            lm = pipeline._lm(cfg)
            beam = cfg["beam"] if args.beam is None else args.beam   # 0: greedy, as in the recipe
            outs = {k: most_confident(read_at(model, x, (1.0,))) for k, x in (("val", val_lines), ("held", lines))}
            truth = {"val": pipeline._norm(val_texts), "held": pipeline._norm(texts)}
            rows = []
            for w, b in args.pairs or pipeline.LM_GRID:
                row = {"weight": w, "bonus": b}
                for k in outs:
                    row[k] = cer(pipeline._norm(decode(outs[k], alphabet, beam, (lm, w, b))), truth[k])
                rows.append(row)
                print(f"{run}: weight {w} bonus {b}: validation {100 * row['val']:.2f}%, "
                      f"held-out {100 * row['held']:.2f}%", flush=True)
            res["runs"][str(run)] = {"hold_out": meta["hold_out"], "seed": meta["seed"], "beam": beam, "grid": rows}
    return res


def shift(args) -> dict:
    """The font-shift check of a recipe setting without the test fonts: the training faces
    ``--hold-out`` names (font file stems; a whole family to mimic the held-out test family)
    are left out of training, and each ``--body`` setting trains on the others plus any
    ``--add-faces`` (font files under ``render.FONT_DIR``; same lines, seed and budget) and is
    scored greedy on validation lines of the training faces and on the same texts drawn in
    the held-out faces, in turn. ``--shift-gap G`` draws the held-out faces' lines with every
    word gap G of the font size (Lohit Odia's own space is 0.13 em, Utkal's 0.66), so a held-out
    training face stands in for the test face's narrow spaces; the count of spaces the model
    dropped on them is reported beside the CER. Test lines are not read, and the best epoch is
    chosen on the training faces' validation lines alone."""
    import foveanet.ocr.pipeline as pipeline
    import foveanet.ocr.render as render
    from foveanet.ocr.alphabet import alphabet_for
    from foveanet.ocr.decode import cer, confusions

    fonts = render.fonts_for(args.script, "train", True)
    held_faces = [f for f in fonts if f.stem in args.hold_out]
    if len(held_faces) != len(set(args.hold_out)):
        raise SystemExit(f"--hold-out must be among {[f.stem for f in fonts]}, got {args.hold_out!r}")
    added = [render.FONT_DIR / f for f in args.add_faces]
    for f in added:
        render.load_font(str(f), 8)   # a one-line FontError for a missing file, before training
    train_fonts = render.fonts_for
    render.fonts_for = shift_fonts(train_fonts, args.hold_out + args.drop, added)
    extra = _settings(args.set)
    kept = render.fonts_for(args.script, "train", bool(pipeline.recipe(script=args.script, **extra)["extra_faces"]))
    print("training faces:", ", ".join(f.stem for f in kept), flush=True)
    # the test lines stay unread: no language-model grid, no test scoring
    pipeline._evaluate = lambda *a, **k: {}
    pipeline.choose_lm = lambda *a, **k: None
    alphabet = alphabet_for(args.script)
    texts, faces, raw = held_out_lines(alphabet, held_faces, args.shift_lines, args.shift_gap)
    # with --shift-gap, the same texts and distortions at the faces' own word gap too
    own = held_out_lines(alphabet, held_faces, args.shift_lines)[2] if args.shift_gap else None
    truth = pipeline._norm(texts)

    def read(model, cfg, images):
        """Greedy CER of the held-out lines, CER of their letters alone (spaces taken out of
        both sides: what word gaps do to the letters) and the space errors."""
        lines = [pipeline.run_line(x, cfg) for x in images]
        pred = pipeline._norm(pipeline.score(model, lines, texts, alphabet)["predictions"])
        errors = {(a, b): n for a, b, n in confusions(pred, truth, top=None)}
        return pred, {"cer": cer(pred, truth),
                      "cer_letters": cer([p.replace(" ", "") for p in pred], [t.replace(" ", "") for t in truth]),
                      "spaces": sum(t.count(" ") for t in truth), "spaces_dropped": errors.get((" ", ""), 0),
                      "spaces_added": errors.get(("", " "), 0),
                      "confusions": [(a, b, n) for (a, b), n in sorted(errors.items(), key=lambda e: -e[1])[:10]]}

    res = {"machine_start": _machine(), "hold_out": args.hold_out, "kept": [f.stem for f in kept], "seed": args.seed,
           "settings": extra, "shift_gap": args.shift_gap, "runs": {}}
    for b in args.body:
        body = None if b == 0 else b
        out = Path(args.out) / f"body-{b}"
        m = pipeline.train(out, quiet=True, pictures=False, script=args.script, body=body,
                           train_lines=args.train_lines, minutes=args.minutes, seed=args.seed,
                           threads=args.threads, **({"epochs": args.epochs} if args.epochs else {}), **extra)
        cfg, model = pipeline.load_run(out)
        pred, held = read(model, cfg, raw)
        per_face = {f.stem: cer([p for p, g in zip(pred, faces) if g == f], [t for t, g in zip(truth, faces) if g == f])
                    for f in held_faces}
        best = min(m["history"], key=lambda r: r["val_cer"])
        res["runs"][str(b)] = {"val_cer": best["val_cer"], "held_out_cer": held["cer"], "held_out_per_face": per_face,
                               **{k: v for k, v in held.items() if k != "cer"},
                               **({"own_gap": read(model, cfg, own)[1]} if own else {}),
                               "best_epoch": best["epoch"], "epochs": len(m["history"]), "seconds": m["seconds"],
                               "cpu_seconds": m["cpu_seconds"], "uptime": _machine()["uptime"]}
        r = res["runs"][str(b)]
        print(f"body {b}: validation CER {100 * best['val_cer']:.2f}% (training faces), held-out CER "
              f"{100 * held['cer']:.2f}% ({', '.join(f'{k} {100 * v:.2f}%' for k, v in per_face.items())}; letters "
              f"{100 * held['cer_letters']:.2f}%; spaces dropped {held['spaces_dropped']} of {held['spaces']}, added "
              f"{held['spaces_added']}"
              + (f"; at the faces' own gap {100 * r['own_gap']['cer']:.2f}%, letters {100 * r['own_gap']['cer_letters']:.2f}%, "
                 f"spaces dropped {r['own_gap']['spaces_dropped']}" if own else "")
              + f"; {len(m['history'])} epochs, {m['seconds']:.0f}s, {m['cpu_seconds']:.0f} CPU s)", flush=True)
    render.fonts_for = train_fonts
    return res


def report(args) -> None:
    from foveanet.ocr.tesseract import LANGS

    parts = [json.loads(Path(p).read_text()) for p in args.files]
    print("# OCR benchmarks (issue 24)\n")
    print("Produced by `benchmarks/bench_ocr.py` (commands in its docstring); every number below is from "
          "the runs recorded here. The machine is shared by several jobs: wall times are provisional, "
          "the load average is printed beside each.\n")
    for p in parts:
        ms, me = p["machine_start"], p["machine_end"]
        if p.get("kind") in ("glyphs", "photos"):
            (_report_glyphs if p["kind"] == "glyphs" else _report_photos)(p)
        elif "cnn" in p:
            src = list(next(iter(p["cnn"].values())))
            print(f"## Handwritten digits ({ms['date']}; {ms['cpu']}, {ms['cores']} cores)\n")
            print(f"Load: start `{ms['uptime']}`, end `{me['uptime']}`.\n")
            rc = p.get("recipe", {})
            model = f"DigitNet width {rc['width']}" if rc else "LeNet-5"
            print(f"Test accuracy of {model} (HOG + linear SVM in brackets); rows: training split, "
                  "columns: test split (splits in `foveanet/ocr/digits.py`)"
                  + (f"; {rc['epochs']} epochs per source, {rc['epochs_all']} on all, {rc['threads']} threads" if rc else "")
                  + ".\n")
            print("| trained on | " + " | ".join(src) + " | training s |")
            print("|---|" + "---|" * (len(src) + 1))
            for name, row in p["cnn"].items():
                cells = [f"{100 * row[s]:.2f}% ({100 * p['hog'][name][s]:.2f}%)" for s in src]
                print(f"| {name} | " + " | ".join(cells) + f" | {p['seconds'][name]:.0f} |")
            print()
        else:
            o, t, tr = p["ours"], p["tesseract"], p["training"]
            c = p["config"]
            script = c.get("script", "latin")
            print(f"## Printed {script.capitalize()} lines, held-out fonts ({ms['date']}; {ms['cpu']}, {ms['cores']} cores)\n")
            print(f"Load: start `{ms['uptime']}`, end `{me['uptime']}`.\n")
            print(f"Recipe: head {c['head']}, frame {c.get('frame', 4)} px, stretch {c.get('stretch', 0.0)}, "
                  f"text body {c['body'] if c.get('body') else 'as cropped'}, "
                  + "".join(f"{k.replace('_', ' ')} {c[k]}, "
                            for k in ("labels", "extra_faces", "word_gap", "slant", "widen")
                            if c.get(k) and c.get(k) != "chars" and not (k == "widen" and c[k] == 1))
                  + f"width {c['width']}, hidden {c['hidden']}, {c['train_lines']} "
                  f"training lines x {c['epochs']} epochs, batch {c['batch_size']}, lr {c['lr']}, "
                  f"{c['threads']} threads, budget {c['minutes']} min; {c['test_lines']} test lines "
                  f"(seed {c['test_seed']}). Training took {tr['seconds']:.0f} s wall "
                  f"({tr['cpu_seconds']:.0f} s CPU; rendering {tr['render_seconds']:.0f} s), best epoch "
                  f"{tr['best_epoch']}{', stopped by the time budget' if tr['stopped_by_budget'] else ''}.\n")
            print("| reader | CER | WER |")
            print("|---|---|---|")
            print(f"| foveanet CRNN + CTC, greedy | {100 * o['cer']:.2f}% | {100 * o['wer']:.2f}% |")
            print(f"| foveanet CRNN + CTC, beam {c['beam']} | {100 * o['cer_beam']:.2f}% | {100 * o['wer_beam']:.2f}% |")
            if "cer_lm" in o:
                lm = p["lm"]
                how = ", set by the recipe" if lm.get("chosen_on") == "recipe" else ""
                print(f"| foveanet, beam {c['beam']} + character {lm['order']}-gram LM (weight {lm['weight']}, "
                      f"bonus {lm['bonus']}{how}) | {100 * o['cer_lm']:.2f}% | {100 * o['wer_lm']:.2f}% |")
            print(f"| Tesseract 5 (`{LANGS[script]}`, psm 7, line x2) | {100 * t['cer']:.2f}% | {100 * t['wer']:.2f}% |\n")
            lm_col = "cer_per_font_lm" in o
            print("| test font | foveanet CER (greedy) |" + (" foveanet beam + LM (as chosen) |" if lm_col else "") + " Tesseract CER |")
            print("|---|---|---|" + ("---|" if lm_col else ""))
            for f in o["cer_per_font"]:
                print(f"| {f} | {100 * o['cer_per_font'][f]:.2f}% |"
                      + (f" {100 * o['cer_per_font_lm'][f]:.2f}% |" if lm_col else "")
                      + f" {100 * t['cer_per_font'][f]:.2f}% |")
            if p.get("lm", {}).get("scale_grid"):
                print("\nEach line read at widths " + ", ".join(f"{f:g}" for f in p["lm"]["scales"])
                      + " (the most confident reading kept); validation CER (greedy) per set: "
                      + ", ".join(f"({', '.join(f'{f:g}' for f in r['scales'])}) {100 * r['val_cer']:.2f}%"
                                  for r in p["lm"]["scale_grid"]))
            if "lm" in p:
                print("\nLanguage-model weight, validation CER per (weight, bonus): "
                      + ", ".join(f"({r['weight']}, {r['bonus']}) {100 * r['val_cer']:.2f}%" for r in p["lm"]["grid"]))
            print("\nMost frequent foveanet errors, greedy (true -> read, count): "
                  + ", ".join(f"{a!r}->{b!r} {n}" for a, b, n in o["confusions"]) + "\n")
            if o.get("confusions_lm"):
                print("With the language model: "
                      + ", ".join(f"{a!r}->{b!r} {n}" for a, b, n in o["confusions_lm"]) + "\n")
            print("Validation CER per epoch: "
                  + ", ".join(f"{100 * h['val_cer']:.2f}%" for h in tr["history"]) + "\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="what", required=True)
    d = sub.add_parser("digits")
    d.add_argument("--epochs", type=int, default=20)
    d.add_argument("--epochs-all", type=int, default=20)
    d.add_argument("--width", type=int, default=32)
    d.add_argument("--threads", type=int, default=2)
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--json", default=None)
    ln = sub.add_parser("lines")
    ln.add_argument("--out", default="runs/ocr-latin")
    ln.add_argument("--run", default=None, help="evaluate this run instead of training one")
    ln.add_argument("--head", default=None)
    ln.add_argument("--minutes", type=float, default=None)
    ln.add_argument("--seed", type=int, default=None)
    ln.add_argument("--batch-size", type=int, default=None)
    ln.add_argument("--lr", type=float, default=None)
    ln.add_argument("--epochs", type=int, default=None)
    ln.add_argument("--frame", type=int, default=None, choices=(2, 4))
    ln.add_argument("--script", default=None, choices=("latin", "odia"))
    ln.add_argument("--train-lines", type=int, default=None)
    ln.add_argument("--threads", type=int, default=None)
    ln.add_argument("--set", nargs="*", default=[], help="other recipe settings KEY=VALUE (lists: a,b)")
    ln.add_argument("--json", default=None)
    g = sub.add_parser("glyphs")
    g.add_argument("--latin-per-font", type=int, default=6)
    g.add_argument("--odia-per-font", type=int, default=20)
    g.add_argument("--test-per-font", type=int, default=6)
    g.add_argument("--epochs", type=int, default=12)
    g.add_argument("--width", type=int, default=16)
    g.add_argument("--threads", type=int, default=2)
    g.add_argument("--seed", type=int, default=0)
    g.add_argument("--json", default=None)
    ph = sub.add_parser("photos")
    ph.add_argument("--run", default=None, help="a trained line run (foveanet ocr train); none: Tesseract only")
    ph.add_argument("--json", default=None)
    sh = sub.add_parser("shift")
    sh.add_argument("--script", default="odia", choices=("latin", "odia"))
    sh.add_argument("--hold-out", nargs="+", default=["utkal"], help="the training faces left out (font file stems)")
    sh.add_argument("--add-faces", nargs="*", default=[], help="font files under FONT_DIR added to training")
    sh.add_argument("--threads", type=int, default=2)
    sh.add_argument("--epochs", type=int, default=None)
    sh.add_argument("--body", type=float, nargs="+", default=[0.0, 0.6], help="settings compared (0: off)")
    sh.add_argument("--drop", nargs="*", default=[], help="training faces also left out (font file stems)")
    sh.add_argument("--set", nargs="*", default=[], help="recipe settings KEY=VALUE for every run (lists: a,b; words: labels=conjuncts)")
    sh.add_argument("--train-lines", type=int, default=3000)
    sh.add_argument("--shift-lines", type=int, default=200)
    sh.add_argument("--shift-gap", type=float, default=None,
                    help="draw the held-out lines with this word gap, a fraction of the size (Lohit Odia's space: 0.13)")
    sh.add_argument("--minutes", type=float, default=5.0)
    sh.add_argument("--seed", type=int, default=0)
    sh.add_argument("--out", default="runs/shift")
    sh.add_argument("--json", default=None)
    sl = sub.add_parser("shift-lm")
    sl.add_argument("files", nargs="+", help="JSON files that `shift --json` wrote (their runs beside them)")
    sl.add_argument("--shift-lines", type=int, default=200)
    sl.add_argument("--val-lines", type=int, default=500)
    sl.add_argument("--pairs", nargs="*", default=None, type=lambda s: tuple(float(v) for v in s.split(",")),
                    help="(weight, bonus) pairs as W,B (default: pipeline.LM_GRID)")
    sl.add_argument("--beam", type=int, default=None, help="beam width (default: the run's recipe's)")
    sl.add_argument("--json", default=None)
    r = sub.add_parser("report")
    r.add_argument("files", nargs="+")
    a = ap.parse_args(argv)
    if a.what == "report":
        report(a)
        return
    res = {"digits": digits, "lines": lines, "glyphs": glyphs, "photos": photos,
           "shift": shift, "shift-lm": shift_lm}[a.what](a)
    if a.json:
        Path(a.json).write_text(json.dumps(res, indent=1, default=str))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    main()
