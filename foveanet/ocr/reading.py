"""Reading normalised lines with a trained CRNN: the model's per-frame log-probabilities,
at several widths if asked, then greedy or beam-search decoding (fused with a character
language model if given); and the choices a run makes on its validation lines.

Several widths. A line is read at each width factor of ``scales`` (the normalised line
resized in width, the height kept) and, line by line, the reading whose frames the model
is surest of (the highest mean over frames of the best label's log-probability) is kept.
No label is looked at, so it runs on a user's image as on a test line. Why: a face whose
letters are narrower than the training faces' gives CTC too few 4-pixel frames for a
conjunct's three code points (consonant, virama, consonant), and the virama is dropped
(the largest error on held-out Odia); a wider reading has the frames. Which factors a run
uses is chosen on its validation lines from ``SCALE_SETS`` (``pick_scales``).
"""
from __future__ import annotations

import numpy as np

import foveanet
from foveanet.ocr.decode import beam_decode, cer, greedy_decode, wer
from foveanet.ocr.lines import batch_lines, widen

__all__ = ["recognize", "read_at", "most_confident", "pick_scales", "measure", "score", "SCALE_SETS"]

# the width factors a run may read at, tried on its validation lines (greedy CER; ties: the
# set listed first); (1.0,) reads the line as it is
SCALE_SETS = [(1.0,), (0.9, 1.0, 1.1), (0.9, 1.0, 1.1, 1.25), (0.8, 0.9, 1.0, 1.1, 1.25),
              (1.0, 1.25, 1.5)]


def read_at(model, lines: list, scales=(1.0,), batch_size: int = 64) -> dict:
    """{factor: [per-frame log-probabilities (frames, classes) of each line]} of the lines
    read at each width factor."""
    out = {}
    model.eval()
    with foveanet.no_grad():
        for f in scales:
            seen = lines if f == 1.0 else [widen(x, f) for x in lines]
            outs = []
            for s in range(0, len(seen), batch_size):
                x, frames = batch_lines(seen[s:s + batch_size], model.frame)
                lp = model(foveanet.tensor(x)).numpy()
                outs += [lp[:n, i] for i, n in enumerate(frames)]
            out[f] = outs
    return out


def most_confident(readings: dict, scales=None) -> list:
    """Line by line, the log-probabilities of the factor (of ``scales``, default all) whose
    frames have the highest mean best-label log-probability (ties: the first factor).

    Example::

        >>> sure, unsure = np.log([[0.9, 0.1]]), np.log([[0.6, 0.4]])
        >>> most_confident({1.0: [unsure, sure], 1.25: [sure, unsure]})[0] is sure
        True
    """
    scales = list(readings) if scales is None else list(scales)
    n = len(readings[scales[0]])
    conf = {f: [float(lp.max(axis=1).mean()) if len(lp) else -np.inf for lp in readings[f]]
            for f in scales}
    return [readings[max(scales, key=lambda f: conf[f][i])][i] for i in range(n)]


def decode(outs: list, alphabet, beam: int, lm=None) -> list:
    """Texts of per-frame log-probabilities: greedy (beam 0), beam search, or beam search
    fused with ``lm`` = (CharLM, weight, bonus) when its weight is not 0."""
    if lm is not None and lm[1]:
        return [alphabet.decode(beam_decode(lp, beam=beam, lm=lm[0], lm_weight=lm[1], bonus=lm[2]))
                for lp in outs]
    return [alphabet.decode(beam_decode(lp, beam=beam) if beam else greedy_decode(lp)) for lp in outs]


def recognize(model, lines: list, alphabet, beam: int = 0, batch_size: int = 64, lm=None,
              scales=(1.0,)):
    """Texts read from normalised lines (greedy, or beam search of width ``beam``, fused
    with ``lm`` = (CharLM, weight, bonus) if given; at the most confident of the width
    factors ``scales``) and the per-frame log-probabilities they were read from."""
    outs = most_confident(read_at(model, lines, scales, batch_size))
    return decode(outs, alphabet, beam, lm), outs


def normalise_texts(texts) -> list:
    """Spaces collapsed and Unicode NFC: Tesseract may spell an Odia two-part vowel sign
    as its two code points (U+0B47 U+0B3E for U+0B4B), the same text."""
    import unicodedata

    return [unicodedata.normalize("NFC", " ".join(t.split())) for t in texts]


def measure(pred, texts) -> dict:
    """{"cer", "wer", "predictions"} of read texts against the true ``texts``, both
    normalised (``normalise_texts``)."""
    pred, texts = normalise_texts(pred), normalise_texts(texts)
    return {"cer": cer(pred, texts), "wer": wer(pred, texts), "predictions": pred}


def score(model, lines, texts, alphabet, beam: int = 0, lm=None, scales=(1.0,)) -> dict:
    """``measure`` of ``recognize``'s texts."""
    return measure(recognize(model, lines, alphabet, beam, lm=lm, scales=scales)[0], texts)


def pick_scales(readings: dict, texts, alphabet) -> tuple:
    """(the set of ``SCALE_SETS`` with the lowest greedy CER, [{"scales", "val_cer"}, ...])
    from validation lines read at every factor of the sets (``read_at``)."""
    truth = normalise_texts(texts)
    grid = [{"scales": list(s), "val_cer": cer(normalise_texts(
        decode(most_confident(readings, s), alphabet, 0)), truth)} for s in SCALE_SETS]
    best = min(range(len(grid)), key=lambda i: (grid[i]["val_cer"], i))
    return tuple(SCALE_SETS[best]), grid
