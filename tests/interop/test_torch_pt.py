"""PyTorch checkpoints and safetensors files: read/write against torch itself, and the
unpickler's refusal of anything that is not a tensor."""
import collections
import io
import os
import pickle
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch import nn as tnn

from foveanet.interop import load_safetensors, load_torch, read_state_dict, save_safetensors, save_torch
from foveanet.interop import torch_pt


class TorchNet(tnn.Module):
    """conv-bn-relu-pool stem, a residual block, a two-branch concat, global pool, linear."""

    def __init__(self):
        super().__init__()
        self.stem = tnn.Sequential(tnn.Conv2d(3, 8, 3, padding=1), tnn.BatchNorm2d(8), tnn.ReLU(),
                                   tnn.MaxPool2d(2))
        self.res = tnn.Sequential(tnn.Conv2d(8, 8, 3, padding=1, bias=False), tnn.BatchNorm2d(8))
        self.branch_a = tnn.Conv2d(8, 4, 1)
        self.branch_b = tnn.Conv2d(8, 4, 3, padding=1)
        self.pool = tnn.AdaptiveAvgPool2d(1)
        self.fc = tnn.Linear(8, 5)

    def forward(self, x):
        x = self.stem(x)
        x = TF.relu(x + self.res(x))
        x = torch.cat([self.branch_a(x), self.branch_b(x)], 1)
        return self.fc(torch.flatten(self.pool(x), 1))


def torch_net(seed=0):
    torch.manual_seed(seed)
    net = TorchNet()
    with torch.no_grad():  # non-trivial running statistics, so that eval-mode BN matters
        for m in net.modules():
            if isinstance(m, tnn.BatchNorm2d):
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    return net.eval()


# ------------------------------------------------------------------------- reading


def test_state_dict_from_torch_save_has_equal_arrays_and_key_order(tmp_path):
    sd = torch_net().state_dict()
    torch.save(sd, tmp_path / "net.pt")
    got = load_torch(tmp_path / "net.pt")
    assert isinstance(got, collections.OrderedDict)
    assert list(got) == list(sd)
    for k, v in sd.items():
        assert got[k].dtype == v.numpy().dtype and got[k].shape == tuple(v.shape), k
        np.testing.assert_array_equal(got[k], v.numpy(), err_msg=k)


def test_views_dtypes_and_shared_storages(tmp_path):
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = {"t": base.t(), "sub": base[1:3, 2:5], "step": base[:, ::2], "scalar": torch.tensor(7),
          "half": torch.randn(5).half(), "bf16": torch.randn(6).bfloat16(), "bool": torch.tensor([True, False]),
          "i8": torch.tensor([-3, 4], dtype=torch.int8), "empty": torch.zeros(0, 3), "f64": torch.randn(2).double()}
    torch.save(sd, tmp_path / "v.pth")
    got = load_torch(tmp_path / "v.pth")
    for k, v in sd.items():
        want = v.float().numpy() if v.dtype == torch.bfloat16 else v.numpy()
        assert got[k].dtype == want.dtype, k
        np.testing.assert_array_equal(got[k], want, err_msg=k)
    got["t"][0, 0] = 100.0  # a copy, not a view into a storage shared with "sub"
    assert got["sub"][0, 0] == 8.0


def test_checkpoint_dict_keeps_nesting(tmp_path):
    sd = torch_net().state_dict()
    torch.save({"state_dict": sd, "epoch": 3, "best": 0.91, "args": {"lr": 0.1, "tag": b"x"},
                "dtype": torch.float16}, tmp_path / "ckpt.pt")
    got = load_torch(tmp_path / "ckpt.pt")
    assert got["epoch"] == 3 and got["best"] == 0.91 and got["args"] == {"lr": 0.1, "tag": b"x"}
    assert got["dtype"] == np.float16
    assert list(got["state_dict"]) == list(sd)
    assert list(read_state_dict(tmp_path / "ckpt.pt")) == list(sd)


def _evil_zip(path, payload):
    buf = io.BytesIO()
    pickle.dump(payload, buf, protocol=2)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/version", "3\n")


class _System:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


class _Eval:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (eval, (f"open({str(self.marker)!r}, 'w').close()",))


@pytest.mark.parametrize("kind, global_name", [(_System, "posix.system"), (_Eval, "builtins.eval")])
def test_malicious_pickle_is_refused_before_it_runs(tmp_path, kind, global_name):
    marker = tmp_path / "pwned"
    evil = tmp_path / "model.pt"
    _evil_zip(evil, collections.OrderedDict(w=kind(marker)))
    with pytest.raises(ValueError, match=f"refusing to load '{global_name}' from model.pt"):
        load_torch(evil)
    assert not marker.exists()
    # the payload does work when unpickled the ordinary way: the refusal is what stopped it
    with zipfile.ZipFile(evil) as z:
        pickle.loads(z.read("archive/data.pkl"))
    assert marker.exists()


