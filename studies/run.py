"""Running a study: the inputs joined into one table, each hypothesis fitted per corpus, FDR across
the study, and a verdict per hypothesis by the rule below.

Verdict rule
------------
Every test of a study (each hypothesis on each corpus, and each ANOVA / Kruskal-Wallis) is one member
of one Benjamini-Hochberg family at the study's ``alpha``; a test that could not be made (NaN p) is
left out of the family. With ``significant`` meaning the FDR-adjusted p is below ``alpha`` (so the 95%
interval also excludes 0), the *reference* effect being the published effect where one is given and
else the study's smallest effect of interest (``sesoi``), and ``MDE`` the minimum detectable effect
at the study's power:

* expected "+" or "-":

  - **replicated**: significant, with the expected sign;
  - **not replicated**: significant with the opposite sign; or not significant while the interval
    excludes the published effect (when one is given) and the test had adequate power
    (MDE < |reference|);
  - **inconclusive**: anything else (an underpowered null, a fit that failed or did not converge,
    no model output given).

* expected "0" (no association, e.g. "partialling out valence and arousal removes it"):

  - **replicated**: not significant, the interval lies within +/- |reference| and MDE < |reference|;
  - **not replicated**: significant;
  - **inconclusive**: anything else; and a partial correlation (``kind = "partial"``) whose zero-order
    correlation is itself not significant (p >= alpha) is "inconclusive: no zero-order association to
    remove" - there was no association for the covariates to explain.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resonance.errors import DatasetError, ParameterError
from studies import stats
from studies.spec import Hypothesis, Study

__all__ = ["StudyResult", "assemble", "load_inputs", "run_and_report", "run_study", "verdict"]

NO_MODEL = "inconclusive: no model output given"
#: A partial correlation expected to vanish ("partialling out X removes it") whose zero-order
#: association is itself not significant (p >= alpha): there was nothing to remove.
NO_ASSOCIATION = "inconclusive: no zero-order association to remove"


@dataclass
class StudyResult:
    """What :func:`run_study` returns."""

    study: Study
    results: pd.DataFrame
    anova: pd.DataFrame
    posthoc: pd.DataFrame
    data: pd.DataFrame
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def verdicts(self) -> dict[str, str]:
        return dict(zip(self.results["test"], self.results["verdict"]))

    def summary(self) -> str:
        """One line: the study, its number of tests and the count of each verdict."""
        counts = self.results["verdict"].value_counts() if not self.results.empty else pd.Series(dtype=int)
        return (f"study {self.study.name}: {len(self.results)} tests; "
                + ", ".join(f"{verdict} {n}" for verdict, n in sorted(counts.items())))


def _read_table(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise DatasetError(f"no {what} at {path}")
    try:
        if path.suffix.lower() in (".csv", ".tsv"):
            return pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
        return pd.read_parquet(path)
    except Exception as error:  # noqa: BLE001 -- whatever the reader raises, the file is not a table
        raise DatasetError(f"{path} is not a readable {what} (CSV or Parquet): {error}") from error


def load_inputs(dataset: str | os.PathLike[str], features: str | os.PathLike[str],
                predictions: str | os.PathLike[str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read a prepared dataset, its features table and optionally a model's predictions, joined by ``id``.

    The predictions table (CSV or Parquet) has an ``id`` column and any of ``pred_*`` columns (the
    model's outputs for that item); if it has a ``match_id`` column (the item the model matched to
    ``id``, e.g. a painting for a piece of music), every descriptor of the matched item is added as
    ``match_<descriptor>`` (one row per pair).

    Returns
    -------
    frame : pandas.DataFrame
    provenance : dict
        Data version, manifest and features files, predictions file.
    """
    from handcrafted.table import read_features
    from resonance.data.manifest import read_manifest

    manifest = read_manifest(dataset, resolve=False)
    info = manifest.attrs.get("manifest")
    table = read_features(features)
    descriptor_columns = [c for c in table.columns if c not in ("id", "modality", "sha256")]
    known = set(manifest["id"])
    unknown = int((~table["id"].isin(known)).sum())
    frame = manifest.merge(table[["id", *descriptor_columns]], on="id", how="inner")
    if frame.empty:
        raise DatasetError(f"the features table {features} shares no id with the dataset {dataset}; extract it "
                           "from this dataset")
    provenance: dict[str, Any] = {
        "dataset": str(Path(dataset)), "data_version": getattr(info, "data_version", None),
        "manifest_version": getattr(info, "version", None), "features": str(Path(features)),
        "features_provenance": {k: table.attrs.get("provenance", {}).get(k) for k in ("format", "descriptor_set")},
        "items": int(len(frame)), "feature_ids_not_in_dataset": unknown, "predictions": None,
    }
    if predictions is not None:
        pred = _read_table(Path(predictions), "predictions table")
        if "id" not in pred.columns:
            raise DatasetError(f"the predictions table {predictions} needs an 'id' column; it has {list(pred.columns)}")
        pred["id"] = pred["id"].astype(str)
        if "match_id" in pred.columns:
            matched = table[["id", *descriptor_columns]].rename(columns={c: f"match_{c}" for c in descriptor_columns})
            matched = matched.rename(columns={"id": "match_id"})
            pred = pred.assign(match_id=pred["match_id"].astype(str)).merge(matched, on="match_id", how="left")
        keep = [c for c in pred.columns if c == "id" or c.startswith(("pred_", "match_"))]
        if len(keep) == 1:
            raise DatasetError(f"the predictions table {predictions} has no pred_* or match_id column")
        frame = frame.merge(pred[keep], on="id", how="left")
        provenance["predictions"] = str(Path(predictions))
        provenance["predictions_provenance"] = _table_provenance(Path(predictions))
        provenance["items_with_predictions"] = int(frame["id"].isin(set(pred["id"])).sum())
    return frame, provenance


