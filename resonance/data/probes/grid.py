"""The probe grid: :class:`ProbeConfig` (every factor's levels and the seed), the table of stimuli
it defines (:func:`probe_table`, one row per file of ``probes.csv``) and :class:`ProbeSet`."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resonance.data.probes.rules import COLOUR_RULE, MODES, SOUND_RULE, TEXTURES, colour_vad, sound_va
from resonance.data.probes.sounds import harmonic_rolloff
from resonance.errors import ParameterError
from resonance.io.audio import PROJECT_SR

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["CONFIG_FILE", "CSV_COLUMNS", "ProbeConfig", "ProbeSet", "probe_table"]

#: Columns that make a ``probes.csv`` (the adapter's ``detect`` checks them).
CSV_COLUMNS: tuple[str, ...] = (
    "file", "modality", "local_id", "group", "kind",
    "hue_deg", "saturation", "brightness", "texture", "layout", "image_size",
    "tempo_bpm", "mode", "loudness_dbfs", "register_midi", "timbre_brightness", "harmonic_rolloff",
    "melody", "duration_s", "sample_rate",
    "seed", "valence", "arousal", "dominance", "rule", "synthetic",
)
CONFIG_FILE = "probes_config.json"


@dataclass(frozen=True)
class ProbeConfig:
    """The probe grid. Every file and label is a pure function of this object.

    Parameters
    ----------
    image_size : int
        Side of the square images, in pixels (>= 32).
    hues_deg : tuple of float
        Hue families, degrees in [0, 360).
    saturations, brightnesses : tuple of float
        Target mean HSV saturation and value, in [0.15, 0.85] (room for the composition to vary
        around the mean without clipping).
    textures : tuple of str
        A subset of :data:`TEXTURES`.
    tempos_bpm : tuple of float
        Melody tempi (one eighth note = half a beat), in [40, 240].
    modes : tuple of str
        A subset of :data:`MODES`.
    loudness_dbfs : tuple of float
        RMS levels in dBFS, in [-48, -12].
    registers_midi : tuple of int
        Tonic MIDI notes, in [36, 84].
    timbre_brightness : tuple of float
        Harmonic roll-off levels in [0, 1] (0 dark, 1 bright).
    include_tones : bool
        Also make one steady tone per (register, loudness, timbre) cell.
    duration_s : float
        Length of every sound in seconds, in [0.5, 10].
    sample_rate : int
        Hz; the project rate by default.
    seed : int
        Seeds every composition and melody.
    """

    image_size: int = 224
    hues_deg: tuple[float, ...] = (0.0, 60.0, 120.0, 180.0, 240.0, 300.0)
    saturations: tuple[float, ...] = (0.25, 0.5, 0.75)
    brightnesses: tuple[float, ...] = (0.25, 0.5, 0.75)
    textures: tuple[str, ...] = TEXTURES
    tempos_bpm: tuple[float, ...] = (72.0, 108.0, 144.0)
    modes: tuple[str, ...] = MODES
    loudness_dbfs: tuple[float, ...] = (-32.0, -24.0, -16.0)
    registers_midi: tuple[int, ...] = (48, 60, 72)
    timbre_brightness: tuple[float, ...] = (0.0, 0.5, 1.0)
    include_tones: bool = True
    duration_s: float = 2.5
    sample_rate: int = PROJECT_SR
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.image_size, int) or self.image_size < 32:
            raise ParameterError(f"image_size={self.image_size!r} must be an int >= 32")
        _check_levels("hues_deg", self.hues_deg, 0.0, 359.999)
        _check_levels("saturations", self.saturations, 0.15, 0.85)
        _check_levels("brightnesses", self.brightnesses, 0.15, 0.85)
        _check_names("textures", self.textures, TEXTURES)
        _check_levels("tempos_bpm", self.tempos_bpm, 40.0, 240.0)
        _check_names("modes", self.modes, MODES)
        _check_levels("loudness_dbfs", self.loudness_dbfs, -48.0, -12.0)
        _check_levels("registers_midi", self.registers_midi, 36, 84)
        if not all(isinstance(r, int) for r in self.registers_midi):
            raise ParameterError(f"registers_midi={self.registers_midi!r} must be MIDI note ints")
        _check_levels("timbre_brightness", self.timbre_brightness, 0.0, 1.0)
        if not 0.5 <= self.duration_s <= 10.0:
            raise ParameterError(f"duration_s={self.duration_s} must be in [0.5, 10] seconds")
        if not isinstance(self.sample_rate, int) or self.sample_rate < 8000:
            raise ParameterError(f"sample_rate={self.sample_rate!r} must be an int >= 8000 Hz")
        if not isinstance(self.seed, int) or self.seed < 0:
            raise ParameterError(f"seed={self.seed!r} must be a non-negative int")

    def to_json(self) -> str:
        """The configuration as canonical JSON (sorted keys), stored beside the probes."""
        return json.dumps(asdict(self), sort_keys=True, indent=1)


def _check_levels(name: str, levels: Sequence[float], low: float, high: float) -> None:
    if not isinstance(levels, tuple) or len(levels) == 0:
        raise ParameterError(f"{name} must be a non-empty tuple of levels, got {levels!r}")
    if len(set(levels)) != len(levels):
        raise ParameterError(f"{name}={levels!r} repeats a level")
    bad = [x for x in levels if not (isinstance(x, (int, float)) and low <= x <= high)]
    if bad:
        raise ParameterError(f"{name} levels {bad} are outside [{low}, {high}]")


def _check_names(name: str, values: Sequence[str], allowed: Sequence[str]) -> None:
    if not isinstance(values, tuple) or len(values) == 0:
        raise ParameterError(f"{name} must be a non-empty tuple, got {values!r}")
    bad = [v for v in values if v not in allowed]
    if bad or len(set(values)) != len(values):
        raise ParameterError(f"{name}={values!r}; use distinct names from {allowed}")


@dataclass(frozen=True)
class ProbeSet:
    """What :func:`generate_probes` made: the folder, its table, and what was written or skipped."""

    root: Path
    config: ProbeConfig
    table: pd.DataFrame = field(repr=False)  # one row per stimulus, columns CSV_COLUMNS
    n_written: int
    n_skipped: int
    seconds: float

    @property
    def csv_path(self) -> Path:
        return self.root / "probes.csv"

    @property
    def n_images(self) -> int:
        return int((self.table["modality"] == "image").sum())

    @property
    def n_sounds(self) -> int:
        return int((self.table["modality"] == "audio").sum())

    def summary(self) -> str:
        return (f"{self.n_images} images and {self.n_sounds} sounds ({self.n_written} written, "
                f"{self.n_skipped} already there) in {self.seconds:.1f} s -> {self.root}")


def _image_specs(config: ProbeConfig) -> list[dict[str, Any]]:
    """One dict of generating parameters and label per image, in a fixed order."""
    specs = []
    for texture in config.textures:
        for hue in config.hues_deg:
            # One layout per (texture, hue) cell, shared by its saturation x brightness levels: those
            # images differ in colour statistics only, so the layout is the leakage group. The id is
            # built from values, not grid indices, so a smaller grid reproduces the same images.
            layout = TEXTURES.index(texture) * 10_000 + int(round(hue * 10))
            for sat in config.saturations:
                for val in config.brightnesses:
                    v, a, d = colour_vad(brightness=val, saturation=sat)
                    stem = f"img_{texture}_h{hue:05.1f}_s{sat:.2f}_v{val:.2f}"
                    specs.append({
                        "file": f"images/{stem}.png", "modality": "image", "local_id": stem,
                        "group": f"image-layout-{layout:05d}", "kind": "image",
                        "hue_deg": float(hue), "saturation": float(sat), "brightness": float(val),
                        "texture": texture, "layout": int(layout), "image_size": config.image_size,
                        "valence": v, "arousal": a, "dominance": d, "rule": COLOUR_RULE,
                    })
    return specs



def _sound_specs(config: ProbeConfig) -> list[dict[str, Any]]:
    """One dict of generating parameters and label per sound, in a fixed order."""
    specs = []
    for register in config.registers_midi:
        for bright in config.timbre_brightness:
            # One melody contour per (register, timbre) cell; its tempo/mode/loudness variants are
            # near-duplicates of each other, so the contour is the leakage group. Built from values.
            melody = int(register) * 1000 + int(round(bright * 1000))
            for tempo in config.tempos_bpm:
                for mode in config.modes:
                    for loud in config.loudness_dbfs:
                        v, a = sound_va(loudness_dbfs=loud, pitch_midi=register,
                                        timbre_brightness=bright, tempo_bpm=tempo, mode=mode)
                        stem = (f"mel_r{register}_b{bright:.2f}_t{tempo:03.0f}"
                                f"_{mode}_l{-loud:04.1f}")
                        specs.append({
                            "file": f"sounds/{stem}.flac", "modality": "audio", "local_id": stem,
                            "group": f"sound-melody-{melody:05d}", "kind": "melody",
                            "tempo_bpm": float(tempo), "mode": mode, "loudness_dbfs": float(loud),
                            "register_midi": int(register), "timbre_brightness": float(bright),
                            "harmonic_rolloff": harmonic_rolloff(bright), "melody": melody,
                            "duration_s": config.duration_s, "sample_rate": config.sample_rate,
                            "valence": v, "arousal": a, "dominance": math.nan, "rule": SOUND_RULE,
                        })
    if config.include_tones:
        for register in config.registers_midi:
            for bright in config.timbre_brightness:
                for loud in config.loudness_dbfs:
                    v, a = sound_va(loudness_dbfs=loud, pitch_midi=register, timbre_brightness=bright)
                    stem = f"tone_r{register}_b{bright:.2f}_l{-loud:04.1f}"
                    specs.append({
                        "file": f"sounds/{stem}.flac", "modality": "audio", "local_id": stem,
                        # Tones of one register share their pitch: grouped so they stay together.
                        "group": f"sound-tone-{register}", "kind": "tone",
                        "tempo_bpm": math.nan, "mode": "", "loudness_dbfs": float(loud),
                        "register_midi": int(register), "timbre_brightness": float(bright),
                        "harmonic_rolloff": harmonic_rolloff(bright), "melody": -1,
                        "duration_s": config.duration_s, "sample_rate": config.sample_rate,
                        "valence": v, "arousal": a, "dominance": math.nan, "rule": SOUND_RULE,
                    })
    return specs


def probe_table(config: ProbeConfig = ProbeConfig()) -> pd.DataFrame:
    """The rows of ``probes.csv`` for ``config`` (a pandas DataFrame), without writing anything."""
    import pandas as pd

    rows = _image_specs(config) + _sound_specs(config)
    table = pd.DataFrame(rows).reindex(columns=list(CSV_COLUMNS))
    table["seed"] = config.seed
    table["synthetic"] = True
    for col in ("layout", "image_size", "register_midi", "melody", "sample_rate"):
        table[col] = table[col].astype("Int64")
    table["mode"] = table["mode"].fillna("")
    table["texture"] = table["texture"].fillna("")
    return table

