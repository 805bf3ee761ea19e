"""``resonance judge``: a human-judgement study of emotional congruence -- design, serve, export, analyse,
and simulated raters (for tests and planning). Thin wrappers over :mod:`resonance.judge`; the only module
that imports the web app (:mod:`resonance.judge.web`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resonance.cli.options import Device

app = typer.Typer(no_args_is_help=True, help="Human judgement of emotional congruence: design a rating study, "
                  "serve it, export and analyse the answers.")


@app.command()
def design(
    checkpoint: Annotated[Path, typer.Option("--checkpoint", help="Checkpoint (.pt) written by `resonance train`.")],
    data: Annotated[Path, typer.Option("--data", help="Dataset folder written by `resonance data prepare`.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Study folder to create.")],
    split: Annotated[str, typer.Option(help="The split whose items the study shows.")] = "test",
    seed: Annotated[int, typer.Option(min=0, help="Seed of the trial selection and every rater's order.")] = 0,
    n_rating: Annotated[int, typer.Option(min=1, help="Rating trials (one painting, one sound, 1-7).")] = 40,
    n_2afc: Annotated[int, typer.Option("--n-2afc", min=0, help="2AFC trials (one sound, two paintings).")] = 16,
    n_catch: Annotated[int, typer.Option(min=0, help="Catch trials (2AFC whose answer the VA rule defines).")] = 4,
    n_repeat: Annotated[int, typer.Option(min=0, help="Rating trials shown twice (consistency check).")] = 4,
    n_headphone: Annotated[int, typer.Option(min=1, help="Headphone-check trials (Woods et al. 2017).")] = 6,
    headphone_tone_s: Annotated[float, typer.Option(min=0.05, max=5.0, help="Length of each headphone-check "
                                                    "tone (1 s as published).")] = 1.0,
    raters: Annotated[int | None, typer.Option(min=1, help="Rater links to create (default: the plan's recruit "
                                               "count).")] = None,
    plan_simulations: Annotated[int, typer.Option(min=5, help="Simulated studies per candidate rater "
                                                  "count.")] = 60,
    sliders: Annotated[bool, typer.Option(help="Offer the optional felt valence/arousal sliders.")] = True,
    features: Annotated[Path | None, typer.Option(help="Features table for the descriptor baseline (default: "
                                                  "found beside the dataset).")] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="Items per forward pass.")] = 32,
    device: Annotated[Device, typer.Option(help="Where to embed.")] = Device.auto,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
) -> None:
    """Pick the trials of a study from a checkpoint's scores, plan the raters, and create their links."""
    from resonance.judge.design import DesignConfig, design_study

    config = DesignConfig(seed=seed, split=split, n_rating=n_rating, n_2afc=n_2afc, n_catch=n_catch,
                          n_repeat=n_repeat, n_headphone=n_headphone, headphone_tone_s=headphone_tone_s,
                          raters=raters, plan_simulations=plan_simulations, sliders=sliders)
    result = design_study(checkpoint, data, out, config, features=features, device=device.value,
                          batch_size=batch_size, progress=progress, log=lambda m: typer.echo(m, err=True))
    typer.echo(result.summary())


@app.command()
def serve(
    study: Annotated[Path, typer.Argument(help="Study folder written by `resonance judge design`.")],
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port.")] = 8000,
) -> None:
    """Serve the study's rating page; raters open http://HOST:PORT/r/TOKEN (see the study's links.txt)."""
    from resonance.judge.web import serve as run

    typer.echo(f"serving {study} on http://{host}:{port}/ (rater links: {study / 'links.txt'}); Ctrl-C stops",
               err=True)
    run(study, host=host, port=port)


