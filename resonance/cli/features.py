"""``resonance features``: handcrafted descriptors of a prepared dataset or of unlabelled material."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="Handcrafted colour/texture/composition and audio descriptors.")
console = Console(width=None if Console().is_terminal else 160)


class Modality(StrEnum):
    """The two modalities (a fixed choice, checked by the option parser)."""

    image = "image"
    audio = "audio"


class Format(StrEnum):
    """Output formats of ``describe``."""

    table = "table"
    csv = "csv"


@app.command()
def describe(
    modality: Annotated[Modality | None, typer.Option(help="Only this modality (default both).")] = None,
    group: Annotated[list[str] | None, typer.Option(help="Only these groups.")] = None,
    fmt: Annotated[Format, typer.Option("--format", help="Output format.")] = Format.table,
) -> None:
    """Print the descriptor registry: names, units, ranges and references."""
    import handcrafted

    chosen = modality.value if modality is not None else None
    descriptors = handcrafted.REGISTRY.select(modality=chosen, groups=group)
    if fmt is Format.csv:
        frame = handcrafted.REGISTRY.to_frame(chosen)
        typer.echo(frame[frame["name"].isin([d.name for d in descriptors])].to_csv(index=False))
        return
    table = Table(title=f"resonance descriptors ({len(descriptors)})", show_lines=False)
    table.add_column("name", no_wrap=True, style="bold")
    for column in ("group", "unit", "range", "label", "reference"):
        table.add_column(column, overflow="fold", ratio=3 if column == "reference" else 1)
    for d in descriptors:
        flag = " [yellow](codec-sensitive)[/yellow]" if d.codec_sensitive else ""
        table.add_row(d.name, f"{d.modality}/{d.group}", d.unit, f"[{d.range[0]:g}, {d.range[1]:g}]",
                      d.label + flag, d.reference)
    console.print(table)


@app.command()
def extract(
    dataset: Annotated[Path, typer.Argument(help="Dataset folder written by `resonance data prepare` (or its "
                                                 "manifest.parquet), or unlabelled material: a plain folder of "
                                                 "images/sounds, or a .txt list of their paths.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write (updated, never cut down).")],
    group: Annotated[list[str] | None, typer.Option(help="Only these descriptor groups.")] = None,
    modality: Annotated[Modality | None, typer.Option(help="Only items of this modality (default both).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes on this machine.")] = 2,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N items (by id).")] = None,
) -> None:
    """Compute descriptors for every item (incremental; other rows kept; failures recorded)."""
    from handcrafted.extract import ExtractConfig, extract_features

    config = ExtractConfig(groups=tuple(group) if group else None, modality=modality.value if modality else None,
                           workers=workers, scheduler=scheduler, limit=limit)
    result = extract_features(dataset, out, config)  # user errors: one line, exit 2 (resonance.cli.main)
    console.print(result.summary())
