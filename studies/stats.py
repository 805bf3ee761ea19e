"""The statistics of a study: robust OLS and GLMs, random-intercept mixed models, ANOVA / Kruskal-Wallis with
effect sizes and post-hoc tests, partial correlations, bootstrap intervals, FDR and minimum
detectable effects.

Every fit returns a :class:`Fit`; a fit that could not be made has NaN numbers and says why in
``note`` (it never raises for bad luck in the data, only for bad arguments).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["GLM_FAMILIES", "Fit", "anova_kruskal", "bootstrap_ci", "fdr", "fit_glm", "fit_mixed", "fit_ols",
           "mde_coefficient", "mde_correlation", "mde_eta2", "partial_corr", "standardize"]

#: GLM families a study may name (``family = ...``), each with its canonical link.
GLM_FAMILIES = ("binomial", "poisson", "gaussian")


@dataclass
class Fit:
    """The estimate of one term and how it was obtained."""

    estimate: float = math.nan
    se: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p: float = math.nan
    n: int = 0
    n_groups: int = 0
    method: str = ""
    converged: bool | None = None
    warnings: list[str] = field(default_factory=list)
    note: str = ""
    zero_order: tuple[float, float] | None = None  # partial correlations: the zero-order (r, p)


def standardize(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """z-score the non-binary numeric ``columns`` (a binary 0/1 column is kept as it is)."""
    out = frame.copy()
    for column in columns:
        values = pd.to_numeric(out[column], errors="coerce").astype(float)
        if values.dropna().nunique() <= 2:
            out[column] = values
            continue
        sd = values.std(ddof=1)
        out[column] = (values - values.mean()) / sd if sd and np.isfinite(sd) and sd > 0 else values * np.nan
    return out


def _record(caught: list[warnings.WarningMessage]) -> list[str]:
    return sorted({f"{w.category.__name__}: {' '.join(str(w.message).split())}" for w in caught})


def _design(formula: str, data: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Outcome and design matrix of ``"y ~ a + b + C(g)"`` (sums of columns; ``C(g)`` as treatment dummies)."""
    left, right = formula.split("~", 1)
    y = pd.to_numeric(data[left.strip()], errors="coerce").astype(float)
    columns = {"Intercept": np.ones(len(data))}
    for term in (t.strip() for t in right.split("+")):
        if term.startswith("C(") and term.endswith(")"):
            name = term[2:-1].strip()
            dummies = pd.get_dummies(data[name].astype(str), prefix=f"C({name})", prefix_sep="[T.", drop_first=True)
            for column in dummies:
                columns[f"{column}]"] = dummies[column].to_numpy(float)
        else:
            columns[term] = pd.to_numeric(data[term], errors="coerce").to_numpy(float)
    return y, pd.DataFrame(columns, index=data.index)


def _take(fit: Fit, result, term: str, caught: list, *, converged: bool, failed: str = "",  # noqa: ANN001
          count_rows: bool = True) -> Fit:
    """Fill ``fit`` with the Wald estimate, se, 95% interval and p of ``term`` from a statsmodels result,
    the warnings caught during the fit and its convergence (``failed`` is the note when it did not)."""
    fit.warnings = _record(caught)
    fit.converged = converged
    if count_rows:
        fit.n = int(result.nobs)
    if term not in result.params.index:
        fit.note = f"term {term!r} not in the fit ({list(result.params.index)})"
        return fit
    low, high = result.conf_int().loc[term]
    fit.estimate, fit.se, fit.p = float(result.params[term]), float(result.bse[term]), float(result.pvalues[term])
    fit.ci_low, fit.ci_high = float(low), float(high)
    if not converged:
        fit.note = failed
    return fit


