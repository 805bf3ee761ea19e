"""The analysis of a study: who is kept, how far raters agree with each other, and how far the model (and the
descriptor-only baseline) agrees with them, with intervals; a JSON and a self-contained HTML report.

**Exclusion rule** (applied before everything else, reported per rater). A rater is excluded when any of:

1. *incomplete*: fewer answers than trials scheduled;
2. *headphones*: fewer correct headphone trials than :func:`~resonance.judge.headphone.pass_threshold`
   (5 of 6, Woods et al., 2017);
3. *catch*: fewer than ``ceil(0.75 * n_catch)`` catch trials answered as the rule defines (the painting
   whose labelled valence-arousal is nearer the sound's);
4. *repeats*: a mean absolute difference above 2 scale points between the repeated rating trials and
   their originals (a random responder on a 7-point scale averages 2.29).

**Reliability** of the kept raters' rating trials: Krippendorff's alpha (ordinal; the ``krippendorff``
package) with a percentile bootstrap interval over items, and ICC(A,1) and ICC(A,k) (two-way random,
absolute agreement; Shrout & Fleiss ICC(2,1), ICC(2,k)) with their
F-based intervals (``pingouin.intraclass_corr``).

**Model-human agreement**: Spearman's rho between the model's score and the mean rating of each rating
trial, with a two-way percentile bootstrap interval (raters and items resampled together) and
scipy's p-value; on 2AFC trials the share of choices that agree with the model's preferred painting,
with a binomial test against 0.5 (``scipy.stats.binomtest``) and a two-way bootstrap interval (raters and
trials), overall, by the model's confidence and per emotion of the sound. The same for the
descriptor-only baseline's scores when the design has them.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resonance.errors import DatasetError

__all__ = ["REPEAT_MAX_MAD", "CATCH_MIN_SHARE", "analyze_answers", "analyze_study", "exclusions", "write_report"]

REPEAT_MAX_MAD = 2.0
CATCH_MIN_SHARE = 0.75
REPORT_FILES = ("report.json", "report.html")


def exclusions(study: dict[str, Any], answers: pd.DataFrame, raters: pd.DataFrame) -> pd.DataFrame:
    """One row per rater: the check results, ``excluded`` and the ``reasons`` (see the module docstring)."""
    from resonance.judge.headphone import pass_threshold

    heads = [t for t in study["trials"] if t["kind"] == "headphone"]
    catches = [t for t in study["trials"] if t["kind"] == "catch"]
    repeats = [t for t in study["trials"] if t["kind"] == "repeat"]
    need_heads = pass_threshold(len(heads)) if heads else 0
    need_catch = math.ceil(CATCH_MIN_SHARE * len(catches))
    rows = []
    for rater in raters.itertuples(index=False):
        mine = answers[answers["rater"] == rater.rater]
        got = dict(zip(mine["trial_id"], mine["response"]))
        choice = dict(zip(mine["trial_id"], mine["choice"]))
        head_ok = sum(got.get(t["id"]) == t["answer"] for t in heads)
        catch_ok = sum(choice.get(t["id"]) == t["answer"] for t in catches)
        diffs = [abs(got[t["id"]] - got[t["of"]]) for t in repeats if t["id"] in got and t["of"] in got]
        mad = float(np.mean(diffs)) if diffs else float("nan")
        reasons = []
        if rater.answered < rater.scheduled:
            reasons.append(f"incomplete ({rater.answered}/{rater.scheduled})")
        if heads and head_ok < need_heads:
            reasons.append(f"headphones {head_ok}/{len(heads)} < {need_heads}")
        if catches and catch_ok < need_catch:
            reasons.append(f"catch {catch_ok}/{len(catches)} < {need_catch}")
        if diffs and mad > REPEAT_MAX_MAD:
            reasons.append(f"repeats differ by {mad:.2f} > {REPEAT_MAX_MAD}")
        rows.append({"rater": int(rater.rater), "alias": rater.alias, "answered": int(rater.answered),
                     "scheduled": int(rater.scheduled), "headphone_correct": int(head_ok),
                     "catch_correct": int(catch_ok), "repeat_mad": mad, "excluded": bool(reasons),
                     "reasons": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=["rater", "alias", "answered", "scheduled", "headphone_correct",
                                       "catch_correct", "repeat_mad", "excluded", "reasons"])


def _interval(values: list[float], estimate: float, level: float = 0.95) -> dict[str, float]:
    v = np.asarray([x for x in values if np.isfinite(x)])
    if v.size == 0:
        return {"estimate": estimate, "low": float("nan"), "high": float("nan")}
    lo, hi = np.quantile(v, [(1 - level) / 2, (1 + level) / 2])
    return {"estimate": float(estimate), "low": float(lo), "high": float(hi)}


def _spearman(scores: np.ndarray, matrix: np.ndarray, rng: np.random.Generator, n_resamples: int) -> dict[str, Any]:
    """rho(scores, item means of ``matrix`` (raters x items)) with a two-way bootstrap interval."""
    from scipy.stats import spearmanr

    n_r, n_i = matrix.shape
    if n_i < 3 or n_r < 1:
        return {"estimate": float("nan"), "low": float("nan"), "high": float("nan"), "p": float("nan"),
                "n_items": int(n_i), "n_raters": int(n_r), "note": "fewer than 3 items or no rater"}
    means = np.nanmean(matrix, axis=0)
    result = spearmanr(scores, means)
    draws = []
    for _ in range(n_resamples):
        r = rng.integers(0, n_r, n_r)
        i = rng.integers(0, n_i, n_i)
        m = np.nanmean(matrix[np.ix_(r, i)], axis=0)
        s = scores[i]
        if np.ptp(m) > 0 and np.ptp(s) > 0:
            draws.append(spearmanr(s, m).statistic)
    out = _interval(draws, float(result.statistic))
    return {**out, "p": float(result.pvalue), "n_items": int(n_i), "n_raters": int(n_r)}


def _afc(agree: np.ndarray, rng: np.random.Generator, n_resamples: int) -> dict[str, Any]:
    """Agreement share of a (raters x trials) 0/1 matrix (NaN: not answered), binomial test, bootstrap CI."""
    from scipy.stats import binomtest

    ok = np.isfinite(agree)
    n, k = int(ok.sum()), int(np.nansum(agree))
    if n == 0:
        return {"estimate": float("nan"), "low": float("nan"), "high": float("nan"), "p": float("nan"), "n": 0,
                "k": 0}
    test = binomtest(k, n, 0.5)
    n_r, n_t = agree.shape
    draws = []
    for _ in range(n_resamples):
        sub = agree[np.ix_(rng.integers(0, n_r, n_r), rng.integers(0, n_t, n_t))]
        if np.isfinite(sub).any():
            draws.append(float(np.nanmean(sub)))
    wilson = test.proportion_ci(method="wilson")
    return {**_interval(draws, k / n), "p": float(test.pvalue), "n": n, "k": k, "n_trials": int(n_t),
            "wilson_low": float(wilson.low), "wilson_high": float(wilson.high)}


def _reliability(matrix: np.ndarray, rng: np.random.Generator, n_resamples: int) -> dict[str, Any]:
    import krippendorff
    import pingouin

    n_r, n_i = matrix.shape
    if n_r < 2 or n_i < 2:
        return {"note": "fewer than two raters or items"}

    def alpha(m: np.ndarray) -> float:
        values = m[np.isfinite(m)]
        if np.unique(values).size < 2:
            return float("nan")
        return float(krippendorff.alpha(reliability_data=m, level_of_measurement="ordinal"))

    estimate = alpha(matrix)
    draws = [alpha(matrix[:, rng.integers(0, n_i, n_i)]) for _ in range(max(n_resamples // 2, 100))]
    out: dict[str, Any] = {"krippendorff_alpha": _interval(draws, estimate)}
    long = pd.DataFrame([(r, i, matrix[r, i]) for r in range(n_r) for i in range(n_i) if np.isfinite(matrix[r, i])],
                        columns=["rater", "item", "rating"])
    try:
        with warnings.catch_warnings():  # pingouin's own pandas deprecations, not ours
            warnings.simplefilter("ignore")
            icc = pingouin.intraclass_corr(data=long, targets="item", raters="rater", ratings="rating",
                                           nan_policy="omit").set_index("Type")
        # two-way random effects, absolute agreement: one rater, and the mean of k raters (pingouin >= 0.6
        # names them ICC(A,1) and ICC(A,k); older versions ICC2 and ICC2k)
        for name, kinds in (("ICC(A,1)", ("ICC(A,1)", "ICC2")), ("ICC(A,k)", ("ICC(A,k)", "ICC2k"))):
            kind = next(k for k in kinds if k in icc.index)
            lo, hi = icc.loc[kind, "CI95"]
            out[name] = {"estimate": float(icc.loc[kind, "ICC"]), "low": float(lo), "high": float(hi),
                         "F": float(icc.loc[kind, "F"]), "p": float(icc.loc[kind, "pval"])}
    except (ValueError, AssertionError, KeyError, StopIteration) as error:
        out["icc_note"] = f"ICC not computed ({error})"
    return out


def _by(values: dict[str, list[str]], fn) -> dict[str, Any]:
    return {key: fn(ids) for key, ids in sorted(values.items())}


def analyze_answers(study: dict[str, Any], answers: pd.DataFrame, raters: pd.DataFrame, *,
                    n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Every statistic of the report from the store's answers and raters (see the module docstring)."""
    rng = np.random.default_rng([seed, 1605])
    table = exclusions(study, answers, raters)
    kept = table.loc[~table["excluded"], "rater"].tolist()
    result: dict[str, Any] = {"raters": {"total": int(len(table)), "kept": len(kept),
                                         "excluded": int(table["excluded"].sum()),
                                         "rule": {"headphone_pass": study["headphone"]["pass"],
                                                  "catch_min_share": CATCH_MIN_SHARE,
                                                  "repeat_max_mad": REPEAT_MAX_MAD, "complete": True}},
                              "exclusions": table}
    mine = answers[answers["rater"].isin(kept)]
    trials = study["trials"]
    rating = [t for t in trials if t["kind"] == "rating"]
    afc = [t for t in trials if t["kind"] == "2afc"]
    pivot = mine[mine["trial_id"].isin([t["id"] for t in rating])].pivot_table(
        index="rater", columns="trial_id", values="response", aggfunc="first")
    pivot = pivot.reindex(index=kept, columns=[t["id"] for t in rating])
    matrix = pivot.to_numpy(np.float64)
    result["reliability"] = _reliability(matrix, rng, n_resamples)
    means = np.nanmean(matrix, axis=0) if len(kept) else np.full(len(rating), np.nan)
    result["items"] = pd.DataFrame({"trial": [t["id"] for t in rating], "emotion": [t["emotion"] for t in rating],
                                    "stratum": [t["stratum"] for t in rating], "model": [t["model"] for t in rating],
                                    "baseline": [t.get("baseline") for t in rating], "mean_rating": means,
                                    "n": np.isfinite(matrix).sum(axis=0) if len(kept) else 0})
    by_emotion: dict[str, list[int]] = {}
    for k, t in enumerate(rating):
        by_emotion.setdefault(t["emotion"], []).append(k)
    choice = mine[mine["trial_id"].isin([t["id"] for t in afc])].pivot_table(
        index="rater", columns="trial_id", values="choice", aggfunc="first").reindex(
        index=kept, columns=[t["id"] for t in afc]).to_numpy(np.float64)
    afc_emotion: dict[str, list[int]] = {}
    afc_conf: dict[str, list[int]] = {}
    for k, t in enumerate(afc):
        afc_emotion.setdefault(t["emotion"], []).append(k)
        afc_conf.setdefault(t["confidence"], []).append(k)

    systems = {"model": "model"}
    if rating and all(t.get("baseline") is not None for t in rating + afc):
        systems["baseline"] = "baseline"
    result["agreement"] = {}
    for name, key in systems.items():
        scores = np.array([t[key] for t in rating], dtype=np.float64)
        preferred = np.array([int(np.argmax(t[key])) for t in afc], dtype=np.float64)
        agree = np.where(np.isfinite(choice), (choice == preferred[None, :]).astype(np.float64), np.nan)
        result["agreement"][name] = {
            "spearman": _spearman(scores, matrix, rng, n_resamples),
            "spearman_by_emotion": _by({e: rows for e, rows in by_emotion.items()},
                                       lambda rows, s=scores: _spearman(s[rows], matrix[:, rows], rng, n_resamples)),
            "afc": _afc(agree, rng, n_resamples),
            "afc_by_confidence": _by(afc_conf, lambda cols, a=agree: _afc(a[:, cols], rng, n_resamples)),
            "afc_by_emotion": _by(afc_emotion, lambda cols, a=agree: _afc(a[:, cols], rng, n_resamples)),
        }
    if "baseline" not in systems:
        result["agreement"]["baseline"] = {"skipped": study["scores"].get("baseline_note") or "no baseline scores"}
    felt = mine[mine["valence"].notna()]
    result["felt"] = {"n_answers_with_sliders": int(len(felt))}
    result["study"] = {k: study[k] for k in ("checkpoint", "dataset", "config", "headphone", "plan")}
    result["analysis"] = {"n_resamples": n_resamples, "seed": seed}
    return result


