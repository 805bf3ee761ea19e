"""``resonance features``: handcrafted descriptors of a prepared dataset."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="Handcrafted colour/texture/composition and audio descriptors.")
console = Console(width=None if Console().is_terminal else 160)


@app.command()
def describe(
    modality: Annotated[str | None, typer.Option(help="image or audio (default both).")] = None,
    group: Annotated[list[str] | None, typer.Option(help="Only these groups.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="table or csv.")] = "table",
) -> None:
    """Print the descriptor registry: names, units, ranges and references."""
    import handcrafted

    descriptors = handcrafted.REGISTRY.select(modality=modality, groups=group)
    if fmt == "csv":
        frame = handcrafted.REGISTRY.to_frame(modality)
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
    dataset: Annotated[Path, typer.Argument(help="Dataset folder written by `resonance data prepare`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Parquet file to write.")],
    group: Annotated[list[str] | None, typer.Option(help="Only these descriptor groups.")] = None,
    workers: Annotated[int, typer.Option(help="Processes on this machine.")] = 2,
    scheduler: Annotated[str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786.")] = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N items (by id).")] = None,
) -> None:
    """Compute descriptors for every manifest item (incremental; failures recorded)."""
    from handcrafted.extract import ExtractConfig, extract_features

    config = ExtractConfig(groups=tuple(group) if group else None, workers=workers, scheduler=scheduler,
                           limit=limit)
    result = extract_features(dataset, out, config)
    console.print(result.summary())
