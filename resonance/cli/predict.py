"""``resonance predict CHECKPOINT --data DATASET --out FILE``: a checkpoint's per-item outputs as a table.

A thin wrapper over :func:`resonance.evaluate.predictions.predict`: valence/arousal, category probabilities
and the nearest items of the other modality for every labelled item, written to Parquet or CSV with the
checkpoint, the data version and package versions recorded; the table ``resonance study run --predictions``
reads (the studies never load a model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resonance.cli.options import Device

app = typer.Typer(help="Per-item predictions of a checkpoint.")


@app.command("predict")
def predict(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint (.pt) written by `resonance train`.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by `resonance data prepare`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The table to write: .parquet or .csv.")],
    split: Annotated[list[str] | None, typer.Option("--split", help="A split to predict (repeatable; default: "
                                                    "every split).")] = None,
    fold: Annotated[int | None, typer.Option(min=0, help="Read the splits as in this cross-validation fold of "
                                             "the checkpoint (--split test: the items the fold held out).")] = None,
    features: Annotated[Path | None, typer.Option(help="Features table for descriptor towers (default: "
                                                  "features.parquet in or beside the dataset).")] = None,
    matches: Annotated[int, typer.Option("--matches", min=0, help="Nearest items of the other modality per "
                                         "item (match_id, match_score, match_rank); 0: none.")] = 1,
    match_corpus: Annotated[list[str] | None, typer.Option("--match-corpus", help="Match only against items of "
                                                           "this corpus (repeatable; e.g. dvisa).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Items per forward pass.")] = 64,
    device: Annotated[Device, typer.Option(help="Where to embed.")] = Device.auto,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Per-item predictions of a checkpoint (VA, category probabilities, matches): the table that
    `resonance study run --predictions` reads."""
    from resonance.evaluate.predictions import predict as run

    result = run(checkpoint, data, out, splits=split or None, fold=fold, features=features, match_k=matches,
                 match_corpora=match_corpus or None, batch_size=batch_size, device=device.value, progress=progress,
                 log=lambda m: typer.echo(m, err=True))
    for note in result.notes:
        typer.echo(f"note: {note}", err=True)
    typer.echo(result.summary())
