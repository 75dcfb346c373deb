"""AlexNet (Krizhevsky et al. 2012) in the single-tower form torchvision ships ("One weird
trick", Krizhevsky 2014: 64/192/384/256/256 filters), module for module, so a torchvision
state_dict loads unchanged. 61,100,840 parameters for 1000 classes."""
from __future__ import annotations

import foveanet
from foveanet import nn

__all__ = ["AlexNet", "alexnet"]


class AlexNet(nn.Module):
    """AlexNet (Krizhevsky, Sutskever & Hinton 2012) in torchvision's single-tower form.

    Five convs (64, 192, 384, 256, 256 filters; 11x11 stride 4, 5x5, then 3x3) with three
    3x3 stride-2 max pools, an adaptive average pool to 6x6, then dropout-FC 4096-dropout-
    FC 4096-FC num_classes, module for module as torchvision, so its state_dict loads.

    Args:
        num_classes: logits out (default 1000).
        dropout: p of the two dropout layers (default 0.5).
        in_channels: channels of the input images (default 3).

    Shape:
        - Input: (N, in_channels, H, W), H, W >= 63.
        - Output: (N, num_classes).

    Example::

        >>> net = fn.models.AlexNet(num_classes=10)
        >>> sum(p.numel() for p in net.parameters())
        57044810
        >>> net(fn.ones(1, 3, 64, 64)).shape
        (1, 10)
    """

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5, in_channels: int = 3):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, 64, kernel_size=11, stride=4, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1), nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        # fixed 6x6 grid: 224x224 gives 6x6 already, smaller inputs still reach the 9216-wide FC
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout), nn.Linear(256 * 6 * 6, 4096), nn.ReLU(inplace=True),
            nn.Dropout(p=dropout), nn.Linear(4096, 4096), nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(foveanet.flatten(x, 1))


def alexnet(num_classes: int = 1000, in_channels: int = 3, **kwargs) -> AlexNet:
    """AlexNet (Krizhevsky et al. 2012) as torchvision builds it, PyTorch's default initialisation.

    Args:
        num_classes: logits out (default 1000).
        in_channels: channels of the input images (default 3).
        **kwargs: passed on to ``AlexNet`` (``dropout``).

    Example::

        >>> sum(p.numel() for p in fn.models.alexnet().parameters())  # as torchvision
        61100840
    """
    return AlexNet(num_classes=num_classes, in_channels=in_channels, **kwargs)
