"""``load_pretrained(model, path)``: weights from PyTorch, safetensors or ONNX files into a model."""
from __future__ import annotations

import os

import numpy as np

__all__ = ["load_pretrained", "read_state_dict"]

_ZIP = b"PK\x03\x04"


def _onnx_initializers(path) -> dict:
    import onnx
    from onnx import numpy_helper

    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def read_state_dict(path) -> dict:
    """Read the weights of a PyTorch, safetensors or ONNX file as a name -> numpy array dict.

    The format is chosen by the file's first bytes rather than its suffix (ONNX: by the
    ``.onnx`` suffix). A checkpoint dict holding the weights under ``state_dict``,
    ``model_state_dict`` or ``model`` gives those; the ``module.`` prefix of
    ``nn.DataParallel`` checkpoints is removed.

    Args:
        path: a ``.pt``/``.pth`` zip, a safetensors file or an ``.onnx`` model.

    Returns:
        dict: name -> array.

    Raises:
        ValueError: another kind of file, or entries that are not tensors.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "ddp.pt")
        ...     fn.interop.save_torch({"state_dict": {"module.fc.weight": np.ones((2, 3)),
        ...                                           "module.fc.bias": np.zeros(2)},
        ...                            "epoch": 7}, path)
        ...     weights = fn.interop.read_state_dict(path)
        >>> {name: w.shape for name, w in weights.items()}
        {'fc.weight': (2, 3), 'fc.bias': (2,)}
    """
    from foveanet.interop.safetensors_io import load_safetensors
    from foveanet.interop.torch_pt import load_torch

    path = os.fspath(path)
    with open(path, "rb") as fh:
        head = fh.read(9)
    if head.startswith(_ZIP) or head[:1] == b"\x80":
        sd = load_torch(path)
        if isinstance(sd, dict):
            for key in ("state_dict", "model_state_dict", "model"):
                if isinstance(sd.get(key), dict):
                    sd = sd[key]
                    break
    elif len(head) == 9 and head[8:9] == b"{":
        sd = load_safetensors(path)
    elif path.endswith(".onnx"):
        sd = _onnx_initializers(path)
    else:
        raise ValueError(f"{path}: not a PyTorch checkpoint, a safetensors file or an .onnx model")
    bad = [k for k, v in sd.items() if not isinstance(v, np.ndarray)] if isinstance(sd, dict) else None
    if bad is None or bad:
        raise ValueError(f"{path}: expected a flat name -> tensor mapping; non-tensor entries: "
                         f"{', '.join(map(str, bad or []))[:300] or type(sd).__name__}")
    # nn.DataParallel / DistributedDataParallel checkpoints prefix every key
    if sd and all(k.startswith("module.") for k in sd):
        sd = type(sd)((k[len("module."):], v) for k, v in sd.items())
    return sd


def load_pretrained(model, path, strict: bool = True):
    """Copy the weights of a PyTorch, safetensors or ONNX file into a model.

    The file is read with ``read_state_dict`` and given to ``model.load_state_dict``.
    PyTorch's ``num_batches_tracked`` counters are dropped when the model has no such entries.

    Args:
        model: the module to fill.
        path: the weights file.
        strict: keys must match ``model.state_dict()``; a mismatch raises a ValueError
            listing the missing and unexpected keys and any shape differences, checked
            before anything is copied (default True).

    Returns:
        ``model``.

    Example::

        >>> import os, tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     path = os.path.join(tmp, "linear.safetensors")
        ...     fn.interop.save_safetensors({"weight": np.ones((2, 3), np.float32),
        ...                                  "bias": np.array([0.5, -0.5], np.float32)}, path)
        ...     model = fn.interop.load_pretrained(nn.Linear(3, 2), path)
        >>> model(fn.ones(1, 3)).numpy()                  # 1 + 1 + 1 plus the bias
        array([[3.5, 2.5]], dtype=float32)
    """
    sd = read_state_dict(path)
    own = model.state_dict()
    sd = type(sd)((k, v) for k, v in sd.items()
                  if k in own or not k.endswith("num_batches_tracked"))
    try:
        model.load_state_dict(sd, strict=strict)
    except (RuntimeError, ValueError, KeyError) as e:
        raise ValueError(f"load_pretrained({os.fspath(path)!r}) into {type(model).__name__}: {e}") from None
    return model
