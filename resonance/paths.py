"""Where resonance finds data and keeps its caches; both configurable through the environment."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ENV = "RESONANCE_DATA"
CACHE_ENV = "RESONANCE_CACHE"


def data_root() -> Path:
    """The folder holding the real corpora: ``$RESONANCE_DATA``, else ``../shared/data`` beside the repo."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return (Path(__file__).resolve().parents[2] / "shared" / "data").resolve()


def cache_root() -> Path:
    """Content-addressed caches (rendered MIDI, decoded audio): ``$RESONANCE_CACHE`` or ``~/.cache/resonance``."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "resonance"
