"""Heads: projections into the shared emotion space, the learnable temperature, and the emotion heads
read *from* that space (so that the space is organised by emotion, not by modality)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from resonance.data.emotion import CATEGORIES
from resonance.errors import ParameterError

#: CLIP's initial temperature (Radford et al. 2021): logit_scale = log(1 / 0.07).
CLIP_LOGIT_SCALE_INIT = math.log(1 / 0.07)
#: CLIP's ceiling on the scale: exp(logit_scale) <= 100.
CLIP_LOGIT_SCALE_MAX = math.log(100.0)


class ProjectionHead(nn.Module):
    """Tower features (B, in_dim) -> L2-normalised embeddings (B, embed_dim).

    ``hidden = 0`` gives a linear projection (CLIP); otherwise Linear-GELU-Linear.
    """

    def __init__(self, in_dim: int, embed_dim: int = 128, hidden: int = 256) -> None:
        super().__init__()
        if embed_dim < 2:
            raise ParameterError(f"embed_dim must be >= 2, got {embed_dim}")
        if hidden:
            self.net = nn.Sequential(nn.Linear(in_dim, hidden), nn.GELU(), nn.Linear(hidden, embed_dim))
        else:
            self.net = nn.Linear(in_dim, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.net(x), dim=-1)


class LogitScale(nn.Module):
    """A learnable log inverse temperature; ``forward()`` returns ``exp(clamp(s, 0, max_value))``.

    The clamp is applied in the forward pass (not by editing the parameter after each step), so the
    parameter itself is left alone by the optimiser's bookkeeping and DDP.
    """

    def __init__(self, init: float = CLIP_LOGIT_SCALE_INIT, max_value: float = CLIP_LOGIT_SCALE_MAX) -> None:
        super().__init__()
        if not 0 <= init <= max_value:
            raise ParameterError(f"logit_scale_init must be in [0, logit_scale_max={max_value}], got {init}")
        self.value = nn.Parameter(torch.tensor(float(init)))
        self.max_value = float(max_value)

    def forward(self) -> torch.Tensor:
        return self.value.clamp(0.0, self.max_value).exp()


class EmotionHeads(nn.Module):
    """Valence/arousal (sigmoid, in [0, 1]) and 12-category logits, read from the shared space.

    One set of heads serves both modalities: an image and a sound at the same point of the space get
    the same predicted emotion.
    """

    def __init__(self, embed_dim: int, n_categories: int = len(CATEGORIES)) -> None:
        super().__init__()
        self.va = nn.Linear(embed_dim, 2)
        self.category = nn.Linear(embed_dim, n_categories)

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"va": torch.sigmoid(self.va(z)), "category_logits": self.category(z)}
