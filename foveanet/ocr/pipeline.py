"""Train, evaluate and run the CRNN line recognizer with the CTC loss.

Data. Training lines are rendered once (``train_lines`` of them, training fonts and
training text, seeded distortions, each stretched in width by up to ``stretch``) and passed
over ``epochs`` times in batches of similar width (less padding); validation lines come
from the same fonts with another seed and from the validation text (a tenth of the training
text that no training line and no language model reads: ``render.in_validation``) and
choose the best epoch and the language-model weight; the test lines
(test fonts, test text, ``test_seed``) are scored once, at the end, and by ``evaluate``.

Reading (``reading.py``): greedy, beam search, and beam search fused with a character 5-gram
language model of the run's own training texts (``cer_lm``), each line read at the width
factors the run chose (the most confident reading kept); the factors and the language
model's weight are chosen on validation lines (lm.json) from ``reading.SCALE_SETS`` and
``LM_GRID``.

Run directory: config.json, metrics.json (``cer``, ``wer``, ``cer_beam``, ``cer_lm``,
``confusions``, ``history``, ``seconds``), lm.json, best/last.safetensors, test_lines.png (predicted vs true text,
errors in red) and alignment.png (the best class per frame under a line).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

import foveanet
import foveanet.nn.functional as F
from foveanet.errors import RunError
from foveanet.ocr.alphabet import alphabet_for
from foveanet.ocr.decode import CharLM, cer, confusions, wer
from foveanet.ocr.lines import batch_lines, normalise_line, read_gray, split_lines
from foveanet.ocr.model import CRNN
from foveanet.ocr.reading import decode as _decode
from foveanet.ocr.reading import measure, most_confident, pick_scales, read_at, recognize, score
from foveanet.ocr.reading import normalise_texts as _norm
from foveanet.ocr.render import HEIGHT, render_set, text_lines
from foveanet.train.guards import check_step, float_errors_quiet

__all__ = ["DEFAULTS", "train", "evaluate", "predict_image", "load_run", "recognize", "test_set"]

# the default recipe (benchmarks/bench_ocr.py, every run in benchmarks/results-ocr.md):
# batch 16 at lr 5e-3 left CTC's all-blank plateau within its first epoch (val CER 27.8%
# after 313 steps) where batch 32 at 3e-3 was still all blank after 300 (loss 3.78); 10 epochs
# of 10,000 lines are ~6,300 steps. ``minutes`` stops a slower machine's run at that budget
# (after the step that crossed it; the schedule is fitted to the steps the budget leaves) and
# keeps the best epoch. Frame and stretch, 2,500 lines x 6 epochs each (results-ocr.md):
# 4-pixel frames read 100 test lines at 8.7% CER, 2-pixel ones at 11.8% (slower off the
# blank plateau, 1.5x the CPU); stretch 0.3 took the 4-pixel model to 7.5% (Liberation Sans
# Narrow 16.5% -> 8.3%)
DEFAULTS = {
    "script": "latin", "head": "lstm", "width": 12, "hidden": 64, "train_lines": 10000,
    "val_lines": 200, "test_lines": 300, "epochs": 10, "batch_size": 16, "lr": 5e-3,
    "weight_decay": 1e-4, "threads": 2, "seed": 0, "test_seed": 12345, "minutes": 19.0,
    "beam": 8, "data": None, "frame": 4, "stretch": 0.3, "body": None, "word_gap": None, "slant": 0.0,
    "labels": "chars", "extra_faces": False, "lm_val_lines": 1000, "widen": 1.0,
    "lm_weight": None, "dropout": 0.0,
}
# dropout: CRNN's dropout on the per-frame features and the BiLSTM's output. 0.25 read the
# Odia stand-in's held-out families better greedy on three seeds of three (13.52 -> 12.55%)
# but not with the language model (6.99 -> 7.25%, 7.13% at its own best pair): off
# (results-ocr.md, 2026-12-08 01:38)
# lm_weight: (weight, bonus) of the language model set by the recipe for rendered lines, or
# None: the pair of LM_GRID that reads the validation lines best (see lm_val_lines; a run on
# a data folder always chooses on its own held-out lines)
# lm_val_lines: the reading widths and the language-model weight are chosen on this many
# validation lines, rendered after training (another seed, the validation text). On 200 the
# grid's CERs differ by 4-5 characters of ~3,300 and the choice flips with the draw: the 200
# epoch-validation lines chose weight 0 for Latin and (0.3, 0) for Odia, 1,000 lines chose
# (0.3, 0.5) for both (Latin 1.00% against 1.15% at weight 0; Odia 1.90% against 3.09%; runs
# latin-val, odia-val in results-ocr.md). Rendering, reading (at every width of
# reading.SCALE_SETS) and decoding them costs ~45 s (Odia)
# data: a folder of the user's line images with labels.tsv (lines.read_folder) to train on
# instead of rendered lines; every 10th line validates, and the test lines stay the rendered
# held-out fonts
# body: the fraction of the line height the text body is scaled to fill before the model
# sees a line (lines.fit_body), in training, evaluation and predict alike; None keeps the
# line as cropped. Odia turns it on: Lohit Odia's ink fills 0.875 of a rendered line, the
# training faces' 0.59-0.66, and the model trained on those read Lohit at 95.7% CER, 41.0%
# once its lines were padded to the training faces' fill (100 test lines, results-ocr.md).
# 0.6: the training faces' bodies (rows between the 1% and 99% ink quantiles) fill 0.53-0.56
# of a rendered line (60 validation lines), so their lines grow by ~1.1x in width and the
# training steps cost about what they did, and a fifth of the height is left above and
# below the body for the marks that stand out of it. Held-out face (bench_ocr.py shift, two
# Noto faces train, Utkal read): 51.6% -> 41.5% and 46.4% -> 27.7% CER (seeds 0, 1), at a cost
# on the training faces' validation lines (2.1% -> 17.8%, 2.0% -> 4.0%); Latin keeps it off
# labels ("chars" or, for Odia, "conjuncts": alphabet.ConjunctAlphabet), extra_faces
# (render.EXTRA_FACES), word_gap and slant (render.render_line, training lines only): Odia
# levers, off until a held-out-face comparison (bench_ocr.py shift --set) turns them on; all
# four at once were behind two faces and code points at half a schedule (results-ocr.md).
# word_gap (0.1, 0.3) is on for Odia: the test face's space is 0.13 em, half of any training
# face's, and dropped spaces were its largest error. Held-out Utkal drawn at 0.13-em gaps
# (bench_ocr.py shift --shift-gap 0.13, seeds 0-3), CER off / (0.1, 0.7) / (0.1, 0.3):
# 36.2 / 37.5 / 34.9, 38.5 / 36.6 / 34.4, 39.5 / 38.1 / 35.6, 39.1 / 34.1 / 35.6 (%);
# spaces dropped of 347: 132-171 / 39-59 / 21-50; the wide range cost the letters more.
# extra_faces is on for Odia: three training faces are few for a face never seen. Same
# stand-in on top of the word gap, seeds 0-3: 34.9 / 34.4 / 35.6 / 35.6 -> 28.0 / 28.9 /
# 29.3 / 28.3% (better on every seed, mean -6.5 points; letters 36.7 -> 29.8%), though the
# Lohit test lines, read after, were read worse at 12/64 (11.3 -> 12.7% greedy, one seed:
# more subjoined forms dropped; results-ocr.md). Width 16 and hidden 96 for Odia: with
# seven faces of 60-odd letters and their marks, the 12/64 model fitted the training faces'
# own validation lines to only 9.5%; on top of both, same stand-in:
# 28.0 / 28.9 / 29.3 / 28.3 -> 25.7 / 25.7 / 24.4 / 27.0% (every seed, mean -2.9 points;
# validation 9.5 -> 6.9%) for 1.5x the CPU (127 -> 190 s a run). 15,000 training lines for
# Odia (the budget had room: 1,201 CPU s for 10,000): the stand-in at 4,500 lines against
# 3,000, on top of all of the above: 25.7 / 25.7 / 24.4 / 27.0 -> 24.2 / 23.5 / 22.2 / 23.2%
# (every seed, mean -2.5 points) for 1.5x the CPU (190 -> 297 s a run)
# widen 1.5 for Odia: every line 1.5x as wide, so a conjunct (three code points in one
# shape) gets the CTC frames for all three. Stand-in of two held-out families (bench_ocr.py
# shift --hold-out utkal baloo-bhaina-2-oriya-400-normal baloo-bhaina-2-oriya-700-normal),
# seeds 0-3, widen 1.0 -> 1.25: 15.69 / 15.11 / 14.20 / 15.29 -> 13.14 / 14.26 / 13.74 /
# 14.91% (every seed; validation 5.2-6.6 -> 4.1-5.6%) for 1.1x the CPU; 1.5, seeds 0-1:
# 12.40 / 14.00%, and 12.40 / 13.71% under a budget scaled as the default run's 19 minutes
# would be (--minutes 5.65), for 1.2-1.3x the CPU of 1.0. The default run then took 1,135 s
# of its 1,140-s budget and read Lohit at 5.71% greedy, 3.81% with the LM (one seed; at 1.25
# 5.14% / 3.77% in 1,041 s; results-ocr.md)
# lm_weight (0.6, 2.0) for Odia: validation lines are drawn in the training faces, which the
# model reads well, and there a lighter language model wins; on a face it has not seen, a
# heavier one with a larger bonus per character (its errors are dropped characters: the
# virama of a conjunct) does. Six stand-in models (two families held out of training,
# widen 1.25 seeds 0-3 and 1.5 seeds 0-1; ``bench_ocr.py shift-lm runs/two/widen{0,1,2,3}.json
# runs/two/w15budget{0,1}.json [--pairs ...]``), held-out CER: validation's choice, (0.3,
# 0.5) on all six, 8.23 / 9.20 / 9.14 / 10.40 / 7.83 / 8.54% (mean 8.89); (0.6, 1.0), the
# grid's best on all six, mean 8.13; (0.6, 1.5) better on all six (7.68), (0.6, 2.0) better
# again on all six: 6.60 / 7.69 / 7.91 / 8.51 / 6.51 / 7.17 (7.40); (0.6, 2.5) 7.47, (0.7,
# 2.0) 7.49, (0.6, 3.0) 7.64, (0.5, 1.5) 7.73, (0.8, 2.0) 7.86. On validation (0.6, 2.0)
# reads level with (0.3, 0.5) (2.43-3.51 against 2.51-3.44%)
# beam 16 for Odia: the stand-in's held-out lines at (0.6, 2.0), three models (widen 1.5,
# seeds 0-2, ``bench_ocr.py shift-lm ... --beam B``), beam 8 / 16 / 32: 6.46 / 6.31 / 6.20,
# 6.83 / 6.54 / 6.34, 7.69 / 7.20 / 7.23% (mean 6.99 / 6.68 / 6.59), validation lines better
# too; 22 / 37 / 72 ms a line to decode, so 16, which takes most of the gain at half 32's
# cost (results-ocr.md, 2026-12-08 02:14)
SCRIPT_DEFAULTS = {"odia": {"body": 0.6, "word_gap": (0.1, 0.3), "extra_faces": True, "width": 16,
                            "hidden": 96, "train_lines": 15000, "widen": 1.5,
                            "lm_weight": (0.6, 2.0), "beam": 16}}


def _log(msg: str, quiet: bool):
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def _alphabet(cfg: dict):
    return alphabet_for(cfg["script"], cfg["labels"])


def build_model(cfg: dict) -> CRNN:
    return CRNN(len(_alphabet(cfg)), cfg["head"], cfg["width"], cfg["hidden"], cfg["frame"],
                cfg["dropout"])


def stretch_lines(images: list, amount: float, seed: int) -> list:
    """Each uint8 line resized in width by a factor drawn uniformly from
    [1 - ``amount``, 1 + ``amount``] (seeded), the height kept: condensed and extended
    letter shapes beyond the training faces' own."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    out = []
    for x in images:
        w = max(4, round(x.shape[1] * rng.uniform(1 - amount, 1 + amount)))
        out.append(np.asarray(Image.fromarray(x).resize((w, x.shape[0]), Image.BILINEAR)))
    return out


