"""The probe sounds: melodies of eighth notes and steady harmonic tones (:func:`render_sound`),
written as 16-bit FLAC (libsndfile writes no date: same samples, same bytes)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from resonance.data.probes.rules import MODES
from resonance.errors import ParameterError
from resonance.io.atomic import atomic_path
from resonance.io.audio import PROJECT_SR

__all__ = ["harmonic_rolloff", "melody_degrees", "render_sound", "write_flac"]

#: The generated files are at most this loud, so that 16-bit FLAC never clips.
_PEAK_LIMIT = 0.99

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
    """Frequency in Hz of a (fractional) MIDI note, ``librosa.midi_to_hz`` (A4 = 69 = 440 Hz)."""
    import librosa  # imported on first use: generating the probe table needs no audio library

    return float(librosa.midi_to_hz(midi))


def harmonic_rolloff(brightness: float) -> float:
    """Harmonic amplitude exponent p (a_k = k^-p): 3 (dark) at brightness 0, 0.5 (bright) at 1."""
    return 3.0 - 2.5 * float(brightness)


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
                 duration_s: float = 2.5, sr: int = PROJECT_SR, seed: int = 0) -> np.ndarray:
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
    rolloff = harmonic_rolloff(timbre_brightness)
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


def write_flac(path: Path, y: np.ndarray, sr: int) -> None:
    import soundfile as sf

    buffer = io.BytesIO()
    # libsndfile writes no date into FLAC (only the libFLAC vendor string): same samples, same bytes.
    sf.write(buffer, y, sr, format="FLAC", subtype="PCM_16")
    with atomic_path(path) as tmp:
        tmp.write_bytes(buffer.getvalue())