#: What a study keeps of the provenance ``resonance predict`` records (the model named, its data version).
_PREDICTION_KEYS = ("checkpoint", "checkpoint_id", "model", "epoch", "seed", "trained_on_data_version", "data_version",
                    "splits", "fold", "match_k")


def _table_provenance(path: Path) -> dict[str, Any] | None:
    """The provenance a predictions table carries (Parquet metadata, or ``FILE.provenance.json`` beside a
    CSV), reduced to :data:`_PREDICTION_KEYS`; None when it carries none."""
    from handcrafted.table import METADATA_KEY

    record: Any = None
    try:
        if path.suffix.lower() in (".csv", ".tsv"):
            sidecar = path.with_name(path.name + ".provenance.json")
            record = json.loads(sidecar.read_text(encoding="utf-8")) if sidecar.is_file() else None
        else:
            import pyarrow.parquet as pq

            metadata = pq.read_schema(path).metadata or {}
            record = json.loads(metadata[METADATA_KEY]) if METADATA_KEY in metadata else None
    except (OSError, ValueError):
        return None
    return {k: record.get(k) for k in _PREDICTION_KEYS} if isinstance(record, dict) else None


def _json_path(value: Any, keys: list[str]) -> Any:
    if not isinstance(value, str) or not value:
        return None
    try:
        node = json.loads(value)
    except ValueError:
        return None
    for key in keys:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return node if isinstance(node, str | int | float) and not isinstance(node, bool) else None


def assemble(frame: pd.DataFrame, study: Study) -> pd.DataFrame:
    """The study's rows: its modality, corpora and splits, with the derived columns added."""
    data = frame
    spec = study.data
    if spec.modality is not None and "modality" in data:
        data = data[data["modality"] == spec.modality]
    wanted = set(spec.corpora) | {c for h in study.hypotheses for c in h.corpora} | {
        c for a in study.anova for c in a.corpora}
    if wanted and "corpus" in data:
        data = data[data["corpus"].isin(wanted)]
    if spec.splits and "split" in data:
        data = data[data["split"].isin(spec.splits)]
    data = data.copy()
    for name, path in spec.derive.items():
        values = pd.Series([None] * len(data), index=data.index, dtype=object)
        for alternative in path.split("|"):  # "a.x|b.y": the first one present
            column, *keys = alternative.strip().split(".")
            if column not in data:
                raise DatasetError(f"study {study.name}: derive {name} = {path!r} needs the column {column!r}, "
                                   "which the data lack")
            found = pd.Series([_json_path(v, keys) for v in data[column]], index=data.index, dtype=object)
            values = values.where(values.notna(), found)
        data[name] = values
        if all(isinstance(v, int | float) or v is None for v in data[name]):
            data[name] = pd.to_numeric(data[name], errors="coerce")
    return data.reset_index(drop=True)


