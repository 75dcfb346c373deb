"""`foveanet ocr train|evaluate|predict` end to end on a tiny recipe, the errors a user
sees, and a CRNN + CTC that learns to read a few lines."""
import contextlib
import io
import json

import numpy as np
import pytest
from PIL import Image

import foveanet
import foveanet.nn.functional as F
from foveanet.cli.main import main
from foveanet.ocr.alphabet import LATIN
from foveanet.ocr.decode import greedy_decode
from foveanet.ocr.lines import batch_lines, normalise_line
from foveanet.ocr.model import CRNN
from foveanet.ocr.render import fonts_for, render_line

pytestmark = pytest.mark.skipif(not fonts_for("latin", "test")[0].is_file(),
                                reason="fonts not installed (make ocr-data)")
TINY = ["--train-lines", "24", "--val-lines", "4", "--lm-val-lines", "4", "--test-lines", "6", "--epochs", "1",
        "--batch-size", "12", "--width", "4", "--hidden", "8", "--quiet"]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ocr"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["ocr", "train", "--script", "latin", "--out", str(out), "--frame", "2", *TINY])
    assert rc == 0, buf.getvalue()
    return out, buf.getvalue()


def test_train_writes_a_run_and_evaluate_reproduces_it(run, capsys):
    out, text = run
    m = json.loads((out / "metrics.json").read_text())
    assert m["test_lines"] == 6 and 0 <= m["cer"] and len(m["history"]) == 1
    assert set(m["cer_per_font"]) == {p.stem for p in fonts_for("latin", "test")}
    assert f"CER {100 * m['cer']:.2f}%" in text
    assert main(["ocr", "evaluate", str(out)]) == 0
    assert f"CER {100 * m['cer']:.2f}%" in capsys.readouterr().out
    # the width factors were chosen on the validation lines and are the ones evaluated at
    from foveanet.ocr.reading import SCALE_SETS
    chosen = json.loads((out / "lm.json").read_text())
    assert tuple(chosen["scales"]) in SCALE_SETS and m["scales"] == chosen["scales"]
    assert [g["scales"] for g in chosen["scale_grid"]] == [list(s) for s in SCALE_SETS]


