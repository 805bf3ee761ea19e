"""Writing a study's results: tables (CSV, Markdown, LaTeX), figures (effects with intervals beside the
published effect; per-emotion descriptor distributions), a self-contained HTML summary and the
provenance (data version, seed, package versions)."""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from resonance.io.atomic import write_bytes_atomic, write_text_atomic
from resonance.provenance import package_versions
from studies.run import StudyResult

__all__ = ["write_report", "TABLE_COLUMNS"]

#: Columns of the Markdown / LaTeX / HTML results table.
TABLE_COLUMNS = ("test", "expected", "published", "estimate", "ci_low", "ci_high", "published_in_ci", "p", "p_fdr",
                 "mde", "n", "n_groups", "diff_estimate", "diff_ci_low", "diff_ci_high", "verdict")
_STUDY_PACKAGES = ("synesthetic-resonance", "numpy", "scipy", "pandas", "pyarrow", "statsmodels", "pingouin",
                   "matplotlib")


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            return ""
        if value != 0 and abs(value) < 1e-3:
            return f"{value:.1e}"
        return f"{value:.3f}"
    return str(value)


def markdown_table(frame: pd.DataFrame, columns: tuple[str, ...]) -> str:
    columns = tuple(c for c in columns if c in frame)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
    for row in frame[list(columns)].itertuples(index=False):
        lines.append("| " + " | ".join(_fmt(v).replace("|", "\\|") for v in row) + " |")
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                  "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def _latex(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def latex_table(frame: pd.DataFrame, columns: tuple[str, ...], caption: str) -> str:
    columns = tuple(c for c in columns if c in frame)
    lines = [r"\begin{table}", r"\centering", rf"\caption{{{_latex(caption)}}}",
             r"\begin{tabular}{" + "l" * len(columns) + "}", r"\hline",
             " & ".join(_latex(c) for c in columns) + r" \\", r"\hline"]
    for row in frame[list(columns)].itertuples(index=False):
        lines.append(" & ".join(_latex(_fmt(v)) for v in row) + r" \\")
    lines += [r"\hline", r"\end{tabular}", r"\end{table}"]
    return "\n".join(lines) + "\n"


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()


def effect_plot(results: pd.DataFrame, title: str) -> bytes | None:
    """Each test's estimate with its 95% interval, the published effect (and its interval) beside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if results.empty:
        return None
    n = len(results)
    figure, axis = plt.subplots(figsize=(7.5, 0.9 + 0.32 * n))
    positions = np.arange(n)[::-1]
    colours = {"replicated": "tab:green", "not replicated": "tab:red"}
    for y, row in zip(positions, results.itertuples(index=False)):
        colour = colours.get(row.verdict, "tab:grey")
        if np.isfinite(row.estimate):
            axis.errorbar(row.estimate, y, xerr=[[row.estimate - row.ci_low], [row.ci_high - row.estimate]]
                          if np.isfinite(row.ci_low) else None, fmt="o", color=colour, capsize=2)
        published = row.published if row.published is not None else math.nan
        if np.isfinite(published):
            low, high = row.published_ci_low, row.published_ci_high
            xerr = [[published - low], [high - published]] if np.isfinite(low) else None
            axis.errorbar(published, y - 0.25, xerr=xerr, fmt="D", color="black", markersize=4, capsize=2)
    axis.axvline(0, color="0.6", linewidth=0.8)
    axis.set_yticks(positions, [str(t) for t in results["test"]], fontsize=7)
    axis.set_xlabel("standardised effect (o: this data, 95% CI; diamond: published)\n"
                    "green: replicated, red: not replicated, grey: inconclusive")
    axis.set_title(title, fontsize=9)
    data = _png(figure)
    plt.close(figure)
    return data


def distribution_plot(data: pd.DataFrame, descriptors: list[str], factor: str = "emotion") -> bytes | None:
    """Box plots of each descriptor per level of ``factor`` (per corpus)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    descriptors = [d for d in descriptors if d in data and pd.to_numeric(data[d], errors="coerce").notna().any()]
    if not descriptors or factor not in data:
        return None
    corpora = sorted(data["corpus"].dropna().unique()) if "corpus" in data else ["all"]
    descriptors = descriptors[:8]
    figure, axes = plt.subplots(len(descriptors), len(corpora), figsize=(3.6 * len(corpora), 2.2 * len(descriptors)),
                                squeeze=False)
    for i, descriptor in enumerate(descriptors):
        for j, corpus in enumerate(corpora):
            axis = axes[i][j]
            subset = data if corpus == "all" else data[data["corpus"] == corpus]
            values = pd.to_numeric(subset[descriptor], errors="coerce")
            levels = sorted(subset[factor].dropna().astype(str).unique())
            groups = [values[subset[factor].astype(str) == level].dropna().to_numpy() for level in levels]
            kept = [(level, g) for level, g in zip(levels, groups) if len(g)]
            if kept:
                axis.boxplot([g for _, g in kept], showfliers=False)
                axis.set_xticks(range(1, len(kept) + 1), [level for level, _ in kept], rotation=45, fontsize=6)
            axis.set_title(f"{corpus}: {descriptor}", fontsize=7)
            axis.tick_params(axis="y", labelsize=6)
    figure.tight_layout()
    data_png = _png(figure)
    plt.close(figure)
    return data_png


