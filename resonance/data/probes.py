"""Controlled synthetic probe stimuli: abstract images and sounds whose emotional cues vary on a grid.

The probes are the embedded default dataset. Every stimulus is generated from a handful of named
parameters, and its emotion label follows from those parameters by a published rule, so a model (or a
descriptor) can be checked against cues that are known by construction.

Images
------
Abstract compositions (a colour field and a few soft or hard-edged shapes) of one hue family. Mean
HSV brightness (value) and mean HSV saturation are *controlled*: the pixels vary around them, and the
mean of the decoded image equals the parameter to within 8-bit quantisation. Textures:

* ``gradient`` -- a smooth linear brightness ramp and soft-edged shapes;
* ``blobs`` -- low-pass filtered noise (soft blobs) modulating brightness and saturation;
* ``stripes`` -- sharp square-wave stripes and fine pixel noise, hard-edged shapes.

Sounds
------
Short melodies (eighth notes, the tonic triad first so the mode is heard) and single steady tones.
Tempo, mode, RMS level, register (tonic MIDI note) and timbre brightness (the spectral roll-off of
the harmonics) vary on a grid. Notes have raised-cosine attacks and releases, so nothing clicks.

Labels
------
Colour: the regression equations of Valdez & Mehrabian (1994) for standardised variables, see
:func:`colour_vad`. Sound: a linear cue model with equal unit weights on the cue directions reported
by Juslin & Laukka (2003) and Gabrielsson & Lindström (2010), see :func:`sound_va`. Both map their
standardised score to [0, 1] with the standard normal CDF. Every label is marked ``synthetic``.

References
----------
.. [1] Valdez, P., & Mehrabian, A. (1994). Effects of color on emotions. Journal of Experimental
       Psychology: General, 123(4), 394-409. https://doi.org/10.1037/0096-3445.123.4.394
.. [2] Juslin, P. N., & Laukka, P. (2003). Communication of emotions in vocal expression and music
       performance: Different channels, same code? Psychological Bulletin, 129(5), 770-814.
.. [3] Gabrielsson, A., & Lindström, E. (2010). The role of structure in the musical expression of
       emotions. In P. N. Juslin & J. A. Sloboda (Eds.), Handbook of Music and Emotion (pp. 367-400).
       Oxford University Press.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from resonance.errors import ParameterError
from resonance.io.atomic import atomic_path, write_text_atomic

if TYPE_CHECKING:
    import pandas as pd

#: Names of the image textures, in grid order.
TEXTURES: tuple[str, ...] = ("gradient", "blobs", "stripes")
#: Names of the musical modes, in grid order.
MODES: tuple[str, ...] = ("major", "minor")

#: Rule ids as written to ``probes.csv``'s ``rule`` column, with the full ``vad_source`` text.
COLOUR_RULE = "valdez_mehrabian_1994"
SOUND_RULE = "juslin_laukka_2003_cue_model"
RULES: dict[str, str] = {
    COLOUR_RULE: (
        "Valdez & Mehrabian (1994) colour regression on standardised HSV brightness and saturation, "
        "rescaled to [0, 1] by the standard normal CDF (synthetic probe rule)"
    ),
    SOUND_RULE: (
        "Equal-weight linear cue model on the cue directions of Juslin & Laukka (2003) and "
        "Gabrielsson & Lindström (2010), rescaled to [0, 1] by the standard normal CDF "
        "(synthetic probe rule)"
    ),
}

#: Valdez & Mehrabian (1994) standardised regression weights (brightness, saturation).
VALDEZ_MEHRABIAN_WEIGHTS: dict[str, tuple[float, float]] = {
    "pleasure": (0.69, 0.22),
    "arousal": (-0.31, 0.60),
    "dominance": (-0.76, 0.32),
}

#: Reference ranges that standardise the sound cues (see :func:`standardise_uniform`). They are fixed
#: here, not taken from the generated grid, so a label does not depend on which levels are generated.
SOUND_CUE_RANGES: dict[str, tuple[float, float]] = {
    "tempo_bpm": (60.0, 160.0),
    "loudness_dbfs": (-36.0, -12.0),  # RMS level of the clip in dB re full scale
    "pitch_midi": (48.0, 72.0),  # tonic, C3 .. C5
    "timbre_brightness": (0.0, 1.0),
}

#: The generated files are at most this loud, so that 16-bit FLAC never clips.
_PEAK_LIMIT = 0.99
#: Columns that make a ``probes.csv`` (the adapter's ``detect`` checks them).
CSV_COLUMNS: tuple[str, ...] = (
    "file", "modality", "local_id", "group", "kind",
    "hue_deg", "saturation", "brightness", "texture", "layout", "image_size",
    "tempo_bpm", "mode", "loudness_dbfs", "register_midi", "timbre_brightness", "harmonic_rolloff",
    "melody", "duration_s", "sample_rate",
    "seed", "valence", "arousal", "dominance", "rule", "synthetic",
)
_CONFIG_FILE = "probes_config.json"


# --------------------------------------------------------------------------------------------------
# Label rules (pure)
# --------------------------------------------------------------------------------------------------

def standardise_uniform(x: float | np.ndarray, *, low: float, high: float) -> float | np.ndarray:
    """Standardise ``x`` against a uniform distribution on ``[low, high]``.

    ``z = (x - (low + high) / 2) / ((high - low) / sqrt(12))``: the mean of the uniform maps to 0 and
    its standard deviation to 1, so the design range spans about ``[-1.73, 1.73]``.

    Parameters
    ----------
    x : float or np.ndarray
        Values in the units of the range.
    low, high : float, keyword-only
        The reference range, ``low < high``.
    """
    if not high > low:
        raise ParameterError(f"reference range needs low < high, got [{low}, {high}]")
    return (np.asarray(x, dtype=np.float64) - (low + high) / 2.0) / ((high - low) / math.sqrt(12.0))


def _phi(z: float) -> float:
    """Standard normal CDF: maps a standardised score to (0, 1), 0 to 0.5."""
    return 0.5 * math.erfc(-float(z) / math.sqrt(2.0))


def colour_vad(*, brightness: float, saturation: float) -> tuple[float, float, float]:
    """Valence, arousal and dominance of a colour from its brightness and saturation.

    Valdez & Mehrabian (1994) regressed standardised pleasure, arousal and dominance ratings of
    Munsell colour chips on standardised brightness ``B`` and saturation ``S``::

        Pleasure  =  .69 B + .22 S
        Arousal   = -.31 B + .60 S
        Dominance = -.76 B + .32 S

    Here ``B`` and ``S`` are the HSV value and saturation proportions in [0, 1] (a proxy for Munsell
    value and chroma), standardised against a uniform distribution on [0, 1] (mean 1/2, sd 1/sqrt 12;
    :func:`standardise_uniform`). Each predicted standardised score ``z`` is rescaled to [0, 1] by the
    standard normal CDF ``Phi(z)``: the share of a standard-normal population below ``z``. The rescaling
    keeps the sign and order of every effect and puts the population mean at 0.5. Hue effects reported
    in the paper are left out: its abstract gives their ranks, not coefficients.

    Parameters
    ----------
    brightness, saturation : float, keyword-only
        Proportions in [0, 1].

    Returns
    -------
    (valence, arousal, dominance) : tuple of float, each in (0, 1)

    Examples
    --------
    >>> v_dark, *_ = colour_vad(brightness=0.2, saturation=0.5)
    >>> v_bright, *_ = colour_vad(brightness=0.8, saturation=0.5)
    >>> v_bright > v_dark
    True
    """
    for name, value in (("brightness", brightness), ("saturation", saturation)):
        if not 0.0 <= value <= 1.0:
            raise ParameterError(f"{name}={value} must be a proportion in [0, 1]")
    zb = float(standardise_uniform(brightness, low=0.0, high=1.0))
    zs = float(standardise_uniform(saturation, low=0.0, high=1.0))
    out = []
    for key in ("pleasure", "arousal", "dominance"):
        wb, ws = VALDEZ_MEHRABIAN_WEIGHTS[key]
        out.append(_phi(wb * zb + ws * zs))
    return out[0], out[1], out[2]


def sound_va(*, loudness_dbfs: float, pitch_midi: float, timbre_brightness: float,
             tempo_bpm: float | None = None, mode: str | None = None) -> tuple[float, float]:
    """Valence and arousal of a sound from its acoustic cues, by an equal-weight linear cue model.

    Cue directions from Juslin & Laukka (2003, Table 11) and Gabrielsson & Lindström (2010):

    * arousal rises with tempo, loudness, pitch height and timbre brightness (high-frequency energy);
    * valence rises with major (vs minor) mode, faster tempo and higher pitch.

    The literature gives directions, not coefficients, so every cue has the same unit weight by
    design. Cues are standardised against a uniform distribution over the fixed reference ranges of
    :data:`SOUND_CUE_RANGES` (mode: major = +1, minor = -1, the standardised two-point uniform);
    the sum of ``k`` cues is divided by ``sqrt(k)`` (a sum of ``k`` independent standardised cues is
    standardised again) and rescaled to [0, 1] by the standard normal CDF. A cue a sound does not have
    (a steady tone has no tempo and no mode) enters as its mean, 0.

    Parameters
    ----------
    loudness_dbfs : float, keyword-only
        RMS level in dB re full scale (not a perceptual loudness).
    pitch_midi : float, keyword-only
        Pitch register as a MIDI note number (the tonic of a melody).
    timbre_brightness : float, keyword-only
        0 (dark: steep harmonic roll-off) .. 1 (bright: shallow roll-off).
    tempo_bpm : float or None, keyword-only
        Beats per minute; None for a sound without a beat.
    mode : {'major', 'minor'} or None, keyword-only
        None for a sound without a mode.

    Returns
    -------
    (valence, arousal) : tuple of float, each in (0, 1)
    """
    if mode is not None and mode not in MODES:
        raise ParameterError(f"mode={mode!r}; expected one of {MODES} or None")
    if not 0.0 <= timbre_brightness <= 1.0:
        raise ParameterError(f"timbre_brightness={timbre_brightness} must be in [0, 1]")

    def z(name: str, value: float | None) -> float:
        if value is None:
            return 0.0
        low, high = SOUND_CUE_RANGES[name]
        return float(standardise_uniform(value, low=low, high=high))

    z_tempo = z("tempo_bpm", tempo_bpm)
    z_loud = z("loudness_dbfs", loudness_dbfs)
    z_pitch = z("pitch_midi", pitch_midi)
    z_timbre = z("timbre_brightness", timbre_brightness)
    z_mode = 0.0 if mode is None else (1.0 if mode == "major" else -1.0)
    arousal_cues = (z_tempo, z_loud, z_pitch, z_timbre)
    valence_cues = (z_mode, z_tempo, z_pitch)
    valence = _phi(sum(valence_cues) / math.sqrt(len(valence_cues)))
    arousal = _phi(sum(arousal_cues) / math.sqrt(len(arousal_cues)))
    return valence, arousal


# --------------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------------

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
    sample_rate: int = 16_000
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


# --------------------------------------------------------------------------------------------------
# The grid
# --------------------------------------------------------------------------------------------------

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


def _rolloff(brightness: float) -> float:
    """Harmonic amplitude exponent p (a_k = k^-p): 3 (dark) at brightness 0, 0.5 (bright) at 1."""
    return 3.0 - 2.5 * float(brightness)


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
                            "harmonic_rolloff": _rolloff(bright), "melody": melody,
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
                        "harmonic_rolloff": _rolloff(bright), "melody": -1,
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


# --------------------------------------------------------------------------------------------------
# Images
# --------------------------------------------------------------------------------------------------

def _rng(config: ProbeConfig, *keys: int) -> np.random.Generator:
    """A generator seeded by the config seed and stable integer keys (no Python ``hash``)."""
    return np.random.default_rng([config.seed, *keys])


def _soft(mask: np.ndarray, sigma: float) -> np.ndarray:
    from scipy.ndimage import gaussian_filter

    return np.clip(gaussian_filter(mask.astype(np.float64), sigma), 0.0, 1.0) if sigma > 0 else mask


def _layout(size: int, texture: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Zero-centred deviation fields (hue degrees, saturation, value) of one composition.

    The layout depends on the texture and the generator only, not on the target colour, so the
    colour levels of one layout share their shapes exactly.
    """
    from scipy.ndimage import gaussian_filter
    from skimage.draw import ellipse, polygon

    yy, xx = np.mgrid[0:size, 0:size] / (size - 1.0)
    d_h = np.zeros((size, size))
    d_s = np.zeros((size, size))
    d_v = np.zeros((size, size))
    edge_sigma = size / 40.0 if texture in ("gradient", "blobs") else 0.0

    # Texture of the ground.
    if texture == "gradient":
        angle = rng.uniform(0, 2 * np.pi)
        ramp = np.cos(angle) * xx + np.sin(angle) * yy
        ramp = (ramp - ramp.min()) / (np.ptp(ramp) + 1e-12) * 2.0 - 1.0  # -1 .. 1
        d_v += 0.12 * ramp
        d_s -= 0.06 * ramp
    elif texture == "blobs":
        for amplitude, channel in ((0.14, d_v), (0.08, d_s)):
            noise = gaussian_filter(rng.standard_normal((size, size)), size / 10.0, mode="wrap")
            channel += amplitude * noise / (np.abs(noise).max() + 1e-12)
    else:  # stripes: square wave at a random angle, plus fine pixel noise
        angle = rng.uniform(0, np.pi)
        period = rng.uniform(0.05, 0.09)
        phase = np.cos(angle) * xx + np.sin(angle) * yy
        d_v += 0.12 * np.sign(np.sin(2 * np.pi * phase / period))
        d_v += 0.04 * rng.uniform(-1, 1, (size, size))
        d_s += 0.04 * rng.uniform(-1, 1, (size, size))

    # A few shapes, each with its own colour offset (hue within +-30 degrees of the family).
    n_shapes = int(rng.integers(3, 6))
    for _ in range(n_shapes):
        mask = np.zeros((size, size), dtype=bool)
        cy, cx = rng.uniform(0.15, 0.85, 2) * size
        if rng.random() < 0.5:
            ry, rx = rng.uniform(0.08, 0.3, 2) * size
            rr, cc = ellipse(cy, cx, ry, rx, shape=mask.shape, rotation=rng.uniform(0, np.pi))
        else:
            k = int(rng.integers(3, 7))
            angles = np.sort(rng.uniform(0, 2 * np.pi, k))
            radii = rng.uniform(0.1, 0.3, k) * size
            rr, cc = polygon(cy + radii * np.sin(angles), cx + radii * np.cos(angles), shape=mask.shape)
        mask[rr, cc] = True
        alpha = _soft(mask, edge_sigma)
        # Offsets at least a little away from zero, so that every shape stands out from the ground.
        sign = rng.choice([-1.0, 1.0], 3)
        shape_h = sign[0] * rng.uniform(8, 30)
        shape_s = sign[1] * rng.uniform(0.04, 0.12)
        shape_v = sign[2] * rng.uniform(0.08, 0.2)
        d_h = (1 - alpha) * d_h + alpha * shape_h
        d_s = (1 - alpha) * d_s + alpha * (shape_s + 0.5 * d_s)  # shapes keep some ground texture
        d_v = (1 - alpha) * d_v + alpha * (shape_v + 0.5 * d_v)
    return d_h - d_h.mean(), d_s - d_s.mean(), d_v - d_v.mean()


