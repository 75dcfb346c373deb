"""load_pretrained: PyTorch and safetensors weights into a foveanet model, picked by the
file's magic bytes, giving torch's outputs; key mismatches are listed."""
import collections

import numpy as np
import pytest
import torch

import foveanet
import foveanet.functional as F
from foveanet import nn
from foveanet.interop import load_pretrained, save_safetensors, save_torch
from tests.interop.test_torch_pt import torch_net


class FoveaNet(nn.Module):
    """The same network as tests.interop.test_torch_pt.TorchNet, in foveanet."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2))
        self.res = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8))
        self.branch_a = nn.Conv2d(8, 4, 1)
        self.branch_b = nn.Conv2d(8, 4, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.stem(x)
        x = F.relu(x + self.res(x))  # residual
        x = foveanet.cat([self.branch_a(x), self.branch_b(x)], 1)  # concat
        return self.fc(foveanet.flatten(self.pool(x), 1))


def _check_outputs(model, reference):
    x = torch.randn(3, 3, 16, 16)
    with foveanet.no_grad():
        got = model.eval()(foveanet.tensor(x.numpy())).numpy()
    np.testing.assert_allclose(got, reference(x).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_torch_checkpoint_into_foveanet_model_gives_torch_outputs(tmp_path):
    reference = torch_net(4)
    torch.save(reference.state_dict(), tmp_path / "weights.bin")  # suffix is not what decides
    _check_outputs(load_pretrained(FoveaNet(), tmp_path / "weights.bin"), reference)


def test_wrapped_checkpoint_and_dataparallel_prefix(tmp_path):
    reference = torch_net(5)
    wrapped = collections.OrderedDict(("module." + k, v) for k, v in reference.state_dict().items())
    torch.save({"epoch": 7, "state_dict": wrapped}, tmp_path / "ckpt.pth")
    _check_outputs(load_pretrained(FoveaNet(), tmp_path / "ckpt.pth"), reference)


def test_safetensors_and_foveanet_written_files(tmp_path):
    from safetensors.torch import save_file

    reference = torch_net(6)
    save_file(reference.state_dict(), tmp_path / "w.safetensors")
    model = load_pretrained(FoveaNet(), tmp_path / "w.safetensors")
    _check_outputs(model, reference)
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    save_torch(sd, tmp_path / "again.pt")
    save_safetensors(sd, tmp_path / "again.safetensors")
    _check_outputs(load_pretrained(FoveaNet(), tmp_path / "again.pt"), reference)
    _check_outputs(load_pretrained(FoveaNet(), tmp_path / "again.safetensors"), reference)


def test_mismatched_keys_are_listed(tmp_path):
    sd = torch_net().state_dict()
    sd["extra.weight"] = torch.zeros(2)
    del sd["fc.bias"]
    torch.save(sd, tmp_path / "bad.pt")
    model = FoveaNet()
    before = model.fc.weight.numpy().copy()
    with pytest.raises(ValueError, match=r"(?s)bad\.pt.*FoveaNet.*Missing key.*fc\.bias.*Unexpected key.*extra\.weight"):
        load_pretrained(model, tmp_path / "bad.pt")
    np.testing.assert_array_equal(model.fc.weight.numpy(), before)  # nothing copied
    (tmp_path / "x.txt").write_bytes(b"hello there")
    with pytest.raises(ValueError, match="not a PyTorch checkpoint, a safetensors file or an .onnx model"):
        load_pretrained(model, tmp_path / "x.txt")
