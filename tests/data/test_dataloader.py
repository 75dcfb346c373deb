import numpy as np
import pytest

import foveanet
from foveanet.data import (
    ConcatDataset, DataLoader, Dataset, Subset, TensorDataset, random_split, transforms as T,
)


class ListDataset(Dataset):
    """A generic dataset without arrays(): exercises the per-sample path."""

    def __init__(self, n):
        self.x = np.arange(n * 4, dtype=np.float32).reshape(n, 1, 2, 2)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], i


def _ids(loader):
    # sample i has x[..., 0, 0] == 4 i in both datasets used here
    return [(x.data[:, 0, 0, 0] / 4).astype(int).tolist() for x, _ in loader]


def _tensor_ds(n=10):
    x = np.arange(n * 4, dtype=np.float32).reshape(n, 1, 2, 2)
    return TensorDataset(x, np.arange(n))


@pytest.mark.parametrize("make", [_tensor_ds, ListDataset])
@pytest.mark.parametrize("n,bs,drop,want", [(10, 3, False, [3, 3, 3, 1]), (10, 3, True, [3, 3, 3]),
                                            (9, 3, True, [3, 3, 3]), (2, 5, True, [])])
def test_batch_counts(make, n, bs, drop, want):
    loader = DataLoader(make(n), batch_size=bs, drop_last=drop)
    batches = list(loader)
    assert len(loader) == len(want) and [len(y) for _, y in batches] == want
    if batches:
        x, y = batches[0]
        assert isinstance(x, foveanet.Tensor) and isinstance(y, foveanet.Tensor)
        assert x.dtype == np.float32 and y.dtype == np.int64 and x.shape[1:] == (1, 2, 2)
        assert _ids(loader)[0] == list(range(min(bs, n)))  # no shuffle: in order


@pytest.mark.parametrize("make", [_tensor_ds, ListDataset])
def test_every_sample_once_per_epoch_and_epochs_differ(make):
    loader = DataLoader(make(50), batch_size=8, shuffle=True)
    e0, e1 = sum(_ids(loader), []), sum(_ids(loader), [])
    assert sorted(e0) == sorted(e1) == list(range(50))
    assert e0 != e1 and e0 != list(range(50))


def test_manual_seed_makes_epochs_reproducible():
    def run():
        foveanet.manual_seed(123)
        loader = DataLoader(_tensor_ds(40), batch_size=6, shuffle=True,
                            transform=T.RandomHorizontalFlip())
        return [[x.data.copy() for x, _ in loader] for _ in range(2)]

    a, b = run(), run()
    for ea, eb in zip(a, b):
        for xa, xb in zip(ea, eb):
            np.testing.assert_array_equal(xa, xb)
    foveanet.manual_seed(124)
    other = DataLoader(_tensor_ds(40), batch_size=6, shuffle=True)
    assert sum(_ids(other), []) != sum(([int(v) for v in x[:, 0, 0, 0] / 4] for x in a[0]), [])
    # an explicit seed ignores the global generator
    foveanet.manual_seed(1)
    s1 = _ids(DataLoader(_tensor_ds(40), batch_size=6, shuffle=True, seed=9))
    foveanet.manual_seed(2)
    assert _ids(DataLoader(_tensor_ds(40), batch_size=6, shuffle=True, seed=9)) == s1


@pytest.mark.parametrize("make", [_tensor_ds, ListDataset])
def test_resume_mid_epoch_gives_the_remaining_batches(make):
    aug = T.Compose([T.RandomCrop(2, padding=1), T.RandomHorizontalFlip()])
    full = DataLoader(make(30), batch_size=4, shuffle=True, transform=aug, seed=5)
    list(full)  # epoch 0
    reference = [(x.data.copy(), y.data.copy()) for x, y in full]  # epoch 1, uninterrupted

    run = DataLoader(make(30), batch_size=4, shuffle=True, transform=aug, seed=5)
    list(run)
    for k, _ in enumerate(run):
        if k == 2:
            break
    state = run.state_dict()
    assert state == {"seed": 5, "epoch": 1, "batch": 3}

    resumed = DataLoader(make(30), batch_size=4, shuffle=True, transform=aug, seed=999)
    resumed.load_state_dict(state)
    rest = [(x.data, y.data) for x, y in resumed]
    assert len(rest) == len(reference) - 3
    for (xa, ya), (xb, yb) in zip(rest, reference[3:]):
        np.testing.assert_array_equal(xa, xb)
        np.testing.assert_array_equal(ya, yb)
    # finishing the epoch moves the state to the start of the next one
    assert resumed.state_dict() == {"seed": 5, "epoch": 2, "batch": 0}


