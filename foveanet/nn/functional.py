"""``foveanet.nn.functional``: the ops of ``foveanet.functional`` under PyTorch's module path."""
import foveanet.functional as _F
from foveanet.functional import *  # noqa: F401,F403


def __getattr__(name):
    # ops whose family file lands after this module was imported are still reachable
    try:
        return getattr(_F, name)
    except AttributeError:
        raise AttributeError(f"module 'foveanet.nn.functional' has no attribute {name!r}") from None


def __dir__():
    return sorted(set(globals()) | set(dir(_F)))
