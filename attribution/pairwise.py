"""Pairwise cross-modal attribution of the alignment s(image, sound) over the descriptor towers:
integrated Jacobians (Moeller, Nikolaev and Pado, EMNLP 2023, "An Attribution Method for Siamese
Encoders").

With e_I, e_A the (L2-normalised) embeddings, s(a, b) = e_I(a) . e_A(b), and references a0, b0 (the
train-mean descriptors), the exact identity

    s(a, b) - s(a0, b) - s(a, b0) + s(a0, b0) = (e_I(a) - e_I(a0)) . (e_A(b) - e_A(b0))
                                             = sum_ij (a - a0)_i [J_I^T J_A]_ij (b - b0)_j

holds with J_I = int_0^1 de_I/da (a0 + t (a - a0)) dt, the *integrated* Jacobian (likewise J_A). So
A_ij = (a - a0)_i [J_I^T J_A]_ij (b - b0)_j is the contribution of the pair (image descriptor i, sound
descriptor j), and the only error is the quadrature of the two integrals: ``delta`` = sum_ij A_ij minus
the left-hand side, per pair, reported. The left-hand side is not s(a, b) itself: the two terms
s(a0, b) and s(a, b0) that depend on one item alone are the "main effects" the matrix leaves out
(``extras["main_image"]``, ``extras["main_audio"]``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from attribution.encode import encode, has_descriptor_inputs
from attribution.ig import _prepare, descriptor_tower
from attribution.result import AttributionResult
from attribution.targets import alignment
from resonance.errors import ParameterError


def _integrated_jacobian(model: Any, modality: str, x: torch.Tensor, x0: torch.Tensor, mask: torch.Tensor,
                         n_steps: int, fixed: dict[str, torch.Tensor] | None = None
                         ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Gauss-Legendre integrated Jacobian (n, E, D) of the embedding along the straight path, and the
    embeddings at x and x0. ``fixed`` (a hybrid tower's deep features) is held constant on the path."""
    nodes, weights = np.polynomial.legendre.leggauss(n_steps)
    t = torch.as_tensor((nodes + 1) / 2, dtype=x.dtype, device=x.device)
    w = torch.as_tensor(weights / 2, dtype=x.dtype, device=x.device)
    n, d = x.shape
    fixed = fixed or {}
    path = (x0[None] + t[:, None, None] * (x - x0)[None]).reshape(-1, d).detach().requires_grad_(True)
    m = mask[None].expand(n_steps, -1, -1).reshape(-1, d)
    on_path = {k: v[None].expand(n_steps, *v.shape).reshape(-1, *v.shape[1:]) for k, v in fixed.items()}
    z = encode(model, modality, {"descriptors": path, "mask": m, **on_path})
    e = z.shape[1]
    jac = torch.empty(n_steps * n, e, d, dtype=x.dtype, device=x.device)
    for k in range(e):
        (g,) = torch.autograd.grad(z[:, k].sum(), path, retain_graph=k < e - 1)
        jac[:, k] = g
    jac = (jac.reshape(n_steps, n, e, d) * w[:, None, None, None]).sum(0)
    with torch.no_grad():
        zx = encode(model, modality, {"descriptors": x, "mask": mask, **fixed})
        z0 = encode(model, modality, {"descriptors": x0, "mask": mask, **fixed})
    return jac.detach(), zx, z0


