"""DistributedDataParallel on 2 real MPI ranks (mpirun), the sampler, and the errors a user
meets: no process group, models that differ across ranks, a rank that dies or hangs."""
import time

import numpy as np
import pytest

import foveanet as fn
import foveanet.distributed as dist
import foveanet.nn as nn
import foveanet.nn.functional as F
from tests.distributed.mpi import run_mpi


@pytest.fixture
def world_of_one():
    dist.init_process_group()
    yield
    dist.destroy_process_group()


@pytest.mark.parametrize("bucket_mb", [25.0, 0.0005])
def test_two_ranks_take_the_same_sgd_steps_as_one_process(bucket_mb):
    # 0.0005 MB puts nearly every parameter in a bucket of its own: the buckets are sent
    # during backward, in order, and must still sum to the one-process gradient
    proc = run_mpi("ddp_worker.py", 2, ["step", bucket_mb])
    assert proc.stdout.count(": ok,") == 2, proc.stdout


def test_ranks_with_different_models_get_a_clear_error():
    proc = run_mpi("ddp_worker.py", 2, ["mismatch"])
    assert proc.stdout.count("the ranks built different models") == 2
    assert "rank 0 has ['0.weight', [6, 1, 3, 3], 'float32'], rank 1 has ['0.weight', [5, 1, 3, 3]" \
        in proc.stdout


@pytest.mark.parametrize("how", ["die", "hang"])
def test_a_rank_that_dies_or_hangs_ends_the_job(how):
    start = time.monotonic()
    proc = run_mpi("ddp_worker.py", 2, [how], env={"FOVEANET_DIST_TIMEOUT": "3"}, check=False,
                   timeout=90)
    assert proc.returncode != 0
    assert time.monotonic() - start < 60
    if how == "hang":
        assert "waited 3 s for the other 1 rank(s)" in proc.stderr, proc.stderr[-2000:]
        assert "stopping all 2 ranks" in proc.stderr


def test_without_a_process_group_ddp_says_what_to_do():
    with pytest.raises(dist.DistributedError, match="init_process_group"):
        dist.DistributedDataParallel(nn.Linear(2, 2))


def test_world_size_check_names_the_launch():
    with pytest.raises(dist.DistributedError, match=r"expected a world of 2 ranks.*mpirun -n 2"):
        dist.init_process_group(world_size=2)
    assert not dist.is_initialized()


def test_world_of_one_gradients_equal_plain_backward(world_of_one):
    fn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    plain = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 3))
    plain.load_state_dict(model.state_dict())
    ddp = dist.DistributedDataParallel(model, bucket_cap_mb=1e-5)
    x, y = fn.randn(6, 5), fn.randint(0, 3, size=(6,))
    for m in (ddp, plain):
        F.cross_entropy(m(x), y).backward()
    for p, q in zip(model.parameters(), plain.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())
    # a second backward accumulates, as without DDP
    for m in (ddp, plain):
        F.cross_entropy(m(x), y).backward()
    for p, q in zip(model.parameters(), plain.parameters()):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_unused_parameter_gets_a_zero_gradient(world_of_one):
    class TwoHeads(nn.Module):
        def __init__(self):
            super().__init__()
            self.used, self.unused = nn.Linear(3, 2), nn.Linear(3, 2)

        def forward(self, x):
            return self.used(x)

    model = TwoHeads()
    ddp = dist.DistributedDataParallel(model)
    ddp(fn.ones(2, 3)).sum().backward()
    assert model.used.weight.grad.numpy().tolist() == [[2.0] * 3] * 2
    assert np.all(model.unused.weight.grad.numpy() == 0)


def test_no_sync_skips_communication_then_averages_the_accumulated_gradient(world_of_one):
    model = nn.Linear(2, 1)
    ddp = dist.DistributedDataParallel(model)
    with ddp.no_sync():
        ddp(fn.ones(1, 2)).sum().backward()
    ddp(fn.ones(1, 2)).sum().backward()
    assert model.weight.grad.numpy().tolist() == [[2.0, 2.0]]


def test_sampler_shards_are_disjoint_cover_the_data_and_reshuffle_each_epoch():
    data = list(range(103))
    shares = [dist.DistributedSampler(data, num_replicas=4, rank=r, seed=5) for r in range(4)]
    epochs = []
    for epoch in (0, 1):
        for s in shares:
            s.set_epoch(epoch)
        lists = [list(s) for s in shares]
        assert all(len(li) == 26 for li in lists)            # ceil(103 / 4)
        flat = sum(lists, [])
        assert sorted(set(flat)) == data and len(flat) == 104  # one index repeated as padding
        epochs.append(lists[0])
    assert epochs[0] != epochs[1]
    dropped = dist.DistributedSampler(data, num_replicas=4, rank=3, drop_last=True)
    assert len(dropped) == len(list(dropped)) == 25


def test_sampler_with_more_ranks_than_samples_is_an_error():
    with pytest.raises(dist.DistributedError, match="3 samples for 4 ranks"):
        dist.DistributedSampler([1, 2, 3], num_replicas=4, rank=0)