def _descriptors_of(result: StudyResult) -> list[str]:
    names: list[str] = []
    for hypothesis in result.study.hypotheses:
        if hypothesis.kind == "contrast":
            names.append(hypothesis.outcome)
        else:
            names.extend(p for p in hypothesis.predictors if p != "contrast")
    for spec in result.study.anova:
        names.extend(spec.descriptors)
    return [n for n in dict.fromkeys(names) if not n.startswith(("pred_", "match_"))]


def write_report(result: StudyResult, out: str | Path) -> dict[str, Path]:
    """Write every artefact of ``result`` into the folder ``out``; returns name -> path."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    study = result.study
    written: dict[str, Path] = {}

    def text(name: str, content: str) -> None:
        write_text_atomic(out / name, content)
        written[name] = out / name

    results = result.results
    text("results.csv", results.to_csv(index=False))
    text("results.md", f"# {study.title}\n\n" + markdown_table(results, TABLE_COLUMNS))
    text("results.tex", latex_table(results, TABLE_COLUMNS, f"{study.title}: hypotheses and verdicts"))
    anova_columns = ("corpus", "descriptor", "factor", "n", "k", "F", "p_anova", "p_anova_fdr", "eta2", "H",
                     "p_kruskal", "p_kruskal_fdr", "epsilon2", "mde_eta2")
    if not result.anova.empty:
        text("anova.csv", result.anova.to_csv(index=False))
        text("anova.md", markdown_table(result.anova, anova_columns))
        text("anova.tex", latex_table(result.anova, anova_columns, f"{study.title}: descriptors across emotions"))
    if not result.posthoc.empty:
        text("posthoc.csv", result.posthoc.to_csv(index=False))
    figures: dict[str, bytes] = {}
    effects = effect_plot(results, study.title)
    if effects is not None:
        figures["effects.png"] = effects
    distributions = distribution_plot(result.data, _descriptors_of(result))
    if distributions is not None:
        figures["distributions.png"] = distributions
    for name, data in figures.items():
        write_bytes_atomic(out / name, data)
        written[name] = out / name
    provenance = {**result.provenance, "packages": package_versions(_STUDY_PACKAGES),
                  "verdict_counts": results["verdict"].value_counts().to_dict() if not results.empty else {}}
    text("provenance.json", json.dumps(provenance, indent=2, sort_keys=True, default=str) + "\n")
    text("summary.html", _html(result, figures, provenance))
    return written


def _html_table(frame: pd.DataFrame, columns: tuple[str, ...]) -> str:
    columns = tuple(c for c in columns if c in frame)
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = []
    for row in frame[list(columns)].itertuples(index=False):
        cells = "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row)
        verdict = str(getattr(row, "verdict", "")) if "verdict" in columns else ""
        css = {"replicated": "ok", "not replicated": "no"}.get(verdict, "")
        body.append(f"<tr class='{css}'>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _html(result: StudyResult, figures: dict[str, bytes], provenance: dict[str, Any]) -> str:
    study = result.study
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(study.title)}</title>",
             "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;"
             "font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px}tr.ok{background:#e6f4e6}"
             "tr.no{background:#f8e1e1}</style></head><body>",
             f"<h1>{html.escape(study.title)}</h1><p>{html.escape(study.description)}</p>",
             f"<p>FDR (Benjamini-Hochberg) at alpha = {study.alpha} across every test of the study; "
             f"MDE at power {study.power}. Verdict rule: docs/studies.md.</p>",
             "<h2>Hypotheses</h2>", _html_table(result.results, TABLE_COLUMNS)]
    notes = result.results[["test", "method", "converged", "note", "warnings"]] if not result.results.empty else None
    if notes is not None:
        parts += ["<h2>Fits</h2>", _html_table(notes, ("test", "method", "converged", "note", "warnings"))]
    if not result.anova.empty:
        parts += ["<h2>Descriptors across emotions</h2>",
                  _html_table(result.anova, ("corpus", "descriptor", "n", "k", "F", "p_anova_fdr", "eta2", "H",
                                             "p_kruskal_fdr", "epsilon2", "mde_eta2"))]
    for name, data in figures.items():
        encoded = base64.b64encode(data).decode("ascii")
        parts.append(f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' "
                     f"src='data:image/png;base64,{encoded}'>")
    parts.append("<h2>Provenance</h2><pre>" + html.escape(json.dumps(provenance, indent=2, sort_keys=True,
                                                                       default=str)) + "</pre></body></html>")
    return "\n".join(parts) + "\n"
