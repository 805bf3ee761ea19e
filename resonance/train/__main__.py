"""``python -m resonance.train CONFIG [--set key=value ...] [--resume latest]`` (also runs under torchrun).

A minimal entry point without the Typer app (``resonance train`` in :mod:`resonance.cli` is the user-facing
one); it prints one line per error, as the CLI does.
"""

from __future__ import annotations

import argparse
import sys

from resonance.errors import ResonanceError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m resonance.train")
    parser.add_argument("config", nargs="?", default=None)
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--resume", default=None)
    args = parser.parse_args(argv)
    from resonance.train import load_config, train

    try:
        overrides = list(args.overrides) + ([f'resume="{args.resume}"'] if args.resume else [])
        config = load_config(args.config, overrides)
        result = train(config)
    except ResonanceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"trained {result.steps} steps, {result.epochs_run} epochs on {result.device}; best "
          f"{config.early_stopping_metric} = {result.best_metric}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