def test_state_inside_the_loop_names_the_next_batch():
    loader = DataLoader(_tensor_ds(10), batch_size=3)
    states = [loader.state_dict()["batch"] for _ in loader]
    assert states == [1, 2, 3, 4]


def test_fast_path_is_used_and_transform_sees_batches():
    seen = []
    loader = DataLoader(_tensor_ds(10), batch_size=4, transform=lambda x: seen.append(x.shape) or x)
    assert loader.fast
    list(loader)
    assert seen == [(4, 1, 2, 2), (4, 1, 2, 2), (2, 1, 2, 2)]
    assert not DataLoader(ListDataset(3)).fast


def test_random_split_fractions_and_counts():
    ds = _tensor_ds(10)
    a, b, c = random_split(ds, [0.5, 0.3, 0.2], seed=0)
    assert (len(a), len(b), len(c)) == (5, 3, 2)
    idx = np.concatenate([a.indices, b.indices, c.indices])
    assert sorted(idx.tolist()) == list(range(10))
    a2, _, _ = random_split(ds, [0.5, 0.3, 0.2], seed=0)
    np.testing.assert_array_equal(a.indices, a2.indices)
    assert [len(s) for s in random_split(_tensor_ds(11), [0.5, 0.5], seed=1)] == [6, 5]
    assert [len(s) for s in random_split(ds, [7, 3])] == [7, 3]
    with pytest.raises(ValueError, match="summing"):
        random_split(ds, [7, 4])
    # Subsets keep the fast path and the right rows
    x, y = a.arrays()
    np.testing.assert_array_equal(y, a.indices)
    assert DataLoader(a, batch_size=2).fast
    np.testing.assert_array_equal(a[1][1], a.indices[1])


def test_concat_dataset():
    ds = ConcatDataset([_tensor_ds(3), _tensor_ds(4)])
    assert len(ds) == 7 and ds[3][1] == 0 and ds[-1][1] == 3
    assert [int(v) for v in ds.arrays()[1]] == [0, 1, 2, 0, 1, 2, 3]
    assert len(list(DataLoader(ds + ListDataset(2), batch_size=4))) == 3
    with pytest.raises(IndexError):
        ds[7]
    assert isinstance(Subset(ds, [0]), Subset)


def test_dataset_with_sample_transform_uses_per_sample_path():
    class WithTransform(ListDataset):
        transform = staticmethod(lambda x: x + 1)

        def arrays(self):
            raise AssertionError("fast path must not ignore a per-sample transform")

    loader = DataLoader(WithTransform(4), batch_size=4)
    assert not loader.fast
    assert len(list(loader)) == 1


def test_sampler_gives_the_order_and_the_length():
    fn = foveanet
    from foveanet.distributed import DistributedSampler

    ds = fn.data.TensorDataset(np.arange(10, dtype=np.float32), np.arange(10))
    loaders = [fn.data.DataLoader(ds, batch_size=2, sampler=DistributedSampler(ds, 2, r, seed=1))
               for r in (0, 1)]
    for epoch in range(2):
        got = [np.concatenate([x.numpy() for x, _ in loader]) for loader in loaders]
        assert len(loaders[0]) == 3 and all(len(g) == 5 for g in got)
        assert sorted(np.concatenate(got).tolist()) == list(range(10))
        assert loaders[0].sampler.epoch == epoch     # set_epoch called by the loader
    with pytest.raises(ValueError, match="sampler and shuffle=True are exclusive"):
        fn.data.DataLoader(ds, sampler=loaders[0].sampler, shuffle=True)
