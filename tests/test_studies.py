"""Statistical feature studies (issue 15): declaration, statistics, verdicts, reports, CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from resonance.errors import ParameterError, UnknownNameError
from studies import builtin_names, load_study, parse_study, run_study, verdict, write_report
from studies import stats as st

HEAD = """[study]
name = "sim"
alpha = 0.05
seed = 1

[data]
groups = "group"
"""


def _simulated(seed: int = 0, groups: int = 20, per_group: int = 15, slope: float = 0.4,
               negative: float = -0.4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = groups * per_group
    group = np.repeat([f"g{i:02d}" for i in range(groups)], per_group)
    intercepts = np.repeat(rng.normal(0, 1.0, groups), per_group)
    x, z, w = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    return pd.DataFrame({"id": [f"sim:{i}" for i in range(n)], "modality": "image", "corpus": "sim",
                         "group": group, "x": x, "z": z, "w": w,
                         "y": slope * x + intercepts + rng.normal(0, 1.0, n),
                         "v": negative * w + intercepts + rng.normal(0, 1.0, n)})


def test_planted_effect_found_with_right_sign():
    study = parse_study(HEAD + """
[[hypotheses]]
id = "planted"
formula = "y ~ x + z"
term = "x"
expected = "+"

[[hypotheses]]
id = "null"
formula = "y ~ x + z"
term = "z"
expected = "+"

[[hypotheses]]
id = "opposite"
formula = "v ~ w"
expected = "+"
""")
    result = run_study(study, _simulated())
    rows = result.results.set_index("hypothesis")
    assert rows.loc["planted", "estimate"] > 0.2 and rows.loc["planted", "ci_low"] > 0
    assert rows.loc["planted", "converged"] is True or rows.loc["planted", "converged"] == True  # noqa: E712
    assert rows.loc["planted", "method"].startswith("mixedlm")
    assert rows.loc["planted", "verdict"] == "replicated"
    assert rows.loc["opposite", "estimate"] < 0
    assert rows.loc["opposite", "verdict"] == "not replicated"
    assert rows.loc["null", "verdict"] in ("inconclusive", "not replicated")
    assert rows.loc["null", "p_fdr"] >= rows.loc["null", "p"]


def _slope_pvalues(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Two-sided p of the OLS slope of each row of y on the same row of x (classical t test)."""
    from scipy import stats

    n = x.shape[1]
    xc, yc = x - x.mean(1, keepdims=True), y - y.mean(1, keepdims=True)
    slope = (xc * yc).sum(1) / (xc * xc).sum(1)
    residual = yc - slope[:, None] * xc
    se = np.sqrt((residual ** 2).sum(1) / (n - 2) / (xc * xc).sum(1))
    return 2 * stats.t.sf(np.abs(slope / se), n - 2)


def test_null_fdr_at_most_nominal_over_simulations():
    """200 simulated studies of 10 null and 10 real effects (plus one test that could not be made):
    the false-discovery proportion of the study's FDR step averages at most alpha (BH: alpha * 10/20 =
    0.025 in expectation); without correction it is far above."""
    rng = np.random.default_rng(2024)
    alpha, n, reps = 0.05, 40, 200
    effects = np.array([0.0] * 10 + [0.3] * 10)
    proportions, uncorrected = [], []
    x = rng.normal(size=(reps, effects.size, n))
    y = effects[None, :, None] * x + rng.normal(size=x.shape)
    for rep in range(reps):
        pvalues = [*_slope_pvalues(x[rep], y[rep]), math.nan]
        adjusted, rejected = st.fdr(pvalues, alpha)
        assert np.isnan(adjusted[-1]) and not rejected[-1]
        assert np.isfinite(adjusted[:-1]).all()
        proportions.append(rejected[:10].sum() / max(1, rejected.sum()))
        raw = np.asarray(pvalues[:-1]) < alpha
        uncorrected.append(raw[:10].sum() / max(1, raw.sum()))
    assert np.mean(proportions) <= alpha
    assert np.mean(uncorrected) > alpha  # the check could fail: no correction exceeds it


