"""Argument types that check a value's range where it is parsed.

``parser.add_argument("--lr", type=positive_float)`` makes argparse print
``foveanet train: error: argument --lr: expected a number > 0, got -1`` and exit with 2, so a
user mistake never reaches the engine as a traceback.  Each type's name says its range.
"""
from __future__ import annotations

import argparse
import math

__all__ = ["int_at_least", "positive_int", "nonneg_int", "positive_float", "nonneg_float",
           "fraction", "open_fraction", "weights_arg", "device_arg", "add_device_option",
           "check_device"]


def _number(text: str, kind):
    try:
        v = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if kind is float and not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return v


def int_at_least(low: int):
    """An int type with ``value >= low``."""

    def parse(text: str) -> int:
        v = _number(text, int)
        if v < low:
            raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text}")
        return v

    parse.__name__ = f"int>={low}"
    return parse


positive_int = int_at_least(1)
nonneg_int = int_at_least(0)


def positive_float(text: str) -> float:
    v = _number(text, float)
    if v <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return v


def nonneg_float(text: str) -> float:
    v = _number(text, float)
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return v


def fraction(text: str) -> float:
    """0 <= value < 1 (a share held out; 0: none)."""
    v = _number(text, float)
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return v


def open_fraction(text: str) -> float:
    """0 < value < 1 (a share that must be neither nothing nor everything)."""
    v = _number(text, float)
    if not 0 < v < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in (0, 1), got {text}")
    return v


def weights_arg(text: str) -> str:
    """best, last, or the path of a .safetensors file (checked when the run is read)."""
    if text in ("best", "last") or text.endswith(".safetensors"):
        return text
    raise argparse.ArgumentTypeError(f"expected best, last or a path ending in .safetensors, got {text!r}")


def device_arg(text: str) -> str:
    """cpu, cuda or cuda:N (whether that device can be used is checked by ``check_device``)."""
    from foveanet.backend.devices import Device

    try:
        Device(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {text!r}") from None
    return text


def add_device_option(parser, what: str = "train") -> None:
    """``--device cpu|cuda[:N]``, cpu by default."""
    parser.add_argument("--device", type=device_arg, default="cpu", metavar="cpu|cuda[:N]",
                        help=f"where to {what}: cpu, or cuda for an NVIDIA GPU (needs CuPy: "
                             f"pip install cupy-cuda12x) [cpu]")


def check_device(device: str):
    """The Device for ``--device``, or a CLIError saying why it cannot be used here (no CuPy,
    no GPU): raised before any data is read, so the mistake costs nothing."""
    from foveanet.backend import devices
    from foveanet.errors import CLIError

    dev = devices.Device(device)
    try:
        devices.module_for(dev)
    except RuntimeError as e:
        raise CLIError(f"--device {device}: {e}") from None
    return dev
