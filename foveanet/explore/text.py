"""Text runs (``foveanet text train``: Kim's TextCNN, XML-CNN) in the explorer: a document's
predicted labels and the words each top filter fired on.

A filter of width k fires on a window of k words; max pooling over time keeps its largest
value, so the argmax position t of the pooled map names the words ``tokens[t : t + k]``
that the filter answered to. Filters are ranked by their share of the top label's score
(TextCNN: pooled value times the output weight) or, for XML-CNN (whose pooled features go
through a hidden layer), by the pooled value itself; XML-CNN pools each map in chunks, and
the page shows the position of the whole map's maximum (the largest of its chunks').
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from foveanet.explore.errors import ExploreError, bad_request

__all__ = ["TextRun", "analyse_text", "examples"]

# documents listed from the run's test split; filters shown per document; text accepted
EXAMPLES, TOP_FILTERS, MAX_CHARS = 12, 8, 20_000


class TextRun:
    """A ``foveanet text train`` run: vocabulary, labels and the (first) model."""

    kind = "text"
    pages = ("text", "playground")

    def __init__(self, run_dir, weights: str = "best"):
        import threading

        from foveanet.text.run import load_run

        self.dir = Path(run_dir).resolve()
        self.loaded = load_run(self.dir)
        self.cfg = self.loaded.config
        self.lock = threading.RLock()
        self._examples = None

    def info(self) -> dict:
        return {"model": self.cfg["model"], "dataset": self.cfg.get("data"), "task": self.cfg.get("task"),
                "labels": len(self.loaded.labels.itos), "vocabulary": len(self.loaded.vocab.itos),
                "max_len": self.cfg.get("max_len")}

    def routes(self):
        return [("/api/text/examples", lambda r, req: examples(r), "text"),
                ("/api/text/analyse", lambda r, req: analyse_text(r, req.query_params.get("q", "")), "text")]


def examples(run: TextRun) -> dict:
    """The first test documents of the run's data file (split again by the run's rule)."""
    if run._examples is None:
        from foveanet.text.pipeline import load_documents, split

        path = run.cfg.get("data")
        if not path or not Path(path).is_file():
            raise ExploreError(f"the run's data file ({path}) is not here: type a text instead", 404)
        docs = load_documents(path, run.cfg.get("limit"))
        docs = docs[0] if isinstance(docs, tuple) else docs
        _, test, _ = split(docs, run.cfg.get("split", "auto"), int(run.cfg.get("seed", 0)))
        run._examples = [{"id": d.id, "text": d.text[:2000], "labels": list(d.labels)} for d in test[:EXAMPLES]]
    return {"documents": run._examples}


def analyse_text(run: TextRun, text: str) -> dict:
    """Top labels of ``text`` and, for the top filters, the words at their max-pooling argmax."""
    import foveanet as fn
    from foveanet.data.text import tokenize
    from foveanet.models.textcnn import relu_conv_maps

    if not text.strip():
        raise bad_request("the text is empty: type a document or pick an example")
    if len(text) > MAX_CHARS:
        raise ExploreError(f"the text has {len(text):,} characters; the limit is {MAX_CHARS:,}", 413)
    L = run.loaded
    model = L.model
    ids = L.encode([text])
    words = tokenize(text)[:ids.shape[1]]
    itos = L.vocab.itos
    with run.lock, fn.no_grad():
        scores = L.scores(ids)[0]
        maps = relu_conv_maps(model.embedding, model.convs, ids, max(model.kernel_sizes),
                              model.min_length, model.skip_padding)
        maps = [m.numpy()[0] for m in maps]
    top = np.argsort(-scores, kind="stable")[:5]
    label = int(top[0])
    rows = []
    w_out = model.fc.weight.numpy() if type(model).__name__ == "TextCNN" else None
    for b, (k, h) in enumerate(zip(model.kernel_sizes, maps)):
        t = h.argmax(axis=1)
        v = h.max(axis=1)
        for f in range(h.shape[0]):
            idx = b * h.shape[0] + f
            share = float(v[f] * w_out[label, idx]) if w_out is not None else float(v[f])
            rows.append((share, k, f, int(t[f]), float(v[f])))
    rows.sort(key=lambda r: -r[0])
    filters = []
    for share, k, f, t, v in rows[:TOP_FILTERS]:
        span = list(range(t, min(t + k, len(words))))
        filters.append({"width": k, "filter": f, "position": t, "value": v, "score": share,
                        "words": [words[i] for i in span], "span": span})
    return {"tokens": words, "known": [itos[int(i)] != "<unk>" for i in ids[0][:len(words)]],
            "labels": [{"label": L.labels.itos[int(i)], "p": float(scores[i])} for i in top],
            "ranked_by": "pooled value x output weight of the top label" if w_out is not None else "pooled value",
            "filters": filters}
