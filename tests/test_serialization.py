"""save/load: safetensors round trips, PyTorch interop, atomic writes, refusal of pickles."""
import json
import os
import pickle

import numpy as np
import pytest
import safetensors.torch
import torch

import foveanet
from foveanet import serialization

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8,
          np.bool_]


def _state_dict(rng):
    return {"conv1.weight": foveanet.tensor(rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
            "conv1.bias": foveanet.tensor(rng.standard_normal(4).astype(np.float32)),
            "bn.num_batches_tracked": foveanet.tensor(np.array(7, dtype=np.int64)),
            "fc.weight": rng.standard_normal((2, 5)).astype(np.float64)}


def test_flat_state_dict_round_trip_and_torch_reads_it(tmp_path, rng):
    sd = _state_dict(rng)
    path = tmp_path / "model.safetensors"
    foveanet.save(sd, path)
    back = foveanet.load(path)
    assert list(back) == list(sd)  # insertion order kept
    for k, v in sd.items():
        assert isinstance(back[k], foveanet.Tensor)
        assert back[k].dtype == np.asarray(v).dtype and back[k].shape == np.asarray(v).shape
        np.testing.assert_array_equal(back[k].data, np.asarray(v))
        back[k].data[...] = 0  # loaded arrays are writable
    theirs = safetensors.torch.load_file(str(path))
    assert set(theirs) == set(sd)
    for k, v in sd.items():
        np.testing.assert_array_equal(theirs[k].numpy(), np.asarray(v))


def test_reads_a_file_written_by_torch(tmp_path):
    path = tmp_path / "t.safetensors"
    ref = {"w": torch.randn(3, 2), "i": torch.arange(5)}
    safetensors.torch.save_file(ref, str(path))
    back = foveanet.load(path)
    assert set(back) == {"w", "i"}
    for k in ref:
        np.testing.assert_array_equal(back[k].data, ref[k].numpy())


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtypes_and_shapes(dtype, tmp_path, rng):
    arrays = {"scalar": np.array(rng.integers(0, 2), dtype=dtype),
              "empty": np.zeros((0, 3), dtype=dtype),
              "full": (rng.standard_normal((2, 3, 4)) * 50).astype(dtype),
              "strided": (rng.standard_normal((6, 4)) * 50).astype(dtype)[::2, ::-1],
              "bigendian": (rng.standard_normal(5) * 50).astype(dtype).astype(np.dtype(dtype).newbyteorder(">"))}
    foveanet.save(arrays, tmp_path / "a.safetensors")
    back = foveanet.load(tmp_path / "a.safetensors")
    for k, v in arrays.items():
        assert back[k].dtype == np.dtype(dtype), k
        assert back[k].shape == v.shape, k
        np.testing.assert_array_equal(back[k].data, v, err_msg=k)


def test_nested_checkpoint_round_trip(tmp_path, rng):
    params = [foveanet.tensor(rng.standard_normal((3, 2)).astype(np.float32), requires_grad=True)]
    params[0].grad = foveanet.ones(3, 2)
    opt = foveanet.optim.Adam(params, lr=0.01, betas=(0.8, 0.9))
    opt.step()
    sched = foveanet.optim.lr_scheduler.ReduceLROnPlateau(opt)
    foveanet.manual_seed(123)
    rng_state = foveanet.get_rng_state()
    ck = {"epoch": 3, "model": _state_dict(rng), "optimizer": opt.state_dict(),
          "scheduler": sched.state_dict(), "rng": rng_state, "loss": 0.25, "nan": float("nan"),
          "ok": True, "name": "run-1", "none": None, "shape": (2, 3), "history": [1.5, 2.5],
          "np_scalar": np.float32(1.5), "mixed_keys": {1: "a", "__x": "b", (1, 2): "c"}}
    path = tmp_path / "ck.safetensors"
    foveanet.save(ck, path)
    back = foveanet.load(path)

    assert back["epoch"] == 3 and back["loss"] == 0.25 and np.isnan(back["nan"])
    assert back["ok"] is True and back["name"] == "run-1" and back["none"] is None
    assert back["shape"] == (2, 3) and back["history"] == [1.5, 2.5]
    assert type(back["np_scalar"]) is np.float32 and back["np_scalar"] == 1.5
    assert back["mixed_keys"] == {1: "a", "__x": "b", (1, 2): "c"}
    assert back["rng"] == rng_state
    assert back["scheduler"]["best"] == float("inf")

    osd, bsd = opt.state_dict(), back["optimizer"]
    assert list(bsd["state"]) == [0]  # int keys survive
    assert bsd["param_groups"][0]["betas"] == (0.8, 0.9)
    assert bsd["param_groups"][0]["params"] == [0]
    assert bsd["state"][0]["step"] == 1
    np.testing.assert_array_equal(bsd["state"][0]["exp_avg"].data, osd["state"][0]["exp_avg"].data)
    # restoring the RNG state replays the same numbers
    expected = foveanet.randn(4).data
    foveanet.set_rng_state(back["rng"])
    np.testing.assert_array_equal(foveanet.randn(4).data, expected)


def test_tensor_names_follow_the_structure(tmp_path, rng):
    path = tmp_path / "n.safetensors"
    foveanet.save({"model": {"w": np.ones(2, np.float32)}, "model.w": np.zeros(2, np.float32),
                   "list": [np.ones(1)]}, path)
    names = set(safetensors.torch.load_file(str(path)))
    assert names == {"model.w", "model.w#2", "list.0"}
    back = foveanet.load(path)
    np.testing.assert_array_equal(back["model"]["w"].data, np.ones(2))
    np.testing.assert_array_equal(back["model.w"].data, np.zeros(2))


def test_unsupported_values_raise_type_error(tmp_path):
    with pytest.raises(TypeError, match="cannot store a set at a"):
        foveanet.save({"a": {1, 2}}, tmp_path / "x")
    with pytest.raises(TypeError, match="complex128"):
        foveanet.save({"a": np.zeros(2, np.complex128)}, tmp_path / "x")
    assert not os.listdir(tmp_path)


def test_crash_during_save_leaves_old_file(tmp_path, monkeypatch, rng):
    path = tmp_path / "ck.safetensors"
    foveanet.save({"w": np.arange(4.0)}, path)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("simulated power loss")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated"):
        foveanet.save({"w": np.zeros(1000)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ck.safetensors"]
    np.testing.assert_array_equal(foveanet.load(path)["w"].data, np.arange(4.0))


def test_crash_during_write_leaves_old_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.safetensors"
    foveanet.save({"w": np.arange(4.0)}, path)
    before = path.read_bytes()
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(KeyboardInterrupt()))
    with pytest.raises(KeyboardInterrupt):
        foveanet.save({"w": np.zeros(10)}, path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["ck.safetensors"]


def test_overwrite_keeps_file_mode(tmp_path):
    path = tmp_path / "ck.safetensors"
    foveanet.save({"w": np.ones(2)}, path)
    os.chmod(path, 0o640)
    foveanet.save({"w": np.zeros(2)}, path)
    assert os.stat(path).st_mode & 0o777 == 0o640
    np.testing.assert_array_equal(foveanet.load(path)["w"].data, np.zeros(2))


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [0, 1, 2, 4, 5])
def test_refuses_pickle_without_running_it(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps({"w": _Exploit(str(marker))}, protocol=protocol))
    assert not marker.exists()
    with pytest.raises(ValueError) as err:
        foveanet.load(path)
    assert str(path) in str(err.value)
    if protocol >= 2:  # protocols 0/1 have no magic byte: they fail the header check instead
        assert "pickle" in str(err.value) and "load_torch" in str(err.value)
    assert not marker.exists()
    pickle.loads(path.read_bytes())  # the payload is live: unpickling would have created it
    assert marker.exists()


def test_refuses_torch_save_zip(tmp_path):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.ones(2)}, path)
    with pytest.raises(ValueError, match=r"zip archive.*torch\.save.*foveanet\.interop\.load_torch"):
        foveanet.load(path)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(FileNotFoundError, match="nope.safetensors"):
        foveanet.load(path)
    with pytest.raises(FileNotFoundError, match="no_dir"):
        foveanet.save({"w": np.ones(1)}, tmp_path / "no_dir" / "x.safetensors")


