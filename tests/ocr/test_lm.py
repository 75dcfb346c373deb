"""The character n-gram language model and its fusion into CTC beam search."""
import math

import numpy as np

from foveanet.ocr.decode import CharLM, beam_decode


def test_witten_bell_values_by_hand_and_normalised():
    lm = CharLM([[1, 2]], classes=3, order=2)     # labels 1, 2; 0 pads the line start
    # unigram: counts {1: 1, 2: 1}, 2 types: (1 + 2 * 1/2) / (2 + 2) = 0.5
    # after 1: counts {2: 1}, 1 type: P(2|1) = (1 + 1 * 0.5) / (1 + 1) = 0.75, P(1|1) = 0.25
    assert math.isclose(lm.logp((1,), 2), math.log(0.75))
    assert math.isclose(lm.logp((1,), 1), math.log(0.25))
    assert math.isclose(lm.logp((), 1), math.log((1 + 0.5) / 2))  # line start: only 1 followed it
    big = CharLM([[1, 2, 3, 1, 2, 3, 3], [2, 2, 1]], classes=5, order=4)
    for ctx in [(), (1,), (1, 2), (3, 1, 2), (4, 4, 4), (2, 2, 1, 2, 3)]:
        assert math.isclose(sum(math.exp(big.logp(ctx, k)) for k in range(1, 5)), 1.0)
    assert big.logp((1, 2), 3) > big.logp((1, 2), 4) > -math.inf   # unseen, never impossible


def test_beam_search_with_the_language_model():
    lm = CharLM([[1, 1, 2]] * 20, classes=4, order=3)   # "1 1 2", never 3
    # frames: 1 | blank | 1 or 3 (3 slightly ahead) | blank | 2
    p = np.full((5, 4), 0.01)
    p[0, 1] = p[1, 0] = p[3, 0] = p[4, 2] = 0.97
    p[2] = [0.02, 0.47, 0.02, 0.49]
    lp = np.log(p / p.sum(axis=1, keepdims=True))
    assert beam_decode(lp, beam=4) == [1, 3, 2]
    assert beam_decode(lp, beam=4, lm=lm, lm_weight=0.0) == [1, 3, 2]   # weight 0: plain beam search
    assert beam_decode(lp, beam=4, lm=lm, lm_weight=0.5) == [1, 1, 2]   # the model knows 1 follows 1


def test_choose_lm_keeps_the_recipes_pair_for_rendered_lines_only(tmp_path):
    """An Odia run's language-model pair is the recipe's (0.6, 2.0) whatever its validation
    lines read best, with the grid still measured; without ``lm_weight`` (Latin) the best
    pair of the grid is taken."""
    import json

    from foveanet.ocr import pipeline

    odia = pipeline.recipe(script="odia", train_lines=40, lm_val_lines=6, width=4, hidden=8)
    assert tuple(odia["lm_weight"]) == (0.6, 2.0) and odia["beam"] == 16
    latin = pipeline.recipe(script="latin", train_lines=40, lm_val_lines=6, width=4, hidden=8)
    assert latin["lm_weight"] is None and latin["beam"] == 8
    for cfg, name in ((odia, "odia"), (latin, "latin")):
        out = tmp_path / name
        out.mkdir()
        choice = pipeline.choose_lm(pipeline.build_model(cfg).eval(), cfg, out)
        grid = choice["grid"]
        assert [(g["weight"], g["bonus"]) for g in grid] == pipeline.LM_GRID
        assert json.loads((out / "lm.json").read_text()) == choice
        if cfg["lm_weight"]:
            assert (choice["weight"], choice["bonus"], choice["chosen_on"]) == (0.6, 2.0, "recipe")
        else:
            best = min(grid, key=lambda g: (g["val_cer"], g["weight"]))
            assert (choice["weight"], choice["bonus"], choice["chosen_on"]) == \
                (best["weight"], best["bonus"], "validation")