def run_line(img: np.ndarray, cfg: dict, **where) -> np.ndarray:
    """A raw line as the run's model reads it: ``normalise_line`` with the run's ``body``
    and ``widen``, in training, validation, evaluation and predict alike."""
    return normalise_line(img, body=cfg["body"], widen=cfg["widen"], **where)


def _lines_set(cfg, split, count, seed):
    # face variety is drawn into the training lines only: validation and test lines are the
    # faces as they are
    draw = ({"word_gap": tuple(cfg["word_gap"]) if cfg["word_gap"] else None, "slant": cfg["slant"]}
            if split == "train" else None)
    images, texts, fonts = render_set(_alphabet(cfg), cfg["script"], split, count, seed, draw_kw=draw,
                                      extra_faces=cfg["extra_faces"])
    if split == "train" and cfg["stretch"]:
        images = stretch_lines(images, cfg["stretch"], seed + 7)
    return [run_line(x, cfg) for x in images], texts, fonts, images


def test_set(cfg: dict):
    """(normalised lines, texts, font names, raw uint8 images) of the run's test lines."""
    return _lines_set(cfg, "test", cfg["test_lines"], cfg["test_seed"])


# (weight, bonus) pairs tried on the validation lines; weight 0 is plain beam search
LM_GRID = [(0.0, 0.0), (0.3, 0.0), (0.3, 0.5), (0.6, 0.5), (0.6, 1.0), (1.0, 1.0), (1.0, 2.0)]
LM_ORDER = 5