def verdict(estimate: float, ci_low: float, ci_high: float, significant: bool, expected: str,
            published: float | None, mde: float, reference: float, *, usable: bool = True) -> str:
    """The verdict of one test by the rule of the module docstring."""
    if not usable or not all(np.isfinite([estimate, ci_low, ci_high])):
        return "inconclusive"
    powered = np.isfinite(mde) and mde < abs(reference)
    if expected == "0":
        if significant:
            return "not replicated"
        if powered and -abs(reference) < ci_low and ci_high < abs(reference):
            return "replicated"
        return "inconclusive"
    sign = 1.0 if expected == "+" else -1.0
    if significant:
        return "replicated" if np.sign(estimate) == sign else "not replicated"
    if published is not None and powered and not (ci_low <= published <= ci_high):
        return "not replicated"
    return "inconclusive"


def _corpora_of(hypothesis: Hypothesis, study: Study, data: pd.DataFrame) -> list[str | None]:
    corpora = list(hypothesis.corpora or study.data.corpora)
    return corpora if corpora else [None]


def _fit_one(hypothesis: Hypothesis, study: Study, data: pd.DataFrame, outcome: str | None = None, *,
             standardize_outcome: bool = True) -> tuple[stats.Fit, str | None]:
    """Fit ``hypothesis`` on ``data`` (already the corpus' rows); returns the fit and the groups column."""
    formula = hypothesis.formula
    if outcome is not None:
        formula = f"{outcome} ~ {formula.split('~', 1)[1].strip()}"
    frame = data
    predictors = hypothesis.predictors
    y = formula.split("~", 1)[0].strip()
    if hypothesis.kind == "contrast":
        column, high, low = hypothesis.contrast
        if column not in frame:
            return stats.Fit(note=f"no column {column!r}"), None
        frame = frame[frame[column].astype(str).isin([high, low])].copy()
        frame["contrast"] = (frame[column].astype(str) == high).astype(float)
    needed = [y, *predictors, *hypothesis.covariates]
    missing = [c for c in needed if c not in frame]
    if missing:
        return stats.Fit(note=f"columns {missing} are not in the data"), None
    groups = study.data.groups if hypothesis.model in ("mixed", "glm") else None
    if groups is not None and groups not in frame:
        return stats.Fit(note=f"groups column {groups!r} is not in the data"), None
    keep = list(dict.fromkeys(needed + ([groups] if groups else [])))
    frame = frame[keep].copy()
    for column in needed:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    frame = frame.replace([np.inf, -np.inf], np.nan).dropna()
    if groups:
        frame = frame[frame[groups].notna()]
        frame[groups] = frame[groups].astype(str)
    if study.data.standardize:  # a GLM keeps its outcome (0/1, counts) on its own scale
        keep_scale = hypothesis.model == "glm" or not standardize_outcome
        frame = stats.standardize(frame, [c for c in needed if not (keep_scale and c == y)])
        frame = frame.dropna()
    if hypothesis.kind == "partial":
        return stats.partial_corr(frame, predictors[0], y, hypothesis.covariates, seed=study.seed), None
    if hypothesis.model == "glm":
        return _fit_glm(hypothesis, study, formula, frame, groups)
    if groups is None:
        return stats.fit_ols(formula, frame, hypothesis.term), None
    n_groups = frame[groups].nunique()
    if n_groups < study.data.min_groups:
        fit = stats.fit_ols(f"{formula} + C({groups})", frame, hypothesis.term) if n_groups > 1 else stats.fit_ols(
            formula, frame, hypothesis.term)
        fit.n_groups = int(n_groups)
        fit.note = (f"{n_groups} {groups} level(s) < min_groups {study.data.min_groups}: OLS (HC3) with {groups} "
                    "as fixed effects instead of random intercepts")
        return fit, groups
    return stats.fit_mixed(formula, frame, hypothesis.term, groups), groups


