"""Differentiable encoding for attribution, whatever the towers: descriptor, hybrid or deep.

Two things the training-time forward does not give an attribution method:

- **pixels through a frozen backbone**: a frozen EfficientNet tower embeds pixels without gradients
  (it never needs them in training); :func:`encode` runs its backbone *with* gradients with respect to
  the pixels (the weights stay frozen), so Integrated Gradients on pixels works;
- **the descriptor part of a hybrid tower with its deep part held fixed**: :func:`hold_deep_fixed`
  computes the deep features of a batch once and stores them as ``part["deep_features"]``; then
  :func:`encode` fuses them with the descriptor features of whatever descriptors it is given (a path of
  Integrated Gradients, a grid of integrated Jacobians) without running the CNN again for every step.
  What is explained is then the embedding *as a function of the descriptors at this item's image or
  sound*: the deep features are a constant of the path.
"""

from __future__ import annotations

from typing import Any

import torch

from resonance.errors import ParameterError


def _kind(tower: Any) -> str:
    return type(tower).__name__


def tower_kind(model: Any, modality: str) -> str:
    """``"descriptor"``, ``"hybrid"`` or ``"deep"``."""
    if modality not in model.towers:
        raise ParameterError(f"this model has no {modality} tower")
    kind = _kind(model.towers[modality])
    return {"DescriptorTower": "descriptor", "HybridTower": "hybrid"}.get(kind, "deep")


def has_descriptor_inputs(model: Any, modality: str) -> bool:
    return tower_kind(model, modality) in ("descriptor", "hybrid")


def has_raw_inputs(model: Any, modality: str) -> bool:
    return tower_kind(model, modality) in ("hybrid", "deep")


def _deep(model: Any, modality: str) -> Any:
    tower = model.towers[modality]
    return tower.deep if tower_kind(model, modality) == "hybrid" else tower


def _with_pixel_gradients(model: Any, modality: str, part: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Replace pixels fed to a frozen EfficientNet by its backbone features, computed with gradients."""
    x = part.get("input")
    deep = _deep(model, modality)
    if modality != "image" or x is None or x.dim() != 4 or _kind(deep) != "EfficientNetTower" or not deep.frozen:
        return part
    return {**part, "input": deep.backbone.features(x)}


def encode(model: Any, modality: str, part: dict[str, torch.Tensor]) -> torch.Tensor:
    """L2-normalised embeddings (n, E) of one modality's part, differentiable in its inputs."""
    if "deep_features" in part:
        tower = model.towers[modality]
        fused = tower.fuse(torch.cat([part["deep_features"], tower.descriptor(part)], dim=1))
        return model.projections[modality](fused)
    return model.encode(modality, _with_pixel_gradients(model, modality, part))


def hold_deep_fixed(model: Any, modality: str, part: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """For a hybrid tower: the part with its deep features precomputed (``deep_features``) and the raw
    input dropped; any other tower: the part unchanged."""
    if tower_kind(model, modality) != "hybrid" or "deep_features" in part:
        return part
    with torch.no_grad():
        features = model.towers[modality].deep(part).detach()
    kept = {k: v for k, v in part.items() if k not in ("input", "window_mask")}
    return {**kept, "deep_features": features}
