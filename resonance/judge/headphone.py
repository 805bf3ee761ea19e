"""The headphone check of Woods, Siegel, Traer & McDermott (2017), *Attention, Perception, & Psychophysics*
79, 2064-2072: an antiphase loudness-discrimination test.

Each trial plays three 200 Hz pure tones one after the other; the listener says which one was the
*quietest*. One tone is 6 dB softer than the others (the correct answer); one is in antiphase (the right
channel is the left one inverted); one is plain. Over headphones the antiphase tone is as loud as the
plain one, so the soft tone is easy to find. Over loudspeakers the two channels of the antiphase tone
cancel in the air and it sounds quietest, so a listener without headphones picks it and fails. The
published criterion is at least 5 correct of 6 trials (:func:`pass_threshold`).

The tones are 1 s with 100 ms raised-cosine ramps and 0.5 s apart, as in the paper; tests may shorten
them (``tone_s``) to keep a browser session short. The order of the three tone types in each trial is
drawn from the seed, and every order has the soft tone somewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resonance.errors import ParameterError

__all__ = ["HeadphoneTrial", "generate_headphone_trials", "pass_threshold", "tone_sequence"]

SAMPLE_RATE = 44_100
FREQUENCY_HZ = 200.0
SOFT_DB = -6.0


@dataclass(frozen=True)
class HeadphoneTrial:
    """One trial: its WAV file, its duration, the tone order and the correct answer (1, 2 or 3)."""

    path: Path
    duration_s: float
    order: tuple[str, str, str]  # "plain", "antiphase", "soft"
    answer: int  # the position (1-based) of the soft tone


def pass_threshold(n_trials: int) -> int:
    """Correct answers needed to pass: 5 of 6 (Woods et al., 2017), the same proportion for other counts."""
    if n_trials < 1:
        raise ParameterError(f"the headphone check needs at least one trial, got {n_trials}")
    return math.ceil(5 * n_trials / 6)


def _tone(kind: str, n: int, ramp: int, amplitude: float) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE
    y = np.sin(2 * np.pi * FREQUENCY_HZ * t)
    envelope = np.ones(n)
    if ramp:
        rise = 0.5 * (1 - np.cos(np.pi * np.arange(ramp) / ramp))
        envelope[:ramp], envelope[-ramp:] = rise, rise[::-1]
    y = amplitude * y * envelope
    if kind == "soft":
        y = y * 10 ** (SOFT_DB / 20)
    right = -y if kind == "antiphase" else y
    return np.stack([y, right], axis=1)


def tone_sequence(order: tuple[str, ...], *, tone_s: float = 1.0, gap_s: float = 0.5,
                  amplitude: float = 0.5) -> np.ndarray:
    """The stereo samples (n, 2) of one trial: the tones of ``order`` separated by ``gap_s`` of silence."""
    n, ramp, gap = int(round(tone_s * SAMPLE_RATE)), int(round(min(0.1, tone_s / 4) * SAMPLE_RATE)), \
        int(round(gap_s * SAMPLE_RATE))
    parts = []
    for k, kind in enumerate(order):
        if k:
            parts.append(np.zeros((gap, 2)))
        parts.append(_tone(kind, n, ramp, amplitude))
    return np.concatenate(parts).astype(np.float32)


def generate_headphone_trials(folder: str | Path, n_trials: int = 6, *, seed: int = 0, tone_s: float = 1.0,
                              gap_s: float = 0.5, names: list[str] | None = None) -> list[HeadphoneTrial]:
    """Write ``n_trials`` stereo 16-bit WAV trials into ``folder`` (``names[k] + ".wav"``, default
    ``headphone_k``); the tone orders are drawn from ``seed``."""
    import soundfile as sf

    from resonance.io.atomic import atomic_path

    if not 0.05 <= tone_s <= 5 or not 0.05 <= gap_s <= 5:
        raise ParameterError(f"headphone tones and gaps must last 0.05-5 s, got {tone_s} and {gap_s}")
    pass_threshold(n_trials)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 2017])
    kinds = ("plain", "antiphase", "soft")
    trials = []
    for k in range(n_trials):
        order = tuple(kinds[i] for i in rng.permutation(3))
        samples = tone_sequence(order, tone_s=tone_s, gap_s=gap_s)
        path = folder / f"{names[k] if names else f'headphone_{k}'}.wav"
        with atomic_path(path) as tmp:
            sf.write(tmp, samples, SAMPLE_RATE, subtype="PCM_16", format="WAV")
        trials.append(HeadphoneTrial(path, samples.shape[0] / SAMPLE_RATE, order, order.index("soft") + 1))
    return trials
