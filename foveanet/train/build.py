"""Everything ``foveanet train`` builds from settings, and rebuilds from config.json for
``evaluate``, ``predict`` and ``--resume``: datasets, preprocessing, loaders, model,
optimizer, schedule and loss.

config.json is the single source of truth of a run: the normalisation statistics, class
names and input shape measured at training time are stored there, so a run directory is
usable without re-reading the training set.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from foveanet.errors import UserError

# The default recipe (lenet5 on Fashion-MNIST) is tuned to pass 91% test accuracy within
# 90 s of training on a 2-core machine. Measured with benchmarks/train_fashion.py (2-core
# Intel Xeon, benchmarks/results-train.md 2026-12-07 22:20 and 22:45): 20 epochs 91.51% /
# 90.93% (seeds 0 / 1) in 69-74 s on two threads; seed 0 91.19% in 94 s on one.
DEFAULTS = {
    "model": "lenet5", "dataset": "fashion-mnist", "epochs": 20, "batch_size": 128, "lr": 3e-3,
    "optimizer": "adamw", "weight_decay": 1e-4, "momentum": 0.9, "schedule": "onecycle",
    "augment": "flip", "label_smoothing": 0.0, "seed": 0, "limit": None, "test_limit": None,
    "image_size": None, "val_split": 0.1, "test_split": 0.2, "checkpoint_seconds": 30.0, "patience": None,
    "threads": 2, "tta": False, "crop_padding": None,
}

# named settings bundles; explicit command-line options override them.
RECIPES = {
    "default": {},
    # a ~35-second demonstration of the whole pipeline (its accuracy is not benchmarked)
    "quick": {"epochs": 5},
    # the strong recipe: a VGG-style BN network (models.vgg_small), random crops (2 px) and
    # flips, label smoothing, SGD with Nesterov momentum on a one-cycle schedule, flip TTA on
    # the final evaluation. The same recipe in PyTorch: 93.92% after 12 epochs (94.14% with TTA).
    # resnet18 is out of reach on 2 cores: ~21 img/s at 28x28, tens of minutes an epoch.
    "strong": {"model": "vgg_small", "epochs": 14, "optimizer": "sgd", "lr": 0.1,
               "weight_decay": 5e-4, "augment": "flip+crop", "crop_padding": 2,
               "label_smoothing": 0.1, "tta": True},
}

AUGMENTS = ("none", "flip", "crop", "flip+crop", "standard")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("onecycle", "cosine", "step", "none")
BUILTIN = {"fashion-mnist": "FashionMNIST", "fashion_mnist": "FashionMNIST", "mnist": "MNIST"}


class ConfigError(UserError, ValueError):
    """Settings that cannot work; the CLI shows the text as a user error."""


def limit_blas_threads(n: int | None) -> None:
    """Cap BLAS at ``n`` threads for this run (None: leave it); see backend.set_num_threads
    for why training defaults to one thread."""
    if n:
        from foveanet.backend import set_num_threads

        set_num_threads(int(n))


# ------------------------------------------------------------------------- data
def _seeded_split(ds, fraction: float, seed: int, what: str, name: str):
    """(rest, held out): a seeded ``fraction`` of ``ds`` held out (at least one item), both
    in the dataset's own order."""
    from foveanet import data

    n_out = max(1, int(round(fraction * len(ds))))
    if n_out >= len(ds):
        raise ConfigError(f"{name}: {len(ds)} images are too few to hold out a {what} set of "
                          f"{fraction:g} (at least one image must be left to train on)")
    perm = np.random.default_rng(seed).permutation(len(ds))
    return data.Subset(ds, np.sort(perm[n_out:])), data.Subset(ds, np.sort(perm[:n_out]))


