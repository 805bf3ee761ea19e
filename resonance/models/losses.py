"""The objective: cross-modal contrastive alignment with soft targets, intra-modal supervised
contrastive terms, valence/arousal regression and category cross-entropy.

There are no paired images and sounds: which image/sound pairs are congruent follows from the shared
emotion space. For a batch of n images and m sounds the target of image i over the sounds is

    T[i, :] = S[i, :] / sum_j S[i, j],   S = similarity_matrix(p_img, va_img, p_snd, va_snd)

(:func:`resonance.data.emotion.similarity_matrix`, computed here in torch by :func:`soft_similarity`),
and the cross-modal term is the cross-entropy of ``softmax(logit_scale * z_img @ z_snd.T)`` against T,
in both directions (CLIP's symmetric InfoNCE with soft instead of one-hot targets). ``targets="hard"``
replaces S by "same top category" (the ablation); rows without any match are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from resonance.data.emotion import SimilarityConfig, category_kernel
from resonance.errors import ParameterError


@dataclass(frozen=True)
class LossConfig:
    """Weights and options of :class:`DualEncoderLoss` (a weight of 0 switches a term off).

    targets : "soft" (similarity_matrix) or "hard" (same top category)
    target_power : S**power before row normalisation (1 = the similarity as is; >1 sharpens)
    intra_targets : "soft" or "hard" positives of the intra-modal supervised contrastive terms
    va_loss : "ccc" (1 - concordance correlation, per dimension, averaged) or "mse"
    modality_weight : weight of the modality-centroid term ``|mean(z_img) - mean(z_snd)|^2`` over the
        batch (0 = off). Two towers start in two narrow cones of the sphere (the "modality gap", Liang et
        al. 2022) and the contrastive terms are nearly blind to a common offset of one modality, so the
        towers can stay apart; this term pulls the two centroids together. It assumes the batch's
        two sides have comparable emotion mixes, which the balanced sampler provides.
    """

    contrastive_weight: float = 1.0
    intra_weight: float = 0.5
    va_weight: float = 0.5
    category_weight: float = 0.5
    modality_weight: float = 0.0
    targets: str = "soft"
    target_power: float = 1.0
    intra_targets: str = "soft"
    va_loss: str = "ccc"
    similarity_bandwidth: float = SimilarityConfig.bandwidth
    similarity_category_weight: float = SimilarityConfig.category_weight

    def __post_init__(self) -> None:
        for name in ("contrastive_weight", "intra_weight", "va_weight", "category_weight", "modality_weight"):
            if not getattr(self, name) >= 0:
                raise ParameterError(f"loss.{name} must be >= 0, got {getattr(self, name)}")
        for name, value in (("targets", self.targets), ("intra_targets", self.intra_targets)):
            if value not in ("soft", "hard"):
                raise ParameterError(f"loss.{name} must be 'soft' or 'hard', got {value!r}")
        if self.va_loss not in ("ccc", "mse"):
            raise ParameterError(f"loss.va_loss must be 'ccc' or 'mse', got {self.va_loss!r}")
        if not self.target_power > 0:
            raise ParameterError(f"loss.target_power must be > 0, got {self.target_power}")
        if not self.similarity_bandwidth > 0:
            raise ParameterError(f"loss.similarity_bandwidth must be > 0, got {self.similarity_bandwidth}")
        if not 0 <= self.similarity_category_weight <= 1:
            raise ParameterError("loss.similarity_category_weight must be in [0, 1], "
                                 f"got {self.similarity_category_weight}")


def soft_similarity(p_a: torch.Tensor, va_a: torch.Tensor, p_b: torch.Tensor, va_b: torch.Tensor,
                    config: SimilarityConfig | None = None) -> torch.Tensor:
    """:func:`resonance.data.emotion.similarity_matrix` in torch, (n, 12), (n, 2), (m, 12), (m, 2) -> (n, m).

    ``w * cos_K(p_a, p_b) + (1 - w) * exp(-|va_a - va_b|^2 / (2 h^2))`` with ``cos_K`` the cosine of
    the category distributions in the metric of :func:`~resonance.data.emotion.category_kernel`
    (``tests/test_losses.py`` checks it against the numpy original). Two deliberate differences, so
    that a training step never raises: a distribution with no mass gets a category term of 0 (numpy
    raises), and a pair with an undefined (NaN) VA point gets the category term alone.
    """
    config = config if config is not None else SimilarityConfig()
    kernel = torch.as_tensor(np.asarray(category_kernel(config.bandwidth)), dtype=p_a.dtype, device=p_a.device)
    norm_a = torch.einsum("ij,jk,ik->i", p_a, kernel, p_a).clamp(min=0).sqrt()
    norm_b = torch.einsum("ij,jk,ik->i", p_b, kernel, p_b).clamp(min=0).sqrt()
    denom = torch.outer(norm_a, norm_b)
    category_term = torch.where(denom > 0, (p_a @ kernel @ p_b.T) / denom.clamp(min=torch.finfo(p_a.dtype).tiny),
                                torch.zeros_like(denom)).clamp(0.0, 1.0)
    sq = ((va_a[:, None, :] - va_b[None, :, :]) ** 2).sum(-1)
    va_term = torch.exp(-sq / (2.0 * config.bandwidth**2))
    w = config.category_weight
    mixed = w * category_term + (1.0 - w) * va_term
    return torch.where(torch.isfinite(sq), mixed, category_term)


def hard_match(p_a: torch.Tensor, p_b: torch.Tensor) -> torch.Tensor:
    """1 where the two items' top categories agree, else 0 (n, m)."""
    return (p_a.argmax(1)[:, None] == p_b.argmax(1)[None, :]).to(p_a.dtype)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, exclude_diagonal: bool = False) -> torch.Tensor:
    """Mean over rows of ``-sum_j T[i, j] log softmax(logits)[i, j]``, T row-normalised.

    Rows whose target sums to 0 are left out (a hard target with no match); 0 if no row is left.
    With ``exclude_diagonal`` the diagonal is removed from both (intra-modal terms: an item is not
    its own positive).
    """
    if exclude_diagonal:
        eye = torch.eye(logits.shape[0], dtype=torch.bool, device=logits.device)
        logits = logits.masked_fill(eye, float("-inf"))
        targets = targets.masked_fill(eye, 0.0)
    total = targets.sum(1, keepdim=True)
    keep = total.squeeze(1) > 0
    if not bool(keep.any()):
        return logits.sum() * 0.0
    t = targets[keep] / total[keep]
    log_p = F.log_softmax(logits[keep].float(), dim=1)
    log_p = torch.where(t > 0, log_p, torch.zeros_like(log_p))  # 0 * -inf on the removed diagonal
    return -(t * log_p).sum(1).mean()


