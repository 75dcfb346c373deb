import numpy as np

from foveanet.baselines.image import hog_features, raw_features, run_image_baseline
from foveanet.data import FashionMNIST


def test_hog_feature_count_matches_the_cell_block_arithmetic():
    imgs = np.zeros((2, 28, 28), np.uint8)
    # 28/4 = 7 cells per side -> 6 block positions; 6*6 blocks * (2*2 cells) * 9 bins
    assert hog_features(imgs).shape == (2, 6 * 6 * 4 * 9)
    assert raw_features(imgs).shape == (2, 784)


def test_hand_crafted_baselines_learn_fashion_mnist_subset():
    train, test = FashionMNIST(train=True), FashionMNIST(train=False)
    xtr, ytr = train.data[:2000], train.targets[:2000]
    xte, yte = test.data[:1000], test.targets[:1000]
    prior = np.bincount(ytr).argmax()
    chance = float((yte == prior).mean())
    hog = run_image_baseline(xtr, ytr, xte, yte, features="hog")
    raw = run_image_baseline(xtr, ytr, xte, yte, features="raw")
    assert hog["test_accuracy"] > chance + 0.6
    assert raw["test_accuracy"] > chance + 0.6
    # the lecture's point: engineered gradient features beat raw pixels for a linear classifier
    assert hog["test_accuracy"] > raw["test_accuracy"]