def fit_ols(formula: str, data: pd.DataFrame, term: str, *, cov_type: str = "HC3",
            cluster: str | None = None) -> Fit:
    """OLS with heteroscedasticity-robust (HC3, t reference distribution) or cluster-robust errors; the
    estimate of ``term``. ``formula`` is a sum of columns (``C(name)`` adds treatment dummies)."""
    import statsmodels.api as sm

    fit = Fit(n=len(data), method=f"ols/{cov_type if cluster is None else 'cluster'}")
    if len(data) < 4:
        fit.note = f"too few rows ({len(data)})"
        return fit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            y, design = _design(formula, data)
            model = sm.OLS(y, design, missing="drop")
            if cluster is not None:
                result = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data[cluster])[0]},
                                   use_t=True)
            else:
                result = model.fit(cov_type=cov_type, use_t=True)
        except (ValueError, KeyError, np.linalg.LinAlgError) as error:
            fit.note = f"fit failed: {error}"
            return fit
    return _take(fit, result, term, caught, converged=True)


def fit_glm(formula: str, data: pd.DataFrame, term: str, *, family: str = "binomial",
            cluster: str | None = None) -> Fit:
    """A generalised linear model (canonical link: logit, log or identity) with sandwich errors: HC0
    (statsmodels' GLM implements no small-sample HC variants) or cluster-robust by ``cluster``; Wald z
    interval and p of ``term`` on the link scale (a log-odds or log-rate coefficient). IRLS convergence
    and every warning (perfect separation, ...) are recorded; a fit that did not converge says so in
    ``note``. ``formula`` is a sum of columns as in :func:`fit_ols`.
    """
    import statsmodels.api as sm

    if family not in GLM_FAMILIES:
        raise ValueError(f"family must be one of {GLM_FAMILIES}, got {family!r}")
    fit = Fit(n=len(data), method=f"glm/{family}/{'HC0' if cluster is None else 'cluster'}")
    if len(data) < 4:
        fit.note = f"too few rows ({len(data)})"
        return fit
    families = {"binomial": sm.families.Binomial, "poisson": sm.families.Poisson, "gaussian": sm.families.Gaussian}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            y, design = _design(formula, data)
            if family == "binomial" and not y.dropna().isin([0.0, 1.0]).all():
                fit.note = "a binomial GLM needs a 0/1 outcome"
                return fit
            if family == "poisson" and (y.dropna() < 0).any():
                fit.note = "a Poisson GLM needs non-negative counts"
                return fit
            model = sm.GLM(y, design, family=families[family](), missing="drop")
            if cluster is not None:
                result = model.fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(data[cluster])[0]})
            else:
                result = model.fit(cov_type="HC0")
        except (ValueError, KeyError, np.linalg.LinAlgError) as error:
            fit.note = f"fit failed: {error}"
            fit.warnings = _record(caught)
            return fit
    return _take(fit, result, term, caught, converged=bool(result.converged), failed="GLM (IRLS) did not converge")


def fit_mixed(formula: str, data: pd.DataFrame, term: str, groups: str) -> Fit:
    """A linear mixed model with a random intercept per level of ``groups`` (REML); the Wald estimate,
    standard error, 95% interval and p-value of ``term``, with convergence and warnings recorded."""
    import statsmodels.formula.api as smf

    fit = Fit(n=len(data), n_groups=int(data[groups].nunique()), method="mixedlm/REML random intercept")
    if len(data) < 4 or fit.n_groups < 2:
        fit.note = f"too few rows or groups ({len(data)} rows, {fit.n_groups} groups)"
        return fit
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = smf.mixedlm(formula, data, groups=data[groups]).fit(reml=True)
        except (ValueError, np.linalg.LinAlgError) as error:
            fit.note = f"fit failed: {error}"
            fit.warnings = _record(caught)
            return fit
    return _take(fit, result, term, caught, converged=bool(result.converged), failed="mixed model did not converge",
                 count_rows=False)


def _z_factor(alpha: float, power: float) -> float:
    """(z_{1-alpha/2} + z_power) through statsmodels' normal power solver (one sample, n = 1)."""
    from statsmodels.stats.power import NormalIndPower

    return float(NormalIndPower().solve_power(effect_size=None, nobs1=1, alpha=alpha, power=power, ratio=0))