def _with_mean(deviation: np.ndarray, target: float, *, iterations: int = 20) -> np.ndarray:
    """``target + deviation`` clipped to [0, 1], shifted until its mean is ``target`` (to 1e-6).

    Clipping moves the mean; a few fixed-point shifts restore it (the targets are kept inside
    [0.15, 0.85] so the shift always converges).
    """
    shift = 0.0
    out = np.clip(target + deviation, 0.0, 1.0)
    for _ in range(iterations):
        error = target - out.mean()
        if abs(error) < 1e-6:
            break
        shift += error
        out = np.clip(target + deviation + shift, 0.0, 1.0)
    return out


def render_image(*, hue_deg: float, saturation: float, brightness: float, texture: str, layout: int,
                 size: int = 224, seed: int = 0) -> np.ndarray:
    """Render one abstract probe image.

    Parameters
    ----------
    hue_deg : float, keyword-only
        Hue family in degrees; pixels vary within about +-30 degrees of it.
    saturation, brightness : float, keyword-only
        Target mean HSV saturation and value in [0, 1]; the float image has exactly these means.
    texture : str, keyword-only
        One of :data:`TEXTURES`.
    layout : int, keyword-only
        Composition id: images with the same ``(seed, layout, texture, size)`` share their shapes.
    size : int, keyword-only
        Side in pixels.
    seed : int, keyword-only
        Global seed.

    Returns
    -------
    np.ndarray, shape (size, size, 3), uint8
        RGB pixels.
    """
    from skimage.color import hsv2rgb

    if texture not in TEXTURES:
        raise ParameterError(f"texture={texture!r}; expected one of {TEXTURES}")
    rng = np.random.default_rng([seed, 1, int(layout)])
    d_h, d_s, d_v = _layout(size, texture, rng)
    h = np.mod(hue_deg + d_h, 360.0) / 360.0
    s = _with_mean(d_s, saturation)
    v = _with_mean(d_v, brightness)
    rgb = hsv2rgb(np.stack([h, s, v], axis=-1))
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def _write_png(path: Path, rgb: np.ndarray) -> None:
    from PIL import Image

    buffer = io.BytesIO()
    # Fixed encoder settings and no metadata chunks: identical pixels give identical bytes.
    Image.fromarray(rgb, mode="RGB").save(buffer, format="PNG", compress_level=6, optimize=False)
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


