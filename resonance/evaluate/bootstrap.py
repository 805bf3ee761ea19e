"""Confidence intervals by a bootstrap over groups (speakers, artists, songs).

Items of one speaker, artist or song are not independent, so resampling items would give intervals that
are too narrow. Here the *groups* are resampled with replacement: a resample draws ``n_groups`` group
labels and takes every item of each drawn group (a group drawn twice contributes its items twice), and the
metric is recomputed on those items (the cluster bootstrap; Davison & Hinkley, 1997, section 3.8).

:func:`scipy.stats.bootstrap` does the resampling, the interval and the seeding: its data is the array of
group indices ``0 .. n_groups - 1`` and its statistic maps a resample of group indices to the metric on
their rows. The default interval is the percentile one: BCa's acceleration comes from a jackknife over
the groups, which is noisy with the handful of test speakers or artists a split holds (BCa stays
available through ``method``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import bootstrap

from resonance.errors import ParameterError
from resonance.evaluate._checks import as_vector

__all__ = ["ConfidenceInterval", "group_bootstrap_ci"]

_METHODS = ("percentile", "basic", "BCa")


@dataclass(frozen=True)
class ConfidenceInterval:
    """A metric on all items and its bootstrap interval."""

    estimate: float
    low: float
    high: float
    confidence_level: float
    n_groups: int
    n_resamples: int
    method: str

    def to_dict(self) -> dict:
        """Plain, JSON-ready values."""
        return {"estimate": self.estimate, "low": self.low, "high": self.high,
                "confidence_level": self.confidence_level, "n_groups": self.n_groups,
                "n_resamples": self.n_resamples, "method": self.method}


def group_bootstrap_ci(metric: Callable[[np.ndarray], float], groups: Sequence, *, n_resamples: int = 1000,
                       confidence_level: float = 0.95, seed: int = 0,
                       method: str = "percentile") -> ConfidenceInterval:
    """Bootstrap interval of ``metric`` over groups of items.

    Parameters
    ----------
    metric : callable
        ``metric(rows) -> float`` for an int array of item indices (possibly repeated), e.g.
        ``lambda rows: category_metrics(y[rows], p[rows]).unweighted_accuracy``.
    groups : sequence of length n_items
        The group of each item (speaker, artist, song); at least two distinct groups.
    n_resamples : int
        Bootstrap resamples, >= 100.
    confidence_level : float
        In (0, 1); 0.95 gives a 95 % interval.
    seed : int
        Seed of the resampling (``numpy.random.default_rng(seed)``, passed to scipy).
    method : {"percentile", "basic", "BCa"}
        The interval construction of :func:`scipy.stats.bootstrap`.

    Returns
    -------
    ConfidenceInterval
        ``estimate`` is ``metric`` on all items in order; ``low`` and ``high`` bound the interval. When
        every resample gives the same value the interval is that value (no NaN).

    Examples
    --------
    >>> y = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.0])
    >>> ci = group_bootstrap_ci(lambda r: float(y[r].mean()), ["a", "a", "b", "b", "c", "c"], n_resamples=200)
    >>> ci.low <= ci.estimate <= ci.high
    True
    """
    g = as_vector(groups, "groups")
    _, inverse = np.unique(g, return_inverse=True)
    n_groups = int(inverse.max() + 1)
    if n_groups < 2:
        raise ParameterError("the bootstrap over groups needs at least two distinct groups; pass the speaker, "
                             "artist or song of each item")
    if int(n_resamples) < 100:
        raise ParameterError(f"n_resamples must be >= 100; got {n_resamples}")
    if not 0.0 < confidence_level < 1.0:
        raise ParameterError(f"confidence_level must be in (0, 1); got {confidence_level}")
    if method not in _METHODS:
        raise ParameterError(f"method must be one of {_METHODS}; got {method!r}")
    if not callable(metric):
        raise ParameterError("metric must be a callable rows -> float")
    rows_of = [np.flatnonzero(inverse == j) for j in range(n_groups)]

    def statistic(group_sample: np.ndarray) -> float:
        return float(metric(np.concatenate([rows_of[j] for j in group_sample.astype(np.int64)])))

    estimate = float(metric(np.arange(g.shape[0])))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = bootstrap((np.arange(n_groups),), statistic, n_resamples=int(n_resamples), vectorized=False,
                           confidence_level=confidence_level, method=method, rng=np.random.default_rng(seed))
    dist = result.bootstrap_distribution
    if np.ptp(dist) == 0:  # every resample agrees: the interval is that value (scipy's BCa would give NaN)
        low = high = float(dist[0])
    else:
        for w in caught:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
        low, high = float(result.confidence_interval.low), float(result.confidence_interval.high)
    return ConfidenceInterval(estimate=estimate, low=low, high=high, confidence_level=confidence_level,
                              n_groups=n_groups, n_resamples=int(n_resamples), method=method)
