"""``resonance train CONFIG [--set key=value ...] [--resume latest] [--folds FILE] [--out DIR]``.

A thin layer over :mod:`resonance.train`: the config (TOML or YAML) and every ``--set`` are validated
before any work; a manifest config then trains on the manifest split or on every cross-validation
fold (``--folds FILE``, or the speech corpora's default actor folds) and reports mean +- sd over the
folds. User errors are :class:`~resonance.errors.ResonanceError` and end as one ``error:`` line with
exit status 2 (:mod:`resonance.cli.main`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Train the dual encoder.")


def _where(run_dir: Path, tensorboard: bool) -> list[str]:
    lines = [f"  checkpoint: {run_dir / 'checkpoints' / 'best.pt'} (latest: {run_dir / 'checkpoints' / 'latest.pt'})",
             f"  metrics:    {run_dir / 'metrics.csv'}"]
    if tensorboard:
        lines.append(f"  tensorboard: {run_dir / 'tensorboard'}")
    return lines


@app.command("train")
def train(
    config: Annotated[Path, typer.Argument(help="Training config (.toml, .yaml or .yml).")],
    overrides: Annotated[list[str] | None, typer.Option("--set", help="Override a config key: key=value "
                                                        "(repeatable), e.g. --set lr=3e-4.")] = None,
    resume: Annotated[str | None, typer.Option(help="'latest' (the run's last checkpoint) or a checkpoint "
                                               "path.")] = None,
    folds: Annotated[Path | None, typer.Option(help="CSV of fold,group: run every fold, report mean +- sd.")] = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Run folder (overrides run_dir).")] = None,
) -> None:
    """Train on a config; print where the checkpoints, metrics and TensorBoard logs went."""
    from resonance.train.config import load_config

    extra = list(overrides or [])
    if resume:
        extra.append(f"resume={_literal(resume)}")
    if out is not None:
        extra.append(f"run_dir={_literal(str(out))}")
    if folds is not None:
        extra.append(f"data.folds={_literal(str(folds))}")
    cfg = load_config(config, extra)  # every key and value checked before any work
    if cfg.data.kind == "manifest":
        _train_manifest(cfg)
        return
    from resonance.train.loop import train as train_run

    result = train_run(cfg)
    typer.echo(f"trained {result.steps} steps, {result.epochs_run} epochs on {result.device}; best "
               f"{cfg.early_stopping_metric} = {_fmt(result.best_metric)}")
    for line in _where(Path(cfg.run_dir), cfg.tensorboard):
        typer.echo(line)


def _train_manifest(cfg) -> None:
    from resonance.train.manifest_data import run_manifest

    results, summary = run_manifest(cfg, log=typer.echo)
    for r in results:
        head = "run" if r.fold is None else f"fold {r.fold}"
        shown = ", ".join(f"{k} {v:.3f}" for k, v in r.metrics.items() if not k.endswith("_n"))
        typer.echo(f"{head}: {r.steps} steps; best {cfg.early_stopping_metric} = {_fmt(r.best_metric)}"
                   + (f"; {shown}" if shown else ""))
        for line in _where(r.run_dir, cfg.tensorboard):
            typer.echo(line)
        typer.echo(f"  ({r.notes[-1]})")
    if len(results) > 1:
        typer.echo(f"mean +- sd over {len(results)} folds:")
        for name, s in summary.items():
            if not name.endswith("_n"):
                typer.echo(f"  {name}: {s['mean']:.3f} +- {s['sd']:.3f}")
    typer.echo(f"summary: {Path(cfg.run_dir) / 'summary.json'} and {Path(cfg.run_dir) / 'folds.csv'}")


def _literal(text: str) -> str:
    """A TOML string literal (so that ``--set`` parsing never reads a path as a number)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"
