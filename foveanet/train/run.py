"""A trained run directory, read back: its config and its model with the saved weights."""
from __future__ import annotations

import json
from pathlib import Path


class RunError(ValueError):
    """A run directory that cannot be used as it is; the text says what to do."""


def read_config(run_dir) -> dict:
    """``config.json`` of a run written by ``foveanet train``."""
    d = Path(run_dir)
    if not d.is_dir():
        raise RunError(f"{run_dir}: no such directory (train one with `foveanet train --out {run_dir}`)")
    path = d / "config.json"
    if not path.is_file():
        raise RunError(f"{run_dir} has no config.json: is it a run directory written by "
                       f"`foveanet train --out {run_dir}`?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: unreadable ({e})") from None


def load_run(run_dir, which: str = "best"):
    """``(config, model)``: the run's model rebuilt from its config, with the weights of
    ``<which>.safetensors`` ("best" or "last") loaded, in eval mode."""
    from foveanet.train import build
    from foveanet.train.checkpoint import load_weights

    cfg = read_config(run_dir)
    wpath = Path(run_dir) / f"{which}.safetensors"
    if not wpath.is_file():
        have = sorted(p.name for p in Path(run_dir).glob("*.safetensors"))
        raise RunError(f"{wpath} not found (the run has {', '.join(have) or 'no weight files'}; "
                       "did its first epoch finish?)")
    try:
        net = build.model(cfg)
    except (KeyError, build.ConfigError) as e:
        raise RunError(f"{Path(run_dir) / 'config.json'}: cannot rebuild the model ({e})") from None
    try:
        net.load_state_dict(load_weights(wpath))
    except (KeyError, ValueError, RuntimeError) as e:
        raise RunError(f"{wpath}: weights do not fit the model in config.json ({e})") from None
    net.eval()
    return cfg, net
