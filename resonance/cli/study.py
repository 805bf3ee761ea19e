"""``resonance study``: list the built-in statistical studies and run one (built-in or a TOML file)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(no_args_is_help=True, help="Statistical feature studies: replications with verdicts.")


@app.command("list")
def list_studies() -> None:
    """List the built-in studies (name, modality, corpora, hypotheses, whether a model's output is needed)."""
    from studies.spec import builtin_names, describe, load_study

    rows = describe([load_study(name) for name in builtin_names()])
    for row in rows:
        needs = "needs --predictions" if row["needs_predictions"] else "labels only"
        typer.echo(f"{row['name']:<18} {row['hypotheses']:>3} hypotheses  {row['modality']:<6} "
                   f"{row['corpora']:<22} {needs}")


@app.command()
def run(
    study: Annotated[str, typer.Argument(help="A built-in study name (see `resonance study list`) or a study "
                                              "TOML file.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by `resonance data prepare`.")],
    features: Annotated[Path, typer.Option("--features", help="Features table written by `resonance features "
                                                              "extract` (Parquet).")],
    predictions: Annotated[Path | None, typer.Option(
        "--predictions", help="A model's outputs (CSV/Parquet: id, pred_*, optional match_id).")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default "
                                                                  "outputs/studies/<name>).")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Seed of the bootstrap (default: the study's).")] = None,
) -> None:
    """Run a study: tables (CSV, Markdown, LaTeX), figures, an HTML summary and provenance in --out."""
    from studies import load_study, run_and_report

    spec = load_study(study)
    folder = out if out is not None else Path("outputs/studies") / spec.name
    result = run_and_report(spec, data, features, folder, predictions=predictions, seed=seed)
    for row in result.results.itertuples(index=False):
        interval = (f"[{row.ci_low:+.3f}, {row.ci_high:+.3f}]" if row.ci_low == row.ci_low else "")
        estimate = f"{row.estimate:+.3f}" if row.estimate == row.estimate else "n/a"
        flag = "" if row.converged is not False else "  (did not converge)"
        flag += "  (fit warnings: see results.csv)" if isinstance(row.warnings, str) and row.warnings else ""
        typer.echo(f"{row.test:<48} {estimate:>7} {interval:<18} {row.verdict}{flag}")
    typer.echo(f"-> {folder}")