# -- the report -------------------------------------------------------------------------------------

def _png(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _plots(result: dict[str, Any]) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    items = result["items"]
    plots = {}
    systems = [s for s, r in result["agreement"].items() if "skipped" not in r]
    fig, axes = plt.subplots(1, len(systems), figsize=(5 * len(systems), 4), squeeze=False)
    for ax, system in zip(axes[0], systems):
        sp = result["agreement"][system]["spearman"]
        for emotion, group in items.groupby("emotion"):
            ax.scatter(group[system], group["mean_rating"], label=emotion, s=28, alpha=0.8)
        ax.set_xlabel(f"{system} score")
        ax.set_ylabel("mean rating (1-7)")
        ax.set_title(f"{system}: rho = {sp['estimate']:.2f} [{sp['low']:.2f}, {sp['high']:.2f}]")
    axes[0][0].legend(fontsize=7, loc="best")
    plots["scatter"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.6))
    emotions = sorted(result["agreement"]["model"]["spearman_by_emotion"])
    width = 0.8 / max(len(systems), 1)
    for k, system in enumerate(systems):
        rows = [result["agreement"][system]["spearman_by_emotion"][e] for e in emotions]
        est = np.array([r["estimate"] for r in rows])
        err = np.array([[r["estimate"] - r["low"], r["high"] - r["estimate"]] for r in rows]).T
        ax.bar(np.arange(len(emotions)) + k * width, est, width, yerr=np.nan_to_num(err), label=system, capsize=3)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(np.arange(len(emotions)) + width * (len(systems) - 1) / 2, emotions, rotation=30)
    ax.set_ylabel("Spearman rho (95% CI)")
    ax.set_title("model-human agreement per emotion of the sound")
    ax.legend()
    plots["per_emotion"] = _png(fig)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 3.6))
    groups = ["all", *sorted(result["agreement"]["model"]["afc_by_confidence"])]
    for k, system in enumerate(systems):
        rows = [result["agreement"][system]["afc"]] + [result["agreement"][system]["afc_by_confidence"][g]
                                                       for g in groups[1:]]
        est = np.array([r["estimate"] for r in rows])
        err = np.array([[r["estimate"] - r["low"], r["high"] - r["estimate"]] for r in rows]).T
        ax.bar(np.arange(len(groups)) + k * width, est, width, yerr=np.nan_to_num(err), label=system, capsize=3)
    ax.axhline(0.5, color="k", ls="--", lw=0.8, label="chance")
    ax.set_xticks(np.arange(len(groups)) + width * (len(systems) - 1) / 2, groups)
    ax.set_ylim(0, 1)
    ax.set_ylabel("share of choices agreeing")
    ax.set_title("2AFC agreement with the system's preferred painting")
    ax.legend()
    plots["afc"] = _png(fig)
    plt.close(fig)
    return plots


