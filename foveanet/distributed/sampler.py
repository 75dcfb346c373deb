"""DistributedSampler: each rank's share of a dataset, a new shuffle every epoch."""
from __future__ import annotations

import math

import numpy as np

from foveanet.distributed.process_group import DistributedError, get_rank, get_world_size

__all__ = ["DistributedSampler"]


class DistributedSampler:
    """The indices of one rank's share of a dataset, as torch.utils.data.DistributedSampler.

    Every epoch the dataset is permuted with the seed ``[seed, epoch]`` (the same on every
    rank), padded by repeating its first indices to a multiple of the world size (or cut to
    one, ``drop_last``), and rank r takes every world-size-th index from position r:

        order = permutation(N; seed, epoch) + order[:pad]      (len = p * ceil(N / p))
        rank r: order[r], order[r + p], order[r + 2p], ...

    so the ranks' shares are disjoint (up to the padding) and together cover the dataset.
    Call ``set_epoch(e)`` before each epoch (``DataLoader`` does it for you), or every epoch
    repeats the same order.

    Args:
        dataset: anything with ``len()``.
        num_replicas: the world size (default: the process group's).
        rank: this rank (default: the process group's).
        shuffle: permute each epoch (default True); False keeps the dataset's order.
        seed: the shuffle's seed, the same on every rank.
        drop_last: cut the tail that does not divide evenly instead of padding it.

    Raises:
        DistributedError: more ranks than samples, or a rank outside 0..num_replicas - 1.

    Example::

        >>> from foveanet.distributed import DistributedSampler
        >>> data = list(range(10))
        >>> a = DistributedSampler(data, num_replicas=2, rank=0, shuffle=False)
        >>> b = DistributedSampler(data, num_replicas=2, rank=1, shuffle=False)
        >>> list(a), list(b)
        ([0, 2, 4, 6, 8], [1, 3, 5, 7, 9])
        >>> c = DistributedSampler(list(range(5)), num_replicas=2, rank=1, shuffle=False)
        >>> list(c)                     # padded with the first index: 6 = 2 * ceil(5 / 2)
        [1, 3, 0]
        >>> shares = [DistributedSampler(data, num_replicas=2, rank=r, seed=3) for r in (0, 1)]
        >>> for s in shares:
        ...     s.set_epoch(1)
        >>> sorted(list(shares[0]) + list(shares[1]))     # disjoint, and all of the data
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        self.dataset = dataset
        self.num_replicas = get_world_size() if num_replicas is None else int(num_replicas)
        self.rank = get_rank() if rank is None else int(rank)
        if self.num_replicas < 1:
            raise DistributedError(f"DistributedSampler: num_replicas must be >= 1, got {self.num_replicas}")
        if not 0 <= self.rank < self.num_replicas:
            raise DistributedError(f"DistributedSampler: rank must be in 0..{self.num_replicas - 1}, "
                                   f"got {self.rank}")
        n = len(dataset)
        if n < self.num_replicas:
            raise DistributedError(
                f"DistributedSampler: the dataset has {n} samples for {self.num_replicas} ranks; "
                "every rank needs at least one: use fewer ranks (mpirun -n) or more data")
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        self.num_samples = (n // self.num_replicas if drop_last
                            else math.ceil(n / self.num_replicas))
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Use epoch ``epoch``'s permutation for the next iteration."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an array."""
        n = len(self.dataset)
        order = (np.random.default_rng([self.seed, self.epoch]).permutation(n) if self.shuffle
                 else np.arange(n))
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:
            order = np.concatenate([order, np.resize(order, self.total_size - n)])
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples
