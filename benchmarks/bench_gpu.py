"""foveanet on 'cuda' (CuPy) against PyTorch on 'cuda', training steps, one process.

    python -m benchmarks.bench_gpu                      # every case, markdown table on stdout
    python -m benchmarks.bench_gpu --out results.md -k resnet
    python -m benchmarks.bench_gpu --standin --batch 2  # the script's logic on the CPU stand-in

Cases: LeNet-5 (b128, 28x28), vgg_small (b128, 28x28), ResNet-18 (b64, 224x224, 1000
classes), U-Net (default widths, b16, 128x128, per-pixel cross-entropy); each a training step
(forward, loss, backward, SGD with momentum) on the same batch and weights in both (the
torch model loads foveanet's initial weights). Timing: the two sides alternate step by
step after a warm-up; each step ends with a device synchronisation; median and min of the
repeats. ratio = foveanet throughput / torch throughput = torch ms / foveanet ms. TF32 is
off on both sides (CuPy's matmul does not use it unless CUPY_TF32=1; torch's cuDNN convs
would by default), so both compute in float32. The first step's losses are printed beside
the times: equal weights and data give equal losses (vgg_small's dropout draws other masks
on each side, so its losses differ by a little).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time

import numpy as np

SEED = 0


def _fail(msg: str):
    print(f"bench_gpu: {msg}", file=sys.stderr)
    raise SystemExit(2)


# ------------------------------------------------------------------------------ models


def _torch_unet(torch, c, in_channels, num_classes):
    """foveanet.models.UNet's twin (transposed upsampling, BN), its layer names."""
    nn = torch.nn

    def double(a, b):
        return nn.Sequential(nn.Conv2d(a, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU(),
                             nn.Conv2d(b, b, 3, padding=1, bias=False), nn.BatchNorm2d(b), nn.ReLU())

    class UNet(nn.Module):
        def __init__(self):
            super().__init__()
            depth = len(c) - 1
            self.encoders = nn.ModuleList([double(in_channels, c[0])] +
                                          [double(c[i - 1], c[i]) for i in range(1, depth + 1)])
            self.pool = nn.MaxPool2d(2, 2)
            levels = range(depth - 1, -1, -1)
            self.ups = nn.ModuleList([nn.ConvTranspose2d(c[i + 1], c[i], 2, stride=2) for i in levels])
            self.decoders = nn.ModuleList([double(2 * c[i], c[i]) for i in levels])
            self.head = nn.Conv2d(c[0], num_classes, 1)

        def forward(self, x):
            skips = []
            for i, enc in enumerate(self.encoders):
                x = enc(x if i == 0 else self.pool(x))
                skips.append(x)
            x = skips.pop()
            for up, dec in zip(self.ups, self.decoders):
                x = dec(torch.cat([skips.pop(), up(x)], dim=1))
            return self.head(x)

    return UNet()


def _case(name, batch):
    """(foveanet model factory, torch model factory, x shape, target shape, classes)."""
    import torch

    from benchmarks import torch_models
    from foveanet import models

    if name == "lenet5":
        return (lambda: models.get_model("lenet5", num_classes=10, in_channels=1), torch_models.LeNet5,
                (batch, 1, 28, 28), (batch,), 10)
    if name == "vgg_small":
        return (lambda: models.get_model("vgg_small", num_classes=10, in_channels=1), torch_models.SmallVGG,
                (batch, 1, 28, 28), (batch,), 10)
    if name == "resnet18":
        return (lambda: models.resnet18(), torch_models.resnet18, (batch, 3, 224, 224), (batch,), 1000)
    if name == "unet":
        fv = models.unet()
        widths = fv.widths
        return (lambda: fv, lambda: _torch_unet(torch, widths, 1, 11), (batch, 1, 128, 128),
                (batch, 128, 128), 11)
    _fail(f"unknown case {name!r}")


CASES = {"lenet5": 128, "vgg_small": 128, "resnet18": 64, "unet": 16}


# ------------------------------------------------------------------------------ timing


def _steps(name, batch, fv_device, torch_device):
    import torch

    import foveanet as fn
    import foveanet.nn.functional as F
    from benchmarks import torch_models

    fv_factory, torch_factory, xshape, yshape, classes = _case(name, batch)
    rng = np.random.default_rng(SEED)
    x = rng.standard_normal(xshape).astype(np.float32)
    y = rng.integers(0, classes, yshape)
    fn.manual_seed(SEED)
    fv_model = fv_factory()
    tmodel = torch_factory()
    torch_models.copy_weights(fv_model, tmodel)  # on the host, before either moves
    fv_model.to(fv_device).train()
    tmodel.to(torch_device).train()
    fx, fy = fn.tensor(x, device=fv_device), fn.tensor(y, device=fv_device)
    tx, ty = torch.from_numpy(x).to(torch_device), torch.from_numpy(y).to(torch_device)
    fopt = fn.optim.SGD(fv_model.parameters(), lr=0.01, momentum=0.9)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.01, momentum=0.9)

    def fv_step():
        fopt.zero_grad()
        loss = F.cross_entropy(fv_model(fx), fy)
        loss.backward()
        fopt.step()
        return loss

    def torch_step():
        topt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tmodel(tx), ty)
        loss.backward()
        topt.step()
        return loss

    return fv_step, torch_step


