"""Data: datasets, the DataLoader and batch-level transforms.

    from foveanet.data import DataLoader, FashionMNIST, transforms as T
    train = FashionMNIST(train=True)
    aug = T.Compose([T.RandomCrop(28, padding=2), T.RandomHorizontalFlip()])
    for x, y in DataLoader(train, batch_size=128, shuffle=True, transform=aug):
        ...

(The text-classification readers live in ``foveanet.data.text`` and load separately.)
"""
from foveanet.data import transforms
from foveanet.data.dataloader import DataLoader, default_collate
from foveanet.data.dataset import ConcatDataset, Dataset, Subset, TensorDataset, random_split
from foveanet.data.datasets import MNIST, ChecksumError, DatasetNotFoundError, FashionMNIST
from foveanet.data.idx import IDXError, read_idx, write_idx
from foveanet.data.image_folder import IMG_EXTENSIONS, ImageFolder, load_image

__all__ = [
    "transforms", "DataLoader", "default_collate", "Dataset", "TensorDataset", "Subset",
    "ConcatDataset", "random_split", "FashionMNIST", "MNIST", "ChecksumError",
    "DatasetNotFoundError", "read_idx", "write_idx", "IDXError", "ImageFolder", "load_image",
    "IMG_EXTENSIONS",
]
