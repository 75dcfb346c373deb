"""DataLoader: batches of (x, y) Tensors, reproducible and resumable mid-epoch.

Randomness.  The loader owns a base seed (``seed=``, else one number drawn from the global
generator when the loader is built, so ``foveanet.manual_seed`` fixes it).  Epoch ``e``
shuffles with ``default_rng([seed, e])`` and batch ``b`` of it is augmented with
``default_rng([seed, e, b])``.  Because every batch's randomness is a pure function of
(seed, epoch, batch), resuming at batch ``b`` reproduces exactly what an uninterrupted
run would have seen, with no replay of earlier batches; ``state_dict()`` is just those
three integers.

Speed.  Datasets with ``arrays()`` (FashionMNIST, MNIST, ImageFolder, TensorDataset and
Subsets of them) are batched by fancy-indexing the arrays; other datasets fall back to
``dataset[i]`` per sample and ``collate_fn`` (default: stack each field).
"""
from __future__ import annotations

import math

import numpy as np

from foveanet import backend
from foveanet.autograd.tensor import Tensor
from foveanet.backend import devices
from foveanet.data.transforms import call_transform


def default_collate(items):
    """Stack a list of samples into one batch, field by field.

    Tuples (and lists) of fields give a tuple of batched fields, dicts a dict; ints become
    an int64 array, Python floats an array of the default dtype, arrays and Tensors are
    stacked along a new first axis.

    Args:
        items: the samples, all of the same structure.

    Returns:
        The batch: an ndarray, or a tuple or dict of them.

    Example::

        >>> x, y = fn.data.default_collate([(np.zeros(2), 1), (np.ones(2), 0)])
        >>> x
        array([[0., 0.],
               [1., 1.]])
        >>> y
        array([1, 0])
    """
    first = items[0]
    if isinstance(first, (tuple, list)):
        return tuple(default_collate([it[k] for it in items]) for k in range(len(first)))
    if isinstance(first, dict):
        return {k: default_collate([it[k] for it in items]) for k in first}
    arrays = [it.data if isinstance(it, Tensor) else it for it in items]
    if isinstance(arrays[0], (bool, int, np.integer)):
        return np.asarray(arrays, dtype=np.int64)
    if isinstance(arrays[0], float):
        return np.asarray(arrays, dtype=backend.get_default_dtype())
    return np.stack([np.asarray(a) for a in arrays])


def _to_device(a, dev):
    """A batch (an array, or a tuple or dict of them) copied onto ``dev``."""
    if isinstance(a, tuple):
        return tuple(_to_device(v, dev) for v in a)
    if isinstance(a, dict):
        return {k: _to_device(v, dev) for k, v in a.items()}
    if isinstance(a, Tensor):
        return a.to(dev)
    return devices.to_device(a, dev) if hasattr(a, "shape") else a


def _to_tensor(a):
    if isinstance(a, Tensor):
        return a
    if isinstance(a, np.ndarray) or devices.device_array_module(a) is not None:
        return Tensor._wrap(a, False, None)
    if isinstance(a, tuple):
        return tuple(_to_tensor(v) for v in a)
    if isinstance(a, dict):
        return {k: _to_tensor(v) for k, v in a.items()}
    return a