# --------------------------------------------------------------------------------------------------
# Sounds
# --------------------------------------------------------------------------------------------------

_SCALES: dict[str, tuple[int, ...]] = {
    "major": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10),  # natural minor (Aeolian)
}


def melody_degrees(*, melody: int, n_notes: int, seed: int = 0) -> np.ndarray:
    """Scale degrees (0 = tonic, 7 = octave) of a melody contour.

    The contour opens with the tonic triad (degrees 0, 2, 4), so that the third, and with it the
    mode, is heard at once, then takes a seeded random walk of steps and small leaps within
    degrees 0..7 and returns to the tonic on the last note.
    """
    rng = np.random.default_rng([seed, 2, int(melody)])
    degrees = [0, 2, 4]
    while len(degrees) < n_notes - 1:
        step = int(rng.choice([-2, -1, -1, 1, 1, 2]))
        degrees.append(int(np.clip(degrees[-1] + step, 0, 7)))
    degrees = degrees[: max(n_notes - 1, 1)] + [0]
    return np.asarray(degrees[:n_notes], dtype=np.int64)


def _midi_to_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _harmonic_tone(f0: float, n: int, sr: int, rolloff: float) -> np.ndarray:
    """Band-limited harmonic tone, amplitudes ``k ** -rolloff`` up to 16 harmonics below 0.45 sr."""
    t = np.arange(n) / sr
    n_harm = max(1, min(16, int(0.45 * sr // f0)))
    k = np.arange(1, n_harm + 1)
    amps = k.astype(np.float64) ** -rolloff
    return (amps[:, None] * np.sin(2 * np.pi * f0 * k[:, None] * t[None, :])).sum(0)


def _envelope(n: int, sr: int, *, attack_s: float, release_s: float) -> np.ndarray:
    """Raised-cosine attack and release, flat between: 0 at both ends, so no click."""
    env = np.ones(n)
    n_a = max(2, min(n // 2, int(round(attack_s * sr))))
    n_r = max(2, min(n // 2, int(round(release_s * sr))))
    env[:n_a] = 0.5 - 0.5 * np.cos(np.pi * np.arange(n_a) / n_a)
    env[-n_r:] = 0.5 + 0.5 * np.cos(np.pi * (np.arange(n_r) + 1) / n_r)
    return env


def render_sound(*, kind: str, register_midi: int, timbre_brightness: float, loudness_dbfs: float,
                 tempo_bpm: float | None = None, mode: str | None = None, melody: int = 0,
                 duration_s: float = 2.5, sr: int = 16_000, seed: int = 0) -> np.ndarray:
    """Render one probe sound.

    Parameters
    ----------
    kind : {'melody', 'tone'}, keyword-only
        A melody of eighth notes (two per beat) or one steady tone at the tonic.
    register_midi : int, keyword-only
        Tonic as a MIDI note number.
    timbre_brightness : float, keyword-only
        0..1; harmonic amplitudes fall as ``k ** -p`` with ``p = 3 - 2.5 * brightness``.
    loudness_dbfs : float, keyword-only
        RMS level of the whole clip in dB re full scale.
    tempo_bpm, mode, melody : keyword-only
        Melody tempo, mode and contour id (ignored for tones).
    duration_s, sr, seed : keyword-only
        Length in seconds, sample rate in Hz, global seed.

    Returns
    -------
    np.ndarray, shape (round(duration_s * sr),), float32
        Mono signal with RMS ``10 ** (loudness_dbfs / 20)`` and peak below 0.99.
    """
    n_total = int(round(duration_s * sr))
    rolloff = _rolloff(timbre_brightness)
    y = np.zeros(n_total)
    if kind == "tone":
        f0 = _midi_to_hz(register_midi)
        y = _harmonic_tone(f0, n_total, sr, rolloff) * _envelope(n_total, sr, attack_s=0.02,
                                                                   release_s=0.15)
    elif kind == "melody":
        if tempo_bpm is None or mode not in _SCALES:
            raise ParameterError(f"a melody needs a tempo and a mode in {MODES}, got {tempo_bpm}, {mode!r}")
        slot = 60.0 / tempo_bpm / 2.0  # eighth notes
        n_notes = max(1, int(duration_s // slot))
        degrees = melody_degrees(melody=melody, n_notes=n_notes, seed=seed)
        scale = _SCALES[mode]
        n_slot = int(round(slot * sr))
        n_sound = int(round(0.9 * n_slot))  # a short gap between notes: each is heard as one
        for i, degree in enumerate(degrees):
            semitones = scale[degree % 7] + 12 * (degree // 7)
            start = i * n_slot
            n = min(n_sound, n_total - start)
            if n <= 4:
                break
            note = _harmonic_tone(_midi_to_hz(register_midi + semitones), n, sr, rolloff)
            # The first note keeps its phase-zero start; every note ends at zero through its release.
            y[start:start + n] += note * _envelope(n, sr, attack_s=0.01, release_s=0.04)
    else:
        raise ParameterError(f"kind={kind!r}; expected 'melody' or 'tone'")
    rms = float(np.sqrt(np.mean(y**2)))
    if rms == 0.0:
        raise ParameterError("the rendered sound is silent; duration too short for one note?")
    y *= 10.0 ** (loudness_dbfs / 20.0) / rms
    peak = float(np.abs(y).max())
    if peak > _PEAK_LIMIT:
        raise ParameterError(f"loudness_dbfs={loudness_dbfs} gives a peak of {peak:.3f} (clipping); use a lower level")
    return y.astype(np.float32)


def _write_flac(path: Path, y: np.ndarray, sr: int) -> None:
    import soundfile as sf

    buffer = io.BytesIO()
    # libsndfile writes no date into FLAC (only the libFLAC vendor string): same samples, same bytes.
    sf.write(buffer, y, sr, format="FLAC", subtype="PCM_16")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())


# --------------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------------

def generate_probes(out_dir: str | Path, config: ProbeConfig = ProbeConfig(), *,
                    overwrite: bool = False) -> ProbeSet:
    """Write the probe images, sounds and ``probes.csv`` for ``config`` into ``out_dir``.

    Layout: ``out_dir/images/*.png`` (lossless RGB), ``out_dir/sounds/*.flac`` (16-bit mono),
    ``out_dir/probes.csv`` (one row per stimulus, columns :data:`CSV_COLUMNS`) and
    ``out_dir/probes_config.json``. The same config gives byte-identical files. Every write is atomic.

    Parameters
    ----------
    out_dir : path-like
        Folder to fill; created if missing.
    config : ProbeConfig
        The grid and seed.
    overwrite : bool, keyword-only
        If False (default), stimulus files that already exist are kept (a re-run is fast), and a
        folder made with a different config is refused. If True, every listed file is rewritten
        (files of an earlier config that the new grid does not list are left in place).

    Returns
    -------
    ProbeSet

    Raises
    ------
    ParameterError
        If ``out_dir`` holds probes of another config and ``overwrite`` is False.
    """
    start = time.perf_counter()
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    config_path = root / _CONFIG_FILE
    if config_path.is_file() and not overwrite:
        if config_path.read_text(encoding="utf-8") != config.to_json():
            raise ParameterError(
                f"{root} holds probes of a different ProbeConfig ({config_path}); "
                "pass overwrite=True or choose an empty folder"
            )
    table = probe_table(config)
    written = skipped = 0
    # Record the config first: an interrupted run leaves a folder whose files all match it.
    write_text_atomic(config_path, config.to_json())
    for row in table.itertuples(index=False):
        target = root / row.file
        if target.is_file() and not overwrite:
            skipped += 1
            continue
        if row.modality == "image":
            rgb = render_image(hue_deg=row.hue_deg, saturation=row.saturation,
                               brightness=row.brightness, texture=row.texture, layout=int(row.layout),
                               size=config.image_size, seed=config.seed)
            _write_png(target, rgb)
        else:
            y = render_sound(kind=row.kind, register_midi=int(row.register_midi),
                             timbre_brightness=row.timbre_brightness,
                             loudness_dbfs=row.loudness_dbfs,
                             tempo_bpm=None if row.kind == "tone" else row.tempo_bpm,
                             mode=row.mode or None, melody=int(row.melody),
                             duration_s=config.duration_s, sr=config.sample_rate, seed=config.seed)
            _write_flac(target, y, config.sample_rate)
        written += 1
    write_text_atomic(root / "probes.csv", table.to_csv(index=False, float_format="%.6f",
                                                        lineterminator="\n"))
    return ProbeSet(root, config, table, written, skipped, time.perf_counter() - start)
