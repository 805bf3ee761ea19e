"""Unimodal probe metrics: categories (UA, WA, macro-F1, a per-class table) and valence/arousal (CCC, r).

* **UA** -- unweighted accuracy, the mean of the per-class recalls (balanced accuracy), the usual headline
  of speech emotion recognition;
* **WA** -- weighted accuracy, the plain fraction correct;
* **macro-F1** -- the unweighted mean of per-class F1 over the classes in the truth or the predictions;
  a class never predicted has F1 = 0 (``zero_division=0``);
* **CCC** -- Lin's (1989) concordance correlation coefficient,
  ``2 cov(y, yhat) / (var(y) + var(yhat) + (mean(y) - mean(yhat))^2)`` with population (1/n) moments;
* **r** -- Pearson's correlation.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score, precision_recall_fscore_support

from resonance.errors import ParameterError
from resonance.evaluate._checks import as_vector

__all__ = [
    "CategoryProbeResult",
    "category_metrics",
    "concordance_correlation",
    "pearson_correlation",
    "regression_metrics",
]


@dataclass(frozen=True, eq=False)
class CategoryProbeResult:
    """UA, WA, macro-F1 and a per-class table (precision, recall, F1, support)."""

    unweighted_accuracy: float
    weighted_accuracy: float
    macro_f1: float
    per_class: pd.DataFrame

    def to_dict(self) -> dict:
        """Plain, JSON-ready values."""
        return {"UA": self.unweighted_accuracy, "WA": self.weighted_accuracy, "macro_F1": self.macro_f1,
                "per_class": self.per_class}


def category_metrics(y_true: Sequence, y_pred: Sequence) -> CategoryProbeResult:
    """UA, WA and macro-F1 of predicted categories.

    Parameters
    ----------
    y_true, y_pred : sequences of the same length
        True and predicted categories.

    Returns
    -------
    CategoryProbeResult
        UA averages the recall over the classes present in ``y_true``; macro-F1 averages over the union
        of the classes in ``y_true`` and ``y_pred``.
    """
    t = as_vector(y_true, "y_true")
    p = as_vector(y_pred, "y_pred", n=t.shape[0])
    classes = np.union1d(t, p)
    precision, recall, f1, support = precision_recall_fscore_support(t, p, labels=classes, zero_division=0)
    table = pd.DataFrame({"precision": precision, "recall": recall, "f1": f1, "support": support},
                         index=pd.Index(classes, name="class"))
    with warnings.catch_warnings():  # predicted classes absent from y_true: recall over y_true's classes only
        warnings.filterwarnings("ignore", message="y_pred contains classes not in y_true")
        ua = balanced_accuracy_score(t, p)
    return CategoryProbeResult(
        unweighted_accuracy=float(ua),
        weighted_accuracy=float(accuracy_score(t, p)),
        macro_f1=float(f1_score(t, p, labels=classes, average="macro", zero_division=0)),
        per_class=table,
    )


def _regression_pair(y_true: Sequence[float], y_pred: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    t = as_vector(y_true, "y_true", numeric=True)
    p = as_vector(y_pred, "y_pred", numeric=True, n=t.shape[0])
    if t.shape[0] < 2:
        raise ParameterError("a correlation needs at least two items")
    if np.ptp(t) == 0:
        raise ParameterError("y_true is constant, so agreement with it is undefined; evaluate on a set whose "
                             "targets vary")
    return t, p


def concordance_correlation(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Lin's concordance correlation coefficient.

    ``CCC = 2 s_xy / (s_x^2 + s_y^2 + (mean_x - mean_y)^2)`` with population moments (divisor n)
    (Lin, 1989, Biometrics 45:255). 1 = perfect agreement, 0 = none, -1 = perfect reversal; unlike r it
    penalises a shift or a change of scale.

    Parameters
    ----------
    y_true, y_pred : sequences of float, same length >= 2
        ``y_true`` must vary; constant predictions are allowed (their CCC is 0).

    Returns
    -------
    float in [-1, 1]

    Examples
    --------
    >>> concordance_correlation([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    1.0
    """
    t, p = _regression_pair(y_true, y_pred)
    cov = np.mean((t - t.mean()) * (p - p.mean()))
    return float(2.0 * cov / (t.var() + p.var() + (t.mean() - p.mean()) ** 2))


def pearson_correlation(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Pearson's r.

    Parameters
    ----------
    y_true, y_pred : sequences of float, same length >= 2
        ``y_true`` must vary.

    Returns
    -------
    float in [-1, 1], or NaN
        NaN, with a ``RuntimeWarning``, when the predictions are constant: they carry no ordering, so r
        is undefined (their CCC, 0, is defined). This is the one deliberate NaN of the module.
    """
    t, p = _regression_pair(y_true, y_pred)
    if np.ptp(p) == 0:
        warnings.warn("y_pred is constant; Pearson r is undefined and returned as NaN", RuntimeWarning,
                      stacklevel=2)
        return float("nan")
    tc, pc = t - t.mean(), p - p.mean()
    return float(np.clip((tc @ pc) / np.sqrt((tc @ tc) * (pc @ pc)), -1.0, 1.0))


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray, *,
                       names: Sequence[str] = ("valence", "arousal")) -> dict[str, dict[str, float]]:
    """CCC and r of each target column (e.g. valence and arousal).

    Parameters
    ----------
    y_true, y_pred : np.ndarray, shape (n_items, n_targets)
    names : sequence of str, length n_targets

    Returns
    -------
    dict
        ``{name: {"CCC": ..., "r": ...}}``.
    """
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.ndim != 2 or t.shape != p.shape or t.shape[1] != len(names):
        raise ParameterError(f"y_true and y_pred must both have shape (n_items, {len(names)}) for {list(names)}; "
                             f"got {t.shape} and {p.shape}")
    return {name: {"CCC": concordance_correlation(t[:, j], p[:, j]), "r": pearson_correlation(t[:, j], p[:, j])}
            for j, name in enumerate(names)}
