"""``resonance evaluate CHECKPOINT --data DATASET`` and ``resonance map CHECKPOINT --data DATASET --out DIR``.

Thin wrappers over :func:`resonance.evaluate.protocol.evaluate` (metrics with chance, untrained and
descriptor baselines in the same run; JSON and Markdown) and :func:`resonance.evaluate.maps.run_map`
(UMAP PNG, self-contained HTML, montage). User errors (a checkpoint of another version or taxonomy, a
dataset lacking a modality ...) are :class:`~resonance.errors.ResonanceError` and end as one ``error:``
line with exit status 2 (:mod:`resonance.cli.main`); nothing is written unless the run succeeded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resonance.cli.options import Device

app = typer.Typer(help="Evaluate and map the shared space.")


@app.command("evaluate")
def evaluate(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint (.pt) written by `resonance train`.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by `resonance data prepare`.")],
    split: Annotated[str, typer.Option(help="Split to evaluate.")] = "test",
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Folder for evaluation.json and evaluation.md "
                                             "(default: beside the checkpoint, evaluation_SPLIT/).")] = None,
    features: Annotated[Path | None, typer.Option(help="Features table for the descriptor baseline (default: "
                                                  "features.parquet in or beside the dataset).")] = None,
    permutations: Annotated[int, typer.Option(min=1, help="Label permutations averaged for chance.")] = 10,
    resamples: Annotated[int, typer.Option(min=0, help="Group-bootstrap resamples (0: no intervals; else "
                                           ">= 100).")] = 200,
    seed: Annotated[int, typer.Option(min=0, help="Seed of every draw.")] = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="Items per forward pass.")] = 64,
    device: Annotated[Device, typer.Option(help="Where to embed.")] = Device.auto,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
    fold: Annotated[int | None, typer.Option(min=0, help="Score this cross-validation fold (its test groups "
                                             "become the split); default: the fold the checkpoint was trained "
                                             "on, if any.")] = None,
    folds: Annotated[Path | None, typer.Option(help="Folds CSV (fold,group) as given to `resonance train "
                                               "--folds`; default: the checkpoint's.")] = None,
) -> None:
    """Score a checkpoint on a split: retrieval, pairwise, clustering, probes, CIs, with baselines."""
    from resonance.evaluate.protocol import ProtocolConfig
    from resonance.evaluate.protocol import evaluate as run

    config = ProtocolConfig(n_permutations=permutations, n_resamples=resamples, seed=seed, batch_size=batch_size,
                            device=device.value, progress=progress)
    target = out if out is not None else Path(checkpoint).parent / f"evaluation_{split}"
    result = run(checkpoint, data, split, out=target, features=features, config=config,
                 log=lambda m: typer.echo(m, err=True), fold=fold, folds=folds)
    summary = result["summary"]
    typer.echo(summary.to_string(float_format=lambda v: f"{v:.3f}"))
    for note in result.get("notes", []):
        typer.echo(f"note: {note}", err=True)
    skipped = result["baselines"]["descriptor"].get("skipped")
    if skipped:
        typer.echo(f"descriptor baseline skipped: {skipped}", err=True)
    typer.echo(f"wrote {target / 'evaluation.json'} and {target / 'evaluation.md'}")


@app.command("map")
def map_(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint (.pt) written by `resonance train`.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by `resonance data prepare`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for map.png, map.html and montage.png.")],
    split: Annotated[str, typer.Option(help="Split to map.")] = "test",
    seed: Annotated[int, typer.Option(min=0, help="UMAP seed.")] = 0,
    batch_size: Annotated[int, typer.Option(min=1, help="Items per forward pass.")] = 64,
    device: Annotated[Device, typer.Option(help="Where to embed.")] = Device.auto,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """A 2-D UMAP of a split's embeddings (PNG + self-contained HTML) and nearest-painting montages."""
    from resonance.evaluate.maps import run_map

    written = run_map(checkpoint, data, out, split=split, seed=seed, batch_size=batch_size, device=device.value,
                      progress=progress, log=lambda m: typer.echo(m, err=True))
    for path in written:
        typer.echo(f"wrote {path}")