def _fit_glm(hypothesis: Hypothesis, study: Study, formula: str, frame: pd.DataFrame,
             groups: str | None) -> tuple[stats.Fit, str | None]:
    """A GLM of ``hypothesis``: errors clustered by ``groups`` (repeated measures) when it has at least
    ``min_groups`` levels, else HC0 with the groups (if any) as fixed effects."""
    family = hypothesis.family or "binomial"
    if groups is None:
        return stats.fit_glm(formula, frame, hypothesis.term, family=family), None
    n_groups = int(frame[groups].nunique())
    if n_groups >= study.data.min_groups:
        fit = stats.fit_glm(formula, frame, hypothesis.term, family=family, cluster=groups)
        fit.n_groups = n_groups
        fit.note = "; ".join(x for x in [fit.note, f"errors clustered by {groups}"] if x)
        return fit, groups
    fit = stats.fit_glm(f"{formula} + C({groups})" if n_groups > 1 else formula, frame, hypothesis.term,
                        family=family)
    fit.n_groups = n_groups
    fit.note = "; ".join(x for x in [fit.note, f"{n_groups} {groups} level(s) < min_groups "
                                     f"{study.data.min_groups}: {groups} as fixed effects (HC0)"] if x)
    return fit, groups


_DIFFERENCE = "model_minus_people"


def _compare_rows(hypothesis: Hypothesis, study: Study, data: pd.DataFrame) -> tuple[pd.DataFrame, str | None]:
    """The rows a ``compare`` hypothesis fits (every column of both outcomes and the predictors present,
    so the people's, the model's and the difference's fits share their items) and the name of the
    difference column: model minus people, each standardised over those rows when the study standardises,
    whose coefficient on the term is the model's estimate minus the people's, with its own interval."""
    columns = [hypothesis.outcome, hypothesis.model_outcome, *hypothesis.predictors]
    if any(c not in data for c in columns):
        return data, None
    values = data[columns].apply(pd.to_numeric, errors="coerce").replace([np.inf, -np.inf], np.nan)
    rows = data[values.notna().all(axis=1)].copy()
    people = pd.to_numeric(rows[hypothesis.outcome]).astype(float)
    model = pd.to_numeric(rows[hypothesis.model_outcome]).astype(float)
    if study.data.standardize:
        people, model = ((v - v.mean()) / v.std(ddof=1) if len(v) > 1 and v.std(ddof=1) > 0 else v * np.nan
                         for v in (people, model))
    rows[_DIFFERENCE] = model - people
    return rows, _DIFFERENCE


