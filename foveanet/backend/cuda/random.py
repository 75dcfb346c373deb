"""The random generator of a device: masks drawn where the data lives.

Dropout on a GPU draws its mask on the GPU (copying a host mask per layer and step would
cost a transfer as large as the activation). The device generator is ``xp.random.
default_rng(seed)``, seeded from ``fn.manual_seed``: it is rebuilt whenever the host
generator was replaced (every ``manual_seed`` replaces it), so one seed replays the same
device draws. Its streams are CuPy's (XORWOW), not NumPy's: a seed gives other masks on a
GPU than on the CPU, as in PyTorch. ``get_rng_state``/``set_rng_state`` cover the host
generator only.
"""
from __future__ import annotations

import numpy as np

from foveanet.backend import defaults

_made: dict = {}  # array module name -> (the host generator it was seeded after, generator)


def generator(xp):
    """The generator of the device module ``xp`` (NumPy: the host's global generator).

    Args:
        xp: an array module (``backend.array_module(x)``).

    Returns:
        a generator with ``random``, ``standard_normal``, ``uniform`` and ``integers``.

    Example::

        >>> from foveanet.backend.cuda import random as device_random
        >>> device_random.generator(np) is fn.backend.generator()
        True
    """
    host = defaults.generator()
    if xp is np:
        return host
    key = xp.__name__
    made = _made.get(key)
    if made is None or made[0] is not host:
        seed = defaults.initial_seed()
        if seed is None:  # never seeded: a fresh seed from the host stream
            seed = int(host.integers(2 ** 63))
        made = (host, xp.random.default_rng(seed))
        _made[key] = made
    return made[1]
