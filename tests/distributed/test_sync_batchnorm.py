"""SyncBatchNorm: on a world of one it is BatchNorm (forward, every gradient, running
statistics, state_dict); on 2 and 3 real MPI ranks its shares of a batch give what BatchNorm
gives on the whole batch; and the errors a user meets."""
import doctest

import numpy as np
import pytest
import torch

import foveanet as fn
import foveanet.distributed as dist
import foveanet.nn as nn
import foveanet.nn.functional as F
from foveanet.distributed.sync_batchnorm import SyncBatchNorm, _SyncBatchNorm
from tests.distributed.mpi import run_mpi

TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=1e-5, atol=1e-5)}


@pytest.fixture
def world_of_one():
    dist.init_process_group()
    yield
    dist.destroy_process_group()


def _pair(cls, c, dtype, rng, **kw):
    """A SyncBatchNorm and a ``cls`` with the same random weight and bias."""
    sync, bn = SyncBatchNorm(c, dtype=dtype, **kw), cls(c, dtype=dtype, **kw)
    if sync.weight is not None:
        w, b = rng.uniform(0.5, 2, c).astype(dtype), rng.normal(size=c).astype(dtype)
        for m in (sync, bn):
            m.weight.data[...] = w
            if m.bias is not None:
                m.bias.data[...] = b
    return sync, bn


def _step(m, x, r):
    """Forward, L = Σ y·r backward; (y, dx, dweight, dbias) as arrays."""
    m.zero_grad()
    xt = fn.tensor(x, requires_grad=True)
    y = m(xt)
    (y * fn.tensor(r)).sum().backward()
    grads = [None if p is None else p.grad.numpy() for p in (m.weight, m.bias)]
    return y.numpy(), xt.grad.numpy(), *grads


def _batch(rng, shape, dtype):
    per_channel = (1, shape[1]) + (1,) * (len(shape) - 2)
    return (rng.normal(size=shape) * rng.uniform(0.5, 3, per_channel)
            + rng.uniform(-5, 5, per_channel)).astype(dtype)


def _assert_same(sync, bn, shape, dtype, rng, steps=2):
    for step in range(steps):
        x, r = _batch(rng, shape, dtype), rng.normal(size=shape).astype(dtype)
        for what, a, b in zip(("y", "dx", "dweight", "dbias"), _step(sync, x, r), _step(bn, x, r)):
            if b is None:
                assert a is None, what
                continue
            assert a.dtype == b.dtype == dtype, what
            np.testing.assert_allclose(a, b, **TOL[dtype], err_msg=f"step {step}: {what}")
        for buf in ("running_mean", "running_var", "num_batches_tracked"):
            a, b = getattr(sync, buf), getattr(bn, buf)
            if b is None:
                assert a is None, buf
            else:
                np.testing.assert_allclose(a.numpy(), b.numpy(), **TOL[dtype], err_msg=f"step {step}: {buf}")
    sync.eval(), bn.eval()
    x = _batch(rng, shape, dtype)
    np.testing.assert_allclose(sync(x).numpy(), bn(x).numpy(), **TOL[dtype], err_msg="eval")


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm2d, (4, 3, 5, 6)), (nn.BatchNorm1d, (6, 3)),
                                        (nn.BatchNorm1d, (4, 3, 7))])
def test_world_of_one_equals_batchnorm(world_of_one, rng, cls, shape, dtype):
    sync, bn = _pair(cls, 3, dtype, rng)
    _assert_same(sync, bn, shape, dtype, rng)


@pytest.mark.parametrize("kw", [dict(affine=False), dict(momentum=None), dict(track_running_stats=False),
                                dict(bias=False), dict(eps=0.5, momentum=0.3)])
def test_world_of_one_equals_batchnorm_in_every_setting(world_of_one, rng, kw):
    sync, bn = _pair(nn.BatchNorm2d, 3, np.float64, rng, **kw)
    _assert_same(sync, bn, (3, 3, 4, 4), np.float64, rng, steps=3)


@pytest.mark.parametrize("shape", [(2, 3, 4, 3, 5), (3, 3, 2, 2, 2, 2)])
def test_world_of_one_equals_torch_on_5d_and_more(world_of_one, rng, shape):
    # foveanet has no BatchNorm3d: torch's batch_norm in training mode is the oracle
    sync = SyncBatchNorm(3, dtype=np.float64)
    w, b = rng.uniform(0.5, 2, 3), rng.normal(size=3)
    sync.weight.data[...], sync.bias.data[...] = w, b
    x, r = _batch(rng, shape, np.float64), rng.normal(size=shape)
    y, dx, dw, db = _step(sync, x, r)
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    ty = torch.nn.functional.batch_norm(tx, rm, rv, tw, tb, training=True, momentum=0.1, eps=1e-5)
    (ty * torch.tensor(r)).sum().backward()
    for what, a, t in (("y", y, ty), ("dx", dx, tx.grad), ("dweight", dw, tw.grad), ("dbias", db, tb.grad),
                       ("running_mean", sync.running_mean.numpy(), rm),
                       ("running_var", sync.running_var.numpy(), rv)):
        np.testing.assert_allclose(a, t.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=what)


def test_gradcheck(world_of_one, rng):
    # the hand-written backward against central differences, x, weight and bias at once
    x = fn.tensor(_batch(rng, (3, 2, 4), np.float64), requires_grad=True)
    w = fn.tensor(rng.uniform(0.5, 2, 2), requires_grad=True)
    b = fn.tensor(rng.normal(size=2), requires_grad=True)
    assert fn.gradcheck(lambda x, w, b: _SyncBatchNorm.apply(x, w, b), (x, w, b))