def run_study(study: Study, frame: pd.DataFrame, *, predictions_given: bool | None = None,
              provenance: Mapping[str, Any] | None = None) -> StudyResult:
    """Run every hypothesis and ANOVA of ``study`` on ``frame`` (see :func:`load_inputs`).

    ``predictions_given`` says whether a model's output was supplied (default: whether ``frame``
    has any ``pred_*`` or ``match_*`` column); hypotheses that need it are then "inconclusive: no
    model output given" without a fit.
    """
    if predictions_given is None:
        predictions_given = any(str(c).startswith(("pred_", "match_")) for c in frame.columns)
    data = assemble(frame, study)
    rows: list[dict[str, Any]] = []
    for hypothesis in study.hypotheses:
        for corpus in _corpora_of(hypothesis, study, data):
            subset = data if corpus is None else data[data["corpus"] == corpus]
            row = {"test": f"{hypothesis.id}@{corpus or 'all'}", "hypothesis": hypothesis.id, "corpus": corpus or "all",
                   "kind": hypothesis.kind, "formula": hypothesis.formula, "term": hypothesis.term,
                   "expected": hypothesis.expected, "published": hypothesis.published,
                   "published_ci_low": hypothesis.published_ci[0] if hypothesis.published_ci else math.nan,
                   "published_ci_high": hypothesis.published_ci[1] if hypothesis.published_ci else math.nan,
                   "source": hypothesis.source}
            if hypothesis.needs_predictions and not predictions_given:
                rows.append({**row, **_empty(), "note": "no model output given", "verdict_override": NO_MODEL})
                continue
            if subset.empty:
                rows.append({**row, **_empty(), "note": f"no rows for corpus {corpus!r}"})
                continue
            if hypothesis.kind == "compare":
                subset, difference = _compare_rows(hypothesis, study, subset)
                human, _ = _fit_one(hypothesis, study, subset)
                fit, groups = _fit_one(hypothesis, study, subset, outcome=hypothesis.model_outcome)
                diff, _ = (_fit_one(hypothesis, study, subset, outcome=difference, standardize_outcome=False)
                           if difference else (stats.Fit(), None))
                row.update(diff_estimate=diff.estimate, diff_ci_low=diff.ci_low, diff_ci_high=diff.ci_high,
                           diff_p=diff.p)
                row["published"] = human.estimate if np.isfinite(human.estimate) else None
                row["published_ci_low"], row["published_ci_high"] = human.ci_low, human.ci_high
                row["source"] = f"people's labels ({hypothesis.outcome}) in the same data"
                fit.note = "; ".join(x for x in [fit.note, f"model outcome {hypothesis.model_outcome}; difference "
                                                 f"model - people = {fit.estimate - human.estimate:+.3f}"] if x)
                if hypothesis.expected != "0" and np.isfinite(human.estimate) and (
                        human.ci_low > 0 or human.ci_high < 0):  # people's sign where their interval shows one
                    row["expected"] = "+" if human.estimate > 0 else "-"
            else:
                fit, groups = _fit_one(hypothesis, study, subset)
            rows.append({**row, "estimate": fit.estimate, "se": fit.se, "ci_low": fit.ci_low, "ci_high": fit.ci_high,
                         "p": fit.p, "n": fit.n, "n_groups": fit.n_groups, "groups": groups, "method": fit.method,
                         "converged": fit.converged, "warnings": " | ".join(fit.warnings), "note": fit.note,
                         "zero_order_r": fit.zero_order[0] if fit.zero_order else math.nan,
                         "zero_order_p": fit.zero_order[1] if fit.zero_order else math.nan,
                         "mde": (stats.mde_correlation(fit.n, len(hypothesis.covariates), alpha=0.05,
                                                       power=study.power) if hypothesis.kind == "partial" else
                                 stats.mde_coefficient(fit.se, alpha=0.05, power=study.power)),
                         "sesoi": hypothesis.sesoi if hypothesis.sesoi is not None else study.sesoi})
    results = pd.DataFrame(rows)
    anova_rows, posthoc = [], []
    for spec in study.anova:
        corpora = list(spec.corpora or study.data.corpora) or [None]
        for corpus in corpora:
            subset = data if corpus is None else data[data["corpus"] == corpus]
            if spec.levels and spec.factor in subset:
                subset = subset[subset[spec.factor].astype(str).isin(spec.levels)]
            for descriptor in spec.descriptors:
                if descriptor not in subset or spec.factor not in subset:
                    anova_rows.append({"descriptor": descriptor, "factor": spec.factor, "corpus": corpus or "all",
                                       "note": "column missing"})
                    continue
                summary, pairs = stats.anova_kruskal(subset, descriptor, spec.factor, power=study.power)
                anova_rows.append({**summary, "corpus": corpus or "all", "note": ""})
                if not pairs.empty:
                    posthoc.append(pairs.assign(corpus=corpus or "all"))
    anova = pd.DataFrame(anova_rows)
    posthoc_frame = pd.concat(posthoc, ignore_index=True) if posthoc else pd.DataFrame()
    _correct(results, anova, study.alpha)
    out = StudyResult(study=study, results=results, anova=anova, posthoc=posthoc_frame, data=data,
                      provenance=dict(provenance or {}))
    out.provenance.update({"study": study.name, "seed": study.seed, "alpha": study.alpha, "power": study.power,
                           "predictions_given": bool(predictions_given)})
    return out


