"""U-Net: shapes, parameter count by hand, and forward/backward against a torch U-Net."""
import numpy as np
import pytest
import torch
import torch.nn as tnn

import foveanet
from foveanet.models.unet import level_widths, unet, unet_parameter_count
from tests.torch_ref import close


def _count(model):
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("depth,size,width,up", [(1, 8, 4, "transpose"), (2, 16, 4, "bilinear"),
                                                 (3, 24, 2, "transpose"), (4, 32, 2, "bilinear")])
def test_output_shape(depth, size, width, up):
    net = unet(in_channels=2, num_classes=5, base_width=width, depth=depth, upsampling=up)
    y = net(foveanet.randn(2, 2, size, size + 2 ** depth))
    assert y.shape == (2, 5, size, size + 2 ** depth)


def test_size_must_divide():
    with pytest.raises(ValueError, match="multiples of 2\\*\\*depth = 8"):
        unet(depth=3, base_width=2)(foveanet.randn(1, 1, 20, 24))
    with pytest.raises(ValueError, match="upsampling"):
        unet(upsampling="nearest")


def test_bottleneck_dilation_widens_the_receptive_field_for_free():
    # the bottleneck's second conv alone is dilated; parameters are unchanged. Receptive
    # field at the bottleneck of depth 3, by hand: two 3x3 convs 5, pool 6 (jump 2), two
    # convs 14, pool 16 (jump 4), two convs 32, pool 36 (jump 8), two convs 36 + 16 + 16 = 68;
    # with dilation 2 the last adds 2 * 2 * 8 = 32 instead of 16: 84.
    from foveanet.concepts import receptive_field

    plain, wide = unet(depth=3, base_width=2), unet(depth=3, base_width=2, bottleneck_dilation=2)
    assert _count(plain) == _count(wide)
    assert [m.dilation for m in wide.encoders[3] if hasattr(m, "dilation")] == [(1, 1), (2, 2)]
    assert [m.dilation for m in wide.encoders[2] if hasattr(m, "dilation")] == [(1, 1), (1, 1)]
    for net, side in ((plain, 68), (wide, 84)):
        layers = [m for i, enc in enumerate(net.encoders) for m in ([net.pool] if i else []) + list(enc)]
        assert receptive_field(layers, 64).final.rf == side
    with pytest.raises(ValueError, match="bottleneck_dilation"):
        unet(bottleneck_dilation=0)


def test_parameter_count_by_hand():
    # width 4, depth 1, 1 -> 3 classes, BN: enc DC(1,4) = 36 + 8 + 144 + 8 = 196,
    # DC(4,8) = 288 + 16 + 576 + 16 = 896, up ConvT(8->4, 2x2) = 128 + 4, dec DC(8,4) =
    # 288 + 8 + 144 + 8 = 448, head 4*3 + 3 = 15
    assert _count(unet(1, 3, 4, 1)) == 196 + 896 + 132 + 448 + 15 == 1687
    # bilinear: the up step is a 1x1 conv 8 -> 4 (32 + 4) instead of 132
    assert _count(unet(1, 3, 4, 1, upsampling="bilinear")) == 1687 - 132 + 36
    # no BN: each DC has 2 biases (2b) instead of 2 BN (4b): 188 + 880 + 132 + 440 + 15
    assert _count(unet(1, 3, 4, 1, batch_norm=False)) == 1655
    assert _count(unet()) == unet_parameter_count() == 482_619
    for kw in ({"depth": 4, "base_width": 8}, {"upsampling": "bilinear", "batch_norm": False}):
        assert _count(unet(**kw)) == unet_parameter_count(**kw)


def test_widths_by_hand():
    # widths (2, 3, 5): enc DC(1,2) = 18 + 36 + 8 = 62, DC(2,3) = 54 + 81 + 12 = 147,
    # DC(3,5) = 135 + 225 + 20 = 380; ups ConvT(5->3) = 60 + 3, ConvT(3->2) = 24 + 2;
    # decs DC(6,3) = 162 + 81 + 12 = 255, DC(4,2) = 72 + 36 + 8 = 116; head 2*3 + 3 = 9
    net = unet(1, 3, widths=(2, 3, 5))
    assert net.depth == 2 and net.widths == (2, 3, 5)
    assert _count(net) == unet_parameter_count(1, 3, widths=(2, 3, 5)) == 62 + 147 + 380 + 63 + 26 + 255 + 116 + 9
    # doubling widths are the base_width / depth net, parameter for parameter
    assert _count(unet(widths=(16, 32, 64, 128))) == _count(unet()) == 482_619
    assert level_widths(16, 3, [16, 32, 64, 128]) == level_widths() == [16, 32, 64, 128]


