"""``resonance index build CHECKPOINT SOURCE --out INDEX`` and ``resonance match QUERY --index INDEX``.

Thin wrappers over :mod:`resonance.evaluate.gallery`: a gallery is a prepared dataset or a plain folder
of images and sounds without labels; a sound finds the emotionally closest paintings, a painting the
closest sounds. A query that does not decode, or an index of another checkpoint, ends as one ``error:``
line with exit status 2 (:mod:`resonance.cli.main`).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from resonance.cli.options import Device

app = typer.Typer(no_args_is_help=True, help="Build a gallery index to match against.")
match_app = typer.Typer(help="Match a painting or a sound against an index.")


class Kind(StrEnum):
    """Index kinds."""

    auto = "auto"
    exact = "exact"
    hnsw = "hnsw"


@app.command("build")
def build(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint (.pt) written by `resonance train`.")],
    source: Annotated[Path, typer.Argument(help="A prepared dataset, or a plain folder (or .txt list) of "
                                           "images/sounds without labels.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Index folder to write.")],
    features: Annotated[Path | None, typer.Option(help="Features table for descriptor towers.")] = None,
    kind: Annotated[Kind, typer.Option(help="exact (brute force), hnsw (approximate) or auto (by size).")]
    = Kind.auto,
    batch_size: Annotated[int, typer.Option(min=1, help="Items per forward pass.")] = 32,
    device: Annotated[Device, typer.Option(help="Where to embed.")] = Device.auto,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Embed a gallery with a checkpoint and persist its FAISS index (one per modality)."""
    from resonance.evaluate.gallery import build_index

    result = build_index(checkpoint, source, out, features=features, kind=kind.value, batch_size=batch_size,
                         device=device.value, progress=progress, log=lambda m: typer.echo(m, err=True))
    typer.echo(result.summary())


@match_app.command("match")
def match(
    query: Annotated[Path, typer.Argument(help="A painting or a sound file.")],
    index: Annotated[Path, typer.Option("--index", help="Index folder from `resonance index build`.")],
    k: Annotated[int, typer.Option("-k", min=1, help="How many matches.")] = 10,
    sheet: Annotated[Path | None, typer.Option(help="Also draw a contact sheet (PNG) here.")] = None,
    same: Annotated[bool, typer.Option("--same", help="Search the query's own modality instead of the "
                                       "other one.")] = False,
    checkpoint: Annotated[Path | None, typer.Option(help="The checkpoint the index was built from (default: "
                                                    "the path it recorded).")] = None,
    device: Annotated[Device, typer.Option(help="Where to embed.")] = Device.auto,
) -> None:
    """The emotionally closest paintings to a sound (or sounds to a painting), with cosine scores."""
    from resonance.evaluate.gallery import match as run

    result = run(query, index, k=k, checkpoint=checkpoint, same_modality=same, sheet=sheet, device=device.value)
    noun = "paintings" if result.target_modality == "image" else "sounds"
    typer.echo(f"{len(result.hits)} {noun} closest to {result.query.name} ({result.query_modality}):")
    for row in result.hits.itertuples(index=False):
        label = f"  [{row.label}]" if isinstance(row.label, str) else ""
        typer.echo(f"{row.rank:3d}  {row.score:+.3f}  {row.path or row.id}{label}")
    if result.sheet is not None:
        typer.echo(f"wrote {result.sheet}")