def ccc(pred: torch.Tensor, target: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Lin's concordance correlation coefficient per column, (n, k) -> (k,).

    ``2 cov / (var_p + var_t + (mean_p - mean_t)^2)``; ``eps`` keeps a constant batch finite.
    """
    mp, mt = pred.mean(0), target.mean(0)
    vp, vt = pred.var(0, unbiased=False), target.var(0, unbiased=False)
    cov = ((pred - mp) * (target - mt)).mean(0)
    return 2 * cov / (vp + vt + (mp - mt) ** 2 + eps)


class DualEncoderLoss(nn.Module):
    """The weighted sum of the four terms (see the module docstring and :class:`LossConfig`).

    ``forward(outputs, labels, logit_scale)`` with ``outputs`` the model's dict, ``labels`` =
    ``{"image": {"p": (n, 12), "va": (n, 2)}, "audio": {...}}`` and ``logit_scale`` the model's
    (already exponentiated and clamped) scale. Returns a dict: ``"loss"`` and every term.
    """

    def __init__(self, config: LossConfig = LossConfig()) -> None:
        super().__init__()
        self.config = config
        self.similarity = SimilarityConfig(config.similarity_bandwidth, config.similarity_category_weight)

    def targets(self, a: dict[str, torch.Tensor], b: dict[str, torch.Tensor], kind: str) -> torch.Tensor:
        if kind == "hard":
            return hard_match(a["p"], b["p"])
        s = soft_similarity(a["p"], a["va"], b["p"], b["va"], self.similarity).clamp(min=0.0)
        return s**self.config.target_power if self.config.target_power != 1 else s

    def forward(self, outputs: dict[str, object], labels: dict[str, dict[str, torch.Tensor]],
                logit_scale: torch.Tensor) -> dict[str, torch.Tensor]:
        cfg = self.config
        modalities = [m for m in ("image", "audio") if m in outputs and m in labels]
        zero = logit_scale * 0.0
        terms = {"contrastive": zero, "intra": zero, "va": zero, "category": zero, "modality": zero}
        if cfg.modality_weight and len(modalities) == 2:
            centroids = [outputs[m]["embedding"].float().mean(0) for m in ("image", "audio")]
            terms["modality"] = (centroids[0] - centroids[1]).pow(2).sum()
        if cfg.contrastive_weight and len(modalities) == 2:
            zi, za = outputs["image"]["embedding"], outputs["audio"]["embedding"]
            logits = logit_scale * zi.float() @ za.float().T
            t = self.targets(labels["image"], labels["audio"], cfg.targets)
            terms["contrastive"] = 0.5 * (soft_cross_entropy(logits, t) + soft_cross_entropy(logits.T, t.T))
        intra, va, cat = [], [], []
        for m in modalities:
            out, lab = outputs[m], labels[m]
            z = out["embedding"].float()
            if cfg.intra_weight and z.shape[0] > 1:
                t = self.targets(lab, lab, cfg.intra_targets)
                intra.append(soft_cross_entropy(logit_scale * z @ z.T, t, exclude_diagonal=True))
            if cfg.va_weight:
                defined = torch.isfinite(lab["va"]).all(1)
                if int(defined.sum()) > 1:
                    pred, target = out["va"][defined].float(), lab["va"][defined].float()
                    if cfg.va_loss == "ccc":
                        va.append(1.0 - ccc(pred, target).mean())
                    else:
                        va.append(F.mse_loss(pred, target))
            if cfg.category_weight:
                log_q = F.log_softmax(out["category_logits"].float(), dim=1)
                cat.append(-(lab["p"].float() * log_q).sum(1).mean())
        for name, values in (("intra", intra), ("va", va), ("category", cat)):
            if values:
                terms[name] = torch.stack(values).mean()
        loss = (cfg.contrastive_weight * terms["contrastive"] + cfg.intra_weight * terms["intra"]
                + cfg.va_weight * terms["va"] + cfg.category_weight * terms["category"]
                + cfg.modality_weight * terms["modality"])
        return {"loss": loss, **terms}
