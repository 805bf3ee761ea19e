"""`resonance attribute report` and `resonance attribute pair`: which descriptors carry the alignment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Attribute the alignment of paintings and sounds to named features, per emotion.")


@app.command("report")
def report(
    checkpoint: Annotated[Path, typer.Argument(help="Checkpoint (.pt) written by `resonance train`.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by `resonance data prepare` "
                                       "(with `resonance features extract`'s table).")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder (index.html, report.json, emotions/).")],
    by: Annotated[str, typer.Option(help="Grouping of the pages (only 'emotion' today).")] = "emotion",
    split: Annotated[str, typer.Option(help="Split to explain.")] = "test",
    emotion: Annotated[list[str] | None, typer.Option("--emotion", help="Only these emotions (repeatable).")] = None,
    pairs: Annotated[int, typer.Option(min=20, help="Random image-sound pairs of each SHAP surrogate (all pairs; "
                                       "pairs with an item of each emotion).")] = 2000,
    steps: Annotated[int, typer.Option(min=2, help="IG / integrated-Jacobian steps on descriptors.")] = 64,
    overlay_steps: Annotated[int, typer.Option(min=2, help="IG steps of the pixel / log-mel overlays.")] = 32,
    overlay_max_steps: Annotated[int, typer.Option(min=2, help="Cap on the gradient evaluations of an overlay "
                                                   "refined along the path until its completeness error is "
                                                   "below 1 %.")] = 256,
    overlays: Annotated[int, typer.Option(min=0, help="Overlays per emotion and modality (0: none).")] = 3,
    max_items: Annotated[int, typer.Option(min=2, help="Pairs of the pair matrix, items of the deletion "
                                           "curves, per emotion.")] = 200,
    features: Annotated[Path | None, typer.Option(help="Features table (default: the dataset's).")] = None,
    fold: Annotated[int | None, typer.Option(help="Cross-validation fold (default: the one the checkpoint was "
                                             "trained on, if any).")] = None,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Per-emotion attribution report: SHAP, pair matrix, IG and overlays, deletion curves, regression,
    completeness, sanity checks."""
    from attribution.run import report_from_checkpoint
    from resonance.errors import ParameterError

    if by != "emotion":
        raise ParameterError(f"--by must be 'emotion', got {by!r}")
    result = report_from_checkpoint(checkpoint, data, out, split=split, features=features, fold=fold,
                                    emotions=emotion or None,
                                    n_pairs=pairs, n_steps=steps, overlay_steps=overlay_steps,
                                    overlay_max_steps=overlay_max_steps, n_overlays=overlays,
                                    max_items=max_items, progress=progress, log=lambda m: typer.echo(m, err=True))
    typer.echo(f"surrogate fidelity R2 {result['surrogate']['fidelity_r2']:.3f}; "
               f"{len(result['emotions'])} emotion pages")
    typer.echo(f"wrote {out / 'index.html'} and {out / 'report.json'}")


@app.command("pair")
def pair(
    image: Annotated[Path, typer.Argument(help="A painting (image file).")],
    sound: Annotated[Path, typer.Argument(help="A sound (audio file).")],
    checkpoint: Annotated[Path, typer.Option("--checkpoint", "-c", help="Checkpoint written by `resonance train`.")],
    steps: Annotated[int, typer.Option(min=2, help="Integration steps on descriptors.")] = 64,
    overlay_steps: Annotated[int, typer.Option(min=2, help="IG steps of the pixel / log-mel overlays.")] = 32,
    overlay_max_steps: Annotated[int, typer.Option(min=2, help="Cap on the gradient evaluations of the overlays "
                                                   "refined along the path until their completeness error is "
                                                   "below 1 %.")] = 256,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Also write the numbers as JSON here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write a self-contained page with the overlays here.")] = None,
) -> None:
    """Explain one pair's alignment: top descriptors of each side, top descriptor pairs, IG overlays."""
    import json

    from attribution.pair import explain_pair
    from resonance.io import write_text_atomic

    r = explain_pair(checkpoint, image, sound, n_steps=steps, overlay_steps=overlay_steps,
                     overlay_max_steps=overlay_max_steps, html=html)
    if "ig_delta" in r:
        typer.echo(f"s({image.name}, {sound.name}) = {r['alignment']:.3f} "
                   f"(train-mean baseline {r['baseline_alignment']:.3f}; "
                   f"IG completeness error {r['ig_delta']:.2g}, {100 * r['ig_relative_delta']:.2f} %)")
        for m in ("image", "audio"):
            typer.echo(f"{m}: " + ", ".join(f"{n} {v:+.3f}" for n, v in r[f"top_{m}"]))
        typer.echo("pairs: " + ", ".join(f"{a} x {b} {v:+.3f}" for a, b, v in r["top_pairs"])
                   + f" (pair-matrix completeness error {r['pair_delta']:.2g})")
    else:
        typer.echo(f"s({image.name}, {sound.name}) = {r['alignment']:.3f}")
    if "raw" in r:
        raw = r["raw"]
        typer.echo(f"pixels / bins: IG from {raw['baselines']['image']} / {raw['baselines']['audio']} "
                   f"(s = {raw['baseline_alignment']:.3f}), completeness error {100 * raw['relative_delta']:.2f} % "
                   f"at {raw['n_steps']} steps" + ("" if raw["converged"] else " (step cap reached)"))
        for m in ("image", "audio"):
            g = sorted(raw[f"grouped_{m}"].items(), key=lambda kv: -abs(kv[1]))[:4]
            typer.echo(f"  {m} groups: " + ", ".join(f"{n} {v:+.3f}" for n, v in g))
    if html is not None:
        typer.echo(f"wrote {html}")
    if out is not None:
        write_text_atomic(out, json.dumps(r, indent=1))
