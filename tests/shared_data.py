"""Where the data every developer and CI share lives: ``../shared`` beside the checkout
(as CI clones it), or wherever $FOVEANET_SHARED points."""
import os
from pathlib import Path

SHARED = Path(os.environ.get("FOVEANET_SHARED") or Path(__file__).resolve().parents[1].parent / "shared")
DEBTAGS = str(SHARED / "data" / "debtags-bookworm.jsonl.gz")


def fashion_mnist_on_disk() -> bool:
    """Whether Fashion-MNIST's train and test files are on this machine (nothing downloaded)."""
    from foveanet.data import DatasetNotFoundError, FashionMNIST

    try:
        for train in (True, False):
            FashionMNIST(train=train, download=False)
    except DatasetNotFoundError:
        return False
    return True
