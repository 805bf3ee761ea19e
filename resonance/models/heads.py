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

    The heads read ``scale * z`` with a learnable ``scale`` (stored as its log, ``log_scale``). The space is
    L2-normalised, so each coordinate of ``z`` is of order ``1/sqrt(D)``; a default-initialised
    ``nn.Linear`` on it gives logits of order 0.05 that a few hundred AdamW steps barely grow, while the
    bias (learnt at once from the label marginals) dominates: the argmax is then one constant class for a
    whole modality (seen on D-ViSA: every painting got the same category). ``scale_init = sqrt(D)``
    gives the head's input unit variance per coordinate, the scale a Linear layer's initialisation
    assumes, and keeps it learnable (cosine classifiers with a learned scale: Wang et al. 2017, NormFace).
    ``scale_init = 1`` is the original head (checkpoints written before the scale load with it).
    """

    def __init__(self, embed_dim: int, n_categories: int = len(CATEGORIES), scale_init: float = 0.0) -> None:
        super().__init__()
        scale_init = float(scale_init) if scale_init else math.sqrt(embed_dim)
        if not scale_init > 0:
            raise ParameterError(f"head_scale_init must be > 0 (0 = sqrt(embed_dim)), got {scale_init}")
        self.va = nn.Linear(embed_dim, 2)
        self.category = nn.Linear(embed_dim, n_categories)
        self.log_scale = nn.Parameter(torch.tensor(math.log(scale_init)))

    def forward(self, z: torch.Tensor) -> dict[str, torch.Tensor]:
        h = z * self.log_scale.exp().to(z.dtype)
        return {"va": torch.sigmoid(self.va(h)), "category_logits": self.category(h)}