def test_robust_ols_pvalues_are_calibrated_under_the_null():
    """HC3 with the t reference: about alpha of 150 null fits reject (the p-values the FDR step gets)."""
    rng = np.random.default_rng(11)
    hits = 0
    for _ in range(150):
        frame = pd.DataFrame({"x": rng.normal(size=30), "y": rng.normal(size=30)})
        hits += st.fit_ols("y ~ x", frame, "x").p < 0.05
    assert hits / 150 <= 0.09


def test_mixed_model_matches_hand_computed_balanced_case():
    """Balanced random-intercept design with x centred within every group: the GLS fixed effect is the
    within-group OLS slope sum(x (y - ybar_g)) / sum(x^2) whatever the variance components, and its
    REML standard error is sqrt(s^2 / sum(x^2)) with s^2 the within residual variance on N - G - 1 df."""
    rng = np.random.default_rng(7)
    groups, per = 12, 6
    x_pattern = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    x = np.tile(x_pattern, groups)
    g = np.repeat(np.arange(groups), per)
    y = 1.0 + 0.7 * x + np.repeat(rng.normal(0, 2.0, groups), per) + rng.normal(0, 1.0, groups * per)
    frame = pd.DataFrame({"x": x, "y": y, "g": g.astype(str)})
    centred = y - pd.Series(y).groupby(g).transform("mean").to_numpy()
    slope = float((x * centred).sum() / (x * x).sum())
    residual = centred - slope * x
    s2 = float((residual ** 2).sum() / (groups * per - groups - 1))
    fit = st.fit_mixed("y ~ x", frame, "x", "g")
    assert fit.converged
    assert fit.estimate == pytest.approx(slope, abs=1e-6)
    assert fit.se == pytest.approx(math.sqrt(s2 / (x * x).sum()), rel=1e-3)
    assert fit.n_groups == groups


def test_malformed_toml_names_its_line():
    text = HEAD + '\n[[hypotheses]]\nid = "a"\nformula = "y ~ x"\nexpected = +\n'
    with pytest.raises(ParameterError, match=r"line 12"):
        parse_study(text, where="bad.toml")


def test_invalid_field_names_its_key_and_line():
    text = HEAD + ('\n[[hypotheses]]\nid = "a"\nformula = "y ~ x"\nexpected = "+"\n'
                   '\n[[hypotheses]]\nid = "b"\nformula = "y ~ x"\nexpected = "up"\n')
    lines = text.splitlines()
    line = next(i for i, text_line in enumerate(lines, 1) if 'expected = "up"' in text_line)
    with pytest.raises(ParameterError, match=rf"bad.toml line {line}: .*expected .*'up'"):
        parse_study(text, where="bad.toml")


@pytest.mark.parametrize("body, problem", [
    ('[[hypotheses]]\nid = "a"\nformula = "y ~ x"\nterm = "q"\nexpected = "+"\n', "term 'q'"),
    ('[[hypotheses]]\nid = "a"\nformula = "y x"\nexpected = "+"\n', "outcome ~ predictor"),
    ('[[hypotheses]]\nid = "a"\nformula = "y ~ x"\nexpected = "+"\ncolour = 1\n', "unknown key 'colour'"),
    ('[[hypotheses]]\nid = "a"\nformula = "y ~ x"\nexpected = "+"\nkind = "contrast"\n', "contrast"),
])
def test_invalid_fields_are_parameter_errors(body, problem):
    with pytest.raises(ParameterError, match=problem):
        parse_study(HEAD + "\n" + body, where="s.toml")


def test_nan_pvalue_does_not_nan_the_others():
    from statsmodels.stats.multitest import multipletests

    adjusted, rejected = st.fdr([0.01, math.nan, 0.02, 0.03, 0.5])
    expected = multipletests([0.01, 0.02, 0.03, 0.5], method="fdr_bh")[1]
    assert np.isnan(adjusted[1]) and not rejected[1]
    np.testing.assert_allclose(adjusted[[0, 2, 3, 4]], expected)
    assert rejected[[0, 2, 3]].all()


