"""A trained run directory, read back: its config and its model with the saved weights."""
from __future__ import annotations

import json
from pathlib import Path

from foveanet.errors import RunError

__all__ = ["RunError", "read_config", "load_run"]


def read_config(run_dir, command: str = "train") -> dict:
    """``config.json`` of a run written by ``foveanet COMMAND --out RUN`` (``train``,
    ``segment train``, ``medical train``, ``ocr train``...), which the messages name."""
    d = Path(run_dir)
    if not d.is_dir():
        raise RunError(f"{run_dir}: no such directory (train one with `foveanet {command} --out {run_dir}`)")
    path = d / "config.json"
    if not path.is_file():
        raise RunError(f"{run_dir} has no config.json: is it a run directory written by "
                       f"`foveanet {command} --out {run_dir}`?")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise RunError(f"{path}: unreadable ({e})") from None


def load_weights_into(model, run_dir, which: str = "best") -> Path:
    """Load the weights ``which`` names (see ``weights_file``) into ``model`` and put it in eval
    mode; weights of another architecture are a RunError naming the file.  Returns their path."""
    wpath = weights_file(run_dir, which)
    state = read_weights(wpath)
    try:
        model.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError) as e:
        raise RunError(f"{wpath}: weights do not fit the model in config.json ({e})") from None
    model.eval()
    return wpath


WEIGHTS_HELP = ("which weights: best (the epoch chosen on the validation set), last (the final "
                "epoch's), or the path of a .safetensors file [best]")


def weights_file(run_dir, weights: str = "best") -> Path:
    """The weight file ``weights`` names: ``best`` or ``last`` of the run, or a path.  One
    rule for every command that reads a run (evaluate, predict, show, segment, ...)."""
    d = Path(run_dir)
    if weights in ("best", "last"):
        path = d / f"{weights}.safetensors"
        if not path.is_file():
            have = sorted(p.name for p in d.glob("*.safetensors") if not p.name.startswith("."))
            raise RunError(f"{path} not found (the run has {', '.join(have) or 'no weight files'}; "
                           "did its first epoch finish?)")
        return path
    path = Path(weights)
    if not path.is_file():
        raise RunError(f"--weights {weights}: expected best, last or the path of a .safetensors "
                       "file, and there is no such file")
    return path


def read_weights(path) -> dict:
    """name -> Tensor from a weight file, with a RunError that says when the file itself is
    incomplete or corrupt (rather than blaming the model)."""
    from foveanet.train.checkpoint import load_weights

    try:
        return load_weights(path)
    except (ValueError, OSError) as e:
        raise RunError(f"{path} is incomplete or corrupt, so no weights were loaded ({e}). "
                       "Copy it again, or retrain the run") from None


def load_run(run_dir, which: str = "best"):
    """``(config, model, weights path)``: the run's model rebuilt from its config, with the
    weights ``which`` names (see ``weights_file``) loaded, in eval mode."""
    from foveanet.train import build

    cfg = read_config(run_dir)
    weights_file(run_dir, which)  # a missing weight file is named before the model is built
    try:
        net = build.model(cfg)
    except (KeyError, build.ConfigError) as e:
        raise RunError(f"{Path(run_dir) / 'config.json'}: cannot rebuild the model ({e})") from None
    return cfg, net, load_weights_into(net, run_dir, which)