def integrated_jacobians(model: Any, parts: dict[str, dict[str, torch.Tensor]], *, n_steps: int = 32,
                         batch_size: int = 64) -> AttributionResult:
    """(image descriptor x sound descriptor) attribution matrices of s(image_i, sound_i) for every pair i.

    Parameters
    ----------
    model : DualEncoder with descriptor or hybrid towers (a hybrid tower's deep features are computed
        once per item and held fixed: the matrix explains the descriptor part at this image and sound)
    parts : ``{"image": part, "audio": part}`` with descriptors, rows paired
    n_steps : Gauss-Legendre nodes per integral
    batch_size : pairs per pass (memory is n_steps x batch_size x E x D floats)

    Returns
    -------
    AttributionResult
        ``attributions["pair"]["matrix"]`` (n, D_image, D_audio); ``score`` = s(a, b) - s(a0, b) -
        s(a, b0) + s(a0, b0), ``baseline_score`` = 0, ``delta`` = sum of the matrix minus ``score``.
    """
    if n_steps < 2:
        raise ParameterError(f"n_steps must be >= 2, got {n_steps}")
    for m in ("image", "audio"):
        if not has_descriptor_inputs(model, m):
            raise ParameterError(f"integrated Jacobians need descriptor inputs (a 'descriptor' or 'hybrid' model); "
                                 f"the {m} tower is {type(model.towers[m]).__name__}")
    _, parts = _prepare(model, alignment(), parts, {"image": "descriptors", "audio": "descriptors"})
    ti, ta = descriptor_tower(model, "image"), descriptor_tower(model, "audio")
    n = parts["image"]["descriptors"].shape[0]
    mats, lhs, full, mains_i, mains_a = [], [], [], [], []
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        a, b = parts["image"]["descriptors"][sl], parts["audio"]["descriptors"][sl]
        a0, b0 = ti.mean.to(a.dtype).expand_as(a), ta.mean.to(b.dtype).expand_as(b)
        held = {m: {k: v[sl] for k, v in parts[m].items() if k == "deep_features"} for m in ("image", "audio")}
        ja, za, za0 = _integrated_jacobian(model, "image", a, a0, parts["image"]["mask"][sl], n_steps, held["image"])
        jb, zb, zb0 = _integrated_jacobian(model, "audio", b, b0, parts["audio"]["mask"][sl], n_steps, held["audio"])
        inner = torch.einsum("nki,nkj->nij", ja, jb)
        mats.append(((a - a0)[:, :, None] * inner * (b - b0)[:, None, :]).cpu().numpy().astype(np.float64))
        s = lambda x, y: (x * y).sum(-1)  # noqa: E731
        lhs.append((s(za, zb) - s(za0, zb) - s(za, zb0) + s(za0, zb0)).cpu().numpy().astype(np.float64))
        full.append(s(za, zb).cpu().numpy())
        mains_i.append((s(za, zb0) - s(za0, zb0)).cpu().numpy())
        mains_a.append((s(za0, zb) - s(za0, zb0)).cpu().numpy())
    matrix = np.concatenate(mats)
    target = np.concatenate(lhs)
    delta = matrix.reshape(n, -1).sum(1) - target
    return AttributionResult("integrated_jacobians", "alignment s(image, sound): interaction part", "mean",
                             {"pair": {"matrix": matrix}}, delta=delta, score=target,
                             baseline_score=np.zeros(n),
                             feature_names={"image": list(ti.names), "audio": list(ta.names)},
                             extras={"n_steps": n_steps, "alignment": np.concatenate(full).tolist(),
                                     "main_image": np.concatenate(mains_i).tolist(),
                                     "main_audio": np.concatenate(mains_a).tolist()})


def pair_ranking(result: AttributionResult, weights: np.ndarray | None = None) -> list[tuple[str, str, float]]:
    """(image descriptor, sound descriptor, share) sorted by mean |A_ij|; share = that pair's fraction of
    the total mean |A|. ``weights`` (n,) restricts / weighs the pairs (e.g. one emotion's)."""
    m = np.abs(result.attributions["pair"]["matrix"])
    w = np.ones(len(m)) if weights is None else np.asarray(weights, dtype=np.float64)
    mean = (m * w[:, None, None]).sum(0) / max(w.sum(), 1e-12)
    total = mean.sum() or 1.0
    ni, na = result.feature_names["image"], result.feature_names["audio"]
    order = np.argsort(-mean, axis=None, kind="stable")
    return [(ni[k // mean.shape[1]], na[k % mean.shape[1]], float(mean.flat[k] / total)) for k in order]


def per_emotion_matrix(result: AttributionResult, emotions: np.ndarray) -> dict[str, dict[str, Any]]:
    """Mean signed matrix and the top pair for the pairs of each emotion label (``emotions`` (n,) str)."""
    out = {}
    for emotion in sorted(set(emotions.tolist())):
        w = (emotions == emotion).astype(np.float64)
        ranking = pair_ranking(result, w)
        out[emotion] = {"n": int(w.sum()),
                        "mean_matrix": result.attributions["pair"]["matrix"][w > 0].mean(0).tolist(),
                        "top_pairs": ranking[:5]}
    return out