@pytest.mark.parametrize("kw,match", [({"widths": (8,)}, ">= 2 positive"), ({"widths": (8, 0)}, ">= 2 positive"),
                                      ({"widths": (8, 16.5)}, ">= 2 positive"), ({"widths": []}, ">= 2 positive"),
                                      ({"widths": (8, 16), "depth": 2}, "mean depth 1"),
                                      ({"widths": (8, 16), "base_width": 4}, "base_width 8"),
                                      ({"depth": 0}, "depth must be >= 1")])
def test_widths_errors(kw, match):
    with pytest.raises(ValueError, match=match):
        unet(**kw)


class _DC(tnn.Sequential):
    def __init__(self, a, b, d=1):
        super().__init__(tnn.Conv2d(a, b, 3, padding=1, bias=False), tnn.BatchNorm2d(b), tnn.ReLU(),
                         tnn.Conv2d(b, b, 3, padding=d, dilation=d, bias=False), tnn.BatchNorm2d(b), tnn.ReLU())


class TorchUNet(tnn.Module):
    """An independent U-Net in torch with the same parameter names; ``d``: the dilation of
    the bottleneck's second conv."""

    def __init__(self, cin, k, w, depth, up, d=1, widths=None):
        super().__init__()
        c = list(widths) if widths else [w * 2 ** i for i in range(depth + 1)]
        depth = len(c) - 1
        self.encoders = tnn.ModuleList([_DC(cin, c[0])] + [_DC(c[i - 1], c[i], d if i == depth else 1)
                                                            for i in range(1, depth + 1)])
        rev = list(range(depth - 1, -1, -1))
        if up == "transpose":
            self.ups = tnn.ModuleList([tnn.ConvTranspose2d(c[i + 1], c[i], 2, 2) for i in rev])
        else:
            self.ups = tnn.ModuleList([tnn.Sequential(tnn.Upsample(scale_factor=2, mode="bilinear"),
                                                      tnn.Conv2d(c[i + 1], c[i], 1)) for i in rev])
        self.decoders = tnn.ModuleList([_DC(2 * c[i], c[i]) for i in rev])
        self.head = tnn.Conv2d(c[0], k, 1)

    def forward(self, x):
        feats = []
        for i, e in enumerate(self.encoders):
            x = e(x if i == 0 else torch.nn.functional.max_pool2d(x, 2))
            feats.append(x)
        x = feats.pop()
        for u, d in zip(self.ups, self.decoders):
            x = d(torch.cat([feats.pop(), u(x)], 1))
        return self.head(x)


@pytest.mark.parametrize("up,depth,d,widths", [("transpose", 2, 1, None), ("bilinear", 2, 1, None),
                                                ("transpose", 3, 1, None), ("transpose", 2, 2, None),
                                                ("transpose", 3, 1, (3, 4, 6, 9))])
def test_forward_backward_match_torch(up, depth, d, widths, rng):
    shape = {"widths": widths} if widths else {"base_width": 3, "depth": depth}
    net = unet(in_channels=1, num_classes=4, upsampling=up, bottleneck_dilation=d, **shape)
    ref = TorchUNet(1, 4, 3, depth, up, d, widths)
    ref.load_state_dict({k: torch.from_numpy(np.array(v.numpy())) for k, v in net.state_dict().items()})
    x = rng.standard_normal((2, 1, 16, 16)).astype(np.float32)
    g = rng.standard_normal((2, 4, 16, 16)).astype(np.float32)
    xf = foveanet.tensor(x, requires_grad=True)
    xt = torch.from_numpy(x.copy()).requires_grad_(True)
    yf, yt = net(xf), ref(xt)
    close(yf, yt, rtol=1e-4, atol=1e-4, what="output")
    (yf * g).sum().backward()
    (yt * torch.from_numpy(g)).sum().backward()
    close(xf.grad, xt.grad, rtol=1e-3, atol=1e-4, what="input grad")
    ours = dict(net.named_parameters())
    for name, p in ref.named_parameters():
        if name.startswith(("encoders.0.0", "ups.0", "decoders.0.3", "head", f"encoders.{depth}.4")):
            close(ours[name].grad, p.grad, rtol=1e-3, atol=1e-4, what=name)
    # BN running statistics moved the same way in training mode
    close(net.state_dict()["encoders.1.1.running_var"], ref.state_dict()["encoders.1.1.running_var"],
          rtol=1e-4, atol=1e-5, what="running_var")
