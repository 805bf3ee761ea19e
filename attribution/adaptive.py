"""Integrated Gradients whose step count is doubled, per example, until completeness holds.

IG's quadrature error depends on how rough the integrand ``grad f(x0 + a (x - x0)) . (x - x0)`` is along
the path. Through a ReLU6 CNN (EfficientNet-Lite0 on pixels) it is piecewise smooth with a kink
wherever one of its millions of units crosses 0 or 6, so Gauss-Legendre loses its fast convergence
and the error falls slowly, and not monotonically, with ``n_steps`` (docs/attribution.md); for
paintings whose score hardly moves from the baseline (|f(x) - f(x0)| of a few 1e-3 on a cosine in
[-1, 1]) that error is a large share of the difference. Rather than one step
count for every example, :func:`adaptive_integrated_gradients` reruns only the examples whose relative
completeness error is still above ``tolerance`` at twice the steps, up to ``max_steps``, and reports
the steps each example used and whether it met the tolerance. Nothing is rescaled: the attributions of
an example are exactly those of plain IG at its step count.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from attribution.ig import BASELINES, integrated_gradients
from attribution.result import AttributionResult
from attribution.targets import Target
from resonance.errors import ParameterError


def _rows(parts: dict[str, dict[str, torch.Tensor]], idx: np.ndarray) -> dict[str, dict[str, torch.Tensor]]:
    index = torch.as_tensor(idx, dtype=torch.long)
    return {m: {k: v[index.to(v.device)] for k, v in p.items()} for m, p in parts.items()}


def _check_batch_independent(target: Target, kwargs: dict[str, Any]) -> None:
    """Reruns see a subset of the batch: refuse a baseline computed from the batch (raw-input 'mean'
    without ``stats``), which would then change between the runs."""
    field, baselines, stats = kwargs.get("field", "descriptors"), kwargs.get("baselines"), kwargs.get("stats") or {}
    for m in target.modalities:
        f = field.get(m, "descriptors") if isinstance(field, dict) else field
        names = (BASELINES.get((m, f), ()) if baselines is None else
                 baselines.get(m, ()) if isinstance(baselines, dict) else baselines)
        if f == "input" and "mean" in names and stats.get(m, {}).get("input") is None:
            raise ParameterError(f"the {m} 'mean' baseline would be the mean of the batch, which changes when "
                                 "examples are rerun: pass stats, or choose another baseline")


def adaptive_integrated_gradients(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]], *,
                                  n_steps: int = 32, max_steps: int = 512, tolerance: float = 0.01,
                                  **kwargs: Any) -> AttributionResult:
    """:func:`attribution.ig.integrated_gradients` at ``n_steps``, then, for the examples whose
    relative completeness error ``|delta| / |f(x) - f(x0)|`` is not below ``tolerance``, again at
    2 x, 4 x, ... the steps up to ``max_steps`` (each rerun only on the examples still missing it).

    ``kwargs`` go to :func:`~attribution.ig.integrated_gradients` (``field``, ``baselines``,
    ``integration``, ``internal_batch_size``, ``stats``). ``extras["n_steps"]`` is then the step count
    of every example, ``extras["converged"]`` whether it met ``tolerance``.
    """
    if not 0 < tolerance < 1:
        raise ParameterError(f"tolerance must be in (0, 1), got {tolerance}")
    if max_steps < n_steps:
        raise ParameterError(f"max_steps ({max_steps}) must be >= n_steps ({n_steps})")
    _check_batch_independent(target, kwargs)
    first = integrated_gradients(model, target, parts, n_steps=n_steps, **kwargs)
    attributions = {m: {f: np.array(a, copy=True) for f, a in d.items()} for m, d in first.attributions.items()}
    delta = first.delta.copy()
    per_baseline = {lab: np.asarray(v, dtype=np.float64) for lab, v in first.extras["delta_per_baseline"].items()}
    steps = np.full(len(first), n_steps)
    todo = np.flatnonzero(~(first.relative_delta < tolerance))
    n = n_steps
    while len(todo) and 2 * n <= max_steps:
        n *= 2
        again = integrated_gradients(model, target, _rows(parts, todo), n_steps=n, **kwargs)
        for m, d in again.attributions.items():
            for f, a in d.items():
                attributions[m][f][todo] = a
        for lab, v in again.extras["delta_per_baseline"].items():
            per_baseline[lab][todo] = v
        delta[todo] = again.delta
        steps[todo] = n
        todo = todo[~(again.relative_delta < tolerance)]
    converged = np.ones(len(first), dtype=bool)
    converged[todo] = False
    extras = {**first.extras, "n_steps": steps.tolist(), "converged": converged.tolist(), "tolerance": tolerance,
              "max_steps": max_steps, "delta_per_baseline": {lab: v.tolist() for lab, v in per_baseline.items()}}
    return AttributionResult(first.method, first.target, first.baseline, attributions, delta=delta,
                             score=first.score, baseline_score=first.baseline_score,
                             feature_names=first.feature_names, extras=extras)
