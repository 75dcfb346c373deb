"""One sliding-window arithmetic (foveanet.geometry): the lecture's functions, the engine's
output shapes and PyTorch agree over a sweep."""
import itertools

import numpy as np
import pytest
import torch

import foveanet.nn as nn
import foveanet.nn.functional as F
from foveanet import geometry
from foveanet.concepts import conv_output_size, pool_output_size, same_padding

SWEEP = list(itertools.product((5, 8, 11), (1, 2, 3, 4), (0, 1, 2), (1, 2, 3), (1, 2)))  # n, f, p, s, d


@pytest.mark.parametrize("n,f,p,s,d", SWEEP)
def test_conv_output_size_is_one_formula(n, f, p, s, d):
    if n + 2 * p < geometry.effective_kernel(f, d):
        pytest.skip("the kernel does not fit")
    expected = torch.nn.functional.conv2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s,
                                          padding=p, dilation=d).shape[-1]
    assert geometry.conv_output(n, f, 2 * p, s, d) == expected
    assert conv_output_size(n, f, padding=p, stride=s, dilation=d) == expected
    y = F.conv2d(np.zeros((1, 1, n, n), np.float32), np.zeros((1, 1, f, f), np.float32), stride=s,
                 padding=p, dilation=d)
    assert y.shape[-1] == expected
    t = torch.nn.functional.conv_transpose2d(torch.zeros(1, 1, n, n), torch.zeros(1, 1, f, f), stride=s,
                                             padding=p, dilation=d)
    if t.shape[-1] > 0:
        assert geometry.conv_transpose_output(n, f, s, p, d) == t.shape[-1]


@pytest.mark.parametrize("n,f,p,s,d", SWEEP)
@pytest.mark.parametrize("ceil_mode", [False, True])
def test_pool_output_size_is_one_formula(n, f, p, s, d, ceil_mode):
    if p > f // 2 or n + 2 * p < geometry.effective_kernel(f, d):
        pytest.skip("PyTorch refuses these windows")
    x = torch.zeros(1, 1, n, n)
    expected = torch.nn.functional.max_pool2d(x, f, s, p, d, ceil_mode=ceil_mode).shape[-1]
    assert geometry.pool_output(n, f, s, p, d, ceil_mode) == expected
    assert pool_output_size(n, f, stride=s, padding=p, dilation=d, ceil_mode=ceil_mode) == expected
    y = F.max_pool2d(np.zeros((1, 1, n, n), np.float32), f, s, p, d, ceil_mode=ceil_mode)
    assert y.shape[-1] == expected


@pytest.mark.parametrize("f,d", [(1, 1), (2, 1), (3, 1), (4, 1), (3, 2), (4, 3)])
def test_same_padding_split_matches_torch(f, d):
    left, right = geometry.same_padding_split(f, d)
    assert left + right == d * (f - 1) and right - left in (0, 1)
    assert same_padding(f, d) == (left if left == right else (left, right))
    # PyTorch's 'same' puts the odd pixel right/bottom: an impulse shows where the padding went
    x = np.zeros((1, 1, 9, 9), np.float32)
    x[0, 0, 4, 4] = 1
    w = np.arange(1, f * f + 1, dtype=np.float32).reshape(1, 1, f, f)
    ours = F.conv2d(x, w, padding="same", dilation=d).numpy()
    theirs = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(w), padding="same", dilation=d)
    np.testing.assert_array_equal(ours, theirs.numpy())


def test_one_ntuple_with_torchs_two_readings():
    x = np.zeros((1, 1, 8, 8), np.float32)
    w = np.zeros((1, 1, 3, 3), np.float32)
    assert F.conv2d(x, w, stride=(2,)).shape == (1, 1, 3, 3)  # a 1-tuple stands for both axes
    with pytest.raises(ValueError, match=r"Conv2d: kernel_size must have 2 values, got \(3,\)"):
        nn.Conv2d(1, 1, kernel_size=(3,))  # as torch.nn, a module takes the tuple as given
