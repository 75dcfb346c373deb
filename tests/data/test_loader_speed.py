"""The input pipeline must not be the bottleneck: > 50,000 augmented images/s (slow mark)."""
import time
from pathlib import Path

import pytest

from foveanet.data import DataLoader, FashionMNIST, transforms as T

DEBIAN = Path("/usr/share/datasets/fashion-mnist")


@pytest.mark.slow
@pytest.mark.skipif(not (DEBIAN / "train-images-idx3-ubyte.gz").exists(), reason="no Fashion-MNIST copy")
def test_fashion_mnist_loader_throughput():
    ds = FashionMNIST(root=DEBIAN, train=True, download=False)
    aug = T.Compose([T.RandomCrop(28, padding=4), T.RandomHorizontalFlip()])
    loader = DataLoader(ds, batch_size=128, shuffle=True, transform=aug, seed=0)
    list(loader)  # first epoch pays the one-off uint8 -> float32 conversion
    t = time.perf_counter()
    n = sum(len(y) for _, y in loader)
    rate = n / (time.perf_counter() - t)
    print(f"\nFashion-MNIST, batch 128, crop+flip: {rate:,.0f} images/s")
    assert n == 60000 and rate > 50_000