def mde_coefficient(se: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable effect of a coefficient with standard error ``se``: the true value a two-sided
    Wald test at ``alpha`` detects with probability ``power`` (about 2.80 se at 0.05 / 0.8)."""
    if not np.isfinite(se) or se <= 0:
        return math.nan
    return se * _z_factor(alpha, power)


def mde_eta2(n: int, k: int, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable eta-squared of a one-way ANOVA with ``n`` observations in ``k`` groups
    (statsmodels' F-test power; Cohen's f converted by eta^2 = f^2 / (1 + f^2))."""
    from statsmodels.stats.power import FTestAnovaPower

    if k < 2 or n <= k:
        return math.nan
    f = float(FTestAnovaPower().solve_power(effect_size=None, nobs=n, alpha=alpha, power=power, k_groups=k))
    return f * f / (1 + f * f)


def fdr(pvalues: Sequence[float], alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """Benjamini-Hochberg adjusted p-values and rejections over the finite p-values only.

    A NaN p-value (a test that could not be made) is left out of the family and stays NaN (not
    rejected); it does not turn the other adjusted values into NaN.

    >>> adjusted, rejected = fdr([0.01, float("nan"), 0.04])
    >>> [round(float(v), 3) for v in adjusted]
    [0.02, nan, 0.04]
    >>> rejected.tolist()
    [True, False, True]
    """
    from statsmodels.stats.multitest import multipletests

    p = np.asarray(pvalues, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    rejected = np.zeros(p.shape, dtype=bool)
    finite = np.isfinite(p)
    if finite.any():
        reject, corrected, _, _ = multipletests(p[finite], alpha=alpha, method="fdr_bh")
        adjusted[finite] = corrected
        rejected[finite] = reject
    return adjusted, rejected


def _residualize(y: np.ndarray, covariates: np.ndarray) -> np.ndarray:
    design = np.column_stack([np.ones(len(y)), covariates])
    beta, *_ = np.linalg.lstsq(design, y, rcond=None)
    return y - design @ beta


def _partial_r(x: np.ndarray, y: np.ndarray, covariates: np.ndarray) -> float:
    rx, ry = _residualize(x, covariates), _residualize(y, covariates)
    denominator = math.sqrt(float(rx @ rx) * float(ry @ ry))
    return float(rx @ ry) / denominator if denominator > 0 else math.nan


def bootstrap_ci(statistic, arrays: Sequence[np.ndarray], *, n_resamples: int = 999, seed: int = 0,
                 level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of a paired statistic (scipy.stats.bootstrap, rows resampled
    together); NaN, NaN when it cannot be computed."""
    from scipy import stats

    try:
        result = stats.bootstrap(tuple(arrays), statistic, paired=True, vectorized=False, n_resamples=n_resamples,
                                 confidence_level=level, method="percentile", rng=np.random.default_rng(seed))
    except (ValueError, np.linalg.LinAlgError):
        return math.nan, math.nan
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def partial_corr(data: pd.DataFrame, x: str, y: str, covariates: Sequence[str], *, seed: int = 0,
                 n_resamples: int = 999) -> Fit:
    """Partial correlation of ``x`` and ``y`` given ``covariates``: r and p from pingouin when it is
    installed (else from residuals and the t distribution with n - 2 - k degrees of freedom), a
    percentile bootstrap interval, and the zero-order r in ``note``."""
    from scipy import stats

    columns = [x, y, *covariates]
    frame = data[columns].apply(pd.to_numeric, errors="coerce").dropna()
    n, k = len(frame), len(covariates)
    fit = Fit(n=n, method="partial correlation")
    if n < k + 4:
        fit.note = f"too few complete rows ({n})"
        return fit
    xs, ys, cs = (frame[x].to_numpy(float), frame[y].to_numpy(float), frame[list(covariates)].to_numpy(float))
    try:
        import pingouin

        result = pingouin.partial_corr(data=frame, x=x, y=y, covar=list(covariates))
        r, p = float(result["r"].iloc[0]), float(result["p_val"].iloc[0] if "p_val" in result else
                                                  result["p-val"].iloc[0])
        fit.method = "partial correlation (pingouin)"
    except ImportError:
        r = _partial_r(xs, ys, cs)
        dof = n - 2 - k
        t = r * math.sqrt(dof / max(1e-300, 1 - r * r))
        p = float(2 * stats.t.sf(abs(t), dof))
        fit.method = "partial correlation (residuals; pingouin not installed)"
    fit.estimate, fit.p = r, p
    fit.se = 1 / math.sqrt(max(1, n - 3 - k))  # Fisher-z scale
    fit.ci_low, fit.ci_high = bootstrap_ci(lambda a, b, *c: _partial_r(a, b, np.column_stack(c)),
                                           [xs, ys, *cs.T], n_resamples=n_resamples, seed=seed)
    zero = stats.pearsonr(xs, ys)
    fit.zero_order = (float(zero.statistic), float(zero.pvalue))
    fit.note = f"zero-order r = {fit.zero_order[0]:.3f} (p = {fit.zero_order[1]:.2g})"
    fit.converged = True
    return fit


def mde_correlation(n: int, k: int = 0, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Minimum detectable (partial) correlation with ``n`` rows and ``k`` controls (Fisher z)."""
    if n - 3 - k <= 0:
        return math.nan
    return math.tanh(_z_factor(alpha, power) / math.sqrt(n - 3 - k))


def anova_kruskal(data: pd.DataFrame, value: str, factor: str, *, alpha: float = 0.05,
                  power: float = 0.8) -> tuple[dict, pd.DataFrame]:
    """One-way ANOVA and Kruskal-Wallis of ``value`` across the levels of ``factor``.

    Returns
    -------
    summary : dict
        F, p_anova, eta2 (SS_between / SS_total), H, p_kruskal, epsilon2 (H (n + 1) / (n^2 - 1)),
        n, k and the minimum detectable eta2.
    posthoc : pandas.DataFrame
        Tukey HSD of every pair of levels (scipy.stats.tukey_hsd): difference, 95% interval, p.
    """
    from scipy import stats

    frame = data[[value, factor]].copy()
    frame[value] = pd.to_numeric(frame[value], errors="coerce")
    frame = frame.dropna()
    levels = sorted(frame[factor].astype(str).unique())
    samples = [frame.loc[frame[factor].astype(str) == level, value].to_numpy(float) for level in levels]
    keep = [(level, s) for level, s in zip(levels, samples) if len(s) >= 2]
    levels, samples = [level for level, _ in keep], [s for _, s in keep]
    n, k = int(sum(len(s) for s in samples)), len(samples)
    summary = {"descriptor": value, "factor": factor, "n": n, "k": k, "F": math.nan, "p_anova": math.nan,
               "eta2": math.nan, "H": math.nan, "p_kruskal": math.nan, "epsilon2": math.nan,
               "mde_eta2": mde_eta2(n, k, alpha=alpha, power=power)}
    if k < 2:
        return summary, pd.DataFrame()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f_result = stats.f_oneway(*samples)
        everything = np.concatenate(samples)
        total = float(((everything - everything.mean()) ** 2).sum())
        between = float(sum(len(s) * (s.mean() - everything.mean()) ** 2 for s in samples))
        summary.update(F=float(f_result.statistic), p_anova=float(f_result.pvalue),
                       eta2=between / total if total > 0 else math.nan)
        try:
            h_result = stats.kruskal(*samples)
            summary.update(H=float(h_result.statistic), p_kruskal=float(h_result.pvalue),
                           epsilon2=float(h_result.statistic) * (n + 1) / (n * n - 1))
        except ValueError:  # every value identical
            pass
        rows = []
        try:
            tukey = stats.tukey_hsd(*samples)
            ci = tukey.confidence_interval(0.95)
            for i in range(k):
                for j in range(i + 1, k):
                    rows.append({"descriptor": value, "a": levels[i], "b": levels[j],
                                 "difference": float(tukey.statistic[i, j]), "ci_low": float(ci.low[i, j]),
                                 "ci_high": float(ci.high[i, j]), "p_tukey": float(tukey.pvalue[i, j])})
        except ValueError:
            pass
    return summary, pd.DataFrame(rows)