def test_verdict_rule():
    # significant, expected sign
    assert verdict(0.5, 0.3, 0.7, True, "+", 0.69, 0.1, 0.69) == "replicated"
    assert verdict(-0.5, -0.7, -0.3, True, "+", 0.69, 0.1, 0.69) == "not replicated"
    # powered null excluding the published effect
    assert verdict(0.01, -0.05, 0.07, False, "+", 0.69, 0.1, 0.69) == "not replicated"
    # underpowered null
    assert verdict(0.01, -0.9, 0.9, False, "+", 0.69, 1.2, 0.69) == "inconclusive"
    # expected no association
    assert verdict(0.01, -0.05, 0.07, False, "0", None, 0.08, 0.1) == "replicated"
    assert verdict(0.3, 0.2, 0.4, True, "0", None, 0.08, 0.1) == "not replicated"
    assert verdict(math.nan, math.nan, math.nan, False, "+", None, math.nan, 0.1) == "inconclusive"
    assert verdict(0.5, 0.3, 0.7, True, "+", None, 0.1, 0.1, usable=False) == "inconclusive"


def test_builtin_studies_parse_and_model_side_is_inconclusive_without_predictions():
    names = builtin_names()
    assert {"colour_affect", "vocal_cues", "music_colour", "model_vs_people"} <= set(names)
    for name in names:
        assert load_study(name).hypotheses
    study = load_study("music_colour")
    frame = _simulated().assign(modality="audio", tempo_bpm=lambda d: d["x"], mode_major_minor=lambda d: d["z"])
    result = run_study(study, frame)
    assert set(result.results["verdict"]) == {"inconclusive: no model output given"}


def test_partial_correlation_removes_a_mediated_association():
    rng = np.random.default_rng(3)
    n = 400
    valence = rng.normal(size=n)
    frame = pd.DataFrame({"x": valence + rng.normal(0, 0.5, n), "y": valence + rng.normal(0, 0.5, n),
                          "pred_valence": valence})
    fit = st.partial_corr(frame, "x", "y", ["pred_valence"], n_resamples=199)
    zero_order = float(frame[["x", "y"]].corr().iloc[0, 1])
    assert zero_order > 0.6
    assert abs(fit.estimate) < 0.15 and fit.ci_low < 0 < fit.ci_high


def test_anova_effect_sizes():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"emotion": np.repeat(["a", "b", "c"], 50),
                          "d": np.concatenate([rng.normal(m, 1, 50) for m in (0, 0.5, 1.5)])})
    summary, posthoc = st.anova_kruskal(frame, "d", "emotion")
    values = frame["d"].to_numpy()
    between = sum(50 * (frame.loc[frame.emotion == g, "d"].mean() - values.mean()) ** 2 for g in "abc")
    assert summary["eta2"] == pytest.approx(between / ((values - values.mean()) ** 2).sum())
    assert 0 < summary["epsilon2"] < 1 and summary["p_kruskal"] < 1e-6
    assert len(posthoc) == 3 and posthoc.set_index(["a", "b"]).loc[("a", "c"), "p_tukey"] < 1e-6


def test_few_groups_fall_back_to_fixed_effects():
    study = parse_study(HEAD + '\n[[hypotheses]]\nid = "h"\nformula = "y ~ x"\nexpected = "+"\n')
    result = run_study(study, _simulated(groups=2, per_group=80))
    row = result.results.iloc[0]
    assert row["method"].startswith("ols") and "fixed effects" in row["note"]


def test_unknown_study_name():
    with pytest.raises(UnknownNameError, match="neither a built-in study"):
        load_study("no_such_study")


