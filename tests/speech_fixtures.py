"""Build small speech-corpus trees in the upstream layouts of corpora we have no copy of.

There is no real CREMA-D, SAVEE or Kaggle "Audio Emotions" copy in the shared data, so tests lay
out a handful of real RAVDESS/TESS recordings under those corpora's names. The adapters only read
names, but real files keep the trees usable by anything downstream (decoding, hashing). Where the
shared data is absent, short synthetic WAVs stand in so the layout tests still run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import soundfile as sf

from resonance.paths import data_root


def source_recordings(n: int, scratch: Path) -> list[Path]:
    """``n`` audio files to lay out under other names: real RAVDESS/TESS Ogg files when the shared
    data is there, else 0.1-s synthetic WAVs (440 Hz at 16 kHz) written into ``scratch``."""
    root = data_root()
    real = sorted((root / "ravdess").rglob("*.ogg"))[:n // 2] + sorted((root / "tess").rglob("*.ogg"))
    real = real[:n]
    if len(real) == n:
        return real
    scratch.mkdir(parents=True, exist_ok=True)
    t = np.arange(1600) / 16000.0
    paths = []
    for i in range(n):
        path = scratch / f"synthetic_{i:03d}.wav"
        sf.write(path, 0.1 * np.sin(2 * np.pi * (440 + 10 * i) * t), 16000)
        paths.append(path)
    return paths


def place(source: Path, dest: Path) -> Path:
    """Symlink ``source`` at ``dest`` (copy where symlinks are not allowed); parents are created."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.symlink(source.resolve(), dest)
    except OSError:
        shutil.copyfile(source, dest)
    return dest


def build_tree(root: Path, relative_stems: Sequence[str], sources: Iterable[Path]) -> list[Path]:
    """Lay out one source file per ``relative_stems`` entry (``'Angry/03-01-05-01-01-01-02'``),
    keeping the source's extension unless the entry has its own (``'x/y.WAV'``)."""
    placed = []
    for rel, source in zip(relative_stems, sources, strict=False):
        rel_path = Path(rel)
        if not rel_path.suffix:
            rel_path = rel_path.with_name(rel_path.name + source.suffix)
        placed.append(place(source, root / rel_path))
    if len(placed) != len(relative_stems):
        raise ValueError(f"{len(relative_stems)} names but only {len(placed)} source files")
    return placed


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
