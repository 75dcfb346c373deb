"""Map-style datasets: anything with ``__len__`` and ``__getitem__``.

Datasets that hold all their samples as arrays also offer ``arrays()``, returning those
arrays; ``DataLoader`` then batches by fancy-indexing them instead of calling
``__getitem__`` once per sample, which in Python would cost more than the training step
of a small CNN.  Subset and ConcatDataset keep that fast path when their parts have it.
"""
from __future__ import annotations

import math

import numpy as np

from foveanet import backend


def _as_array(x) -> np.ndarray:
    # a Tensor keeps its array in .data; anything else goes through NumPy
    data = getattr(x, "data", None)
    return data if isinstance(data, np.ndarray) else np.asarray(x)


class Dataset:
    """The base class of map-style datasets: a subclass defines ``__getitem__`` and ``__len__``.

    ``a + b`` is ``ConcatDataset([a, b])``. A dataset that holds its samples as arrays can
    also define ``arrays()``, returning them, and the DataLoader then batches by
    fancy-indexing instead of calling ``__getitem__`` per sample.

    Example::

        >>> class Squares(fn.data.Dataset):
        ...     def __len__(self):
        ...         return 4
        ...     def __getitem__(self, i):
        ...         return np.float32(i * i), i
        >>> x, y = next(iter(fn.data.DataLoader(Squares(), batch_size=4)))
        >>> x.numpy(), y.numpy()
        (array([0., 1., 4., 9.], dtype=float32), array([0, 1, 2, 3]))
        >>> len(Squares() + Squares())
        8
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __add__(self, other: "Dataset") -> "ConcatDataset":
        return ConcatDataset([self, other])



class _UInt8ImageDataset(Dataset):
    """Images held in memory as uint8, served as float32 in [0, 1].  Subclasses set
    ``targets`` (int64), ``transform``, ``target_transform`` and define ``_nchw()``: the
    images as an (N, C, H, W) uint8 array (a view)."""

    def _nchw(self) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} must define _nchw")

    def __len__(self) -> int:
        return len(self._nchw())

    def __getitem__(self, index):
        """(image (C, H, W) float32 in [0, 1], class index) with the transforms applied."""
        img = self._nchw()[index].astype(np.float32) * np.float32(1 / 255)
        target = int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            target = self.target_transform(target)
        return img, target

    def arrays(self, dtype=np.float32):
        """All images as (N, C, H, W) ``dtype`` (in [0, 1] when floating) and the int64
        targets: the DataLoader's fast path (ignores the per-sample transforms)."""
        dt = np.dtype(dtype)
        x = self._nchw().astype(dt)
        if dt.kind == "f":
            x *= dt.type(1 / 255)
        return x, self.targets

