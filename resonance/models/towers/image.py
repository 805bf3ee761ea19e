"""Image towers: EfficientNet-Lite0 (ImageNet weights, frozen or fine-tuned) and a small CNN trained
from scratch (the ablation), with the augmentations that are allowed on paintings.

Why the augmentations are only geometric
----------------------------------------
In abstract art the colour *is* the emotional signal: hue, saturation and brightness are among the
strongest predictors of rated valence and arousal (Valdez & Mehrabian 1994; Sartori et al. 2015), and
the handcrafted colour descriptors are built on them. A hue, saturation or brightness jitter would
teach the model that a red and a blue version of a painting feel the same, i.e. destroy the very
label it is trained on. :class:`ImageAugment` therefore applies only crops, horizontal flips and
small rotations, which leave the colour distribution (nearly) unchanged. It acts only in training
mode and is skipped when the tower receives cached backbone features.

Input contract: RGB images as float tensors in [0, 1] of shape (B, 3, H, W); cached EfficientNet
features as (B, 1280).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from resonance.errors import ParameterError
from resonance.models.towers.efficientnet import FEATURE_DIM, efficientnet_lite0


class ImageAugment(nn.Module):
    """Random resized crop, horizontal flip and small rotation, per sample, in training mode only.

    Parameters
    ----------
    crop_scale : (float, float)
        Range of the crop's side length as a fraction of the image side (area = scale**2).
    flip_p : float
        Probability of a horizontal flip.
    max_rotation : float
        Maximum absolute rotation in degrees (small: a painting has an up).

    No colour operation is offered on purpose (see the module docstring).
    """

    def __init__(self, crop_scale: tuple[float, float] = (0.8, 1.0), flip_p: float = 0.5,
                 max_rotation: float = 10.0) -> None:
        super().__init__()
        if not 0 < crop_scale[0] <= crop_scale[1] <= 1:
            raise ParameterError(f"crop_scale must satisfy 0 < low <= high <= 1, got {crop_scale}")
        if not 0 <= flip_p <= 1:
            raise ParameterError(f"flip_p must be in [0, 1], got {flip_p}")
        if not 0 <= max_rotation <= 30:
            raise ParameterError(f"max_rotation must be in [0, 30] degrees, got {max_rotation}")
        self.crop_scale, self.flip_p, self.max_rotation = crop_scale, flip_p, max_rotation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        b = x.shape[0]
        device = x.device
        low, high = self.crop_scale
        scale = low + (high - low) * torch.rand(b, device=device)
        # crop centre anywhere that keeps the crop inside the image (normalised coordinates)
        room = 1.0 - scale
        tx = (torch.rand(b, device=device) * 2 - 1) * room
        ty = (torch.rand(b, device=device) * 2 - 1) * room
        angle = (torch.rand(b, device=device) * 2 - 1) * math.radians(self.max_rotation)
        flip = torch.where(torch.rand(b, device=device) < self.flip_p, -1.0, 1.0)
        cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
        theta = torch.stack([torch.stack([cos * flip, -sin, tx], -1),
                             torch.stack([sin * flip, cos, ty], -1)], 1)
        grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


class EfficientNetTower(nn.Module):
    """EfficientNet-Lite0 backbone (pooled 1280-d features), frozen or fine-tuned.

    When ``frozen``, the backbone stays in eval mode (BatchNorm statistics untouched), runs without
    gradients, and :meth:`embed_backbone` gives features that can be cached: a (B, 1280) tensor fed to
    :meth:`forward` skips the backbone (and the augmentations, which act on pixels).
    """

    def __init__(self, frozen: bool = True, pretrained: bool = True, augment: bool = True) -> None:
        super().__init__()
        self.backbone = efficientnet_lite0(pretrained=pretrained)
        del self.backbone._fc  # the ImageNet classifier is not used
        self.frozen = frozen
        self.augment = ImageAugment() if augment else nn.Identity()
        self.out_dim = FEATURE_DIM
        if frozen:
            self.backbone.requires_grad_(False)
            self.backbone.eval()

    def train(self, mode: bool = True) -> EfficientNetTower:
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def embed_backbone(self, images: torch.Tensor) -> torch.Tensor:
        """Pooled backbone features (B, 1280) of images (B, 3, H, W) in [0, 1], without augmentation."""
        if self.frozen:
            with torch.no_grad():
                return self.backbone.features(images)
        return self.backbone.features(images)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = batch["input"]
        if x.dim() == 2:
            if x.shape[1] != FEATURE_DIM:
                raise ParameterError(f"cached image features must be (B, {FEATURE_DIM}), got {tuple(x.shape)}")
            return x
        return self.embed_backbone(self.augment(x))


class SmallImageCNN(nn.Module):
    """A small CNN trained from scratch (the ablation of the pretrained tower).

    Four conv-BN-ReLU stages (stride 2 from the second), channels ``width * (1, 2, 4, 8)``, global
    average pooling; ``out_dim = 8 * width``.
    """

    def __init__(self, width: int = 32, augment: bool = True) -> None:
        super().__init__()
        if width < 1:
            raise ParameterError(f"width must be >= 1, got {width}")
        layers: list[nn.Module] = []
        cin = 3
        for i, mult in enumerate((1, 2, 4, 8)):
            cout = width * mult
            layers += [nn.Conv2d(cin, cout, 3, stride=1 if i == 0 else 2, padding=1, bias=False),
                       nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]
            cin = cout
        self.net = nn.Sequential(*layers)
        self.augment = ImageAugment() if augment else nn.Identity()
        self.out_dim = cin

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = batch["input"]
        if x.dim() != 4 or x.shape[1] != 3:
            raise ParameterError(f"images must be (B, 3, H, W), got {tuple(x.shape)}")
        return self.net(self.augment(x)).mean(dim=(-2, -1))
