"""The one result type of every attribution method: :class:`AttributionResult`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class AttributionResult:
    """Attributions of one scalar target over a batch of examples, with their completeness error.

    Attributes
    ----------
    method : str
        ``"integrated_gradients"``, ``"layer_integrated_gradients"``, ``"integrated_jacobians"``,
        ``"tree_shap"``, ...
    target : str
        What is explained, in words (:attr:`attribution.targets.Target.description`).
    baseline : str
        The reference the attributions are relative to (``"mean"``, ``"black+blurred"``, ...).
    attributions : dict
        In the input structure: ``{modality: {field: array (n, ...)}}`` with ``field`` one of
        ``"input"`` (pixels / log-mel bins), ``"descriptors"``, ``"layer"``; the pairwise method stores
        ``{"pair": {"matrix": (n, D_image, D_audio)}}``.
    delta : ndarray (n,)
        Per-example completeness (convergence) error: sum of attributions minus the score difference
        they should add up to. Always present (exactly 0 would be suspicious; it is measured).
    score, baseline_score : ndarray (n,)
        The target at the input and at the baseline (its mean over baselines for averaged results).
    feature_names : dict
        ``{modality: [names]}`` for descriptor fields (the columns of the attributions).
    extras : dict
        Method-specific numbers (per-baseline deltas, surrogate fidelity, ...).
    """

    method: str
    target: str
    baseline: str
    attributions: dict[str, dict[str, np.ndarray]]
    delta: np.ndarray
    score: np.ndarray
    baseline_score: np.ndarray
    feature_names: dict[str, list[str]] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.delta = np.asarray(self.delta, dtype=np.float64).reshape(-1)
        self.score = np.asarray(self.score, dtype=np.float64).reshape(-1)
        self.baseline_score = np.asarray(self.baseline_score, dtype=np.float64).reshape(-1)

    def __len__(self) -> int:
        return int(self.delta.shape[0])

    @property
    def relative_delta(self) -> np.ndarray:
        """|delta| / |score - baseline_score| per example (inf where the difference is 0)."""
        diff = np.abs(self.score - self.baseline_score)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(diff > 0, np.abs(self.delta) / diff, np.where(np.abs(self.delta) > 0, np.inf, 0.0))

    def mean_abs(self, modality: str, name: str = "descriptors") -> np.ndarray:
        """Mean absolute attribution per column of one field (over examples; extra axes summed)."""
        a = np.abs(np.asarray(self.attributions[modality][name], dtype=np.float64))
        return a.reshape(a.shape[0], -1).mean(0) if name == "matrix" else a.reshape(a.shape[0], a.shape[1],
                                                                                    -1).sum(-1).mean(0)

    def ranking(self, modality: str, name: str = "descriptors") -> list[str]:
        """Feature names of a descriptor field, largest mean |attribution| first."""
        order = np.argsort(-self.mean_abs(modality, name), kind="stable")
        names = self.feature_names.get(modality, [str(i) for i in range(len(order))])
        return [names[i] for i in order]

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers: completeness error distribution and mean |attribution| per named feature."""
        rel = self.relative_delta
        out: dict[str, Any] = {
            "method": self.method, "target": self.target, "baseline": self.baseline, "n": len(self),
            "delta_abs_mean": float(np.mean(np.abs(self.delta))) if len(self) else 0.0,
            "delta_abs_max": float(np.max(np.abs(self.delta))) if len(self) else 0.0,
            "relative_delta_median": float(np.median(rel[np.isfinite(rel)])) if np.isfinite(rel).any() else None,
            "relative_delta_max": float(np.max(rel[np.isfinite(rel)])) if np.isfinite(rel).any() else None,
            "score_mean": float(np.mean(self.score)) if len(self) else 0.0,
        }
        for modality, names in self.feature_names.items():
            if modality in self.attributions and "descriptors" in self.attributions[modality]:
                values = self.mean_abs(modality)
                out[f"{modality}_mean_abs"] = {n: float(v) for n, v in zip(names, values, strict=True)}
        out["extras"] = {k: v for k, v in self.extras.items() if _jsonable(v)}
        return out


def _jsonable(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