def _lm(cfg) -> CharLM:
    """A character 5-gram model of the texts the run's model was trained on (re-made from the
    config: rendered training texts are seeded, a data folder is read again)."""
    alphabet = _alphabet(cfg)
    if cfg["data"]:
        from foveanet.ocr.lines import read_folder

        texts = [t for i, t in enumerate(read_folder(cfg["data"], alphabet)[1]) if i % 10 != 9]
    else:
        texts = text_lines(alphabet, "train", cfg["train_lines"], cfg["seed"])
    return CharLM([alphabet.encode(t) for t in texts], len(alphabet), LM_ORDER)


def choose_lm(model, cfg, out) -> dict:
    """How the run reads, chosen on the ``lm_val_lines`` validation lines (a folder run: its
    held-out tenth), written to ``out``/lm.json: first the width factors (``reading.SCALE_SETS``,
    greedy CER), then at those the ``LM_GRID`` (weight, bonus) with the lowest CER (ties: the
    smaller weight), unless the recipe sets the pair for rendered lines (``lm_weight``; the
    grid is still measured and kept)."""
    from foveanet.ocr.reading import SCALE_SETS
    from foveanet.train.checkpoint import write_json

    alphabet = _alphabet(cfg)
    lm = _lm(cfg)
    val_lines, val_texts = _lm_val_set(cfg)
    readings = read_at(model, val_lines, sorted({f for s in SCALE_SETS for f in s}))
    scales, scale_grid = pick_scales(readings, val_texts, alphabet)
    lps = most_confident(readings, scales)
    truth = _norm(val_texts)
    grid = [{"weight": w, "bonus": b, "val_cer": cer(_norm(_decode(lps, alphabet, cfg["beam"], (lm, w, b))), truth)}
            for w, b in LM_GRID]
    best = min(grid, key=lambda r: (r["val_cer"], r["weight"]))
    fixed = None if cfg["data"] else cfg.get("lm_weight")   # a folder's own lines decide
    if fixed:
        best = {"weight": float(fixed[0]), "bonus": float(fixed[1])}
    choice = {"order": LM_ORDER, "weight": best["weight"], "bonus": best["bonus"], "grid": grid,
              "chosen_on": "recipe" if fixed else "validation",
              "scales": list(scales), "scale_grid": scale_grid}
    write_json(Path(out) / "lm.json", choice)
    return choice