def load_datasets(cfg: dict):
    """(train, val, test, classes, input_shape) for ``cfg['dataset']``.

    The validation set (``val_split`` of the training images, seeded by ``seed``; None when
    0) is what model selection reads.  Fashion-MNIST and MNIST bring their own test set; a
    folder of class folders is first split into train/test with ``test_split``.  ``limit``
    caps the training images before the validation split.  Runs written before the
    validation split existed have no ``test_split`` in their config: their ``val_split`` was
    the folder's test fraction, and they had no validation set."""
    from foveanet import data

    legacy = "test_split" not in cfg
    val_split = 0.0 if legacy else float(cfg.get("val_split") or 0.0)
    test_split = float(cfg.get("val_split" if legacy else "test_split") or 0.2)
    for opt, v in (("--val-split", val_split), ("--test-split", test_split)):
        if not 0 <= v < 1 or (opt == "--test-split" and v == 0):
            raise ConfigError(f"{opt} must be {'in (0, 1)' if opt == '--test-split' else 'in [0, 1)'}, got {v:g}")

    name = str(cfg["dataset"])
    if name.lower() in BUILTIN:
        cls = getattr(data, BUILTIN[name.lower()])
        train, test = cls(train=True), cls(train=False)
        classes = list(cls.classes)
        if cfg.get("image_size") not in (None, 28):
            raise ConfigError(f"--image-size applies to image folders; {name} images are 28x28")
    elif Path(name).is_dir():
        size = cfg.get("image_size") or 32
        folder = data.ImageFolder(name, size=size, mode=cfg.get("image_mode"))
        cfg["image_mode"] = folder.mode
        if legacy:  # the permuted order these runs trained with
            n_test = max(1, int(round(test_split * len(folder))))
            perm = np.random.default_rng(int(cfg["seed"])).permutation(len(folder))
            train, test = data.Subset(folder, perm[n_test:]), data.Subset(folder, perm[:n_test])
        else:
            train, test = _seeded_split(folder, test_split, int(cfg["seed"]), "test", name)
        classes = list(folder.classes)
    else:
        hint = " (no such directory)" if ("/" in name or Path(name).suffix) else ""
        raise ConfigError(f"unknown dataset {name!r}{hint}: use fashion-mnist, mnist, or a folder "
                          f"with one sub-folder of images per class")
    if cfg.get("limit"):
        train = data.Subset(train, np.arange(min(int(cfg["limit"]), len(train))))
    if cfg.get("test_limit"):
        test = data.Subset(test, np.arange(min(int(cfg["test_limit"]), len(test))))
    val = None
    if val_split > 0:  # its own generator: the same images whatever the test split drew
        train, val = _seeded_split(train, val_split, int(cfg["seed"]) + 1, "validation", name)
    x0 = train.arrays()[0][:1]
    return train, val, test, classes, list(x0.shape[1:])


