"""Sanity and faithfulness checks of attributions (Adebayo et al. 2018; the definitions of Quantus,
Hedstroem et al. 2023).

- :func:`cascading_randomisation` -- re-initialise the model's layers one by one from the top (emotion
  heads, projection heads, then the towers from their last layer down) and measure the Spearman rank
  correlation of the attributions with the trained model's after every step. Attributions that do not
  change when the weights are destroyed explain the input, not the model.
- :func:`deletion_insertion` -- replace the most-attributed features by the baseline (deletion) or
  start from the baseline and restore them (insertion), most-attributed first, and compare the
  area under the score curve with that of random orders (a bootstrap interval over examples).
- :func:`faithfulness_correlation` -- Pearson correlation, over random feature subsets, between the
  sum of their attributions and the drop of the score when they are set to the baseline (Bhatt et al.
  2020), averaged over examples.

Features are the attributed fields of every modality, flattened and concatenated (descriptor columns,
or pixels / bins).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy.stats import pearsonr, spearmanr

from attribution.ig import BASELINES, ig_setup
from attribution.result import AttributionResult
from attribution.targets import Target
from resonance.errors import ParameterError


def randomisable_layers(model: Any) -> list[str]:
    """Names of the modules with parameters to re-initialise, top of the model first."""
    names = [n for n, m in model.named_modules() if hasattr(m, "reset_parameters") and n
             and any(True for _ in m.parameters(recurse=False))]
    top = [n for n in names if n.startswith("heads")]
    proj = [n for n in names if n.startswith("projections")]
    towers = [n for n in names if n.startswith("towers")]
    return top[::-1] + proj[::-1] + towers[::-1]


def randomisation_blocks(model: Any) -> list[str]:
    """Coarse blocks, top first: the emotion heads, the projections, then each tower's parts from its
    last down (a hybrid tower: fuse, descriptor, deep)."""
    blocks = ["heads", "projections"]
    for m, tower in model.towers.items():
        blocks += [f"towers.{m}.{name}" for name, child in reversed(list(tower.named_children()))
                   if any(True for _ in child.parameters())]
    return blocks


def cascading_randomisation(model: Any, explain: Callable[[Any], np.ndarray], *, seed: int = 0,
                            absolute: bool = True, blocks: list[str] | None = None,
                            feature_groups: dict[str, slice] | None = None) -> list[dict[str, Any]]:
    """Spearman correlation of ``explain(randomised model)`` with ``explain(model)`` as layers are
    re-initialised cumulatively, top first.

    ``explain`` returns the attributions as an array (any shape; flattened). ``absolute`` compares |a|
    (the common choice: the sign may flip with a re-initialised head). Returns one row per step:
    ``{"layer", "spearman", "spearman_abs", "spearman_signed"}`` (both are measured; ``spearman`` is the
    one ``absolute`` chooses) and, when ``explain`` returns (examples, ...) arrays, ``spearman_importance``:
    the rank correlation of the features' mean |attribution| over the examples; with
    ``feature_groups`` (``{"image": slice, "audio": slice}`` of the flattened features) also
    ``spearman_importance_<group>``, the ranking within each group (a report ranks each modality's
    descriptors separately, and a scale difference between the groups would otherwise inflate the pooled
    number); the model itself is not modified. ``blocks`` (name prefixes, e.g.
    :func:`randomisation_blocks`) re-initialise every layer under a prefix in one step instead of one
    layer per step.
    """
    first = np.asarray(explain(model))
    work = copy.deepcopy(model)
    torch.manual_seed(seed)
    rows = []
    layers = randomisable_layers(work)
    steps = [[n] for n in layers] if blocks is None else [
        [n for n in layers if n == b or n.startswith(b + ".")] for b in blocks]
    for name, group in zip(layers if blocks is None else blocks, steps, strict=True):
        for layer in group:
            work.get_submodule(layer).reset_parameters()
        rho = rank_correlations(first, np.asarray(explain(work)), feature_groups)
        rows.append({"layer": name, "spearman": rho["abs" if absolute else "signed"],
                     **{f"spearman_{k}": v for k, v in rho.items()}})
    return rows


def rank_correlations(a: np.ndarray, b: np.ndarray,
                      feature_groups: dict[str, slice] | None = None) -> dict[str, float]:
    """Spearman correlations of two attribution arrays of the same shape: ``abs`` (|a| element-wise),
    ``signed``, and, for (examples, ...) arrays, ``importance`` (the features' mean |attribution| over
    the examples) and ``importance_<group>`` within each of ``feature_groups``; an undefined correlation
    (a constant array) is 0."""
    rho = {"abs": spearmanr(np.abs(np.ravel(a)), np.abs(np.ravel(b))).statistic,
           "signed": spearmanr(np.ravel(a), np.ravel(b)).statistic}
    if a.ndim >= 2:
        ia, ib = (np.abs(x).reshape(len(x), -1).mean(0) for x in (a, b))
        rho["importance"] = spearmanr(ia, ib).statistic
        for g, sl in (feature_groups or {}).items():
            rho[f"importance_{g}"] = spearmanr(ia[sl], ib[sl]).statistic
    return {k: float(v) if np.isfinite(v) else 0.0 for k, v in rho.items()}


def random_model_floor(model: Any, explain: Callable[[Any], np.ndarray], *, seed: int = 0,
                       feature_groups: dict[str, slice] | None = None) -> dict[str, float]:
    """:func:`rank_correlations` between the attributions of two independently re-initialised copies of
    ``model``: the floor that what every model shares (the input differences x - baseline, masked
    descriptors, the towers' scales) puts under :func:`cascading_randomisation`'s numbers."""
    maps = []
    for k in range(2):
        work = copy.deepcopy(model)
        torch.manual_seed(seed + 100 + k)
        for name in randomisable_layers(work):
            work.get_submodule(name).reset_parameters()
        maps.append(np.asarray(explain(work)))
    return rank_correlations(maps[0], maps[1], feature_groups)


def _flat_setup(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]], result: AttributionResult,
                field: str, baseline: str | None, stats: Any):
    path = ig_setup(model, target, parts, field=field, stats=stats,
                    baselines={m: [baseline or BASELINES.get((m, field), ("mean",))[0]] for m in target.modalities})
    keys, forward, xs, extra = path.keys, path.forward, path.inputs, path.extra
    bases = path.baseline(0)
    shapes = [x.shape[1:] for x in xs]
    sizes = [int(np.prod(s)) for s in shapes]
    n = xs[0].shape[0]
    flat_x = torch.cat([x.reshape(n, -1) for x in xs], 1)
    flat_b = torch.cat([b.reshape(n, -1) for b in bases], 1)
    attr = np.concatenate([np.asarray(result.attributions[m][k]).reshape(n, -1) for m, k in keys], 1)
    if attr.shape != tuple(flat_x.shape):
        raise ParameterError("the attributions do not match the inputs (same parts, target and field?)")

    def score(flat: torch.Tensor) -> np.ndarray:
        pieces, start = [], 0
        for s, size in zip(shapes, sizes, strict=True):
            pieces.append(flat[:, start:start + size].reshape(-1, *s))
            start += size
        reps = flat.shape[0] // n
        ext = [e.repeat(reps, *([1] * (e.dim() - 1))) for e in extra]
        with torch.no_grad():
            return forward(*pieces, *ext).cpu().numpy().astype(np.float64)
    return flat_x, flat_b, attr, score


def _auc(curve: np.ndarray) -> np.ndarray:
    """Trapezoid area under curves (..., k) over x in [0, 1]."""
    k = curve.shape[-1]
    return ((curve[..., 1:] + curve[..., :-1]) / 2).sum(-1) / (k - 1)


def deletion_insertion(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]],
                       result: AttributionResult, *, field: str = "descriptors", baseline: str | None = None,
                       n_points: int = 11, n_random: int = 10, n_boot: int = 1000, seed: int = 0,
                       stats: Any = None) -> dict[str, Any]:
    """Deletion and insertion curves, most-attributed features first, against random orders.

    Returns ``{"fractions", "deletion": {"attribution": curve, "random": curve, "auc", "auc_random",
    "auc_gap", "auc_gap_ci"}, "insertion": {...}}``; curves are mean scores over examples at each
    fraction of features removed / restored. For deletion a faithful attribution gives a *lower* AUC
    than random (``auc_gap = auc_random - auc > 0``); for insertion a higher one (``auc - auc_random``).
    """
    flat_x, flat_b, attr, score = _flat_setup(model, target, parts, result, field, baseline, stats)
    n, d = flat_x.shape
    fractions = np.linspace(0, 1, min(n_points, d + 1))
    counts = np.round(fractions * d).astype(int)
    rng = np.random.default_rng(seed)
    orders = {"attribution": np.argsort(-attr, axis=1, kind="stable")}
    randoms = [np.stack([rng.permutation(d) for _ in range(n)]) for _ in range(n_random)]
    out: dict[str, Any] = {"fractions": fractions.tolist(), "n": n, "features": d}
    for mode in ("deletion", "insertion"):
        def curve(order: np.ndarray, mode: str = mode) -> np.ndarray:
            rows = []
            for c in counts:
                chosen = torch.zeros(n, d, dtype=torch.bool, device=flat_x.device)
                if c:
                    chosen.scatter_(1, torch.as_tensor(order[:, :c], device=flat_x.device), True)
                if mode == "deletion":
                    x = torch.where(chosen, flat_b, flat_x)
                else:
                    x = torch.where(chosen, flat_x, flat_b)
                rows.append(score(x))
            return np.stack(rows, 1)  # (n, k)
        c_attr = curve(orders["attribution"])
        c_rand = np.mean([curve(o) for o in randoms], 0)
        auc_a, auc_r = _auc(c_attr), _auc(c_rand)
        gap = (auc_r - auc_a) if mode == "deletion" else (auc_a - auc_r)
        boot = np.array([gap[rng.integers(0, n, n)].mean() for _ in range(n_boot)])
        out[mode] = {"attribution": c_attr.mean(0).tolist(), "random": c_rand.mean(0).tolist(),
                     "auc": float(auc_a.mean()), "auc_random": float(auc_r.mean()), "auc_gap": float(gap.mean()),
                     "auc_gap_ci": [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))]}
    return out


def faithfulness_correlation(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]],
                             result: AttributionResult, *, field: str = "descriptors", baseline: str | None = None,
                             subset_fraction: float = 0.25, n_subsets: int = 50, seed: int = 0,
                             stats: Any = None) -> dict[str, float]:
    """Mean (over examples) Pearson correlation between sum of attributions of a random subset and the
    score drop when that subset is set to the baseline."""
    flat_x, flat_b, attr, score = _flat_setup(model, target, parts, result, field, baseline, stats)
    n, d = flat_x.shape
    k = max(1, int(round(subset_fraction * d)))
    rng = np.random.default_rng(seed)
    base = score(flat_x)
    masks = np.zeros((n_subsets, n, d), dtype=bool)
    for s in range(n_subsets):
        for i in range(n):
            masks[s, i, rng.choice(d, k, replace=False)] = True
    m = torch.as_tensor(masks.reshape(-1, d), device=flat_x.device)
    x = torch.where(m, flat_b.repeat(n_subsets, 1), flat_x.repeat(n_subsets, 1))
    drops = base[None] - score(x).reshape(n_subsets, n)
    sums = (masks * attr[None]).sum(-1)
    rhos = []
    for i in range(n):
        if np.std(drops[:, i]) > 0 and np.std(sums[:, i]) > 0:
            rhos.append(pearsonr(sums[:, i], drops[:, i]).statistic)
    return {"faithfulness_correlation": float(np.mean(rhos)) if rhos else float("nan"), "n": len(rhos),
            "subset_size": k}
