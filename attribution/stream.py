"""Integrated Gradients over many examples in bounded memory: chunks in, running sums out.

:func:`streamed_integrated_gradients` calls :func:`attribution.ig.integrated_gradients` on one chunk at
a time and keeps, per descriptor column, the sum of attributions and of their absolute values, and per
example only its score, baseline score and completeness error (three floats). The attributions
themselves are dropped after each chunk unless ``keep`` is set, so memory does not grow with the number
of examples beyond those floats (measured in ``benchmarks/bench_attribution.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from attribution.ig import DEFAULT_STEPS, integrated_gradients
from attribution.result import AttributionResult
from attribution.targets import Target


@dataclass
class StreamedAttribution:
    """Running summaries of attributions over chunks (see :func:`streamed_integrated_gradients`)."""

    target: str = ""
    n: int = 0
    sum_abs: dict[str, np.ndarray] = field(default_factory=dict)
    sum_signed: dict[str, np.ndarray] = field(default_factory=dict)
    feature_names: dict[str, list[str]] = field(default_factory=dict)
    delta: list[np.ndarray] = field(default_factory=list)
    score: list[np.ndarray] = field(default_factory=list)
    baseline_score: list[np.ndarray] = field(default_factory=list)
    kept: list[AttributionResult] = field(default_factory=list)

    def add(self, result: AttributionResult, field_name: str, keep: bool) -> None:
        self.target = result.target
        self.n += len(result)
        for m, fields in result.attributions.items():
            a = np.asarray(fields[field_name], dtype=np.float64).reshape(len(result), -1)
            self.sum_abs[m] = self.sum_abs.get(m, 0.0) + np.abs(a).sum(0)
            self.sum_signed[m] = self.sum_signed.get(m, 0.0) + a.sum(0)
        self.feature_names = result.feature_names
        self.delta.append(result.delta)
        self.score.append(result.score)
        self.baseline_score.append(result.baseline_score)
        if keep:
            self.kept.append(result)

    def mean_abs(self, modality: str) -> np.ndarray:
        return self.sum_abs[modality] / max(self.n, 1)

    def mean_signed(self, modality: str) -> np.ndarray:
        return self.sum_signed[modality] / max(self.n, 1)

    @property
    def relative_delta(self) -> np.ndarray:
        """|delta| / |score - baseline score| per example (as :attr:`AttributionResult.relative_delta`)."""
        if not self.delta:
            return np.zeros(0)
        delta, diff = np.abs(np.concatenate(self.delta)), np.abs(np.concatenate(self.score)
                                                                 - np.concatenate(self.baseline_score))
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(diff > 0, delta / diff, np.where(delta > 0, np.inf, 0.0))

    def top(self, modality: str, k: int = 10) -> list[tuple[str, float, float]]:
        """(name, mean |attribution|, mean signed attribution), largest mean |attribution| first."""
        values, signed = self.mean_abs(modality), self.mean_signed(modality)
        order = np.argsort(-values, kind="stable")[:k]
        names = self.feature_names.get(modality, [str(i) for i in range(len(values))])
        return [(names[i], float(values[i]), float(signed[i])) for i in order]


def streamed_integrated_gradients(model: Any, target: Target, chunks: Iterable[dict[str, dict[str, torch.Tensor]]],
                                  *, field: str = "descriptors", n_steps: int = DEFAULT_STEPS,
                                  internal_batch_size: int | None = None, keep: bool = False,
                                  **kwargs: Any) -> StreamedAttribution:
    """Integrated Gradients of ``target`` over an iterable of ``parts`` chunks (``{modality: part}``),
    summarised as it goes. ``kwargs`` go to :func:`~attribution.ig.integrated_gradients`."""
    out = StreamedAttribution()
    for parts in chunks:
        result = integrated_gradients(model, target, parts, field=field, n_steps=n_steps,
                                      internal_batch_size=internal_batch_size, **kwargs)
        out.add(result, field, keep)
    return out