def _dataset(tmp_path, frame: pd.DataFrame):
    from handcrafted.table import write_table
    from resonance.data.manifest import write_manifest

    folder = tmp_path / "ds"
    folder.mkdir()
    manifest = frame[["id", "modality", "corpus", "group"]].assign(
        path=lambda d: d["id"] + ".png", root="", sha256="0" * 64, split="train", emotion="x",
        valence=frame["y"], arousal=frame["v"], attributes=[json.dumps({"artist": g}) for g in frame["group"]])
    write_manifest(manifest, folder / "manifest.parquet", {"data_version": "test-v1"})
    features = frame[["id", "modality"]].assign(sha256="0" * 64, brightness_mean=frame["x"],
                                                 saturation_mean=frame["z"])
    write_table(features, folder / "features.parquet", {"format": 1})
    return folder


def test_cli_run_writes_every_artefact(tmp_path):
    from resonance.cli.main import app

    folder = _dataset(tmp_path, _simulated())
    study_file = tmp_path / "mine.toml"
    study_file.write_text(HEAD.replace('groups = "group"', 'groups = "artist"\nderive = { artist = '
                                       '"attributes.artist" }') + """
[[hypotheses]]
id = "pleasure_brightness"
formula = "valence ~ brightness_mean + saturation_mean"
term = "brightness_mean"
expected = "+"
published = 0.69
published_ci = [0.5, 0.8]
""")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["study", "run", str(study_file), "--data", str(folder), "--features",
                                      str(folder / "features.parquet"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "replicated" in result.output
    for name in ("results.csv", "results.md", "results.tex", "effects.png", "summary.html", "provenance.json"):
        assert (out / name).is_file(), name
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["data_version"] == "test-v1" and provenance["seed"] == 1
    assert provenance["packages"]["statsmodels"] != "absent"
    html = (out / "summary.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    table = pd.read_csv(out / "results.csv")
    assert table.loc[0, "verdict"] == "replicated" and table.loc[0, "estimate"] > 0


def test_cli_malformed_study_is_one_error_line(tmp_path):
    from resonance.cli.main import app

    bad = tmp_path / "bad.toml"
    bad.write_text('[study]\nname = "x"\n[[hypotheses]\n')
    result = CliRunner().invoke(app, ["study", "run", str(bad), "--data", str(tmp_path), "--features",
                                      str(tmp_path / "f.parquet")])
    assert result.exit_code == 2
    assert "line 3" in result.output and "error:" in result.output


def test_cli_list():
    from resonance.cli.main import app

    result = CliRunner().invoke(app, ["study", "list"])
    assert result.exit_code == 0 and "vocal_cues" in result.output and "needs --predictions" in result.output


def test_report_without_model_output(tmp_path):
    study = load_study("model_vs_people")
    frame = _simulated().assign(valence=lambda d: d["y"], arousal=lambda d: d["v"], brightness_mean=lambda d: d["x"],
                                saturation_mean=lambda d: d["z"], corpus="dvisa",
                                attributes=lambda d: [json.dumps({"artist": g}) for g in d["group"]])
    result = run_study(study, frame)
    written = write_report(result, tmp_path / "r")
    assert "summary.html" in written
    assert (result.results["verdict"] == "inconclusive: no model output given").all()


def test_model_side_study_runs_on_a_matches_table(tmp_path):
    """music_colour with a predictions table of (music id, matched painting) pairs: the matched painting's
    descriptors join as match_*; a planted tempo -> lightness link is found, and partialling out the
    predicted valence/arousal that carries it removes it."""
    from handcrafted.table import write_table
    from resonance.data.manifest import write_manifest
    from studies import load_inputs

    rng = np.random.default_rng(4)
    n = 300
    arousal = rng.normal(size=n)
    tempo = arousal + rng.normal(0, 0.5, n)
    lightness = arousal + rng.normal(0, 0.5, n)
    audio = pd.DataFrame({"id": [f"m:{i}" for i in range(n)], "modality": "audio", "corpus": "emopia",
                          "group": [f"song{i // 5}" for i in range(n)]})  # 60 songs of 5 clips
    images = pd.DataFrame({"id": [f"p:{i}" for i in range(n)], "modality": "image", "corpus": "paint",
                           "group": [f"p{i}" for i in range(n)]})
    manifest = pd.concat([audio, images], ignore_index=True).assign(
        path=lambda d: d["id"] + ".x", root="", sha256="0" * 64, split="train")
    folder = tmp_path / "ds"
    folder.mkdir()
    write_manifest(manifest, folder / "manifest.parquet", {"data_version": "v"})
    features = manifest[["id", "modality", "sha256"]].assign(
        tempo_bpm=np.r_[tempo, np.full(n, np.nan)], mode_major_minor=np.r_[rng.normal(size=n), np.full(n, np.nan)],
        lab_l_mean=np.r_[np.full(n, np.nan), lightness], saturation_mean=np.r_[np.full(n, np.nan), rng.random(n)],
        lab_b_mean=np.r_[np.full(n, np.nan), rng.normal(size=n)])
    write_table(features, folder / "features.parquet", {"format": 1})
    predictions = pd.DataFrame({"id": audio["id"], "match_id": images["id"], "pred_valence": rng.normal(size=n),
                                "pred_arousal": arousal})
    predictions.to_csv(tmp_path / "pred.csv", index=False)
    frame, provenance = load_inputs(folder, folder / "features.parquet", tmp_path / "pred.csv")
    assert provenance["items_with_predictions"] == n
    result = run_study(load_study("music_colour"), frame, predictions_given=True)
    rows = result.results.set_index("test")
    assert rows.loc["palmer_tempo_lightness@emopia", "verdict"] == "replicated"
    assert rows.loc["palmer_tempo_lightness@emopia", "estimate"] > 0.5
    assert abs(rows.loc["whiteford_tempo_lightness_partial_va@emopia", "estimate"]) < 0.15
    assert rows.loc["whiteford_tempo_lightness_partial_va@emopia", "verdict"] != "not replicated"
    assert "zero-order r" in rows.loc["whiteford_tempo_lightness_partial_va@emopia", "note"]
    assert rows.loc["palmer_tempo_lightness@emopia", "method"].startswith("mixedlm")  # clips nested in songs
    assert rows.loc["palmer_tempo_lightness@probes", "note"] == "no rows for corpus 'probes'"


def test_contrast_between_two_emotions_with_speaker_fallback_column():
    """A planted anger > sadness difference of one SD is found as a standardised contrast; the speaker
    column comes from a derive fallback ('a.x|b.y')."""
    rng = np.random.default_rng(9)
    speakers = np.repeat([f"s{i}" for i in range(12)], 40)
    emotion = np.tile(np.repeat(["anger", "sadness", "calm", "fear"], 10), 12)
    value = (emotion == "anger") * 1.0 + np.repeat(rng.normal(0, 1, 12), 40) + rng.normal(0, 1, speakers.size)
    attributes = [json.dumps({"speaker": s}) if i % 2 else json.dumps({"artist": s}) for i, s in enumerate(speakers)]
    frame = pd.DataFrame({"id": [f"v:{i}" for i in range(speakers.size)], "modality": "audio", "corpus": "v",
                          "emotion": emotion, "f0_mean_hz": value, "attributes": attributes})
    study = parse_study(HEAD.replace('groups = "group"', 'groups = "who"\nderive = { who = '
                                     '"attributes.speaker|attributes.artist" }') + """
[[hypotheses]]
id = "anger_f0"
kind = "contrast"
formula = "f0_mean_hz ~ contrast"
contrast = ["emotion", "anger", "sadness"]
expected = "+"
""")
    row = run_study(study, frame).results.iloc[0]
    assert row["n"] == 240 and row["n_groups"] == 12
    assert row["verdict"] == "replicated" and 0.4 < row["estimate"] < 1.5