class DataLoader:
    """Iterate over a dataset in batches of Tensors, reproducibly and resumably.

    Epoch e shuffles with ``default_rng([seed, e])`` and batch b of it is augmented with
    ``default_rng([seed, e, b])``, so ``state_dict()`` (seed, epoch, next batch) is all it
    takes to resume mid-epoch exactly. A dataset with ``arrays()`` and no per-sample
    transform is batched by fancy-indexing its arrays; others by ``dataset[i]`` and
    ``collate_fn``. A new ``iter()`` starts the next epoch.

    Args:
        dataset: a map-style dataset (``__len__`` and ``__getitem__``).
        batch_size: samples per batch (default 1).
        shuffle: a new random order every epoch (default False).
        drop_last: leave out the last batch when it is smaller (default False).
        transform: applied to the batched inputs (first field) as one array, e.g.
            ``transforms.Compose([RandomCrop(28, 4), RandomHorizontalFlip()])``; foveanet's
            transforms get the batch's own generator, plain callables are called as ``f(x)``.
        seed: base seed of shuffling and augmentation (default None: one number drawn from
            the global generator, so ``foveanet.manual_seed`` fixes it).
        collate_fn: turns a list of samples into a batch (default: ``default_collate``).
        sampler: the sample order instead of ``shuffle``: an iterable of indices with
            ``len()``, e.g. ``foveanet.distributed.DistributedSampler`` for this rank's share;
            its ``set_epoch(e)`` is called before epoch e's order is read.
        device: where the batches go (``'cuda'``: a GPU), as they are made and before
            ``transform``, so augmentation runs on the device; its random draws stay on the
            host generator, so a seed gives the same batches on every device (default None:
            host NumPy arrays).

    Raises:
        RuntimeError: ``device='cuda'`` where CuPy or a GPU is missing (the message says
            what to install).

    Example::

        >>> ds = fn.data.TensorDataset(np.arange(10, dtype=np.float32), np.arange(10) % 2)
        >>> loader = fn.data.DataLoader(ds, batch_size=4)
        >>> len(loader), [tuple(x.shape) for x, y in loader]         # 4 + 4 + 2
        (3, [(4,), (4,), (2,)])
        >>> loader = fn.data.DataLoader(ds, batch_size=4, shuffle=True, seed=0)
        >>> batches = iter(loader)
        >>> next(batches)[0].numpy()
        array([4., 6., 2., 7.], dtype=float32)
        >>> loader.state_dict()
        {'seed': 0, 'epoch': 0, 'batch': 1}
        >>> resumed = fn.data.DataLoader(ds, batch_size=4, shuffle=True)
        >>> resumed.load_state_dict({'seed': 0, 'epoch': 0, 'batch': 1})
        >>> [x.numpy().tolist() for x, _ in resumed]      # batches 1 and 2 of epoch 0
        [[3.0, 5.0, 9.0, 0.0], [8.0, 1.0]]
        >>> [x.numpy().tolist() for x, _ in batches]      # the same as the first loader's
        [[3.0, 5.0, 9.0, 0.0], [8.0, 1.0]]
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 transform=None, seed: int | None = None, collate_fn=None, sampler=None,
                 device=None):
        if int(batch_size) < 1:
            raise ValueError(f"DataLoader: batch_size must be >= 1, got {batch_size}")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler and shuffle=True are exclusive: the sampler "
                             "chooses the order (DistributedSampler(shuffle=True) shuffles)")
        self.sampler = sampler
        self.device = None if device is None else devices.Device(device)
        if self.device is not None and self.device.type == "cpu":
            self.device = None  # host arrays are the CPU's: nothing to move
        if self.device is not None:
            devices.module_for(self.device)  # no CUDA here: say so now, not at the first batch
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.collate_fn = collate_fn
        self.seed = int(backend.generator().integers(2**63 - 1)) if seed is None else int(seed)
        self.epoch = 0          # the epoch the next iteration produces
        self.start_batch = 0    # and the batch it starts at
        self._running = None    # [epoch, next batch] while an iteration is in progress
        self._arrays = None
        self.fast = (collate_fn is None and hasattr(dataset, "arrays")
                     and getattr(dataset, "transform", None) is None
                     and getattr(dataset, "target_transform", None) is None)

    # ---------------------------------------------------------------- sizes
    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    # ---------------------------------------------------------------- state
    def state_dict(self) -> dict:
        """Where the data stream stands: the epoch and batch that follow the last batch
        yielded (also after a ``break``).  ``load_state_dict`` on a loader over the same
        dataset makes its next iteration start exactly there."""
        epoch, batch = self._running if self._running is not None else (self.epoch, self.start_batch)
        return {"seed": self.seed, "epoch": int(epoch), "batch": int(batch)}

    def load_state_dict(self, state: dict) -> None:
        self.seed = int(state["seed"])
        self.set_epoch(int(state["epoch"]), int(state.get("batch", 0)))

    def set_epoch(self, epoch: int, start_batch: int = 0) -> None:
        if not 0 <= start_batch <= len(self):
            raise ValueError(f"DataLoader: start batch {start_batch} outside 0..{len(self)}")
        self.epoch, self.start_batch, self._running = int(epoch), int(start_batch), None

    def order(self, epoch: int) -> np.ndarray:
        """The sample order of ``epoch``."""
        if self.sampler is not None:
            if hasattr(self.sampler, "set_epoch"):
                self.sampler.set_epoch(epoch)
            return np.asarray(list(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng([self.seed, epoch]).permutation(n)

    # ---------------------------------------------------------------- iteration
    def __iter__(self):
        epoch, start = self.epoch, self.start_batch
        # a new iter() is a new epoch even if the last one was abandoned half way, as in PyTorch
        self.epoch, self.start_batch = epoch + 1, 0
        pos = [epoch, start]
        self._running = pos
        if self.fast and self._arrays is None:
            self._arrays = tuple(np.asarray(a) for a in self.dataset.arrays())
        return self._generate(pos)

    def _generate(self, pos):
        epoch, start = pos
        order = self.order(epoch)
        bs = self.batch_size
        for b in range(start, len(self)):
            idx = order[b * bs:(b + 1) * bs]
            if self.fast:
                fields = tuple(a[idx] for a in self._arrays)
            else:
                fields = (self.collate_fn or default_collate)([self.dataset[int(i)] for i in idx])
            if self.device is not None:
                fields = _to_device(fields, self.device)
            if self.transform is not None:
                rng = np.random.default_rng([self.seed, epoch, b])
                if isinstance(fields, tuple):
                    fields = (call_transform(self.transform, fields[0], rng),) + fields[1:]
                else:
                    fields = call_transform(self.transform, fields, rng)
            # advanced before the yield: while the caller holds batch b, the state names b + 1
            pos[1] = b + 1
            yield _to_tensor(fields)
        if self._running is pos:
            self._running = None

    def __repr__(self):
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, batch_size="
                f"{self.batch_size}, shuffle={self.shuffle}, drop_last={self.drop_last}, "
                f"{'array fast path' if self.fast else 'per-sample'})")