def _syncs(standin: bool, torch_device: str):
    import torch

    if standin:
        fv_sync = lambda: None  # noqa: E731  the stand-in computes on the host, synchronously
    else:
        import cupy
        fv_sync = cupy.cuda.get_current_stream().synchronize
    torch_sync = torch.cuda.synchronize if torch_device == "cuda" else (lambda: None)
    return fv_sync, torch_sync


def _timed(step, sync) -> float:
    sync()
    t = time.perf_counter()
    step()
    sync()
    return (time.perf_counter() - t) * 1e3


def run_case(name, batch, repeats, warmup, standin, torch_device):
    fv_step, torch_step = _steps(name, batch, "cuda", torch_device)
    fv_sync, torch_sync = _syncs(standin, torch_device)
    fv_loss = float(fv_step().cpu().numpy())  # the first step: both start from the same weights
    torch_loss = float(torch_step().detach().cpu())
    for _ in range(warmup):
        _timed(fv_step, fv_sync)
        _timed(torch_step, torch_sync)
    fv_ms, torch_ms = [], []
    for _ in range(repeats):  # alternate so that a slow spell of the machine hits both
        fv_ms.append(_timed(fv_step, fv_sync))
        torch_ms.append(_timed(torch_step, torch_sync))
    return {"case": f"{name} train SGD b{batch}", "fv": fv_ms, "torch": torch_ms,
            "loss": (fv_loss, torch_loss)}


# ------------------------------------------------------------------------------ report


def machine(standin: bool, torch_device: str) -> list:
    import torch

    import foveanet as fn

    lines = [f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
             f"- host: {platform.node()}, Python {platform.python_version()}, numpy {np.__version__}, "
             f"torch {torch.__version__} on {torch_device}, foveanet {fn.__version__}",
             f"- load average (1 min): {os.getloadavg()[0]:.1f}"]
    if standin:
        lines.append("- foveanet 'cuda': the CPU stand-in (a check of this script, not a GPU timing)")
    else:
        import cupy
        props = cupy.cuda.runtime.getDeviceProperties(0)
        lines.append(f"- GPU: {props['name'].decode()}, CuPy {cupy.__version__}, CUDA runtime "
                     f"{cupy.cuda.runtime.runtimeGetVersion()}, driver {cupy.cuda.runtime.driverGetVersion()}")
    if torch_device == "cuda":
        lines.append(f"- torch GPU: {torch.cuda.get_device_name(0)}, cuDNN {torch.backends.cudnn.version()}, "
                     "TF32 off")
    lines.append(f"- FOVEANET_KERNELS={os.environ.get('FOVEANET_KERNELS', 'default')}")
    return lines


def table(rows) -> list:
    out = ["| case | foveanet ms (min / median) | torch ms (min / median) | ratio | first loss fv / torch |",
           "|---|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            out.append(f"| {r['case']} | error: {r['error']} | | | |")
            continue
        fm, tm = statistics.median(r["fv"]), statistics.median(r["torch"])
        out.append(f"| {r['case']} | {min(r['fv']):.2f} / {fm:.2f} | {min(r['torch']):.2f} / {tm:.2f} | "
                   f"{tm / fm:.2f} | {r['loss'][0]:.4f} / {r['loss'][1]:.4f} |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", default="", help="only the cases whose name contains this")
    ap.add_argument("--repeats", type=int, default=10, help="timed steps per side (default 10)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps per side (default 3)")
    ap.add_argument("--batch", type=int, default=None, help="one batch size for every case")
    ap.add_argument("--out", default=None, help="also write the table to this markdown file")
    ap.add_argument("--standin", action="store_true",
                    help="foveanet's 'cuda' is the CPU stand-in and torch runs on the CPU: "
                         "checks this script without a GPU (its times mean nothing)")
    args = ap.parse_args(argv)

    try:
        import torch
    except ImportError:
        _fail("needs PyTorch as the yardstick: pip install torch (a CUDA build for the GPU timings)")
    from foveanet.backend import standin as standin_mod

    if args.standin:
        ctx, torch_device = standin_mod.cuda(), "cpu"
    else:
        try:
            from foveanet.backend import devices
            devices.cuda_module()
        except RuntimeError as e:
            _fail(f"no CUDA device for foveanet: {e} (use --standin to check the script on the CPU)")
        if not torch.cuda.is_available():
            _fail("torch sees no CUDA device: install a CUDA build of torch (pip install torch) "
                  "to compare against it")
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
        import contextlib
        ctx, torch_device = contextlib.nullcontext(), "cuda"

    rows = []
    with ctx:
        for name, batch in CASES.items():
            if args.k not in name:
                continue
            b = args.batch or batch
            try:
                rows.append(run_case(name, b, args.repeats, args.warmup, args.standin, torch_device))
            except Exception as e:  # one failing case must not hide the others' numbers
                rows.append({"case": f"{name} train SGD b{b}", "error": f"{type(e).__name__}: {e}"[:300]})
            print(table(rows[-1:])[-1], flush=True)
        head = machine(args.standin, torch_device)
    cmd = "python -m benchmarks.bench_gpu " + " ".join(argv if argv is not None else sys.argv[1:])
    report = ["## foveanet 'cuda' vs PyTorch 'cuda': training steps", "", *head,
              f"- command: `{cmd.strip()}`", "", *table(rows), ""]
    print("\n".join(report))
    if args.out:
        with open(args.out, "a") as f:
            f.write("\n".join(report) + "\n")
    return 1 if any("error" in r for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