def _fmt(r: dict[str, Any]) -> str:
    if "estimate" not in r:
        return html.escape(r.get("note", ""))
    p = f", p = {r['p']:.3g}" if "p" in r and np.isfinite(r.get("p", np.nan)) else ""
    return f"{r['estimate']:.3f} [{r['low']:.3f}, {r['high']:.3f}]{p}"


def _html(result: dict[str, Any], plots: dict[str, str]) -> str:
    rel = result["reliability"]
    study = result["study"]
    rows = []
    for system, r in result["agreement"].items():
        if "skipped" in r:
            rows.append(f"<tr><th>{system}</th><td colspan=3>skipped: {html.escape(r['skipped'])}</td></tr>")
            continue
        afc = r["afc"]
        rows.append(f"<tr><th>{system}</th><td>{_fmt(r['spearman'])}</td><td>{_fmt(afc)} ({afc['k']}/{afc['n']})"
                    f"</td><td>{', '.join(f'{g}: {_fmt(v)}' for g, v in r['afc_by_confidence'].items())}</td></tr>")
    emotion_rows = []
    for emotion in sorted(result["agreement"]["model"]["spearman_by_emotion"]):
        cells = "".join(f"<td>{_fmt(r['spearman_by_emotion'][emotion])}</td><td>"
                        f"{_fmt(r['afc_by_emotion'].get(emotion, {'note': 'no 2AFC trial'}))}</td>"
                        for r in result["agreement"].values() if "skipped" not in r)
        emotion_rows.append(f"<tr><th>{html.escape(emotion)}</th>{cells}</tr>")
    header = "".join(f"<th>{s} Spearman</th><th>{s} 2AFC</th>" for s, r in result["agreement"].items()
                     if "skipped" not in r)
    excl = result["exclusions"]
    excl_rows = "".join(f"<tr><td>{r.rater}</td><td>{html.escape(str(r.alias or ''))}</td><td>{r.answered}/"
                        f"{r.scheduled}</td><td>{r.headphone_correct}</td><td>{r.catch_correct}</td>"
                        f"<td>{r.repeat_mad:.2f}</td><td>{html.escape(r.reasons) or 'kept'}</td></tr>"
                        for r in excl.itertuples(index=False))
    plan = study.get("plan") or {}
    rel_text = "; ".join(f"{k}: {_fmt(v)}" for k, v in rel.items() if isinstance(v, dict)) or html.escape(
        str(rel.get("note", "")))
    images = "".join(f'<figure><img alt="{k}" src="data:image/png;base64,{v}"></figure>' for k, v in plots.items())
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Human judgement report</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:1rem auto;padding:0 1rem;color:#222}}
table{{border-collapse:collapse;margin:.6rem 0}}td,th{{border:1px solid #ccc;padding:.25rem .5rem;font-size:.9rem;
text-align:left}}figure{{display:inline-block;margin:.4rem}}img{{max-width:100%}}</style></head><body>
<h1>Human judgement of emotional congruence</h1>
<p>Checkpoint <code>{html.escape(Path(str(study['checkpoint']['path'])).name)}</code> (sha256
{html.escape(str(study['checkpoint']['sha256'])[:12])}...), dataset split <code>{html.escape(study['dataset']['split'])}
</code> (data version {html.escape(str(study['dataset']['data_version']))}), design seed {study['config']['seed']}.
Planned raters: {plan.get('planned_raters')} (recruit {plan.get('recruit')}).</p>
<h2>Raters</h2><p>{result['raters']['kept']} kept of {result['raters']['total']}; {result['raters']['excluded']}
excluded by the rule (incomplete; headphones below {result['raters']['rule']['headphone_pass']} correct; catch
below {CATCH_MIN_SHARE:.0%}; repeats differing by more than {REPEAT_MAX_MAD} points).</p>
<table><tr><th>rater</th><th>alias</th><th>answered</th><th>headphone</th><th>catch</th><th>repeat MAD</th>
<th>decision</th></tr>{excl_rows}</table>
<h2>Inter-rater reliability (rating trials)</h2><p>{rel_text}</p>
<h2>Model and baseline against people</h2>
<table><tr><th>system</th><th>Spearman (score vs mean rating), 95% CI</th><th>2AFC agreement, 95% CI, binomial p</th>
<th>2AFC by model confidence</th></tr>{''.join(rows)}</table>
<h3>Per emotion of the sound</h3><table><tr><th>emotion</th>{header}</tr>
{''.join(emotion_rows)}</table>
{images}
</body></html>
"""


def write_report(result: dict[str, Any], out: str | os.PathLike[str]) -> list[Path]:
    """``report.json``, ``report.html`` (plots embedded) and ``items.csv``, ``raters.csv`` in ``out``."""
    from resonance.evaluate.report import to_jsonable
    from resonance.io.atomic import StagedOutputs
    from resonance.provenance import package_versions

    out = Path(out)
    plots = _plots(result)
    payload = {k: (v.to_dict("records") if isinstance(v, pd.DataFrame) else v) for k, v in result.items()}
    payload["versions"] = package_versions(("synesthetic-resonance", "numpy", "scipy", "pandas", "krippendorff",
                                            "pingouin", "matplotlib"))
    with StagedOutputs(out) as staged:
        staged.path("report.json").write_text(json.dumps(to_jsonable(payload), indent=2, allow_nan=True) + "\n",
                                              encoding="utf-8")
        staged.path("report.html").write_text(_html(result, plots), encoding="utf-8")
        result["items"].to_csv(staged.path("items.csv"), index=False)
        result["exclusions"].to_csv(staged.path("raters.csv"), index=False)
        staged.commit(order=["items.csv", "raters.csv", "report.html", "report.json"])
    return [out / n for n in ("report.json", "report.html", "items.csv", "raters.csv")]


def analyze_study(folder: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, *,
                  n_resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Analyse the answers of the study ``folder``; write the report into ``out`` when given."""
    from resonance.judge.design import load_study
    from resonance.judge.store import open_store

    study = load_study(folder)
    store = open_store(folder)
    try:
        answers, raters = store.answers_frame(), store.raters_frame()
    finally:
        store.close()
    raters = raters[raters["answered"] > 0]
    if raters.empty:
        raise DatasetError(f"the study {folder} has no answers yet; serve it (`resonance judge serve {folder}`) "
                           "or simulate raters (`resonance judge simulate`)")
    result = analyze_answers(study, answers, raters, n_resamples=n_resamples, seed=seed)
    if out is not None:
        write_report(result, out)
    return result
