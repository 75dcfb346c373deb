"""Kept weight transforms (backend/cpu/conv/packed.py): made once for a weight nothing can
write, per call otherwise, dropped with the weight; and the Winograd engine on one image
gives the same numbers with a kept U as with one made per call."""
import gc

import numpy as np
import pytest

from foveanet import kernels
from foveanet.backend.cpu import threads
from foveanet.backend.cpu.conv import packed, route, winograd_one
from foveanet.geometry import ConvGeom
from tests.backend.test_single import _reference


def _frozen(a):
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


def test_read_only_needs_every_array_down_to_the_owner_read_only():
    w = np.zeros((4, 3, 3, 3))
    assert not packed.read_only(w)
    view = w.reshape(4, 27)
    view.flags.writeable = False
    assert not packed.read_only(view)      # its owner can still be written
    w.flags.writeable = False
    assert packed.read_only(view) and packed.owner(view) is w
    foreign = np.frombuffer(bytearray(16), dtype=np.float32)
    foreign.flags.writeable = False
    assert not packed.read_only(foreign)   # a buffer someone else may write


def test_a_read_only_weights_transform_is_made_once_and_dropped_with_it():
    made = []

    def make():
        made.append(1)
        return np.ones(3)

    w = np.zeros((2, 2))
    packed.kept(w, "t", make)
    packed.kept(w, "t", make)
    assert len(made) == 2                  # writable: per call
    w = _frozen(w)
    before = packed.count()
    a = packed.kept(w.reshape(4), "t", make)
    b = packed.kept(w.reshape(4), "t", make)  # a new view of the same owner: a hit
    assert a is b and len(made) == 3 and not a.flags.writeable
    packed.kept(w.reshape(2, 2), "t", make)   # another shape is another transform
    assert len(made) == 4 and packed.count() == before + 2
    del w, a, b
    gc.collect()
    assert packed.count() == before


@pytest.mark.skipif(not kernels.available(), reason="needs Numba")
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("C,H,Co", [(6, 12, 5), (16, 5, 40)], ids=["bands", "blocks"])
def test_winograd_one_with_a_kept_u_matches_the_reference(C, H, Co, workers, monkeypatch):
    monkeypatch.setattr(threads, "workers", lambda: workers)
    g = ConvGeom(1, C, H, H, Co, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    r = np.random.default_rng(C + Co)
    x = r.standard_normal((1, C, H, H))
    w = _frozen(r.standard_normal((Co, C, 3, 3)))
    b = r.standard_normal(Co)
    res = r.standard_normal((1, Co, H, H))
    before = packed.count()
    for _ in range(2):  # the second call reads the kept U
        y = winograd_one.forward(x, w, g, kernels.load(), b, None, (0.0, np.inf), res)
        expected = _reference(x, w, b, g, None, res, (0.0, np.inf))
        np.testing.assert_allclose(y, expected, rtol=1e-12, atol=1e-12 * np.abs(expected).max())
    assert packed.count() == before + 1


def test_the_route_sends_7x7_maps_to_winograd_only_with_a_kept_u_on_two_threads(monkeypatch):
    g = ConvGeom(1, 512, 7, 7, 512, 1, 3, 3, (1, 1), (1, 1), (1, 1, 1, 1))
    monkeypatch.setattr(threads, "workers", lambda: 2)
    assert route.winograd_one(g, frozen=True) and not route.winograd_one(g)
    monkeypatch.setattr(threads, "workers", lambda: 1)  # one thread: im2col's one GEMM won
    assert not route.winograd_one(g, frozen=True)
