"""Descriptor tower and hybrid tower.

The descriptor tower is an MLP over the handcrafted descriptors of one modality, named by the
descriptor registry (:mod:`handcrafted.registry`), in registry order. It is interpretable by
construction (every input is a named, documented quantity) and is the bridge that attribution needs.

Undefined values are handled explicitly: a descriptor that is NaN on purpose (e.g. F0 of an unvoiced
clip) is set to 0 after standardisation (the train mean) and a mask channel says it was missing, so
the MLP sees ``[z * mask, mask]`` and can learn what "undefined" means instead of receiving a silent
imputation. Standardisation statistics are fit on the train split only (:meth:`DescriptorTower.fit`)
and stored as buffers, so they travel with the checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from resonance.errors import ParameterError


def descriptor_names(modality: str) -> tuple[str, ...]:
    """Names of the registry's descriptors of ``modality`` ("image" or "audio"), in registry order."""
    if modality not in ("image", "audio"):
        raise ParameterError(f"modality must be 'image' or 'audio', got {modality!r}")
    from handcrafted import REGISTRY  # registers the built-in descriptors (numpy only, no torch)

    return tuple(d.name for d in REGISTRY.select(modality))


def _mlp(sizes: list[int], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers += [nn.LayerNorm(sizes[i + 1]), nn.GELU(), nn.Dropout(dropout)]
    return nn.Sequential(*layers)


class DescriptorTower(nn.Module):
    """MLP over standardised descriptors plus their missing-value mask.

    Parameters
    ----------
    names : sequence of str
        Descriptor names, the order of the ``descriptors`` input columns.
    hidden : int
        Width of the two hidden layers; ``out_dim = hidden``.
    dropout : float

    Input: ``batch["descriptors"]`` (B, D) float, NaN where undefined; optional ``batch["mask"]``
    (B, D), 1 where the value is defined (default: ``isfinite``). A value that is masked out is
    ignored even if finite.
    """

    def __init__(self, names: tuple[str, ...] | list[str], hidden: int = 128, dropout: float = 0.1) -> None:
        super().__init__()
        self.names = tuple(names)
        d = len(self.names)
        if d == 0:
            raise ParameterError("a descriptor tower needs at least one descriptor name")
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("std", torch.ones(d))
        self.register_buffer("fitted", torch.zeros((), dtype=torch.bool))
        self.mlp = _mlp([2 * d, hidden, hidden], dropout)
        self.out_dim = hidden

    @torch.no_grad()
    def fit(self, values: np.ndarray | torch.Tensor) -> None:
        """Fit the standardisation on train-split values (N, D), NaN ignored.

        A column with no defined value gets mean 0, std 1; a constant column gets std 1 (so it becomes
        0, not inf/NaN).
        """
        v = torch.as_tensor(np.asarray(values, dtype=np.float64))
        if v.dim() != 2 or v.shape[1] != len(self.names):
            raise ParameterError(f"descriptor values must be (N, {len(self.names)}), got {tuple(v.shape)}")
        finite = torch.isfinite(v)
        count = finite.sum(0)
        filled = torch.where(finite, v, torch.zeros_like(v))
        mean = filled.sum(0) / count.clamp(min=1)
        var = (torch.where(finite, v - mean, torch.zeros_like(v)) ** 2).sum(0) / count.clamp(min=1)
        std = var.sqrt()
        std = torch.where((count > 1) & (std > 1e-12), std, torch.ones_like(std))
        self.mean.copy_(mean.to(self.mean.dtype))
        self.std.copy_(std.to(self.std.dtype))
        self.fitted.fill_(True)

    def features(self, values: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if values.dim() != 2 or values.shape[1] != len(self.names):
            raise ParameterError(f"descriptors must be (B, {len(self.names)}), got {tuple(values.shape)}")
        defined = torch.isfinite(values)
        if mask is not None:
            defined = defined & mask.to(torch.bool)
        z = (torch.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0) - self.mean) / self.std
        m = defined.to(z.dtype)
        return torch.cat([z * m, m], dim=1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.mlp(self.features(batch["descriptors"], batch.get("mask")))


class HybridTower(nn.Module):
    """A deep tower and a descriptor tower fused: concatenation, then a two-layer MLP (``out_dim = hidden``)."""

    def __init__(self, deep: nn.Module, descriptor: DescriptorTower, hidden: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.deep, self.descriptor = deep, descriptor
        self.fuse = _mlp([deep.out_dim + descriptor.out_dim, hidden, hidden], dropout)
        self.out_dim = hidden

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.fuse(torch.cat([self.deep(batch), self.descriptor(batch)], dim=1))
