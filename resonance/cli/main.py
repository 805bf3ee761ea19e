"""The ``resonance`` command: one Typer app made of sub-apps."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from resonance.cli import data, features

app = typer.Typer(no_args_is_help=True, help="Emotional resonance between abstract art and sound.",
                  pretty_exceptions_show_locals=False)
app.add_typer(data.app, name="data")
app.add_typer(features.app, name="features")


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for every demo artefact.")] = Path("outputs/demo"),
    seed: Annotated[int, typer.Option(help="Seed of every stage.")] = 0,
    workers: Annotated[int, typer.Option(help="Processes.")] = 2,
) -> None:
    """Run the main job on the embedded probe stimuli: generate, prepare, extract descriptors."""
    from resonance.demo import DemoConfig, run_demo

    run_demo(DemoConfig(out=out, seed=seed, workers=workers), log=typer.echo)


@app.command()
def version() -> None:
    """Print the version."""
    from resonance import __version__

    typer.echo(__version__)


if __name__ == "__main__":
    app()
