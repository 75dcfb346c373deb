"""Segmentation and text runs in the explorer: their own pages' numbers."""
import base64

import numpy as np
import pytest

pytest.importorskip("starlette")


def arr(a):
    return np.frombuffer(base64.b64decode(a["b64"]), dtype="<f4").reshape(a["shape"])


def client_for(run_dir):
    from starlette.testclient import TestClient

    from foveanet.explore import create_app, open_run

    return TestClient(create_app(open_run(run_dir)))


def test_segmentation_run(segment_run):
    from foveanet.segmentation import load_run
    from foveanet.segmentation.inference import predict_logits
    from foveanet.segmentation.metrics import ConfusionMatrix

    c = client_for(segment_run)
    info = c.get("/api/run").json()
    assert info["kind"] == "segment" and "segment" in info["pages"] and "training" not in info["pages"]
    assert c.get("/api/training").status_code == 404
    r = c.get("/api/segment/test-2").json()
    img = arr(r["image"])
    model, _ = load_run(segment_run)
    want = predict_logits(model, img[None], tta=False)[0]     # segment predict's one-view argmax
    np.testing.assert_array_equal(np.array(r["pred"]), want)
    true = np.array(r["true"])
    iou = ConfusionMatrix(11).update(want[None], true[None]).iou()
    got = np.array([np.nan if v is None else v for v in r["iou"]])
    present = ~np.isnan(got)
    np.testing.assert_allclose(got[present], iou[present])
    assert present[0]                                           # the background is in every scene
    assert r["run_metrics"] == {}                               # an untrained run: no metrics.json
    # the classifier pages work over the U-Net too: a conv layer's dot product
    ov = c.get("/api/images/test-2").json()
    assert abs(sum(t["p"] for t in c.get("/api/images/test-2?k=11").json()["topk"]) - 1) < 1e-5
    conv = next(l["name"] for l in ov["layers"] if l["conv"])
    d = c.get(f"/api/images/test-2/layers/{conv}/pixel?c=0&y=3&x=4").json()
    assert d["z"] == pytest.approx(d["output"], abs=1e-5)
    m = c.get("/api/model").json()
    assert any(n["merge"] == "concat" for n in m["nodes"])       # the U-Net's skip connections


def test_text_run(text_run):
    from foveanet.text import load_run, predict

    c = client_for(text_run)
    info = c.get("/api/run").json()
    assert info["kind"] == "text" and info["pages"] == ["text", "playground"]
    ex = c.get("/api/text/examples").json()["documents"]
    assert ex and all(d["labels"] in (["editor"], ["game"]) for d in ex)
    q = "an arcade shooter game"
    r = c.get("/api/text/analyse", params={"q": q}).json()
    want = predict(load_run(text_run), [q], k=2)[0]
    assert [(l["label"], pytest.approx(l["p"])) for l in r["labels"]] == [(a, pytest.approx(b)) for a, b in want]
    assert r["tokens"] == ["an", "arcade", "shooter", "game"]
    f = r["filters"][0]
    assert f["words"] == r["tokens"][f["position"]:f["position"] + f["width"]]
    # the filter's max over time, recomputed: relu(conv1d(embedding)) at that position
    run = load_run(text_run)
    m = run.model
    ids = run.encode([q])
    e = m.embedding.weight.numpy()[ids[0]]                     # (L, E)
    k = f["width"]
    conv = m.convs[m.kernel_sizes.index(k)]
    w, b = conv.weight.numpy()[f["filter"]], conv.bias.numpy()[f["filter"]]
    t = f["position"]
    assert f["value"] == pytest.approx(max(0.0, float((w * e[t:t + k].T).sum() + b)), abs=1e-5)
    assert c.get("/api/text/analyse").status_code == 400
    assert c.get("/api/model").status_code == 404