def _good_file(tmp_path):
    path = tmp_path / "good.safetensors"
    foveanet.save({"w": np.arange(12.0).reshape(3, 4), "n": 5}, path)
    return path, path.read_bytes()


@pytest.mark.parametrize("cut", [0, 5, 8, 20, -1, -30])
def test_truncated_file(tmp_path, cut):
    path, data = _good_file(tmp_path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(data[:cut])
    with pytest.raises(ValueError, match="bad.safetensors.*(too short|header length|data size mismatch)"):
        foveanet.load(bad)


def test_corrupt_files(tmp_path):
    path, data = _good_file(tmp_path)
    n = int.from_bytes(data[:8], "little")
    cases = {
        "header length": (10**12).to_bytes(8, "little") + data[8:],
        "bad JSON": data[:8] + b"{" + b"x" * (n - 1) + data[8 + n:],
        "data size mismatch": data + b"\0" * 8,
    }
    header = json.loads(data[8:8 + n])
    header["w"]["shape"] = [3, 5]
    blob = json.dumps(header, separators=(",", ":")).encode().ljust(n)
    assert len(blob) == n
    cases["data size mismatch for tensor 'w'"] = data[:8] + blob + data[8 + n:]
    for what, blob in cases.items():
        bad = tmp_path / "bad.safetensors"
        bad.write_bytes(blob)
        with pytest.raises(ValueError, match=what) as err:
            foveanet.load(bad)
        assert str(bad) in str(err.value)


def test_load_plain_helpers_are_the_module_functions():
    assert foveanet.save is serialization.save and foveanet.load is serialization.load


def test_new_files_get_the_mode_a_plain_open_would(tmp_path):
    import os

    from foveanet.train.checkpoint import write_json

    umask = os.umask(0o022)
    try:
        foveanet.save({"w": np.ones(2, np.float32)}, tmp_path / "w.safetensors")
        write_json(tmp_path / "m.json", {"a": 1})
    finally:
        os.umask(umask)
    for name in ("w.safetensors", "m.json"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o644, name
