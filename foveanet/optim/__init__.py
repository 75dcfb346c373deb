"""Optimizers and learning-rate schedules with PyTorch's names, update rules and state_dicts."""
from foveanet.optim import lr_scheduler
from foveanet.optim.adam import Adam, AdamW
from foveanet.optim.optimizer import Optimizer
from foveanet.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