def test_predict_reads_each_line_of_a_page(run, tmp_path, capsys):
    out, _ = run
    f = fonts_for("latin", "test")[0]
    lines = [render_line(t, f, distort=False) for t in ("one", "two words", "three")]
    w = max(x.shape[1] for x in lines)
    page = np.full((3 * 50, w + 20), 255, np.uint8)
    for i, x in enumerate(lines):
        page[10 + 50 * i:10 + 50 * i + 32, 10:10 + x.shape[1]] = x
    Image.fromarray(page).save(tmp_path / "page.png")
    assert main(["ocr", "predict", str(out), str(tmp_path / "page.png"), "--beam", "0"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3


@pytest.mark.parametrize("make,expect", [
    (lambda p: Image.new("L", (50, 1), 255).save(p), "pixel(s) high"),
    (lambda p: Image.new("CMYK", (50, 30)).save(p.with_suffix(".tif")), "unsupported image mode"),
    (lambda p: p.write_bytes(b""), "not an image"),
])
def test_bad_images_give_one_line_errors(run, tmp_path, capsys, make, expect):
    out, _ = run
    path = tmp_path / "x.png"
    make(path)
    if not path.exists():
        path = path.with_suffix(".tif")
    if expect == "pixel(s) high":
        img = Image.open(path)
        img.putpixel((2, 0), 0)
        img.save(path)
    assert main(["ocr", "predict", str(out), str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert expect in err and len(err.splitlines()) == 1


def test_unknown_character_in_user_labels_is_a_one_line_error(tmp_path, capsys):
    f = fonts_for("latin", "test")[0]
    Image.fromarray(render_line("abc", f, distort=False)).save(tmp_path / "a.png")
    (tmp_path / "labels.tsv").write_text("a.png\tab\u00df\n")
    assert main(["ocr", "train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "not in the latin alphabet" in err and len(err.splitlines()) == 1


def test_crnn_with_ctc_learns_to_read_a_few_lines():
    f = fonts_for("latin", "train")[0]
    texts = ["abc", "cab", "bca a", "ccc"]
    lines = [normalise_line(render_line(t, f, distort=False)) for t in texts]
    x, frames = batch_lines(lines)
    tg = np.array([LATIN.encode(t.ljust(5, "a")) for t in texts])
    tl = np.array([len(t) for t in texts])
    foveanet.manual_seed(0)
    model = CRNN(len(LATIN), "conv", width=4, hidden=32)
    opt = foveanet.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        loss = F.ctc_loss(model(foveanet.tensor(x)), tg, frames, tl)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    lp = model(foveanet.tensor(x)).numpy()
    read = [LATIN.decode(greedy_decode(lp[:n, i])) for i, n in enumerate(frames)]
    assert read == texts


@pytest.mark.parametrize("frame", [2, 4])
def test_crnn_frame_count_matches_batch_lines(frame):
    # a line of width W gives ceil(W / frame) frames, alone or padded in a batch with a wider one
    f = fonts_for("latin", "train")[0]
    lines = [normalise_line(render_line(t, f, distort=False)) for t in ("ab", "a wider line")]
    x, frames = batch_lines(lines, frame)
    assert frames.tolist() == [-(-w.shape[1] // frame) for w in lines]
    model = CRNN(len(LATIN), "lstm", width=4, hidden=8, frame=frame)
    model.eval()
    assert model(foveanet.tensor(x)).shape == (frames.max(), 2, len(LATIN))
    alone, n = batch_lines(lines[:1], frame)
    assert model(foveanet.tensor(alone)).shape[0] == n[0] == frames[0]
    with pytest.raises(ValueError, match="frame must be 2 or 4"):
        CRNN(len(LATIN), frame=3)


def test_crnn_dropout_zeroes_features_in_training_only():
    """dropout=p zeroes about p of the nonzero per-frame features (and of the LSTM's output)
    in training, scaling the rest by 1/(1-p); in eval the model reads as one without it."""
    f = fonts_for("latin", "train")[0]
    x, _ = batch_lines([normalise_line(render_line(t, f, distort=False)) for t in ("a line", "another")])
    foveanet.manual_seed(0)
    plain = CRNN(len(LATIN), "lstm", width=4, hidden=8)
    dropped = CRNN(len(LATIN), "lstm", width=4, hidden=8, dropout=0.4)
    dropped.load_state_dict(plain.state_dict())
    plain.eval()
    dropped.eval()
    assert np.array_equal(plain(foveanet.tensor(x)).numpy(), dropped(foveanet.tensor(x)).numpy())
    seen = []
    dropped.drop.register_forward_hook(lambda m, inp, out: seen.append((inp[0].numpy(), out.numpy())))
    dropped.train()
    dropped(foveanet.tensor(x))
    (fin, fout), (sin, sout) = seen          # the features, then the LSTM's output
    for a, b in ((fin, fout), (sin, sout)):
        live = a != 0
        kept = b[live] != 0
        assert abs(1 - kept.mean() - 0.4) < 0.05, 1 - kept.mean()
        np.testing.assert_allclose(b[live][kept], a[live][kept] / 0.6, rtol=1e-6)


def test_a_run_without_frame_in_its_config_loads_with_4_pixel_frames(run, tmp_path):
    import shutil

    from foveanet.ocr.pipeline import load_run

    old = tmp_path / "old"
    shutil.copytree(run[0], old)
    cfg = json.loads((old / "config.json").read_text())
    cfg.pop("frame")
    (old / "config.json").write_text(json.dumps(cfg))
    assert load_run(old)[1].frame == 4
    assert load_run(run[0])[1].frame == 2


def test_stretch_out_of_range_is_a_one_line_error(tmp_path, capsys):
    assert main(["ocr", "train", "--out", str(tmp_path / "run"), "--stretch", "1.5", *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "--stretch must be in [0, 1)" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("args, expect", [
    (["--word-gap", "0.5", "0.1"], "--word-gap must be LO HI with 0 <= LO <= HI"),
    (["--word-gap", "0.1", "0.3", "--no-word-gap"], "--word-gap and --no-word-gap: give one of them"),
    (["--slant", "1.2"], "--slant must be in [0, 1)"),
    (["--widen", "3"], "--widen must be in [0.5, 2]"),
    (["--labels", "conjuncts"], "labels 'conjuncts' are not defined for latin"),
])
def test_bad_face_variety_settings_are_one_line_errors(tmp_path, capsys, args, expect):
    assert main(["ocr", "train", "--out", str(tmp_path / "run"), *args, *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert expect in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_face_variety_settings_reach_the_runs_config(tmp_path, monkeypatch):
    """The Odia levers go from the command line into train() and so into config.json."""
    import foveanet.ocr as ocr

    seen = {}
    monkeypatch.setattr(ocr, "train", lambda out, **kw: seen.update(kw) or {})
    monkeypatch.setattr("foveanet.cli.ocr._print_report", lambda m, out: None)
    rc = main(["ocr", "train", "--script", "odia", "--out", str(tmp_path / "run"), "--labels", "conjuncts",
               "--word-gap", "0.1", "0.7", "--slant", "0.15", "--extra-faces", "--widen", "1.25", *TINY])
    assert rc == 0
    assert (seen["labels"], seen["word_gap"], seen["slant"], seen["extra_faces"], seen["widen"]) == \
        ("conjuncts", [0.1, 0.7], 0.15, True, 1.25)
    seen.clear()
    assert main(["ocr", "train", "--script", "odia", "--out", str(tmp_path / "r2"), "--no-word-gap", *TINY]) == 0
    assert "word_gap" in seen and seen["word_gap"] is None  # the face's own spaces, not odia's default
    seen.clear()
    assert main(["ocr", "train", "--script", "odia", "--out", str(tmp_path / "r3"), "--no-extra-faces", *TINY]) == 0
    assert seen["extra_faces"] is False                      # odia's default is on


def _with_body(run_dir, dest, body):
    """A copy of a run whose config.json says ``body`` (dropped when None): the weights do
    not depend on it, the lines the model sees do."""
    import shutil

    shutil.copytree(run_dir, dest)
    cfg = json.loads((dest / "config.json").read_text())
    cfg.pop("body", None)
    if body is not None:
        cfg["body"] = body
    (dest / "config.json").write_text(json.dumps(cfg))
    return dest


def test_a_run_without_body_in_its_config_reads_lines_as_cropped(run, tmp_path):
    from foveanet.ocr.pipeline import load_run, test_set

    old_cfg = load_run(_with_body(run[0], tmp_path / "old", None))[0]
    new_cfg = load_run(_with_body(run[0], tmp_path / "new", 0.6))[0]
    assert old_cfg["body"] is None and new_cfg["body"] == 0.6
    lines, _, _, raw = test_set(old_cfg)
    assert all(np.array_equal(x, normalise_line(r)) for x, r in zip(lines, raw))
    lines, _, _, raw = test_set(new_cfg)
    assert all(np.array_equal(x, normalise_line(r, body=0.6)) for x, r in zip(lines, raw))
    assert lines[0].shape != normalise_line(raw[0]).shape    # the setting changes what the model sees


def test_predict_normalises_lines_with_the_runs_body_and_widen(run, tmp_path, monkeypatch):
    import foveanet.ocr.pipeline as pipeline

    out = _with_body(run[0], tmp_path / "body", 0.6)
    cfg = json.loads((out / "config.json").read_text())
    (out / "config.json").write_text(json.dumps({**cfg, "widen": 1.25}))
    img = np.full((48, 200), 255, np.uint8)
    img[18:30, 5:195] = 0
    Image.fromarray(img).save(tmp_path / "line.png")
    seen = []

    def spy(x, *a, **kw):
        seen.append((kw.get("body"), kw.get("widen")))
        return normalise_line(x, *a, **kw)

    monkeypatch.setattr(pipeline, "normalise_line", spy)
    texts = pipeline.predict_image(out, tmp_path / "line.png", beam=0)
    assert seen == [(0.6, 1.25)]
    _, model = pipeline.load_run(out)
    line = normalise_line(img, body=0.6, widen=1.25)
    assert line.shape[1] == round(1.25 * normalise_line(img, body=0.6).shape[1])
    expect, _ = pipeline.recognize(model, [line], pipeline.alphabet_for("latin"), scales=pipeline._run_scales(out))
    assert texts == expect


def test_body_out_of_range_is_a_one_line_error(tmp_path, capsys):
    assert main(["ocr", "train", "--out", str(tmp_path / "run"), "--body", "1.5", *TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "--body must be in [0, 1]" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_a_stalled_step_does_not_shrink_the_fitted_schedule():
    """The budget's schedule comes from the median of the first timed steps: one step held
    up by something outside the run (a paused process) leaves the plan as it was."""
    from foveanet.ocr.pipeline import fitted_steps

    steady = [0.1] * 20
    stalled = [0.1] * 19 + [60.0]
    assert fitted_steps(5000, 20, steady, 100.0) == 20 + 1000
    assert fitted_steps(5000, 20, stalled, 100.0) == 20 + 1000
    assert fitted_steps(500, 20, steady, 100.0) == 500  # the epochs end first
    assert fitted_steps(5000, 20, steady, -5.0) == 20  # the budget is spent
