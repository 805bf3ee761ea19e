"""The dual encoder: one tower per modality, projections into one shared space, shared emotion heads."""

from __future__ import annotations

import torch
from torch import nn

from resonance.errors import ParameterError
from resonance.models.heads import EmotionHeads, LogitScale, ProjectionHead

MODALITIES: tuple[str, ...] = ("image", "audio")


class DualEncoder(nn.Module):
    """Images and sounds in one L2-normalised emotion space.

    ``forward(batch)`` takes ``{"image": part, "audio": part}`` (either may be absent), each part a dict
    with ``"input"`` and, for descriptor/hybrid towers, ``"descriptors"`` and ``"mask"``; it returns::

        {"image": {"embedding": (n, D), "va": (n, 2), "category_logits": (n, 12)},
         "audio": {...}, "logit_scale": scalar tensor}
    """

    def __init__(self, towers: dict[str, nn.Module], embed_dim: int = 128, proj_hidden: int = 256,
                 logit_scale: LogitScale | None = None, head_scale_init: float = 0.0) -> None:
        super().__init__()
        unknown = set(towers) - set(MODALITIES)
        if unknown:
            raise ParameterError(f"unknown modalities {sorted(unknown)}; known: {list(MODALITIES)}")
        self.towers = nn.ModuleDict(towers)
        self.projections = nn.ModuleDict({m: ProjectionHead(t.out_dim, embed_dim, proj_hidden)
                                          for m, t in towers.items()})
        self.heads = EmotionHeads(embed_dim, scale_init=head_scale_init)
        self.logit_scale = logit_scale if logit_scale is not None else LogitScale()
        self.embed_dim = embed_dim

    def encode(self, modality: str, part: dict[str, torch.Tensor]) -> torch.Tensor:
        """L2-normalised embeddings (n, D) of one modality's batch part."""
        if modality not in self.towers:
            raise ParameterError(f"this model has no {modality!r} tower; it has {list(self.towers)}")
        return self.projections[modality](self.towers[modality](part))

    def fit_descriptor_stats(self, values: dict[str, object]) -> None:
        """Fit the standardisation of every descriptor tower on train-split values {modality: (N, D)}."""
        from resonance.models.towers.descriptor import DescriptorTower

        for modality, tower in self.towers.items():
            for module in tower.modules():
                if isinstance(module, DescriptorTower):
                    if modality not in values:
                        raise ParameterError(f"the {modality} descriptor tower needs train-split descriptors")
                    module.fit(values[modality])

    def forward(self, batch: dict[str, dict[str, torch.Tensor]]) -> dict[str, object]:
        out: dict[str, object] = {}
        for modality in self.towers:
            if modality in batch:
                z = self.encode(modality, batch[modality])
                out[modality] = {"embedding": z, **self.heads(z)}
        out["logit_scale"] = self.logit_scale()
        return out
