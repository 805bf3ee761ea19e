"""What is explained: scalar functions of a dual encoder's inputs (:class:`Target`).

Every method of :mod:`attribution` explains one scalar per example:

- :func:`alignment` -- s(image, sound), the cosine of the two embeddings in the shared space (the
  embeddings are L2-normalised, so it is their dot product);
- :func:`prototype_alignment` -- the cosine of one item's embedding with an emotion's prototype, the
  normalised mean embedding of that emotion's items *in the other modality*;
- :func:`valence`, :func:`arousal` -- the predicted VA of one item (sigmoid outputs in [0, 1]);
- :func:`category_logit` -- one category's logit for one item.

A target is called as ``target(model, parts)`` with ``parts = {modality: batch part}`` (the collate
structure of :mod:`resonance.train.data`) and returns a tensor (n,).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from resonance.data.emotion import CATEGORIES, CATEGORY_INDEX
from resonance.errors import ParameterError

TARGET_KINDS = ("alignment", "prototype", "va", "category")


@dataclass(frozen=True)
class Target:
    """A scalar function of the inputs (build it with the functions of this module)."""

    kind: str
    modality: str = "image"
    emotion: str = ""
    index: int = 0
    prototype: torch.Tensor | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in TARGET_KINDS:
            raise ParameterError(f"target kind must be one of {list(TARGET_KINDS)}, got {self.kind!r}")
        if self.modality not in ("image", "audio"):
            raise ParameterError(f"modality must be 'image' or 'audio', got {self.modality!r}")

    @property
    def modalities(self) -> tuple[str, ...]:
        """The modalities whose inputs the target reads."""
        return ("image", "audio") if self.kind == "alignment" else (self.modality,)

    @property
    def description(self) -> str:
        if self.kind == "alignment":
            return "alignment s(image, sound): cosine in the shared space"
        if self.kind == "prototype":
            other = "sound" if self.modality == "image" else "image"
            return f"{self.modality} alignment to the {self.emotion} prototype (mean {other} embedding)"
        if self.kind == "va":
            return f"predicted {'valence' if self.index == 0 else 'arousal'} of the {self.modality}"
        return f"{self.emotion} logit of the {self.modality}"

    def __call__(self, model: Any, parts: dict[str, dict[str, torch.Tensor]]) -> torch.Tensor:
        missing = [m for m in self.modalities if m not in parts]
        if missing:
            raise ParameterError(f"the target {self.description!r} needs {missing} inputs")
        from attribution.encode import encode

        if self.kind == "alignment":
            zi = encode(model, "image", parts["image"])
            za = encode(model, "audio", parts["audio"])
            return (zi * za).sum(-1)
        z = encode(model, self.modality, parts[self.modality])
        if self.kind == "prototype":
            return z @ self.prototype.to(z.device, z.dtype)
        heads = model.heads(z)
        if self.kind == "va":
            return heads["va"][:, self.index]
        return heads["category_logits"][:, CATEGORY_INDEX[self.emotion]]


def alignment() -> Target:
    """s(image, sound): cosine of the paired embeddings."""
    return Target("alignment")


def valence(modality: str) -> Target:
    return Target("va", modality, index=0)


def arousal(modality: str) -> Target:
    return Target("va", modality, index=1)


def category_logit(emotion: str, modality: str) -> Target:
    _check_emotion(emotion)
    return Target("category", modality, emotion=emotion)


def prototype_alignment(emotion: str, modality: str, model: Any, items: Sequence[dict[str, Any]],
                        batch_size: int = 256) -> Target:
    """Alignment of a ``modality`` item to the prototype of ``emotion`` in the *other* modality.

    The prototype is the L2-normalised mean embedding of the other modality's ``items`` whose top
    category (argmax of ``p``) is ``emotion``.
    """
    from resonance.train.data import collate

    _check_emotion(emotion)
    other = "audio" if modality == "image" else "image"
    chosen = [it for it in items if it["modality"] == other
              and int(np.argmax(np.asarray(it["p"]))) == CATEGORY_INDEX[emotion]]
    if not chosen:
        raise ParameterError(f"no {other} items of emotion {emotion!r}: the prototype needs at least one; "
                             "choose an emotion present in the data")
    device = next(model.parameters()).device
    zs = []
    with torch.no_grad():
        for start in range(0, len(chosen), batch_size):
            part = collate(chosen[start:start + batch_size])[other]
            zs.append(model.encode(other, {k: v.to(device) for k, v in part.items()}))
    proto = F.normalize(torch.cat(zs).mean(0), dim=0)
    return Target("prototype", modality, emotion=emotion, prototype=proto.detach())


def _check_emotion(emotion: str) -> None:
    if emotion not in CATEGORY_INDEX:
        raise ParameterError(f"unknown emotion {emotion!r}; known: {list(CATEGORIES)}")
