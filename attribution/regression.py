"""Regression attribution (statsmodels): standardised coefficients with confidence intervals of an
outcome (the model's alignment score or predicted VA, or the human labels) on descriptors.

Predictors and outcome are z-scored (on the rows used), so a coefficient is "standard deviations of
the outcome per standard deviation of the descriptor, the others held fixed". With ``groups`` (items
that repeat: the same speaker, the same artist) a linear mixed model with a random intercept per group
is fit (:func:`statsmodels.formula.api.mixedlm`); otherwise ordinary least squares. With
``interactions=True`` and two blocks, the products of every image x sound descriptor pair are added as
terms (the regression counterpart of the pair matrix): the alignment of a pair is mostly an interaction,
which main effects alone cannot show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from resonance.errors import ParameterError


@dataclass
class RegressionTable:
    """Standardised coefficients of one outcome: ``terms``, ``coef``, ``ci_low``, ``ci_high``, ``p``."""

    outcome: str
    model: str
    terms: list[str]
    coef: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    p: np.ndarray
    n: int
    r2: float | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def ranking(self) -> list[str]:
        """Terms by |coefficient|, largest first."""
        return [self.terms[i] for i in np.argsort(-np.abs(self.coef), kind="stable")]

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "model": self.model, "n": self.n, "r2": self.r2,
                "terms": [{"term": t, "coef": float(c), "ci_low": float(lo), "ci_high": float(hi), "p": float(p)}
                          for t, c, lo, hi, p in zip(self.terms, self.coef, self.ci_low, self.ci_high, self.p,
                                                     strict=True)], **self.extras}


def _z(x: np.ndarray) -> np.ndarray:
    sd = x.std(0)
    return (x - x.mean(0)) / np.where(sd > 1e-12, sd, 1.0)


def collinear_terms(x: np.ndarray, max_vif: float) -> list[int]:
    """Columns to drop so that every remaining column's variance inflation factor is <= ``max_vif``:
    constant columns and exact linear combinations (beyond the numerical rank found by pivoted QR) go
    first, then the largest VIF (the diagonal of the inverse correlation matrix), repeatedly."""
    from scipy.linalg import qr

    keep = [j for j in range(x.shape[1]) if x[:, j].std() > 1e-12]
    if keep:
        z = _z(x[:, keep])
        _, r, piv = qr(z, mode="economic", pivoting=True)
        diag = np.abs(np.diag(r))
        rank = int((diag > 1e-8 * diag.max()).sum())
        keep = sorted(keep[i] for i in piv[:rank])
    dropped = [j for j in range(x.shape[1]) if j not in keep]
    while len(keep) > 1:
        corr = np.corrcoef(x[:, keep], rowvar=False)
        vif = np.diag(np.linalg.inv(corr))
        worst = int(np.argmax(vif))
        if vif[worst] <= max_vif:
            break
        dropped.append(keep.pop(worst))
    return sorted(dropped)


def standardised_regression(blocks: dict[str, np.ndarray], y: np.ndarray, names: dict[str, list[str]], *,
                            outcome: str = "alignment", interactions: bool = False,
                            groups: np.ndarray | None = None, alpha: float = 0.05,
                            max_vif: float | None = None) -> RegressionTable:
    """Standardised coefficients (with ``1 - alpha`` intervals) of ``y`` on the descriptor ``blocks``.

    Rows with an undefined descriptor get that descriptor's mean (standardised value 0); the share of
    such values is in ``extras["imputed_fraction"]``. With ``max_vif``, descriptors that are (nearly)
    linear combinations of others (e.g. Valdez pleasure of brightness and saturation) are left out first
    (:func:`collinear_terms`, listed in ``extras["dropped_collinear"]``): their coefficients would
    otherwise be unidentified (huge, with huge intervals).
    """
    import statsmodels.api as sm

    modalities = list(blocks)
    cols, terms = [], []
    imputed = 0
    total = 0
    zs = {}
    for m in modalities:
        x = np.asarray(blocks[m], dtype=np.float64)
        finite = np.isfinite(x)
        imputed += int((~finite).sum())
        total += x.size
        mean = np.nanmean(np.where(finite, x, np.nan), axis=0) if finite.any() else np.zeros(x.shape[1])
        x = np.where(finite, x, np.where(np.isfinite(mean), mean, 0.0))
        zs[m] = _z(x)
        cols.append(zs[m])
        terms += [f"{m}:{n}" for n in names[m]]
    if interactions and len(modalities) == 2:
        a, b = zs[modalities[0]], zs[modalities[1]]
        cols.append(_z((a[:, :, None] * b[:, None, :]).reshape(len(a), -1)))
        terms += [f"{modalities[0]}:{i} x {modalities[1]}:{j}" for i in names[modalities[0]]
                  for j in names[modalities[1]]]
    x = np.concatenate(cols, axis=1)
    dropped: list[str] = []
    if max_vif is not None:
        gone = collinear_terms(x, max_vif)
        dropped = [terms[j] for j in gone]
        kept = [j for j in range(x.shape[1]) if j not in set(gone)]
        x, terms = x[:, kept], [terms[j] for j in kept]
    y = _z(np.asarray(y, dtype=np.float64).reshape(-1, 1))[:, 0]
    if len(y) <= x.shape[1] + 2:
        raise ParameterError(f"{len(y)} rows are too few for {x.shape[1]} regression terms: use more items "
                             "or fewer descriptors")
    design = sm.add_constant(x, has_constant="add")
    if groups is None:
        fit = sm.OLS(y, design).fit()
        ci = np.asarray(fit.conf_int(alpha))
        return RegressionTable(outcome, "ols", terms, np.asarray(fit.params)[1:], ci[1:, 0], ci[1:, 1],
                               np.asarray(fit.pvalues)[1:], len(y), float(fit.rsquared),
                               {"imputed_fraction": imputed / max(total, 1), "dropped_collinear": dropped})
    fit = sm.MixedLM(y, design, groups=np.asarray(groups)).fit(reml=True)
    k = x.shape[1] + 1
    ci = np.asarray(fit.conf_int(alpha))[:k]
    return RegressionTable(outcome, "mixedlm (random intercept per group)", terms, np.asarray(fit.fe_params)[1:],
                           ci[1:, 0], ci[1:, 1], np.asarray(fit.pvalues)[1:k], len(y), None,
                           {"imputed_fraction": imputed / max(total, 1), "dropped_collinear": dropped,
                            "group_variance": float(np.asarray(fit.cov_re)[0, 0]),
                            "n_groups": int(len(set(np.asarray(groups).tolist())))})


def descriptor_ranking(table: RegressionTable, modality: str) -> list[str]:
    """Descriptors of one modality by the sum of |coef| over every term they appear in (main effect and
    interactions), largest first."""
    weight: dict[str, float] = {}
    for term, c in zip(table.terms, table.coef, strict=True):
        for part in term.split(" x "):
            m, _, name = part.partition(":")
            if m == modality:
                weight[name] = weight.get(name, 0.0) + abs(float(c))
    return sorted(weight, key=lambda n: -weight[n])