def test_whole_pickled_module_is_refused(tmp_path):
    torch.save(tnn.Linear(2, 3), tmp_path / "module.pt")
    with pytest.raises(ValueError, match=r"refusing to load 'torch\.nn\.modules\.linear\.Linear'"):
        load_torch(tmp_path / "module.pt")


def test_stride_past_the_storage_is_refused(tmp_path):
    class Stretched(torch_pt._TensorRef):
        def __reduce__(self):
            fn, args = super().__reduce__()
            return fn, (args[0], 0, (4,), (1000,)) + args[4:]

    storage = torch_pt._StorageRef("0", "f4", 4)
    buf = io.BytesIO()
    torch_pt._TorchPickler(buf, protocol=2).dump({"w": Stretched(storage, (4,))})
    with zipfile.ZipFile(tmp_path / "s.pt", "w") as z:
        z.writestr("archive/data.pkl", buf.getvalue())
        z.writestr("archive/data/0", np.zeros(4, np.float32).tobytes())
    with pytest.raises(ValueError, match="reaches element 3000 of a storage of 4"):
        load_torch(tmp_path / "s.pt")


def test_legacy_and_foreign_files(tmp_path):
    torch.save({"w": torch.ones(2)}, tmp_path / "legacy.pt", _use_new_zipfile_serialization=False)
    with pytest.raises(ValueError, match=r"legacy \(pre-1\.6\) format, a bare pickle .* Re-save it with "
                                         r"torch >= 1\.6 .*weights_only=True.* safetensors file"):
        load_torch(tmp_path / "legacy.pt")
    (tmp_path / "junk.pt").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint"):
        load_torch(tmp_path / "junk.pt")


# ------------------------------------------------------------------------- writing


def test_save_torch_loads_in_torch_weights_only(tmp_path):
    sd = {k: v.numpy() for k, v in torch_net(1).state_dict().items()}
    sd["scalar"] = np.array(2.5, np.float32)
    sd["flags"] = np.array([True, False])
    sd["fortran"] = np.asfortranarray(np.arange(6, dtype=np.int32).reshape(2, 3))
    save_torch(sd, tmp_path / "out.pt")
    back = torch.load(tmp_path / "out.pt", weights_only=True)
    assert list(back) == list(sd)
    for k, v in sd.items():
        assert back[k].numpy().dtype == v.dtype, k
        np.testing.assert_array_equal(back[k].numpy(), v, err_msg=k)
    net = TorchNet()
    net.load_state_dict({k: v for k, v in back.items() if k not in ("scalar", "flags", "fortran")})
    assert [p for p in os.listdir(tmp_path) if p.startswith(".tmp")] == []


def test_save_torch_round_trip_and_refusals(tmp_path):
    sd = {"a": np.random.default_rng(0).standard_normal((3, 2)).astype(np.float16), "n": {"x": np.arange(3)}}
    save_torch(sd, tmp_path / "r.pt")
    got = load_torch(tmp_path / "r.pt")
    np.testing.assert_array_equal(got["a"], sd["a"])
    np.testing.assert_array_equal(got["n"]["x"], sd["n"]["x"])
    with pytest.raises(TypeError, match="no torch storage for dtype complex64"):
        save_torch({"c": np.zeros(2, np.complex64)}, tmp_path / "c.pt")
    assert not (tmp_path / "c.pt").exists()


# ---------------------------------------------------------------------- safetensors


def test_safetensors_against_the_reference_library(tmp_path):
    from safetensors.torch import load_file, save_file

    sd = {"conv.weight": torch.randn(4, 3, 3, 3), "bf": torch.randn(5).bfloat16(),
          "idx": torch.arange(4), "flag": torch.tensor(True), "h": torch.randn(2).half()}
    save_file(sd, tmp_path / "a.safetensors", metadata={"format": "pt"})
    got, meta = load_safetensors(tmp_path / "a.safetensors", with_metadata=True)
    assert meta == {"format": "pt"}
    for k, v in sd.items():
        want = v.float().numpy() if v.dtype == torch.bfloat16 else v.numpy()
        assert got[k].dtype == want.dtype, k
        np.testing.assert_array_equal(got[k], want, err_msg=k)
    save_safetensors(got, tmp_path / "b.safetensors")
    back = load_file(tmp_path / "b.safetensors")
    for k, v in got.items():
        np.testing.assert_array_equal(back[k].numpy(), v, err_msg=k)


def test_safetensors_header_pointing_outside_the_buffer_is_refused(tmp_path):
    import json
    import struct

    header = json.dumps({"w": {"dtype": "F32", "shape": [1000], "data_offsets": [0, 4000]}}).encode()
    (tmp_path / "bad.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 16)
    with pytest.raises(ValueError, match=r"the header describes 4000 bytes of tensor data, the file holds 16"):
        load_safetensors(tmp_path / "bad.safetensors")