def _empty() -> dict[str, Any]:
    return {"estimate": math.nan, "se": math.nan, "ci_low": math.nan, "ci_high": math.nan, "p": math.nan, "n": 0,
            "n_groups": 0, "groups": None, "method": "", "converged": None, "warnings": "", "mde": math.nan,
            "sesoi": math.nan}


def _correct(results: pd.DataFrame, anova: pd.DataFrame, alpha: float) -> None:
    """FDR over every distinct test of the study (hypotheses sharing a fit count once), then verdicts."""
    if results.empty:
        return
    keys = results["corpus"].astype(str) + "|" + results["formula"] + "|" + results["term"] + "|" + results[
        "kind"] + "|" + results["estimate"].astype(str)
    first = ~keys.duplicated()
    family = list(results.loc[first, "p"])
    if not anova.empty:
        for column in ("p_anova", "p_kruskal"):
            if column in anova:
                family.extend(anova[column].tolist())
    adjusted, _ = stats.fdr(family, alpha)
    lookup = dict(zip(keys[first], adjusted[: int(first.sum())]))
    results["p_fdr"] = [lookup[k] for k in keys]
    if not anova.empty:
        offset = int(first.sum())
        for column in ("p_anova", "p_kruskal"):
            if column in anova:
                anova[f"{column}_fdr"] = adjusted[offset: offset + len(anova)]
                offset += len(anova)
    verdicts = []
    for row in results.itertuples(index=False):
        override = getattr(row, "verdict_override", None)
        if isinstance(override, str):
            verdicts.append(override)
            continue
        significant = bool(np.isfinite(row.p_fdr) and row.p_fdr < alpha)
        published = row.published if row.published is not None and np.isfinite(row.published) else None
        reference = abs(published) if published is not None else row.sesoi
        usable = row.converged is not False
        if row.kind == "partial" and row.expected == "0" and not (
                getattr(row, "zero_order_p", math.nan) < alpha):  # nothing to remove: "removes it" is untested
            verdicts.append(NO_ASSOCIATION)
            continue
        verdicts.append(verdict(row.estimate, row.ci_low, row.ci_high, significant, row.expected, published, row.mde,
                                reference, usable=usable))
    results["verdict"] = verdicts
    published = pd.to_numeric(results["published"], errors="coerce")
    inside = (results["ci_low"] <= published) & (published <= results["ci_high"])
    results["published_in_ci"] = inside.where(published.notna() & results["ci_low"].notna(), None)
    if "verdict_override" in results:
        del results["verdict_override"]


def check_output_dir(out: Path) -> Path:
    """The output folder, created; a file in its place is a :class:`ParameterError`."""
    if out.exists() and not out.is_dir():
        raise ParameterError(f"--out {out} is a file; give a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def run_and_report(study: str | os.PathLike[str] | Study, dataset: str | os.PathLike[str],
                   features: str | os.PathLike[str], out: str | os.PathLike[str], *,
                   predictions: str | os.PathLike[str] | None = None, seed: int | None = None) -> StudyResult:
    """Load a study (built-in name, TOML file or :class:`Study`) and its inputs, run it and write every
    artefact of :func:`studies.report.write_report` into ``out``: what ``resonance study run`` and
    ``resonance demo`` do."""
    import dataclasses

    from studies.report import write_report
    from studies.spec import load_study

    spec = study if isinstance(study, Study) else load_study(study)
    if seed is not None:
        spec = dataclasses.replace(spec, seed=seed)
    frame, provenance = load_inputs(dataset, features, predictions)
    folder = check_output_dir(Path(out))
    result = run_study(spec, frame, predictions_given=predictions is not None, provenance=provenance)
    write_report(result, folder)
    return result
