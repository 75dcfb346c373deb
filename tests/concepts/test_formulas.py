"""The lecture's formulas against hand-worked numbers and against the ops themselves."""
import itertools

import numpy as np
import pytest
import torch

import foveanet.concepts as C
from foveanet.functional import avg_pool2d, conv2d, max_pool2d


def test_lecture_sizes():
    assert C.conv_output_size(6, 3) == 4                        # 6x6 * 3x3 -> 4x4
    assert C.conv_output_size(6, 3, padding=1) == 6             # p = 1 keeps 6x6
    assert C.conv_output_size(7, 3, stride=2) == 3              # floor((7-3)/2)+1
    assert C.conv_output_size((6, 7), 3, stride=(1, 2)) == (4, 3)
    assert C.conv_output_size(6, 3, padding="same") == 6
    assert C.conv_output_size(6, 3, padding="valid") == 4
    assert C.conv_output_size(7, 3, dilation=2) == 3            # f_eff = 5
    assert C.same_padding(3) == 1 and C.same_padding(5) == 2
    assert C.same_padding(4) == (1, 2)                          # the extra pixel right/bottom
    assert C.same_padding(3, dilation=2) == 2
    assert C.pool_output_size(28, 2) == 14
    assert C.pool_output_size(7, 2) == 3
    assert C.pool_output_size(7, 2, ceil_mode=True) == 4
    assert C.pool_output_size(56, 3, stride=2, padding=1) == 28   # ResNet's stem pool


def test_lecture_parameters():
    assert C.conv_params(3, 3, 10) == 280 == (27 + 1) * 10     # ten 3x3x3 filters
    assert C.conv_params(5, 1, 6) == 156
    assert C.conv_params_formula(5, 1, 6) == "(5*5*1+1)*6 = 156"
    assert C.conv_params_formula(5, 6, 16) == "(5*5*6+1)*16 = 2416"
    assert C.conv_params_formula(3, 32, 32, groups=32) == "(3*3*32/32+1)*32 = 320"
    assert C.conv_params_formula(5, 1, 6, bias=False) == "5*5*1*6 = 150"
    assert C.conv_params_formula((3,), 300, 100) == "(3*300+1)*100 = 90100"
    assert C.fc_params(400, 120) == 48_120 == 400 * 120 + 120
    assert C.fc_params_formula(400, 120) == "(400+1)*120 = 48120"
    assert C.fc_params(480_000, 1000) == 480_001_000
    assert C.conv_mult_adds(28, 6, 5, 1) == 28 * 28 * 6 * 25 == 117_600
    assert C.conv_mult_adds((1, 7), 4, (3,), 2) == 7 * 4 * 3 * 2
    assert C.fc_mult_adds(400, 120) == 48_000


def test_example_network():
    stages = C.example_network()
    assert [s.shape for s in stages] == [(39, 39, 3), (37, 37, 10), (17, 17, 20), (7, 7, 40)]
    assert stages[-1].size == 1960 == 7 * 7 * 40
    assert stages[1].params == 280 and stages[1].formula == "(3*3*3+1)*10 = 280"
    assert [s.params for s in stages[2:]] == [(25 * 10 + 1) * 20, (25 * 20 + 1) * 40]


def test_errors():
    with pytest.raises(ValueError, match="does not fit"):
        C.conv_output_size(2, 3)
    with pytest.raises(ValueError, match="stride 1"):
        C.conv_output_size(8, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match="divisible"):
        C.conv_params(3, 6, 8, groups=4)
    with pytest.raises(ValueError, match="same length"):
        C.conv_output_size((6, 6), (3, 3, 3))


@pytest.mark.parametrize("n,f,p,s,d", [c for c in itertools.product(
    (5, 8, 11), (1, 2, 3, 4), (0, 1, 2), (1, 2, 3), (1, 2)) if c[0] + 2 * c[2] >= c[4] * (c[1] - 1) + 1])
def test_conv_output_size_matches_conv2d(n, f, p, s, d):
    x = np.zeros((1, 1, n, n + 1), np.float32)
    w = np.zeros((1, 1, f, f), np.float32)
    got = conv2d(x, w, stride=s, padding=p, dilation=d).shape[2:]
    assert C.conv_output_size((n, n + 1), f, padding=p, stride=s, dilation=d) == tuple(got)


@pytest.mark.filterwarnings("ignore:Using padding='same'")
@pytest.mark.parametrize("n,f", list(itertools.product((5, 8), (1, 2, 3, 4))))
def test_same_padding_matches_conv2d(n, f):
    x = np.zeros((1, 1, n, n), np.float32)
    w = np.zeros((1, 1, f, f), np.float32)
    assert conv2d(x, w, padding="same").shape[2:] == (n, n) == (C.conv_output_size(n, f, padding="same"),) * 2
    pad = C.same_padding(f)
    left, right = pad if isinstance(pad, tuple) else (pad, pad)
    # torch is the oracle for where the odd pixel goes: compare values, not only sizes
    xt = torch.arange(n * n, dtype=torch.float32).reshape(1, 1, n, n)
    wt = torch.rand(1, 1, f, f)
    same = torch.nn.functional.conv2d(xt, wt, padding="same")
    manual = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, (left, right, left, right)), wt)
    torch.testing.assert_close(same, manual)


@pytest.mark.parametrize("n,f,s,p,ceil", [c for c in itertools.product(
    (6, 7, 9), (2, 3), (1, 2, 3), (0, 1), (False, True)) if c[3] <= c[1] // 2])
def test_pool_output_size_matches_pooling(n, f, s, p, ceil):
    x = np.zeros((1, 1, n, n), np.float32)
    want = C.pool_output_size(n, f, stride=s, padding=p, ceil_mode=ceil)
    assert max_pool2d(x, f, s, p, ceil_mode=ceil).shape[2:] == (want, want)
    assert avg_pool2d(x, f, s, p, ceil_mode=ceil).shape[2:] == (want, want)