def _run_scales(out) -> tuple:
    """The width factors a run reads at (lm.json's ``scales``; a run chosen before they
    existed: (1.0,))."""
    import json

    path = Path(out) / "lm.json"
    return tuple(json.loads(path.read_text()).get("scales", [1.0])) if path.is_file() else (1.0,)


def _run_lm(cfg, out):
    """(CharLM, weight, bonus) of a run's lm.json, or None."""
    import json

    path = Path(out) / "lm.json"
    if not path.is_file():
        return None
    c = json.loads(path.read_text())
    return (_lm(cfg), c["weight"], c["bonus"]) if c["weight"] else None


def _lm_val_set(cfg):
    """(lines, texts) the language-model weight is chosen on."""
    if cfg["data"]:
        from foveanet.ocr.lines import read_folder

        images, texts = read_folder(cfg["data"], _alphabet(cfg))
        held = [i for i in range(len(images)) if i % 10 == 9] or [0]
        return [run_line(images[i], cfg) for i in held], [texts[i] for i in held]
    lines, texts, _, _ = _lines_set(cfg, "val", cfg["lm_val_lines"], cfg["seed"] + 2_000_003)
    return lines, texts


def _lr(step: int, total: int, peak: float) -> float:
    """One cycle: linear warm-up from peak/25 over the first 10% of the steps, then a
    cosine down to peak/100 at ``total``."""
    warm = max(1, total // 10)
    if step < warm:
        return float(peak * (0.04 + 0.96 * step / warm))
    frac = min(1.0, (step - warm) / max(1, total - warm))
    return float(peak * (0.01 + 0.99 * 0.5 * (1 + np.cos(np.pi * frac))))


def fitted_steps(planned: int, done: int, step_seconds, seconds_left: float) -> int:
    """The steps a budget leaves: ``planned`` or fewer, from the median of the timed steps.
    The median, not the mean: one step stalled by something outside the run (another job, a
    paused process) would otherwise shrink the whole schedule; a run on a shared machine
    fitted 760 of its 1,880 steps after one such stall."""
    per_step = float(np.median(step_seconds))
    return int(min(planned, done + max(seconds_left / per_step, 0)))


def recipe(**overrides) -> dict:
    """The settings of a new run: DEFAULTS, then its script's SCRIPT_DEFAULTS, then ``overrides``."""
    return {**DEFAULTS, **SCRIPT_DEFAULTS.get(overrides.get("script", DEFAULTS["script"]), {}), **overrides}


def train(out, quiet: bool = False, pictures: bool = True, **overrides) -> dict:
    """Train a line recognizer into the run directory ``out``; returns its metrics."""
    from foveanet.train.checkpoint import save_weights, write_json

    unknown = set(overrides) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"ocr.train: unknown settings {sorted(unknown)}")
    cfg = recipe(**overrides)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "config.json", {"command": "ocr", **cfg})
    t_start, cpu_start = time.perf_counter(), time.process_time()
    prev_threads = foveanet.get_num_threads()
    foveanet.set_num_threads(min(cfg["threads"], __import__("os").cpu_count() or 1))
    try:
        foveanet.manual_seed(cfg["seed"])
        alphabet = _alphabet(cfg)
        model = build_model(cfg)
        t0 = time.perf_counter()
        if cfg["data"]:
            from foveanet.ocr.lines import read_folder

            images, all_texts = read_folder(cfg["data"], alphabet)
            all_lines = [run_line(x, cfg, where=f"{cfg['data']} line {i + 1}") for i, x in enumerate(images)]
            held = np.arange(len(all_lines)) % 10 == 9
            lines = [x for x, h in zip(all_lines, held) if not h]
            texts = [t for t, h in zip(all_texts, held) if not h]
            val_lines = [x for x, h in zip(all_lines, held) if h] or lines[:1]
            val_texts = [t for t, h in zip(all_texts, held) if h] or texts[:1]
        else:
            lines, texts, _, _ = _lines_set(cfg, "train", cfg["train_lines"], cfg["seed"])
            val_lines, val_texts, _, _ = _lines_set(cfg, "val", cfg["val_lines"], cfg["seed"] + 1_000_003)
        render_seconds = time.perf_counter() - t0
        _log(f"rendered {len(lines)} training and {len(val_lines)} validation lines in {render_seconds:.0f}s", quiet)
        targets = [alphabet.encode(t) for t in texts]
        bs = cfg["batch_size"]
        steps = -(-len(lines) // bs)
        opt = foveanet.optim.AdamW(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
        planned = cfg["epochs"] * steps
        rng = np.random.default_rng(cfg["seed"])
        for g in opt.param_groups:
            g["lr"] = _lr(0, planned, cfg["lr"])
        widths = np.array([x.shape[1] for x in lines])
        history, best, best_state, stopped, step_seconds = [], np.inf, None, False, []
        named = list(model.named_parameters())
        budget = cfg["minutes"] * 60
        for epoch in range(cfg["epochs"]):
            te = time.perf_counter()
            # batches of similar width: shuffle, sort chunks of 16 batches by width, shuffle batches
            order = rng.permutation(len(lines))
            chunks = [order[i:i + 16 * bs] for i in range(0, len(order), 16 * bs)]
            batches = [c[np.argsort(widths[c])][j:j + bs] for c in chunks for j in range(0, len(c), bs)]
            batches = [batches[i] for i in rng.permutation(len(batches))]
            model.train()
            loss_sum = 0.0
            for b, idx in enumerate(batches):
                t_step = time.perf_counter()
                x, frames = batch_lines([lines[i] for i in idx], model.frame)
                tl = np.array([len(targets[i]) for i in idx])
                tg = np.zeros((len(idx), max(tl.max(), 1)), np.int64)
                for r, i in enumerate(idx):
                    tg[r, :tl[r]] = targets[i]
                with float_errors_quiet():
                    lp = model(foveanet.tensor(x))
                    loss = F.ctc_loss(lp, tg, frames, tl, zero_infinity=True)
                    opt.zero_grad()
                    loss.backward()
                    lv = float(loss.item())
                    check_step(lv, named, epoch=epoch + 1, step=b + 1, steps_per_epoch=len(batches),
                               lr=opt.param_groups[0]["lr"])
                opt.step()
                done = epoch * steps + b + 1
                if done <= 20:
                    step_seconds.append(time.perf_counter() - t_step)
                if done == 20:
                    # the budget, not the epoch count, may end the run: once 20 steps are
                    # timed, the schedule is fitted to the steps the budget leaves
                    planned = fitted_steps(planned, done, step_seconds,
                                           budget - (time.perf_counter() - t_start))
                for g in opt.param_groups:
                    g["lr"] = _lr(done, planned, cfg["lr"])
                loss_sum += lv
                if not quiet and sys.stderr.isatty():
                    print(f"\repoch {epoch + 1}/{cfg['epochs']} batch {b + 1}/{len(batches)} loss {loss_sum / (b + 1):.4f}",
                          end="", file=sys.stderr, flush=True)
                if time.perf_counter() - t_start > budget:
                    stopped = True
                    break
            if not quiet and sys.stderr.isatty():
                print("\r", end="", file=sys.stderr)
            v = score(model, val_lines, val_texts, alphabet)
            row = {"epoch": epoch + 1, "steps": b + 1, "train_loss": loss_sum / (b + 1), "val_cer": v["cer"],
                   "val_wer": v["wer"], "lr": opt.param_groups[0]["lr"], "seconds": time.perf_counter() - te}
            history.append(row)
            _log(f"epoch {epoch + 1}/{cfg['epochs']} loss {row['train_loss']:.4f} | val CER "
                 f"{100 * row['val_cer']:.2f}% WER {100 * row['val_wer']:.2f}% | {row['seconds']:.0f}s"
                 + (" (time budget reached)" if stopped else ""), quiet)
            save_weights(model.state_dict(), out / "last.safetensors")
            if row["val_cer"] < best:
                best = row["val_cer"]
                best_state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
                save_weights(model.state_dict(), out / "best.safetensors")
            write_json(out / "metrics.json", {"history": history, "seconds": time.perf_counter() - t_start})
            if stopped:
                break
        train_seconds = time.perf_counter() - t_start
        cpu_seconds = time.process_time() - cpu_start
        model.load_state_dict({k: foveanet.tensor(v) for k, v in best_state.items()})
        choose_lm(model, cfg, out)
        metrics = _evaluate(model, cfg, out, pictures)
        metrics.update(history=history, seconds=train_seconds, cpu_seconds=cpu_seconds,
                       render_seconds=render_seconds, stopped_by_budget=stopped,
                       best_epoch=min(history, key=lambda r: r["val_cer"])["epoch"])
        write_json(out / "metrics.json", metrics)
        return metrics
    finally:
        foveanet.set_num_threads(prev_threads)


def _evaluate(model, cfg, out: Path, pictures: bool) -> dict:
    lines, texts, fonts, raw = test_set(cfg)
    alphabet = _alphabet(cfg)
    scales = _run_scales(out)
    truth = _norm(texts)
    t0 = time.perf_counter()
    pred, outs = recognize(model, lines, alphabet, scales=scales)   # the model runs once
    g = measure(pred, texts)
    eval_seconds = time.perf_counter() - t0
    b = measure(_decode(outs, alphabet, cfg["beam"]), texts)
    lm = _run_lm(cfg, out)
    fused = measure(_decode(outs, alphabet, cfg["beam"], lm), texts) if lm else b
    per_font, per_font_lm = {}, {}
    for f in sorted(set(fonts)):
        sel = [i for i, n in enumerate(fonts) if n == f]
        per_font[f] = cer([g["predictions"][i] for i in sel], [truth[i] for i in sel])
        per_font_lm[f] = cer([fused["predictions"][i] for i in sel], [truth[i] for i in sel])
    m = {"test_lines": len(lines), "cer": g["cer"], "wer": g["wer"], "cer_beam": b["cer"], "wer_beam": b["wer"],
         "cer_lm": fused["cer"], "wer_lm": fused["wer"], "lm_weight": lm[1] if lm else 0.0,
         "scales": list(scales),
         "cer_per_font": per_font, "cer_per_font_lm": per_font_lm,
         "confusions": confusions(g["predictions"], truth), "confusions_lm": confusions(fused["predictions"], truth),
         "eval_seconds": eval_seconds}
    if pictures:
        from foveanet.train.plots import pictures_available

        if pictures_available(["test_lines.png", "alignment.png"]):
            from foveanet.ocr.pictures import alignment_figure, lines_figure

            lines_figure(raw[:12], g["predictions"][:12], truth[:12], out / "test_lines.png")
            _, lps = recognize(model, lines[:1], alphabet)
            alignment_figure(raw[0], lps[0], alphabet, out / "alignment.png")
    return m


def load_run(run_dir, which: str = "best"):
    """(config, model with the weights ``which`` names, in eval mode) of an OCR run."""
    from foveanet.train.run import load_weights_into, read_config

    cfg = read_config(run_dir, "ocr train")
    if cfg.get("command") != "ocr":
        raise RunError(f"{run_dir} is not a run of `foveanet ocr train` (its config.json has command "
                       f"{cfg.get('command')!r})")
    # a run written before ``frame`` existed used 4-pixel frames (same weights, other pooling);
    # one written before ``body`` existed read lines as cropped (body None, the DEFAULTS)
    cfg = {**DEFAULTS, "frame": 4, **{k: v for k, v in cfg.items() if k in DEFAULTS}}
    model = build_model(cfg)
    load_weights_into(model, run_dir, which)
    return cfg, model


def evaluate(run_dir, which: str = "best", pictures: bool = True, tesseract: bool = False) -> dict:
    """Re-score a run on its test lines (same seed and fonts as in training); with
    ``tesseract``, Tesseract reads the same lines and its CER/WER are added. A run without
    lm.json gets its language-model weight chosen on its validation lines first."""
    cfg, model = load_run(run_dir, which)
    if not (Path(run_dir) / "lm.json").is_file():
        choose_lm(model, cfg, run_dir)
    m = _evaluate(model, cfg, Path(run_dir), pictures)
    if tesseract:
        from foveanet.ocr.tesseract import tesseract_lines

        _, texts, _, raw = test_set(cfg)
        tess, truth = _norm(tesseract_lines(raw, cfg["script"])), _norm(texts)
        m.update(tesseract_cer=cer(tess, truth), tesseract_wer=wer(tess, truth))
    return m


def predict_image(run_dir, image_path, which: str = "best", beam: int | None = None) -> list:
    """The text of every line of an image file, top to bottom (a page is split into lines
    by its projection profile; a single line stays one)."""
    cfg, model = load_run(run_dir, which)
    img = read_gray(image_path)
    parts = split_lines(img)
    if not parts:
        parts = [img]
    lines = [run_line(p, cfg, height=HEIGHT, where=f"{image_path} line {i + 1}") for i, p in enumerate(parts)]
    beam = cfg["beam"] if beam is None else beam
    texts, _ = recognize(model, lines, _alphabet(cfg), beam, lm=_run_lm(cfg, run_dir) if beam else None,
                         scales=_run_scales(run_dir))
    return texts
