"""Statistics of the studies (issue 15, point 2): GLMs with robust errors, bootstrap coverage, minimum
detectable effects at their nominal power, convergence reported, and the FDR of whole studies."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from resonance.errors import ParameterError
from studies import parse_study, run_study
from studies import stats as st

try:
    from test_studies import HEAD
except ImportError:  # pragma: no cover - run from the repository root as a package
    from tests.test_studies import HEAD


def _logistic(seed: int, groups: int = 30, per_group: int = 20, slope: float = 0.8) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = groups * per_group
    group = np.repeat([f"g{i:02d}" for i in range(groups)], per_group)
    x, w = rng.normal(size=n), rng.normal(size=n)
    logit = -0.3 + slope * x - slope * w + np.repeat(rng.normal(0, 0.5, groups), per_group)
    return pd.DataFrame({"id": [f"s:{i}" for i in range(n)], "corpus": "sim", "group": group, "x": x * 3 + 1,
                         "w": w, "y": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)})


def test_glm_finds_planted_log_odds_with_right_sign():
    glm = '\n[[hypotheses]]\nid = "{}"\nmodel = "glm"\nformula = "y ~ x + w"\nterm = "{}"\nexpected = "+"\n'
    study = parse_study(HEAD + glm.format("up", "x") + 'family = "binomial"\n' + glm.format("down_expected_up", "w"))
    rows = run_study(study, _logistic(0)).results.set_index("hypothesis")
    up, down = rows.loc["up"], rows.loc["down_expected_up"]
    # x is standardised (sd 3 -> 1) but the 0/1 outcome is not: the estimate is the log-odds per SD of x
    assert up["method"] == "glm/binomial/cluster" and "clustered by group" in up["note"]
    assert up["converged"] == True  # noqa: E712
    assert up["ci_low"] < 0.8 < up["ci_high"] and up["ci_low"] > 0.3
    assert up["verdict"] == "replicated"
    assert down["estimate"] < 0 and down["verdict"] == "not replicated"
    assert up["n_groups"] == 30 and np.isfinite(up["mde"])


def test_poisson_glm_matches_hand_computed_rate_ratio_and_sandwich():
    """One binary predictor: the Poisson MLE is the log ratio of the two group means, and the HC0
    sandwich variance of it is S1 / (n1 m1)^2 + S0 / (n0 m0)^2 (S = sum of squared deviations)."""
    rng = np.random.default_rng(3)
    x = np.r_[np.zeros(60), np.ones(90)]
    y = rng.poisson(np.where(x == 1, 4.0, 2.0)).astype(float)
    frame = pd.DataFrame({"x": x, "y": y})
    fit = st.fit_glm("y ~ x", frame, "x", family="poisson")
    m0, m1 = y[x == 0].mean(), y[x == 1].mean()
    s0, s1 = ((y[x == 0] - m0) ** 2).sum(), ((y[x == 1] - m1) ** 2).sum()
    assert fit.converged
    assert fit.estimate == pytest.approx(math.log(m1 / m0), abs=1e-8)
    assert fit.se == pytest.approx(math.sqrt(s1 / (90 * m1) ** 2 + s0 / (60 * m0) ** 2), rel=1e-6)
    assert fit.method == "glm/poisson/HC0"


def test_glm_refuses_outcomes_its_family_cannot_model():
    frame = pd.DataFrame({"x": np.arange(10.0), "y": np.arange(10.0) - 3})
    assert "0/1 outcome" in st.fit_glm("y ~ x", frame, "x", family="binomial").note
    assert "non-negative" in st.fit_glm("y ~ x", frame, "x", family="poisson").note
    with pytest.raises(ValueError, match="family"):
        st.fit_glm("y ~ x", frame, "x", family="gamma")


@pytest.mark.parametrize("body, problem", [
    ('model = "glm"\nfamily = "gamma"\n', "family must be one of"),
    ('model = "ols"\nfamily = "binomial"\n', "applies only to model"),
])
def test_glm_family_errors_name_their_line(body, problem):
    text = HEAD + '\n[[hypotheses]]\nid = "a"\nformula = "y ~ x"\nexpected = "+"\n' + body
    line = len(text.splitlines())  # the family key is the last line
    with pytest.raises(ParameterError, match=rf"s.toml line {line}: .*{problem}"):
        parse_study(text, where="s.toml")


def test_bootstrap_interval_covers_the_true_correlation():
    """Percentile bootstrap of Pearson r (rho = 0.5, n = 80): about 95% of 120 intervals hold rho."""
    rng = np.random.default_rng(8)
    cover = 0
    reps = 120
    for rep in range(reps):
        x = rng.normal(size=80)
        y = 0.5 * x + math.sqrt(0.75) * rng.normal(size=80)
        low, high = st.bootstrap_ci(lambda a, b: float(np.corrcoef(a, b)[0, 1]), [x, y], n_resamples=199, seed=rep)
        cover += low <= 0.5 <= high
    assert 0.86 <= cover / reps <= 0.995


def test_mde_of_a_coefficient_is_detected_at_the_nominal_power():
    """A true slope equal to the MDE (from the expected standard error) is found in about 80% of
    robust-OLS fits; half of it in far fewer."""
    rng = np.random.default_rng(21)
    n, reps = 100, 250
    mde = st.mde_coefficient(1 / math.sqrt(n))
    hits, half = 0, 0
    for _ in range(reps):
        x = rng.normal(size=n)
        noise = rng.normal(size=n)
        hits += st.fit_ols("y ~ x", pd.DataFrame({"x": x, "y": mde * x + noise}), "x").p < 0.05
        half += st.fit_ols("y ~ x", pd.DataFrame({"x": x, "y": mde / 2 * x + noise}), "x").p < 0.05
    assert mde == pytest.approx(2.8 / math.sqrt(n), rel=0.01)
    assert 0.70 <= hits / reps <= 0.90
    assert half / reps < 0.45


def test_mde_of_an_anova_is_detected_at_the_nominal_power():
    from scipy import stats

    rng = np.random.default_rng(5)
    n, k, reps = 120, 4, 300
    eta2 = st.mde_eta2(n, k)
    f = math.sqrt(eta2 / (1 - eta2))
    means = np.array([-1.5, -0.5, 0.5, 1.5])
    means = means / means.std() * f  # Cohen's f = sd of the group means / within sd
    hits = sum(stats.f_oneway(*[rng.normal(m, 1, n // k) for m in means]).pvalue < 0.05 for _ in range(reps))
    assert 0.70 <= hits / reps <= 0.90


def test_a_mixed_model_that_did_not_converge_is_reported_and_inconclusive(monkeypatch):
    """Whatever statsmodels says about convergence reaches the results: converged False, its warning,
    a note, and the verdict inconclusive however small the p."""
    from statsmodels.regression.mixed_linear_model import MixedLM
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    real_fit = MixedLM.fit

    def fit_without_convergence(self, *args, **kwargs):
        result = real_fit(self, *args, **kwargs)
        warnings.warn("The MLE may be on the boundary of the parameter space.", ConvergenceWarning, stacklevel=1)
        result.converged = False
        return result

    monkeypatch.setattr(MixedLM, "fit", fit_without_convergence)
    rng = np.random.default_rng(1)
    group = np.repeat([f"g{i}" for i in range(10)], 20)
    x = rng.normal(size=200)
    frame = pd.DataFrame({"id": range(200), "corpus": "sim", "group": group, "x": x, "y": x + rng.normal(size=200)})
    study = parse_study(HEAD + '\n[[hypotheses]]\nid = "h"\nformula = "y ~ x"\nexpected = "+"\n')
    row = run_study(study, frame).results.iloc[0]
    assert row["converged"] == False  # noqa: E712
    assert "ConvergenceWarning" in row["warnings"] and "did not converge" in row["note"]
    assert row["p_fdr"] < 1e-10 and row["verdict"] == "inconclusive"


def test_study_fdr_at_most_nominal_over_repeated_null_and_real_studies():
    """40 simulated studies, each of 8 null and 8 real robust-OLS hypotheses (one of them a test that
    cannot be made): the false-discovery proportion of run_study's verdicts averages at most alpha, the
    real effects are mostly found, and the test that could not be made never blocks the others."""
    body = []
    for j in range(16):
        body.append(f'[[hypotheses]]\nid = "h{j:02d}"\nmodel = "ols"\nformula = "y{j} ~ x{j}"\nexpected = "+"\n')
    body.append('[[hypotheses]]\nid = "missing"\nmodel = "ols"\nformula = "nothing ~ x0"\nexpected = "+"\n')
    study = parse_study(HEAD + "\n" + "\n".join(body))
    rng = np.random.default_rng(99)
    n, reps = 40, 40
    proportions, power = [], []
    for _ in range(reps):
        columns = {"id": np.arange(n), "corpus": "sim", "group": "g"}
        for j in range(16):
            x = rng.normal(size=n)
            columns[f"x{j}"] = x
            columns[f"y{j}"] = (0.6 if j >= 8 else 0.0) * x + rng.normal(size=n)
        results = run_study(study, pd.DataFrame(columns)).results.set_index("hypothesis")
        assert np.isnan(results.loc["missing", "p_fdr"]) and results.loc["missing", "verdict"] == "inconclusive"
        found = results["p_fdr"].lt(0.05)
        nulls = found[[f"h{j:02d}" for j in range(8)]].sum()
        proportions.append(nulls / max(1, found.sum()))
        power.append(found[[f"h{j:02d}" for j in range(8, 16)]].mean())
    print(f"mean FDP {np.mean(proportions):.4f}, power {np.mean(power):.3f}")
    assert np.mean(proportions) <= 0.05
    assert np.mean(power) > 0.6


def test_partialling_out_is_only_credited_when_there_was_an_association():
    """Expected "0" after partialling out: a mediated association that vanishes is judged by the rule,
    but with no zero-order association at all there is nothing to remove and the verdict says so."""
    rng = np.random.default_rng(12)
    n = 600
    mediator = rng.normal(size=n)
    frame = pd.DataFrame({"id": np.arange(n), "corpus": "sim", "group": "g", "m": mediator,
                          "x": mediator + rng.normal(0, 0.7, n), "y": mediator + rng.normal(0, 0.7, n),
                          "u": rng.normal(size=n)})
    body = ('\n[[hypotheses]]\nid = "{}"\nkind = "partial"\nformula = "{}"\ncovariates = ["m"]\n'
            'expected = "0"\nsesoi = 0.15\n')
    study = parse_study(HEAD + body.format("mediated", "y ~ x") + body.format("unrelated", "u ~ x"))
    rows = run_study(study, frame).results.set_index("hypothesis")
    assert rows.loc["mediated", "zero_order_p"] < 1e-10 and abs(rows.loc["mediated", "estimate"]) < 0.1
    assert rows.loc["mediated", "verdict"] == "replicated"
    assert rows.loc["unrelated", "zero_order_p"] > 0.05
    assert rows.loc["unrelated", "verdict"] == "inconclusive: no zero-order association to remove"

