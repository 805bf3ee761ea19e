"""Integrated Gradients refined along the path, per example, until completeness holds.

IG's quadrature error depends on how rough the integrand ``grad f(x0 + a (x - x0)) . (x - x0)`` is along
the path. Through a ReLU6 CNN (EfficientNet-Lite0 on pixels) it is piecewise smooth with a kink
wherever one of its units crosses 0 or 6, so Gauss-Legendre loses its fast convergence and the error
falls slowly, and not monotonically, with ``n_steps`` (docs/attribution.md); for paintings whose score
hardly moves from the baseline (|f(x) - f(x0)| of a few 1e-3 on a cosine in [-1, 1]) that error is a
large share of the difference, and doubling the steps everywhere spends most of them where the
integrand is already smooth.

:func:`adaptive_integrated_gradients` therefore refines *where* the error is. Its first pass is plain
IG at ``n_steps``; an example whose relative completeness error is not below ``tolerance`` is
integrated piecewise instead: the path ``a in [0, 1]`` is cut into segments, Captum integrates each
segment ``[a0, a1]`` (IG from the point at ``a0`` to the point at ``a1``: the attributions of a
partition add up to the whole path's, and so do the score differences, which telescope), and every
segment's own convergence delta ``e_k`` is exact, because ``f`` is evaluated at its two ends. The
example's completeness error is ``sum_k e_k``. Segments with ``|e_k| > tolerance |f(x) - f(x0)|
(a1 - a0)`` (more than their share) are halved, largest first, until the error is below ``tolerance``
or the example has spent ``max_steps`` gradient evaluations. Nothing is rescaled or redistributed:
an example's attributions are exactly the sum of its segments' Captum IG.

``extras["n_steps"]`` is the number of gradient evaluations an example's attributions used,
``extras["segments"]`` the segments of its partition (1 where the first pass held), and
``extras["abs_error_sum"]`` ``sum_k |e_k| / |f(x) - f(x0)|``, which bounds the relative error of any
regrouping of the same segments (an error below tolerance only because segments cancel shows there).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from attribution.ig import ig_setup, integrate_path
from attribution.result import AttributionResult
from attribution.targets import Target
from resonance.errors import ParameterError

#: Gauss-Legendre nodes per segment of the piecewise pass.
SEGMENT_NODES = 8


def _check_batch_independent(path: Any) -> None:
    """The piecewise pass sees a subset of the batch: refuse a baseline computed from the batch (raw-input
    'mean' without ``stats``), which would then change between the passes."""
    for m, f in path.keys:
        if f == "input" and "mean" in path.names[m] and (path.stats or {}).get(m, {}).get("input") is None:
            raise ParameterError(f"the {m} 'mean' baseline would be the mean of the batch, which changes when "
                                 "examples are rerun: pass stats, or choose another baseline")


def _segments(ig: Any, path: Any, x: tuple[torch.Tensor, ...], base: tuple[torch.Tensor, ...],
              rows: list[tuple[int, float, float]], nodes: int, internal_batch_size: int | None,
              chunk: int) -> tuple[list[tuple[torch.Tensor, ...]], np.ndarray]:
    """Captum IG over segments ``(example, a0, a1)`` of the straight path from ``base`` to ``x``:
    attributions per segment (as tensors of the inputs' shapes, batch axis dropped) and deltas."""
    attrs: list[tuple[torch.Tensor, ...]] = []
    deltas: list[np.ndarray] = []
    for s in range(0, len(rows), chunk):
        part = rows[s:s + chunk]
        idx = torch.as_tensor([r[0] for r in part], dtype=torch.long)
        lo, hi = ([r[1] for r in part], [r[2] for r in part])
        start, end = [], []
        for xv, bv in zip(x, base, strict=True):
            xi, bi = xv[idx.to(xv.device)], bv[idx.to(bv.device)]
            shape = (-1,) + (1,) * (xv.dim() - 1)
            a0 = torch.as_tensor(lo, dtype=xv.dtype, device=xv.device).view(shape)
            a1 = torch.as_tensor(hi, dtype=xv.dtype, device=xv.device).view(shape)
            start.append(bi + a0 * (xi - bi))
            end.append(bi + a1 * (xi - bi))
        extra = tuple(e[idx.to(e.device)] for e in path.extra)
        attr, delta = ig.attribute(tuple(end), baselines=tuple(start), additional_forward_args=extra or None,
                                   n_steps=nodes, internal_batch_size=internal_batch_size,
                                   method="gausslegendre", return_convergence_delta=True)
        attrs.extend(zip(*(a.detach() for a in attr), strict=True))
        deltas.append(delta.detach().cpu().numpy().astype(np.float64))
    return attrs, np.concatenate(deltas) if deltas else np.zeros(0)


def _piecewise(ig: Any, path: Any, x: tuple[torch.Tensor, ...], base: tuple[torch.Tensor, ...],
               todo: np.ndarray, diff: np.ndarray, *, n_steps: int, max_steps: int, tolerance: float,
               internal_batch_size: int | None, chunk: int) -> dict[int, dict[str, Any]]:
    """Refine the partitions of the examples ``todo``; per example its attributions, delta, gradient
    evaluations, segment count and sum of |segment deltas|."""
    nodes = min(SEGMENT_NODES, n_steps)
    k0 = max(1, n_steps // nodes)
    segs: dict[int, list[list[Any]]] = {}   # example -> [[a0, a1, attr, delta], ...]
    rows = [(int(i), j / k0, (j + 1) / k0) for i in todo for j in range(k0)]
    attrs, deltas = _segments(ig, path, x, base, rows, nodes, internal_batch_size, chunk)
    for (i, a0, a1), a, d in zip(rows, attrs, deltas, strict=True):
        segs.setdefault(i, []).append([a0, a1, a, float(d)])
    while True:
        rows = []
        for i, sg in segs.items():
            total = sum(s[3] for s in sg)
            budget = (max_steps - len(sg) * nodes) // nodes  # each split adds one segment
            if abs(total) < tolerance * abs(diff[i]) or budget < 1:
                continue
            over = [s for s in sg if abs(s[3]) > tolerance * abs(diff[i]) * (s[1] - s[0])]
            over.sort(key=lambda s: -abs(s[3]))
            for s in over[:budget]:
                mid = 0.5 * (s[0] + s[1])
                rows += [(i, s[0], mid), (i, mid, s[1])]
                s[3] = None  # replaced by its halves
        if not rows:
            break
        attrs, deltas = _segments(ig, path, x, base, rows, nodes, internal_batch_size, chunk)
        for i in {r[0] for r in rows}:
            segs[i] = [s for s in segs[i] if s[3] is not None]
        for (i, a0, a1), a, d in zip(rows, attrs, deltas, strict=True):
            segs[i].append([a0, a1, a, float(d)])
    out = {}
    for i, sg in segs.items():
        attr = tuple(torch.stack([s[2][v] for s in sg]).sum(0) for v in range(len(x)))
        out[i] = {"attr": attr, "delta": sum(s[3] for s in sg), "n_steps": len(sg) * nodes,
                  "segments": len(sg), "abs_error_sum": sum(abs(s[3]) for s in sg)}
    return out


def adaptive_integrated_gradients(model: Any, target: Target, parts: dict[str, dict[str, torch.Tensor]], *,
                                  n_steps: int = 32, max_steps: int = 512, tolerance: float = 0.01,
                                  chunk: int = 16, **kwargs: Any) -> AttributionResult:
    """:func:`attribution.ig.integrated_gradients` at ``n_steps``; the examples whose relative
    completeness error ``|delta| / |f(x) - f(x0)|`` is not below ``tolerance`` are integrated again
    piecewise, halving the segments of the path whose own error is largest, within ``max_steps``
    gradient evaluations per example and baseline (module docstring).

    ``kwargs`` go to :func:`~attribution.ig.integrated_gradients` (``field``, ``baselines``,
    ``integration`` of the first pass, ``internal_batch_size``, ``stats``); ``chunk`` segments go to
    Captum at a time. ``extras``: ``n_steps``, ``segments``, ``abs_error_sum`` and ``converged`` per
    example (over several baselines: the largest of their steps, segments and relative error sums;
    converged if every baseline's own error is below ``tolerance``).
    """
    from captum.attr import IntegratedGradients

    if not 0 < tolerance < 1:
        raise ParameterError(f"tolerance must be in (0, 1), got {tolerance}")
    if max_steps < n_steps:
        raise ParameterError(f"max_steps ({max_steps}) must be >= n_steps ({n_steps})")
    unknown = set(kwargs) - {"field", "baselines", "stats", "internal_batch_size", "integration"}
    if unknown:
        raise ParameterError(f"unknown arguments {sorted(unknown)}; see attribution.integrated_gradients")
    path = ig_setup(model, target, parts, field=kwargs.get("field", "descriptors"),
                    baselines=kwargs.get("baselines"), stats=kwargs.get("stats"))
    _check_batch_independent(path)
    ig = IntegratedGradients(path.forward)
    k = path.n_baselines
    sums: dict[str, dict[str, np.ndarray]] = {}
    deltas, base_scores, steps, segments, rel_abs, converged = [], [], [], [], [], []
    for b in range(k):
        first = integrate_path(path, target, which=[b], n_steps=n_steps,
                               internal_batch_size=kwargs.get("internal_batch_size"),
                               integration=kwargs.get("integration", "gausslegendre"))
        diff = first.score - first.baseline_score
        delta = first.delta.copy()
        st, sg = np.full(len(first), n_steps), np.ones(len(first), dtype=int)
        abs_sum = np.abs(delta)
        todo = np.flatnonzero(~(first.relative_delta < tolerance))
        done = _piecewise(ig, path, path.inputs, path.baseline(b), todo, diff, n_steps=n_steps,
                          max_steps=max_steps, tolerance=tolerance,
                          internal_batch_size=kwargs.get("internal_batch_size"), chunk=chunk) if len(todo) else {}
        for i, r in done.items():
            for v, (m, f) in enumerate(path.keys):
                first.attributions[m][f][i] = r["attr"][v].cpu().numpy()
            delta[i], st[i], sg[i], abs_sum[i] = r["delta"], r["n_steps"], r["segments"], r["abs_error_sum"]
        for m, d in first.attributions.items():
            for f, a in d.items():
                sums.setdefault(m, {})[f] = a / k + sums.get(m, {}).get(f, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            rel = np.where(np.abs(diff) > 0, abs_sum / np.abs(diff), np.inf)
            converged.append(np.abs(delta) < tolerance * np.abs(diff))
        deltas.append(delta)
        base_scores.append(first.baseline_score)
        steps.append(st)
        segments.append(sg)
        rel_abs.append(rel)
    labels = [path.label(b) for b in range(k)]
    extras = {**first.extras, "n_steps": np.max(steps, 0).tolist(), "segments": np.max(segments, 0).tolist(),
              "abs_error_sum": np.max(rel_abs, 0).tolist(), "converged": np.all(converged, 0).tolist(),
              "tolerance": tolerance, "max_steps": max_steps, "segment_nodes": min(SEGMENT_NODES, n_steps),
              "delta_per_baseline": {lab: d.tolist() for lab, d in zip(labels, deltas, strict=True)}}
    return AttributionResult(first.method, first.target, ",".join(labels), sums, delta=np.mean(deltas, 0),
                             score=first.score, baseline_score=np.mean(base_scores, 0),
                             feature_names=first.feature_names, extras=extras)
