"""Modules, parameters, containers, layers and initialisation with torch.nn's names.

    import foveanet.nn as nn
    model = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 28 * 28, 10))
"""
from foveanet.nn.parameter import Parameter
from foveanet.nn.modules.module import Module, RemovableHandle
from foveanet.nn.modules.container import ModuleDict, ModuleList, ParameterList, Sequential
from foveanet.nn.modules.conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from foveanet.nn.modules.pooling import (
    AdaptiveAvgPool1d, AdaptiveAvgPool2d, AdaptiveMaxPool1d, AdaptiveMaxPool2d, AvgPool1d, AvgPool2d,
    MaxPool1d, MaxPool2d,
)
from foveanet.nn.modules.activation import (
    ELU, GELU, LeakyReLU, LogSoftmax, ReLU, ReLU6, Sigmoid, SiLU, Softmax, Tanh,
)
from foveanet.nn.modules.activation import Hardsigmoid, Hardswish
from foveanet.nn.modules.linear import Linear
from foveanet.nn.modules.normalization import BatchNorm1d, BatchNorm2d, GroupNorm, LayerNorm
from foveanet.nn.modules.dropout import Dropout, Dropout1d, Dropout2d
from foveanet.nn.modules.sparse import Embedding
from foveanet.nn.modules.misc import Flatten, Identity, Unflatten
from foveanet.nn.modules.loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from foveanet.nn.modules.loss import CTCLoss
from foveanet.nn.modules.rnn import GRU, LSTM
from foveanet.nn.modules.upsampling import Upsample
from foveanet.nn.modules.metric_loss import ArcFace, BatchHardTripletLoss, ContrastiveLoss, TripletMarginLoss
from foveanet.nn import functional, init, utils

__all__ = [
    "Parameter", "Module", "RemovableHandle", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
    "Conv1d", "Conv2d", "ConvTranspose1d", "ConvTranspose2d",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool1d", "AdaptiveAvgPool2d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
    "ReLU", "ReLU6", "LeakyReLU", "ELU", "SiLU", "Sigmoid", "Tanh", "GELU", "Softmax", "LogSoftmax",
    "Linear", "BatchNorm1d", "BatchNorm2d", "LayerNorm", "GroupNorm", "Dropout", "Dropout1d", "Dropout2d",
    "Embedding", "Flatten", "Unflatten", "Identity", "Upsample",
    "CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss", "MSELoss", "L1Loss",
    "functional", "init", "utils", "Hardsigmoid", "Hardswish",
    "functional", "init",
    "ContrastiveLoss", "TripletMarginLoss", "BatchHardTripletLoss", "ArcFace",
    "CTCLoss", "LSTM", "GRU",
]