def test_state_dict_goes_both_ways_with_batchnorm2d(rng):
    bn = nn.BatchNorm2d(4)
    bn(_batch(rng, (3, 4, 2, 2), np.float32))   # running stats and the counter move
    bn.weight.data[...] = rng.normal(size=4)
    sync = SyncBatchNorm(4)
    assert list(sync.state_dict()) == list(bn.state_dict()) == [
        "weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    sync.load_state_dict(bn.state_dict())
    back = nn.BatchNorm2d(4)
    back.load_state_dict(sync.state_dict())
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(sync.state_dict()[k].numpy(), v.numpy(), err_msg=k)
        np.testing.assert_array_equal(back.state_dict()[k].numpy(), v.numpy(), err_msg=k)
    assert int(sync.num_batches_tracked.numpy()) == 1


def _net():
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                         nn.Sequential(nn.Conv2d(4, 3, 1), nn.BatchNorm2d(3, momentum=None)),
                         nn.Flatten(), nn.Linear(3 * 5 * 5, 6), nn.BatchNorm1d(6, affine=False))


def test_convert_sync_batchnorm_keeps_outputs_and_state_dict(world_of_one, rng):
    fn.manual_seed(3)
    ref = _net()
    fn.manual_seed(3)
    net = _net()
    for m in net.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.weight is not None:
            m.weight.data[...] = rng.uniform(0.5, 2, m.num_features)
    ref.load_state_dict(net.state_dict())
    bn1 = net[1]
    keys = list(net.state_dict())
    net[3].eval()                                  # a training flag the conversion must keep
    converted = SyncBatchNorm.convert_sync_batchnorm(net)
    assert converted is net
    assert [type(net[i]).__name__ for i in (1, 6)] == ["SyncBatchNorm"] * 2
    assert type(net[3][1]) is SyncBatchNorm and not net[3][1].training and net[1].training
    assert (net[3][1].momentum, net[6].affine, net[6].weight) == (None, False, None)
    # the same Parameters and buffers: an optimiser built before the conversion keeps working
    assert net[1].weight is bn1.weight and net[1].running_mean is bn1.running_mean
    assert list(net.state_dict()) == keys
    ref[3].eval()
    for _ in range(2):
        x = rng.normal(size=(5, 2, 5, 5)).astype(np.float32)
        np.testing.assert_allclose(net(x).numpy(), ref(x).numpy(), rtol=1e-5, atol=1e-5)
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(net.state_dict()[k].numpy(), v.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    bn = nn.BatchNorm2d(4)
    assert type(SyncBatchNorm.convert_sync_batchnorm(bn)) is SyncBatchNorm
    sync = SyncBatchNorm(4)
    assert SyncBatchNorm.convert_sync_batchnorm(sync) is sync


def test_training_without_a_process_group_says_what_to_do(rng):
    assert not dist.is_initialized()
    m = SyncBatchNorm(3)
    x = rng.normal(size=(4, 3, 2, 2)).astype(np.float32)
    with pytest.raises(dist.DistributedError, match=r"call foveanet\.distributed\.init_process_group\(\)"):
        m(x)
    assert int(m.num_batches_tracked.numpy()) == 0     # nothing changed
    # eval needs no communication: BatchNorm with the running statistics
    np.testing.assert_allclose(m.eval()(x).numpy(), x / np.sqrt(1 + 1e-5), rtol=1e-6)


def test_process_group_other_than_the_world_is_refused():
    with pytest.raises(dist.DistributedError, match="process_group must be None"):
        SyncBatchNorm(3, process_group="group")
    with pytest.raises(dist.DistributedError, match="process_group must be None"):
        SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm2d(3), process_group=object())
    assert SyncBatchNorm(3, process_group=None).process_group is None


def test_bad_inputs(world_of_one):
    m = SyncBatchNorm(3)
    with pytest.raises(ValueError, match="expected at least 2D input"):
        m(np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="input has 4 channels, expected num_features=3"):
        m(np.zeros((2, 4, 2), np.float32))
    with pytest.raises(ValueError, match="more than 1 value per channel over all ranks"):
        m(np.zeros((1, 3), np.float32))
    with pytest.raises(TypeError, match="float"):
        m(np.zeros((2, 3), np.int64))


def test_docstring_examples_run_and_leave_no_process_group():
    for obj in (SyncBatchNorm, SyncBatchNorm.convert_sync_batchnorm):
        globs = {"fn": fn, "nn": nn, "F": F, "np": np}
        test = doctest.DocTestParser().get_doctest(obj.__doc__, globs, obj.__qualname__, None, 0)
        runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
        fn.manual_seed(0)
        runner.run(test)
        failed, attempted = runner.summarize(verbose=False)
        assert attempted > 0 and failed == 0, obj.__qualname__
        assert not dist.is_initialized()


@pytest.mark.parametrize("n, splits", [(2, "4,4;3,5;1,7"), (3, "2,0,6;3,3,2")])
def test_ranks_shares_equal_batchnorm_on_the_whole_batch(n, splits):
    # every rank checks its share of y and dx, the rank-sum of dweight/dbias and the running
    # statistics against BatchNorm2d on the whole batch, for (N, C) ... (N, C, D, H, W) in
    # float64 and float32; a rank with an empty share (2,0,6) still joins the collectives
    proc = run_mpi("sync_bn_worker.py", n, [splits], timeout=60)
    assert proc.stdout.count("cases match") == n, proc.stdout