@app.command()
def export(
    study: Annotated[Path, typer.Argument(help="Study folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="A .parquet or .csv file for the answers.")],
) -> None:
    """Write every answer (with its trial, timings and rater id, never a token) to Parquet or CSV."""
    from resonance.errors import ParameterError
    from resonance.io.atomic import atomic_path
    from resonance.judge.design import load_study
    from resonance.judge.store import open_store

    if out.suffix.lower() not in (".parquet", ".csv"):
        raise ParameterError(f"--out {out} must end in .parquet or .csv")
    study_design = load_study(study)
    store = open_store(study)
    try:
        frame = store.answers_frame()
    finally:
        store.close()
    frame["trial_kind"] = frame["trial_id"].map(lambda t: study_design["_by_id"][t]["kind"])
    with atomic_path(out) as tmp:
        frame.to_parquet(tmp, index=False) if out.suffix.lower() == ".parquet" else frame.to_csv(tmp, index=False)
    typer.echo(f"wrote {len(frame)} answers of {frame['rater'].nunique()} raters to {out}")


@app.command()
def analyze(
    study: Annotated[Path, typer.Argument(help="Study folder.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder (report.html, report.json, CSVs).")],
    resamples: Annotated[int, typer.Option(min=100, help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the bootstrap.")] = 0,
) -> None:
    """Exclusions, inter-rater reliability and model-human agreement (and the descriptor baseline's)."""
    from resonance.judge.analyze import analyze_study

    result = analyze_study(study, out, n_resamples=resamples, seed=seed)
    r = result["raters"]
    typer.echo(f"{r['kept']} of {r['total']} raters kept ({r['excluded']} excluded)")
    alpha = result["reliability"].get("krippendorff_alpha")
    if alpha:
        typer.echo(f"Krippendorff's alpha {alpha['estimate']:.3f} [{alpha['low']:.3f}, {alpha['high']:.3f}]")
    for system, a in result["agreement"].items():
        if "skipped" in a:
            typer.echo(f"{system}: skipped ({a['skipped']})")
            continue
        s, f = a["spearman"], a["afc"]
        typer.echo(f"{system}: Spearman {s['estimate']:.3f} [{s['low']:.3f}, {s['high']:.3f}]; 2AFC "
                   f"{f['estimate']:.3f} [{f['low']:.3f}, {f['high']:.3f}] (binomial p = {f['p']:.3g})")
    typer.echo(f"wrote {out / 'report.html'}")


@app.command()
def simulate(
    study: Annotated[Path, typer.Argument(help="Study folder (simulated raters are added to its database).")],
    raters: Annotated[int, typer.Option(min=1, help="Simulated raters to add.")] = 20,
    url: Annotated[str | None, typer.Option(help="Answer over HTTP against a running `judge serve` at this "
                                            "URL instead of through the database.")] = None,
    seconds: Annotated[float, typer.Option(min=1.0, help="Time limit of the HTTP run.")] = 60.0,
    agreement: Annotated[float, typer.Option(min=0.0, help="Slope of ratings on congruence (0: random).")] = 1.0,
    noise: Annotated[float, typer.Option(min=0.0, help="Trial-to-trial rating noise (scale points).")] = 2.0,
    model_weight: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of the congruence that follows "
                                                "the model's score (plants agreement).")] = 0.0,
    careless: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of raters answering at random.")] = 0.0,
    no_headphones: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of raters on "
                                                 "loudspeakers.")] = 0.0,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the simulated raters.")] = 0,
) -> None:
    """Simulated raters whose preferences follow valence-arousal distance, for tests and planning."""
    from resonance.judge.design import load_study
    from resonance.judge.simulate import RaterModel, simulate_http, simulate_into_store
    from resonance.judge.store import open_store

    model = RaterModel(agreement=agreement, noise=noise, model_weight=model_weight, careless=careless,
                       no_headphones=no_headphones, seed=seed)
    study_design = load_study(study)
    store = open_store(study)
    try:
        if url is None:
            ids = simulate_into_store(store, study_design, raters, model)
            typer.echo(f"{len(ids)} simulated raters answered every trial; {store.count('answers')} answers stored")
            return
        tokens = store.add_raters(study_design, raters, alias="simulated")
    finally:
        store.close()
    acknowledged, stats = simulate_http(url, tokens, study_design, model, seconds=seconds)
    typer.echo(f"{len(acknowledged)} answers acknowledged over HTTP in at most {seconds:g} s ({stats})")