def transforms(cfg: dict, train: bool):
    """Augmentation (train only) on [0, 1] images, then normalisation with the stored
    training-set statistics; erasing comes last so erased pixels are the mean (0)."""
    from foveanet.data import transforms as T

    aug = cfg.get("augment", "none")
    if aug not in AUGMENTS:
        raise ConfigError(f"unknown --augment {aug!r}; choose from {', '.join(AUGMENTS)}")
    steps = []
    side = cfg["input_shape"][-1]
    if train and aug in ("crop", "flip+crop", "standard"):
        pad = cfg.get("crop_padding") or max(2, side // 8)
        steps.append(T.RandomCrop(side, padding=int(pad)))
    if train and aug in ("flip", "flip+crop", "standard"):
        steps.append(T.RandomHorizontalFlip())
    steps.append(T.Normalize(cfg["mean"], cfg["std"]))
    if train and aug == "standard":
        steps.append(T.RandomErasing(p=0.5, value=0.0))
    return T.Compose(steps)


def loaders(cfg: dict, train_ds, val_ds, test_ds, device=None):
    """(train, val, test) loaders; val is None without a validation set. ``device``: where
    the batches go (augmentation and normalisation run there; default None: the host).

    Under a process group of p ranks, ``batch_size`` is the global batch: each rank's train
    loader yields its B/p share (a ``DistributedSampler``), and global step b covers the same
    images for every p, which is what lets a run resume at another world size."""
    from foveanet.data import DataLoader
    from foveanet.distributed.process_group import get_world_size

    world, batch = get_world_size(), int(cfg["batch_size"])
    if world > 1:
        from foveanet.distributed import DistributedError, DistributedSampler

        if batch % world:
            raise DistributedError(f"--batch-size {batch} is the global batch: it must divide "
                                   f"evenly over the {world} ranks (say {batch // world * world} "
                                   f"or {(batch // world + 1) * world})")
        sampler = DistributedSampler(train_ds, shuffle=True, seed=int(cfg["seed"]))
        tr = DataLoader(train_ds, batch_size=batch // world, sampler=sampler,
                        transform=transforms(cfg, True), seed=int(cfg["seed"]), device=device)
    else:
        tr = DataLoader(train_ds, batch_size=batch, shuffle=True,
                        transform=transforms(cfg, True), seed=int(cfg["seed"]), device=device)
    ev = transforms(cfg, False)
    va = DataLoader(val_ds, batch_size=512, shuffle=False, transform=ev, device=device) \
        if val_ds is not None else None
    te = DataLoader(test_ds, batch_size=512, shuffle=False, transform=ev, device=device)
    return tr, va, te


def prepare(cfg: dict, device=None):
    """Fill the data-derived config fields (classes, input shape, split sizes, mean/std of
    the training images, their border statistics) and return
    (cfg, train_loader, val_loader, test_loader), whose batches go to ``device`` (default
    None: the host)."""
    from foveanet.data.transforms import mean_std

    train_ds, val_ds, test_ds, classes, shape = load_datasets(cfg)
    cfg["classes"], cfg["input_shape"] = classes, shape
    cfg["train_size"], cfg["test_size"] = len(train_ds), len(test_ds)
    cfg["val_size"] = len(val_ds) if val_ds is not None else 0
    if "mean" not in cfg:
        mean, std = mean_std(train_ds)
        cfg["mean"] = [float(m) for m in mean]
        cfg["std"] = [float(s) if s > 0 else 1.0 for s in std]
    if "image_stats" not in cfg:
        from foveanet.train.image_input import training_image_stats

        cfg["image_stats"] = training_image_stats(train_ds)
    tr, va, te = loaders(cfg, train_ds, val_ds, test_ds, device)
    return cfg, tr, va, te


# ------------------------------------------------------------------------ model
def model(cfg: dict):
    from foveanet import models

    name = cfg["model"]
    if name.lower() not in models.list_models():
        raise ConfigError(f"unknown model {name!r}; available: {', '.join(models.list_models())}")
    c, h, _ = cfg["input_shape"]
    kw = {"num_classes": len(cfg["classes"]), "in_channels": c, **cfg.get("model_kwargs", {})}
    try:
        return models.get_model(name, image_size=h, **kw)
    except TypeError as e:  # builders that adapt to any input size take no image_size
        if "image_size" not in str(e):
            raise
        return models.get_model(name, **kw)


def optimizer(cfg: dict, params):
    from foveanet import optim

    name = cfg["optimizer"]
    lr, wd = float(cfg["lr"]), float(cfg["weight_decay"])
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=float(cfg.get("momentum", 0.9)), weight_decay=wd,
                         nesterov=True)
    raise ConfigError(f"unknown --optimizer {name!r}; choose from {', '.join(OPTIMIZERS)}")


def scheduler(cfg: dict, opt, steps_per_epoch: int):
    from foveanet.optim import lr_scheduler as S

    name, epochs = cfg["schedule"], int(cfg["epochs"])
    if name == "onecycle":
        return S.OneCycleLR(opt, max_lr=float(cfg["lr"]), epochs=epochs, steps_per_epoch=steps_per_epoch)
    if name == "cosine":
        return S.CosineAnnealingLR(opt, T_max=epochs)
    if name == "step":
        return S.StepLR(opt, step_size=max(1, epochs // 3), gamma=0.1)
    if name == "none":
        return None
    raise ConfigError(f"unknown --schedule {name!r}; choose from {', '.join(SCHEDULES)}")


def loss(cfg: dict):
    from foveanet import functional as F

    ls = float(cfg.get("label_smoothing") or 0.0)
    return functools.partial(F.cross_entropy, label_smoothing=ls) if ls else F.cross_entropy
