"""`resonance attribute report` and `resonance attribute pair`: which descriptors carry the alignment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Attribute the alignment of paintings and sounds to named features, per emotion.")


@app.command("report")
def report(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint (.pt) of a model with descriptor towers.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by `resonance data prepare` "
                                       "(with `resonance features extract`'s table).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder (index.html, report.json, emotions/).")],
    by: Annotated[str, typer.Option(help="Grouping of the pages (only 'emotion' today).")] = "emotion",
    split: Annotated[str, typer.Option(help="Split to explain.")] = "test",
    emotion: Annotated[list[str] | None, typer.Option("--emotion", help="Only these emotions (repeatable).")] = None,
    pairs: Annotated[int, typer.Option(min=20, help="Random image-sound pairs for the SHAP surrogate.")] = 2000,
    steps: Annotated[int, typer.Option(min=2, help="Integrated-Gradients steps.")] = 32,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Per-emotion attribution report: SHAP, pair matrix, IG, deletion curves, regression, completeness."""
    from attribution.report import report_from_checkpoint
    from resonance.errors import ParameterError

    if by != "emotion":
        raise ParameterError(f"--by must be 'emotion', got {by!r}")
    result = report_from_checkpoint(checkpoint, data, out, split=split, emotions=emotion or None, n_pairs=pairs,
                                    n_steps=steps, progress=progress, log=lambda m: typer.echo(m, err=True))
    typer.echo(f"surrogate fidelity R2 {result['surrogate']['fidelity_r2']:.3f}; "
               f"{len(result['emotions'])} emotion pages")
    typer.echo(f"wrote {out / 'index.html'} and {out / 'report.json'}")


@app.command("pair")
def pair(
    image: Annotated[Path, typer.Argument(help="A painting (image file).")],
    sound: Annotated[Path, typer.Argument(help="A sound (audio file).")],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", "-c", help="Checkpoint with descriptor towers.")],
    steps: Annotated[int, typer.Option(min=2, help="Integration steps.")] = 64,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the numbers as JSON here.")] = None,
) -> None:
    """Explain one pair's alignment: top descriptors of each side and top descriptor pairs."""
    import json

    from attribution.report import explain_pair
    from resonance.io import write_text_atomic

    r = explain_pair(checkpoint, image, sound, n_steps=steps)
    typer.echo(f"s({image.name}, {sound.name}) = {r['alignment']:.3f} "
               f"(train-mean baseline {r['baseline_alignment']:.3f}; "
               f"IG completeness error {r['ig_delta']:.2g}, {100 * r['ig_relative_delta']:.2f} %)")
    for m in ("image", "audio"):
        typer.echo(f"{m}: " + ", ".join(f"{n} {v:+.3f}" for n, v in r[f"top_{m}"]))
    typer.echo("pairs: " + ", ".join(f"{a} x {b} {v:+.3f}" for a, b, v in r["top_pairs"])
               + f" (pair-matrix completeness error {r['pair_delta']:.2g})")
    if out is not None:
        write_text_atomic(out, json.dumps(r, indent=1))