class TensorDataset(Dataset):
    """A dataset whose samples are the rows of the given arrays: ``ds[i] == (a[i], b[i], ...)``.

    Args:
        *tensors: arrays or Tensors with the same first dimension (Tensors are stored as
            their arrays).

    Example::

        >>> x = np.arange(6, dtype=np.float32).reshape(3, 2)
        >>> ds = fn.data.TensorDataset(x, np.array([0, 1, 0]))
        >>> len(ds)
        3
        >>> features, label = ds[1]
        >>> features, int(label)
        (array([2., 3.], dtype=float32), 1)
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one array")
        self.tensors = tuple(_as_array(t) for t in tensors)
        n = len(self.tensors[0])
        bad = [t.shape for t in self.tensors if len(t) != n]
        if bad:
            raise ValueError(f"TensorDataset: all arrays need the same first dimension; got "
                             f"{[t.shape for t in self.tensors]}")

    def __len__(self) -> int:
        return len(self.tensors[0])

    def __getitem__(self, index):
        return tuple(t[index] for t in self.tensors)

    def arrays(self):
        return self.tensors


class Subset(Dataset):
    """The samples of a dataset at the given indices, in that order.

    The parent's ``arrays()`` (the DataLoader's fast path), transforms and ``classes`` are
    reached through the subset.

    Args:
        dataset: the dataset to take samples from.
        indices: positions in ``dataset`` (negative ones count from the end).

    Example::

        >>> ds = fn.data.TensorDataset(np.arange(5) * 10)
        >>> sub = fn.data.Subset(ds, [4, 0])
        >>> len(sub), int(sub[0][0])
        (2, 40)
        >>> sub.arrays()
        (array([40,  0]),)
    """

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64).reshape(-1)
        n = len(dataset)
        if self.indices.size and (self.indices.min() < -n or self.indices.max() >= n):
            raise IndexError(f"Subset: indices out of range for a dataset of {n} samples")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.dataset[int(self.indices[index])]
        return [self.dataset[int(i)] for i in self.indices[index]]

    def __getattr__(self, name):
        if name == "dataset" or name.startswith("__"):
            raise AttributeError(name)  # not yet set (copy/unpickle): don't recurse
        # per-sample transforms and fast-path arrays are properties of the parent
        if name == "arrays" and hasattr(self.dataset, "arrays"):
            return lambda *a, **k: tuple(x[self.indices] for x in self.dataset.arrays(*a, **k))
        if name in ("transform", "target_transform", "classes", "class_to_idx"):
            return getattr(self.dataset, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class ConcatDataset(Dataset):
    """Several datasets one after the other, as one.

    Args:
        datasets: the datasets, in order; ``ds[i]`` for i past the first one's length goes
            on into the second, and so on.

    Example::

        >>> a = fn.data.TensorDataset(np.arange(3))
        >>> b = fn.data.TensorDataset(np.arange(100, 102))
        >>> ds = fn.data.ConcatDataset([a, b])
        >>> len(ds), ds.cumulative_sizes
        (5, [3, 5])
        >>> int(ds[3][0]), int(ds[-1][0])          # b's first and last samples
        (100, 101)
    """

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: expected at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets]).tolist()

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"ConcatDataset: index out of range for {n} samples")
        k = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = self.cumulative_sizes[k - 1] if k else 0
        return self.datasets[k][index - start]

    def __getattr__(self, name):
        if name == "datasets" or name.startswith("__"):
            raise AttributeError(name)
        if name == "arrays" and all(hasattr(d, "arrays") for d in self.datasets):
            def arrays(*a, **k):
                parts = [d.arrays(*a, **k) for d in self.datasets]
                return tuple(np.concatenate(cols) for cols in zip(*parts))
            return arrays
        if name in ("transform", "target_transform"):
            # the fast path is only valid when no part has a per-sample transform
            vals = [getattr(d, name, None) for d in self.datasets]
            return next((v for v in vals if v is not None), None)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def random_split(dataset, lengths, seed=None, generator=None) -> list[Subset]:
    """Split a dataset into non-overlapping random Subsets of the given lengths.

    Args:
        dataset: the dataset to split.
        lengths: counts summing to ``len(dataset)``, or fractions summing to 1 (rounded
            down, the leftover samples given one each to the first splits, as PyTorch does).
        seed: seed of the permutation (default None).
        generator: a ``numpy.random.Generator`` used when ``seed`` is None (default None:
            the global generator).

    Returns:
        list of ``Subset``, one per length.

    Example::

        >>> ds = fn.data.TensorDataset(np.arange(10))
        >>> train, val = fn.data.random_split(ds, [0.8, 0.2], seed=0)
        >>> len(train), len(val)
        (8, 2)
        >>> sorted(np.concatenate([train.indices, val.indices]).tolist()) == list(range(10))
        True
    """
    n = len(dataset)
    lengths = list(lengths)
    fractional = any(int(f) != f for f in lengths) or (sum(lengths) != n)
    if lengths and fractional and all(0 <= f <= 1 for f in lengths) and math.isclose(sum(lengths), 1):
        counts = [int(math.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
        lengths = counts
    if any(int(x) != x or x < 0 for x in lengths) or sum(lengths) != n:
        raise ValueError(f"random_split: lengths {lengths} must be non-negative counts summing to "
                         f"len(dataset) = {n}, or fractions summing to 1")
    if seed is not None:
        rng = np.random.default_rng(seed)
    else:
        rng = generator if generator is not None else backend.generator()
    perm = rng.permutation(n)
    out, start = [], 0
    for length in lengths:
        out.append(Subset(dataset, perm[start:start + int(length)]))
        start += int(length)
    return out
