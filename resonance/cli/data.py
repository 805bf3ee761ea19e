"""``resonance data``: prepare datasets from corpora, generate probe stimuli."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, help="Build datasets: real corpora and synthetic probe stimuli.")
console = Console(stderr=True, soft_wrap=True)


@app.command()
def prepare(
    sources: Annotated[list[str], typer.Argument(help="Corpus folders, each optionally prefixed CORPUS= "
                                                      "(dvisa, feelingblue, ravdess, tess, cremad, savee, "
                                                      "emodb, emopia, kaggle, generic, probes), or "
                                                      "NAME=generic:PATH to name a corpus of your own.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Dataset folder to write.")],
    limit: Annotated[int | None, typer.Option(min=1, help="At most N items per corpus (seeded sample).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the split and the --limit sample.")] = 0,
    holdout_corpus: Annotated[str | None, typer.Option(help="Send this whole corpus to the test split.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Decoding processes.")] = 2,
    group_pattern: Annotated[str | None, typer.Option(help="Regex with a named group 'group' giving the speaker "
                                                           "or artist from a file's relative path, for files "
                                                           "no corpus naming recognises.")] = None,
    label_map: Annotated[str | None, typer.Option(help="CSV word,category or word,valence,arousal mapping "
                                                       "label words; overrides categories and lexicon.")] = None,
) -> None:
    """Scan, validate and unify corpora into OUT: manifest.parquet, rejected.csv, datasheet.md."""
    from resonance.cli.progress import tqdm_progress
    from resonance.data.prepare import PrepareConfig, prepare_dataset

    config = PrepareConfig(seed=seed, limit=limit, holdout_corpus=holdout_corpus, workers=workers,
                           group_pattern=group_pattern, label_map=label_map)
    result = prepare_dataset(sources, out, config, progress=tqdm_progress)  # user errors: one line, exit 2
    for path, corpus in result.detections:
        console.print(f"{path}: [bold]{corpus}[/bold] layout")
    console.print(result.summary())


@app.command()
def probes(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the generated stimuli.")],
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 0,
) -> None:
    """Generate the controlled synthetic probe stimuli (images and sounds) with their labels."""
    from resonance.data.probes import ProbeConfig, generate_probes

    console.print(generate_probes(out, ProbeConfig(seed=seed)).summary())
